#!/usr/bin/env bash
# bench/soak.sh: the long chaos soak (bench/cmd/soak -long). 10,000 files
# from 0 B to 6 MiB, both ways (put -r, the upload mirror, the download
# mirror, and each mirror's rerun, which must transfer nothing) at -P 8, through a middlebox that injects seeded
# random faults (cuts, stalls, pauses, lost control flows, added latency),
# on vsftpd, proftpd, pure-ftpd and pyftpdlib in turn, new rounds (seed+1)
# until 30 minutes have passed. Every file is checked by sha256 at its
# destination. See bench/README.md. Run as root (vsftpd, proftpd and
# pure-ftpd start as root), with the servers of .ci/install-servers:
#
#   sudo bench/soak.sh                         # the long soak, about 30-35 minutes
#   sudo bench/soak.sh -duration 0 -files 2000 # one round, smaller
#   sudo bench/soak.sh -servers vsftpd -seed 9 -log /tmp/soak.log
#
# Flags go to the command (soak -h lists them). Environment:
#   WORK=DIR   where the trees are written (default $TMPDIR): about 4 x the
#              tree's size (some 9 GB for 10,000 files) at a time
# Exit: 0 nothing lost; 1 files lost, wrong or left behind, or the rerun
# transferred some; 2 bad flags; 3 a server could not be run.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd "$REPO" && go build -o "$bin/soak" ./bench/cmd/soak)
args=(-long -max-wall 35m)
if [ -n "${WORK:-}" ]; then
  args+=(-work "$WORK")
fi
"$bin/soak" "${args[@]}" "$@"
