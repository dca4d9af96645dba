#!/usr/bin/env bash
# bench/run.sh: download speed and memory of keepftp against curl, wget,
# lftp, dd and a raw TCP copy, all in the same run, from vsftpd on
# loopback, directly or behind a middlebox that adds latency, a rate cap
# per connection and cuts. See bench/README.md. Run as root from anywhere:
#
#   sudo bench/run.sh
#
# Environment:
#   N=5            timed repetitions per tool (after one untimed warm-up run)
#   SIZE_MIB=200   size of the random file served
#   OUT_DIR=DIR    where downloads are written (default /dev/shm: tmpfs);
#                  OUT_DIR=disk writes beside the served file, on disk
#   KEEP_WORK=1    keep the work directory (logs, config) at the end
#   EXTRA=0        skip the extra row "keepftp --keepalive 100ms"
#   ROWS="base mirror pget disk many ftps"   which tables to run (default all):
#     base    one big file, every client, tmpfs (or OUT_DIR)
#     mirror  (a) 100 x 16 KiB at 50 ms RTT, -P 1 and -P 8, keepftp against lftp mirror
#     pget    (b) the big file behind a 20 MB/s cap per connection, with two
#             data connections cut: keepftp --segments 4 against lftp pget -n 4,
#             with the same cuts and without any
#     disk    (c) the big file to disk (not tmpfs): keepftp (fsync) against
#             lftp and against dd conv=fsync of the same file
#     many    (d) MANY (1000) concurrent downloads of a 1 MiB file by one
#             keepftp.Client in one process: time and peak RSS
#     ftps    (e) FTPS (explicit TLS, vsftpd with require_ssl_reuse=YES): the big
#             file down and up, keepftp against curl and lftp, wall and CPU time
#     one     (f) one 14-byte file, cold (a new process each time), at 50 ms RTT,
#             from pure-ftpd and vsftpd, plain and FTPS: keepftp (with what its
#             profile learned in the warm-up run, and with --no-profile) against
#             curl, wget (plain) and lftp, in round trips too
#     mirrortls (g) row (a)'s 100 x 16 KiB at 50 ms RTT over FTPS (vsftpd,
#             require_ssl_reuse), mirror -P 1: keepftp against lftp
#   MANY=1000  RTT_DELAY=25ms (each way)  CAP=20000000 (bytes/s per connection)
#   The middlebox adds RTT_DELAY to every byte, each way; a TCP connection to
#   it costs nothing. Under TLS it cannot rewrite EPSV and PASV replies: it
#   listens on 127.0.0.2 and forwards the server's passive range port by
#   port (-data-ports), and the servers announce 127.0.0.2 in PASV.
#   RESULTS_DIR=DIR  where results.tsv, results.svg and results.md go
#                (default: bench/, beside this script): every row's ratios
#                and goals, as a file, a chart (bench/cmd/chart) and a table
set -euo pipefail
export LC_ALL=C

N=${N:-5}
SIZE_MIB=${SIZE_MIB:-200}
EXTRA=${EXTRA:-1}
ROWS=${ROWS:-base mirror pget disk many ftps one mirrortls}
MANY=${MANY:-1000}
RTT_DELAY=${RTT_DELAY:-25ms}
CAP=${CAP:-20000000}
row() { [[ " $ROWS " == *" $1 "* ]]; }
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
SERVERS_DIR=${KEEPFTP_SERVERS_DIR:-/opt/keepftp-servers}

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

[[ $EUID -eq 0 ]] || die "run as root (vsftpd must start as root)"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer"
[[ $SIZE_MIB =~ ^[1-9][0-9]*$ ]] || die "SIZE_MIB must be a positive integer"

# ---- tools ----
need_pkg() { # need_pkg COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return
	note "installing $2"
	if [[ -z ${APT_UPDATED:-} ]]; then
		apt-get update -qq
		APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need_pkg lftp lftp
need_pkg curl curl
need_pkg wget wget
need_pkg sha256sum coreutils
command -v go >/dev/null 2>&1 || die "go not found"

VSFTPD=""
for c in "$SERVERS_DIR/vsftpd/usr/sbin/vsftpd" /usr/sbin/vsftpd; do
	if [[ -x $c ]]; then VSFTPD=$c; break; fi
done
[[ -n $VSFTPD ]] || die "vsftpd not found under $SERVERS_DIR or /usr/sbin: run .ci/install-servers"

# ---- work directory and cleanup ----
WORK=$(mktemp -d /tmp/keepftp-bench.XXXXXX)
chmod 755 "$WORK"
case ${OUT_DIR:-} in
"") [[ -d /dev/shm ]] && OUT_BASE=/dev/shm || OUT_BASE=$WORK ;;
disk) OUT_BASE=$WORK ;;
*) OUT_BASE=$OUT_DIR ;;
esac
OUT=$(mktemp -d "$OUT_BASE/keepftp-bench-out.XXXXXX")
# keepftp's server profiles live here, learned afresh by each run's warm-ups.
export XDG_CACHE_HOME=$WORK/cache
PIDS=()
cleanup() {
	local pid
	# Let vsftpd reap the last session before it goes: a session process
	# killed along with its listener is left to init as a zombie.
	((${#PIDS[@]} == 0)) || sleep 0.3
	for pid in "${PIDS[@]}"; do
		# Each server was started with setsid: its pid is its process group,
		# which holds its session processes too.
		kill -TERM -- "-$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$OUT"
	if [[ -n ${KEEP_WORK:-} ]]; then
		note "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build ----
# The commit the binaries are built from, read before the build (a checkout
# that moves during the run must not relabel it).
COMMIT=$(git -c safe.directory='*' -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -c safe.directory='*' -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]] || COMMIT+=" (modified)"
note "building keepftp, rawcopy, middlebox, many, rusage and chart"
(cd "$REPO" && go build -o "$WORK/keepftp" ./cmd/keepftp && go build -o "$WORK/rawcopy" ./bench/cmd/rawcopy &&
	go build -o "$WORK/middlebox" ./bench/cmd/middlebox && go build -o "$WORK/many" ./bench/cmd/many &&
	go build -o "$WORK/rusage" ./bench/cmd/rusage && go build -o "$WORK/chart" ./bench/cmd/chart)
KEEPFTP=$WORK/keepftp
RAWCOPY=$WORK/rawcopy
MIDDLEBOX=$WORK/middlebox
MANYBIN=$WORK/many
RUSAGE=$WORK/rusage # peak RSS and CPU time of each run, to the microsecond
CHART=$WORK/chart   # the results file as an SVG chart and a Markdown table
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR}
[[ -d $RESULTS_DIR ]] || die "RESULTS_DIR $RESULTS_DIR is not a directory"
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the file ----
ROOT=$WORK/root
mkdir -m 755 "$ROOT"
SIZE=$((SIZE_MIB * 1024 * 1024))
note "writing ${SIZE_MIB} MiB of random data"
head -c "$SIZE" /dev/urandom >"$ROOT/big.bin"
chmod 644 "$ROOT/big.bin"
SUM=$(sha256sum "$ROOT/big.bin" | cut -d' ' -f1)
mkdir -m 755 "$ROOT/small"
for ((i = 0; i < 100; i++)); do
	head -c 16384 /dev/urandom >"$ROOT/small/f$i.bin"
done
head -c $((1 << 20)) /dev/urandom >"$ROOT/one.bin"
printf 'hello, world!\n' >"$ROOT/one.txt" # 14 bytes: row (f)
chmod 644 "$ROOT"/small/* "$ROOT/one.bin" "$ROOT/one.txt"

# ---- vsftpd ----
# port_free P: nothing listens on 127.0.0.1:P (the connection is refused).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# greeted P: something on 127.0.0.1:P says 220 within 2 s.
greeted() (
	line=""
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	read -t 2 -r line <&3 || true
	printf 'QUIT\r\n' >&3 2>/dev/null || true
	exec 3<&- 3>&-
	[[ $line == 220* ]]
)

start_vsftpd() {
	local try lo p i ok
	mkdir -p -m 755 "$WORK/etc" "$WORK/empty"
	for try in 1 2 3 4 5; do
		# Passive range and control port below the ephemeral range
		# (32768-60999), so clients' own ports do not take them.
		lo=$((20000 + (RANDOM % ((12700 - PASV_PORTS) / 16)) * 16))
		PORT=$((20000 + RANDOM % 12700))
		((PORT < lo || PORT >= lo + PASV_PORTS)) || continue
		ok=1
		# Nothing listens in the range (one look at the socket table).
		if ss -Htln 2>/dev/null | awk -v lo="$lo" -v hi=$((lo + PASV_PORTS - 1)) '{ n = split($4, a, ":"); p = a[n] + 0; if (p >= lo && p <= hi) bad = 1 } END { exit bad }'; then :; else ok=""; fi
		[[ -n $ok ]] && port_free "$PORT" || continue
		cat >"$WORK/etc/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$PORT
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$ROOT
ftp_username=daemon
local_enable=NO
write_enable=NO
anon_world_readable_only=YES
pasv_enable=YES
pasv_min_port=$lo
pasv_max_port=$((lo + PASV_PORTS - 1))
port_enable=YES
connect_from_port_20=NO
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir=$WORK/empty
tcp_wrappers=NO
dirmessage_enable=NO
hide_ids=NO
max_clients=0
max_per_ip=0
syslog_enable=NO
xferlog_enable=YES
xferlog_std_format=NO
vsftpd_log_file=$WORK/etc/vsftpd.log
log_ftp_protocol=YES
EOF
		chmod 600 "$WORK/etc/vsftpd.conf"
		setsid "$VSFTPD" "$WORK/etc/vsftpd.conf" >"$WORK/etc/vsftpd.out" 2>&1 </dev/null &
		VSFTPD_PID=$!
		PIDS+=("$VSFTPD_PID")
		for ((i = 0; i < 100; i++)); do
			kill -0 "$VSFTPD_PID" 2>/dev/null || break
			if greeted "$PORT" 2>/dev/null; then return 0; fi
			sleep 0.1
		done
		note "vsftpd did not start on port $PORT (try $try):"
		cat "$WORK/etc/vsftpd.out" >&2 || true
		kill -KILL -- "-$VSFTPD_PID" 2>/dev/null || true
	done
	die "could not start vsftpd"
}
PASV_PORTS=16
start_vsftpd
mkdir "$WORK/res" "$WORK/cmds"
URL=ftp://127.0.0.1:$PORT/big.bin
note "vsftpd $("$VSFTPD" -v 0>&1 2>&1 | head -1 | tr -s ' ') pid $VSFTPD_PID on 127.0.0.1:$PORT"

# stats TOOL: "best median rss_max_kib cpu_median"
stats() {
	local walls cpus n
	walls=$(cut -d' ' -f1 "$WORK/res/$1" | sort -g)
	cpus=$(cut -d' ' -f3 "$WORK/res/$1" | sort -g)
	n=$(wc -l <"$WORK/res/$1")
	awk -v n="$n" -v walls="$walls" -v cpus="$cpus" -v rss="$(cut -d' ' -f2 "$WORK/res/$1" | sort -g | tail -1)" 'BEGIN {
		split(walls, w, "\n"); split(cpus, c, "\n")
		med = (n % 2) ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2
		cmed = (n % 2) ? c[(n + 1) / 2] : (c[n / 2] + c[n / 2 + 1]) / 2
		printf "%s %s %s %s\n", w[1], med, rss, cmed
	}'
}


# ==== base: one big file, every client ====
bench_base() {
# ---- raw TCP server ----
setsid "$RAWCOPY" serve -file "$ROOT/big.bin" -addr 127.0.0.1:0 >"$WORK/rawcopy.addr" 2>"$WORK/rawcopy.err" </dev/null &
RAW_PID=$!
PIDS+=("$RAW_PID")
for ((i = 0; i < 100; i++)); do
	[[ -s $WORK/rawcopy.addr ]] && break
	kill -0 "$RAW_PID" 2>/dev/null || die "rawcopy serve exited: $(cat "$WORK/rawcopy.err")"
	sleep 0.05
done
RAW_ADDR=$(head -1 "$WORK/rawcopy.addr")
[[ -n $RAW_ADDR ]] || die "rawcopy serve printed no address"

# ---- the tools ----
TOOLS=(keepftp "keepftp-ka0" curl wget lftp raw)
[[ $EXTRA == 0 ]] || TOOLS+=("keepftp-ka100ms")

label() {
	case $1 in
	keepftp) echo "keepftp get (keepalive on)" ;;
	keepftp-ka0) echo "keepftp get --keepalive 0" ;;
	keepftp-ka100ms) echo "keepftp get --keepalive 100ms" ;;
	curl) echo "curl -sS -o" ;;
	wget) echo "wget -q -O" ;;
	lftp) echo "lftp -c get" ;;
	raw) echo "raw TCP (sendfile->splice)" ;;
	esac
}

# tool_cmd TOOL OUTFILE: sets CMD to the command line.
tool_cmd() {
	case $1 in
	keepftp) CMD=("$KEEPFTP" get -q -o "$2" "$URL") ;;
	keepftp-ka0) CMD=("$KEEPFTP" get -q --keepalive 0 -o "$2" "$URL") ;;
	keepftp-ka100ms) CMD=("$KEEPFTP" get -q --keepalive 100ms -o "$2" "$URL") ;;
	curl) CMD=(curl -sS -o "$2" "$URL") ;;
	wget) CMD=(wget -q -O "$2" "$URL") ;;
	lftp) CMD=(lftp -c "set ftp:ssl-allow no; set xfer:clobber on; get $URL -o $2") ;;
	raw) CMD=("$RAWCOPY" get -addr "$RAW_ADDR" -o "$2") ;;
	esac
}

# run_one TOOL VERIFY: one download; appends "wall_s rss_kib cpu_s" to
# $WORK/res/TOOL unless VERIFY (the warm-up run, checked by sha256).
run_one() {
	local tool=$1 verify=$2 f t0 t1 got rc
	f=$OUT/$tool.out
	rm -f "$f" "$f".*
	tool_cmd "$tool" "$f"
	t0=${EPOCHREALTIME/./}
	rc=0
	"$RUSAGE" -o "$WORK/time.txt" -- "${CMD[@]}" </dev/null >"$WORK/$tool.stdout" 2>"$WORK/$tool.stderr" || rc=$?
	t1=${EPOCHREALTIME/./}
	if ((rc != 0)); then
		cat "$WORK/$tool.stderr" >&2
		die "$(label "$tool") failed (exit $rc): ${CMD[*]}"
	fi
	got=$(stat -c %s "$f" 2>/dev/null || echo missing)
	[[ $got == "$SIZE" ]] || die "$(label "$tool"): $f has $got bytes, want $SIZE"
	if [[ -n $verify ]]; then
		[[ $(sha256sum "$f" | cut -d' ' -f1) == "$SUM" ]] || die "$(label "$tool"): sha256 differs"
	else
		# rusage's line: peak RSS KiB, user s, system s.
		tail -1 "$WORK/time.txt" | awk -v us=$((t1 - t0)) '{ printf "%.6f %d %.4f\n", us / 1e6, $1, $2 + $3 }' >>"$WORK/res/$tool"
	fi
	rm -f "$f"
}

note "warm-up: one download per tool, checked by sha256"
for t in "${TOOLS[@]}"; do run_one "$t" verify; done

note "timing: $N rounds; each round runs every tool once, starting with a different one"
for ((r = 0; r < N; r++)); do
	for ((k = 0; k < ${#TOOLS[@]}; k++)); do
		run_one "${TOOLS[(k + r) % ${#TOOLS[@]}]}" ""
	done
done

declare -A BEST MED RSS CPU
for t in "${TOOLS[@]}"; do
	read -r BEST[$t] MED[$t] RSS[$t] CPU[$t] < <(stats "$t")
done

echo
echo "keepftp bench: ${SIZE_MIB} MiB from vsftpd on 127.0.0.1, $N timed runs per tool (+1 warm-up, sha256-checked)"
echo "downloads written to $OUT_BASE ($(stat -f -c %T "$OUT_BASE")); $(nproc) CPUs; $(uname -r)"
echo "versions: $("$VSFTPD" -v 0>&1 2>&1 | head -1 | tr -s ' '); $(curl --version | head -1 | cut -d' ' -f1-2);" \
	"$(wget --version | head -1 | cut -d' ' -f1-3); lftp $(lftp --version | head -1 | sed 's/^LFTP | Version //; s/ |.*//'); $(go version | cut -d' ' -f3)"
echo
printf '%-30s %8s %8s %8s %9s %8s %10s\n' tool "best s" "median s" "MiB/s" "peak RSS" "cpu s" "x keepftp"
printf '%-30s %8s %8s %8s %9s %8s %10s\n' "" "" "" "(median)" "MiB" "(median)" "(median)"
printf '%s\n' "-----------------------------------------------------------------------------------------"
for t in "${TOOLS[@]}"; do
	awk -v l="$(label "$t")" -v b="${BEST[$t]}" -v m="${MED[$t]}" -v r="${RSS[$t]}" -v c="${CPU[$t]}" \
		-v k="${MED[keepftp]}" -v mib="$SIZE_MIB" 'BEGIN {
		printf "%-30s %8.3f %8.3f %8.0f %9.1f %8.3f %10.2f\n", l, b, m, mib / m, r / 1024, c, m / k
	}'
done
echo
echo '"x keepftp" is the tool'"'"'s median time over keepftp'"'"'s (keepalive on): above 1, keepftp is faster.'
awk -v k="${MED[keepftp]}" -v kb="${BEST[keepftp]}" -v l="${MED[lftp]}" -v lb="${BEST[lftp]}" \
	-v raw="${MED[raw]}" -v rawb="${BEST[raw]}" -v k0="${MED[keepftp-ka0]}" 'BEGIN {
	printf "keepftp / lftp   time ratio: %.2f median, %.2f best  (goal: below 1, beat lftp)\n", k / l, kb / lb
	printf "keepftp / raw    time ratio: %.2f median, %.2f best  (goal: approach 1)\n", k / raw, kb / rawb
	printf "keepalive on / keepalive 0:  %.2f median\n", k / k0
}'
}

# ==== rows (a) to (d): cases run in rounds, printed as ratios ====
# A case is one command line under an id (case_cmd); the cases of a table
# run once each as a checked warm-up, then in N rounds, each round starting
# with a different case.

MB_PID=""
# mb_start ARGS...: a fresh middlebox in front of vsftpd; sets MB_ADDR.
mb_start() {
	local i
	mb_stop
	: >"$WORK/mb.addr"
	setsid "$MIDDLEBOX" -target "127.0.0.1:$PORT" "$@" >"$WORK/mb.addr" 2>"$WORK/mb.err" </dev/null &
	MB_PID=$!
	PIDS+=("$MB_PID")
	for ((i = 0; i < 200; i++)); do
		[[ -s $WORK/mb.addr ]] && break
		kill -0 "$MB_PID" 2>/dev/null || die "middlebox exited: $(cat "$WORK/mb.err")"
		sleep 0.02
	done
	MB_ADDR=$(head -1 "$WORK/mb.addr")
	[[ -n $MB_ADDR ]] || die "middlebox printed no address"
}
mb_stop() {
	[[ -n $MB_PID ]] || return 0
	kill -TERM "$MB_PID" 2>/dev/null || true
	wait "$MB_PID" 2>/dev/null || true
	MB_PID=""
}

LFTP_SET="set ftp:ssl-allow no; set xfer:clobber on; set net:max-retries 10; set net:reconnect-interval-base 1; set net:reconnect-interval-multiplier 1"
CUTS="-,30M,-,30M" # the 2nd and 4th data connections of a run are reset after 30 MiB

case_label() {
	case $1 in
	kmirror1) echo "keepftp mirror -P 1" ;;
	lmirror1) echo "lftp mirror -P 1" ;;
	kmirror8) echo "keepftp mirror -P 8" ;;
	lmirror8) echo "lftp mirror -P 8" ;;
	kseg) echo "keepftp get --segments 4" ;;
	kseg0) echo "keepftp get --segments 4, no cuts" ;;
	lpget) echo "lftp pget -n 4" ;;
	lpget0) echo "lftp pget -n 4, no cuts" ;;
	kdisk) echo "keepftp get (fsync)" ;;
	ldisk) echo "lftp get (no fsync)" ;;
	dd) echo "dd conv=fsync (local copy)" ;;
	many) echo "keepftp: $MANY Gets at once" ;;
	kftpsget) echo "keepftp get (FTPS)" ;;
	cftpsget) echo "curl --ssl-reqd (FTPS get)" ;;
	lftpsget) echo "lftp get (FTPS)" ;;
	kftpsput) echo "keepftp put (FTPS)" ;;
	cftpsput) echo "curl --ssl-reqd -T (FTPS put)" ;;
	lftpsput) echo "lftp put (FTPS)" ;;
	kmirrortls1) echo "keepftp mirror -P 1 (FTPS)" ;;
	lmirrortls1) echo "lftp mirror -P 1 (FTPS)" ;;
	one-*) one_label "$1" ;;
	esac
}

# case_cmd ID OUT: sets CMD.
case_cmd() {
	local id=$1 out=$2
	case $id in
	kmirror[0-9]*) CMD=("$KEEPFTP" mirror -q -P "${id#kmirror}" "ftp://$MB_ADDR/small/" "$out") ;;
	lmirror[0-9]*) CMD=(lftp -c "$LFTP_SET; mirror -P ${id#lmirror} ftp://$MB_ADDR/small $out") ;;
	kseg | kseg0) CMD=("$KEEPFTP" get -q --segments 4 --retry-max-delay 1s -o "$out" "ftp://$MB_ADDR/big.bin") ;;
	lpget | lpget0) CMD=(lftp -c "$LFTP_SET; pget -n 4 ftp://$MB_ADDR/big.bin -o $out") ;;
	kdisk) CMD=("$KEEPFTP" get -q -o "$out" "$URL") ;;
	ldisk) CMD=(lftp -c "$LFTP_SET; get $URL -o $out") ;;
	dd) CMD=(dd if="$ROOT/big.bin" of="$out" bs=1M conv=fsync status=none) ;;
	many) CMD=("$MANYBIN" -url "ftp://$SERVE_ADDR/one.bin" -n "$MANY" -o "$out") ;;
	kftpsget) CMD=("$KEEPFTP" get -q --ca-file "$TLS_CERT" -o "$out" "ftpes://127.0.0.1:$TLS_PORT/big.bin") ;;
	cftpsget) CMD=(curl -sS --ssl-reqd --cacert "$TLS_CERT" -o "$out" "ftp://127.0.0.1:$TLS_PORT/big.bin") ;;
	lftpsget) CMD=(lftp -c "$LFTP_TLS; get ftp://127.0.0.1:$TLS_PORT/big.bin -o $out") ;;
	kftpsput) CMD=("$KEEPFTP" put -q --ca-file "$TLS_CERT" "$ROOT/big.bin" "ftpes://127.0.0.1:$TLS_PORT/upload/up.bin") ;;
	cftpsput) CMD=(curl -sS --ssl-reqd --cacert "$TLS_CERT" -T "$ROOT/big.bin" "ftp://127.0.0.1:$TLS_PORT/upload/up.bin") ;;
	lftpsput) CMD=(lftp -c "$LFTP_TLS; put $ROOT/big.bin -o ftp://127.0.0.1:$TLS_PORT/upload/up.bin") ;;
	kmirrortls1) CMD=("$KEEPFTP" mirror -q -P 1 --ca-file "$TLS_CERT" "ftpes://${MBA[vsftpd-tls]}/small/" "$out") ;;
	lmirrortls1) CMD=(lftp -c "$LFTP_TLS; mirror -P 1 ftp://${MBA[vsftpd-tls]}/small $out") ;;
	one-*) one_cmd "$id" "$out" ;;
	esac
}

# case_prep ID OUT: untimed set-up before each run.
case_prep() {
	case $1 in
	kseg | lpget) mb_start -rate "$CAP" -cut "$CUTS" ;; # a fresh cut queue per run
	kseg0 | lpget0) mb_start -rate "$CAP" ;;
	kdisk | ldisk | dd) sync ;;                         # no write-back left over from the run before
	many) mkdir -p "$2" ;;
	*ftpsput) rm -f "$TLS_ROOT/upload/up.bin" ;; # anonymous uploads cannot overwrite
	esac
}

# case_check ID OUT VERIFY: the output is complete (and right, on VERIFY).
case_check() {
	local id=$1 out=$2 verify=$3 n bytes
	case $id in
	*mirror*)
		n=$(find "$out" -type f -name 'f*.bin' | wc -l)
		bytes=$(find "$out" -type f -name 'f*.bin' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
		[[ $n == 100 && $bytes == $((100 * 16384)) ]] || die "$(case_label "$id"): $n files, $bytes bytes"
		if [[ -n $verify ]]; then
			(cd "$ROOT/small" && sha256sum f*.bin) >"$WORK/small.sum"
			(cd "$out" && sha256sum -c --quiet "$WORK/small.sum") || die "$(case_label "$id"): files differ"
		fi
		;;
	one-*)
		cmp -s "$out" "$ROOT/one.txt" || die "$(case_label "$id") ($id): $out is not the 14-byte file"
		;;
	many)
		n=$(find "$out" -type f | wc -l)
		[[ $n == "$MANY" ]] || die "$(case_label "$id"): $n files, want $MANY"
		;;
	*ftpsput)
		out=$TLS_ROOT/upload/up.bin
		[[ $(stat -c %s "$out" 2>/dev/null) == "$SIZE" ]] || die "$(case_label "$id"): the server holds $(stat -c %s "$out" 2>/dev/null || echo no) bytes, want $SIZE"
		[[ -z $verify || $(sha256sum "$out" | cut -d' ' -f1) == "$SUM" ]] || die "$(case_label "$id"): sha256 at the server differs"
		;;
	*)
		[[ $(stat -c %s "$out" 2>/dev/null) == "$SIZE" ]] || die "$(case_label "$id"): $out is not $SIZE bytes"
		[[ -z $verify || $(sha256sum "$out" | cut -d' ' -f1) == "$SUM" ]] || die "$(case_label "$id"): sha256 differs"
		;;
	esac
}

# time_case ID DIR VERIFY: one run, output under DIR; appends "wall_s
# rss_kib cpu_s" to $WORK/res/ID unless VERIFY (the warm-up, which instead
# counts the FTP commands vsftpd logged during it into $WORK/cmds/ID).
time_case() {
	local id=$1 out=$2/$1 verify=$3 t0 t1 rc lines
	rm -rf "$out" "$out".*
	case_prep "$id" "$out"
	case_cmd "$id" "$out"
	lines=$(wc -l <"$WORK/etc/vsftpd.log")
	t0=${EPOCHREALTIME/./}
	rc=0
	"$RUSAGE" -o "$WORK/time.txt" -- "${CMD[@]}" </dev/null >"$WORK/$id.stdout" 2>"$WORK/$id.stderr" || rc=$?
	t1=${EPOCHREALTIME/./}
	if ((rc != 0)); then
		cat "$WORK/$id.stdout" "$WORK/$id.stderr" >&2
		die "$(case_label "$id") failed (exit $rc): ${CMD[*]}"
	fi
	case_check "$id" "$out" "$verify"
	if [[ -n $verify ]]; then
		# vsftpd logs each command as: FTP command: Client "ADDR", "VERB ARGS"
		tail -n +$((lines + 1)) "$WORK/etc/vsftpd.log" | sed -n 's/.*FTP command: Client "[^"]*", "\([A-Za-z]*\).*/\1/p' | sort | uniq -c | sort -rn >"$WORK/cmds/$id"
	else
		tail -1 "$WORK/time.txt" | awk -v us=$((t1 - t0)) '{ printf "%.6f %d %.4f\n", us / 1e6, $1, $2 + $3 }' >>"$WORK/res/$id"
	fi
	rm -rf "$out" "$out".*
	case $id in kseg* | lpget*) mb_stop ;; esac
}

# run_cases DIR ROUNDS CASE...: warm-up, then ROUNDS rounds.
run_cases() {
	local dir=$1 rounds=$2 r k c
	shift 2
	local cases=("$@")
	for c in "${cases[@]}"; do time_case "$c" "$dir" verify; done
	for ((r = 0; r < rounds; r++)); do
		for ((k = 0; k < ${#cases[@]}; k++)); do
			time_case "${cases[(k + r) % ${#cases[@]}]}" "$dir" ""
		done
	done
}

# median ID: the median wall time.
median() { stats "$1" | cut -d' ' -f2; }

# report_cases TITLE REF CASE...: a table, each case's median time over REF's.
report_cases() {
	local title=$1 ref=$2 c b m r cpu
	shift 2
	echo
	echo "$title"
	printf '  %-30s %8s %8s %9s %8s %8s\n' case "best s" "median s" "peak RSS" "cpu s" "x $ref"
	for c in "$@"; do
		read -r b m r cpu < <(stats "$c")
		awk -v l="$(case_label "$c")" -v b="$b" -v m="$m" -v r="$r" -v c="$cpu" -v ref="$(median "$ref")" 'BEGIN {
			printf "  %-30s %8.3f %8.3f %8.1fM %8.3f %8.2f\n", l, b, m, r / 1024, c, m / ref
		}'
	done
}

# commands_per_file ID FILES: the FTP commands of the warm-up run per file.
commands_per_file() {
	awk -v f="$2" -v l="$(case_label "$1")" '{ total += $1; list = list sprintf(" %s %.2f", $2, $1 / f) } END {
		printf "  %-24s %5.2f commands per file:%s\n", l, total / f, list
	}' "$WORK/cmds/$1"
}

ratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN { printf "%.3f", a / b }'; }

# cpu_ratio A B: A's median CPU time (user+sys) over B's.
cpu_ratio() { awk -v a="$(stats "$1" | cut -d' ' -f4)" -v b="$(stats "$2" | cut -d' ' -f4)" 'BEGIN { printf "%.3f", a / b }'; }

if row mirror; then
	note "(a) mirror: 100 x 16 KiB behind a middlebox adding $RTT_DELAY each way"
	mb_start -delay "$RTT_DELAY"
	mkdir -p "$OUT/a"
	run_cases "$OUT/a" "$N" kmirror1 lmirror1 kmirror8 lmirror8
	mb_stop
fi
if row pget; then
	note "(b) pget: ${SIZE_MIB} MiB behind a cap of $CAP bytes/s per connection, cuts $CUTS"
	mkdir -p "$OUT/b"
	run_cases "$OUT/b" "$N" kseg lpget kseg0 lpget0
fi
if row disk; then
	DISK_OUT=$(mktemp -d "$WORK/disk.XXXXXX")
	note "(c) disk: ${SIZE_MIB} MiB to $DISK_OUT ($(stat -f -c %T "$DISK_OUT"))"
	[[ $(stat -f -c %T "$DISK_OUT") != tmpfs ]] || note "warning: $DISK_OUT is tmpfs; row (c) wants a disk"
	run_cases "$DISK_OUT" "$N" kdisk ldisk dd
fi
if row many; then
	# The peer is keepftp's embedded server (`keepftp serve`, another
	# process), not vsftpd: vsftpd listens with a backlog of 32 and forks
	# per session, so a thousand logins at once would time its SYN
	# retransmits, not the client.
	setsid "$KEEPFTP" serve --root "$ROOT" --listen 127.0.0.1:0 >"$WORK/serve.out" 2>&1 </dev/null &
	PIDS+=("$!")
	for ((i = 0; i < 200; i++)); do
		SERVE_ADDR=$(sed -n 's|.* on ftp://\([^/]*\)/.*|\1|p' "$WORK/serve.out")
		[[ -z $SERVE_ADDR ]] || break
		sleep 0.02
	done
	[[ -n $SERVE_ADDR ]] || die "keepftp serve did not start: $(cat "$WORK/serve.out")"
	note "(d) many: $MANY concurrent downloads of 1 MiB in one process, from keepftp serve on $SERVE_ADDR"
	mkdir -p "$OUT/d"
	run_cases "$OUT/d" $((N < 3 ? N : 3)) many
fi

# start_tls_vsftpd: a second vsftpd with explicit TLS (once); sets TLS_PORT,
# TLS_LO (its passive range), TLS_ROOT, TLS_CERT, LFTP_TLS.
start_tls_vsftpd() {
	[[ -z ${TLS_PORT:-} ]] || return 0
	# A second vsftpd with explicit TLS required on control and data,
	# require_ssl_reuse=YES (its default), a self-signed certificate for
	# 127.0.0.1 that every client is told to trust, and an upload folder.
	command -v openssl >/dev/null 2>&1 || need_pkg openssl openssl
	TLS_ROOT=$WORK/tlsroot
	mkdir -p -m 755 "$TLS_ROOT" "$WORK/etc-tls"
	ln "$ROOT/big.bin" "$ROOT/one.txt" "$TLS_ROOT/"
	cp -al "$ROOT/small" "$TLS_ROOT/small"
	mkdir -m 755 "$TLS_ROOT/upload"
	chown daemon: "$TLS_ROOT/upload"
	TLS_CERT=$WORK/etc-tls/cert.pem
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
		-addext "subjectAltName=IP:127.0.0.1,IP:127.0.0.2,DNS:localhost" \
		-keyout "$WORK/etc-tls/key.pem" -out "$TLS_CERT" 2>/dev/null
	chmod 644 "$TLS_CERT"
	LFTP_TLS="set ftp:ssl-allow-anonymous true; set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:ca-file $TLS_CERT; set ssl:verify-certificate yes; set xfer:clobber on; set ftp:ignore-pasv-address yes"
	TLS_PORT=""
	for try in 1 2 3 4 5; do
		lo=$((20000 + (RANDOM % ((12700 - PASV_PORTS) / 16)) * 16))
		port=$((20000 + RANDOM % 12700))
		((port < lo || port >= lo + PASV_PORTS)) || continue
		port_free "$port" || continue
		ss -Htln 2>/dev/null | awk -v lo="$lo" -v hi=$((lo + PASV_PORTS - 1)) '{ n = split($4, a, ":"); p = a[n] + 0; if (p >= lo && p <= hi) bad = 1 } END { exit bad }' || continue
		sed -e "s|^listen_port=.*|listen_port=$port|" -e "s|^anon_root=.*|anon_root=$TLS_ROOT|" \
			-e "s|^write_enable=.*|write_enable=YES|" -e "s|^pasv_min_port=.*|pasv_min_port=$lo|" \
			-e "s|^pasv_max_port=.*|pasv_max_port=$((lo + PASV_PORTS - 1))|" \
			-e "s|^vsftpd_log_file=.*|vsftpd_log_file=$WORK/etc-tls/vsftpd.log|" "$WORK/etc/vsftpd.conf" >"$WORK/etc-tls/vsftpd.conf"
		# anon_other_write_enable: keepftp put uploads to a temporary
		# name and renames it (RNFR/RNTO), which vsftpd refuses an
		# anonymous session without it.
		printf '%s\n' anon_upload_enable=YES anon_other_write_enable=YES anon_umask=022 ssl_enable=YES "rsa_cert_file=$TLS_CERT" \
			"rsa_private_key_file=$WORK/etc-tls/key.pem" allow_anon_ssl=YES force_anon_logins_ssl=YES \
			force_anon_data_ssl=YES require_ssl_reuse=YES ssl_ciphers=HIGH >>"$WORK/etc-tls/vsftpd.conf"
		chmod 600 "$WORK/etc-tls/vsftpd.conf"
		setsid "$VSFTPD" "$WORK/etc-tls/vsftpd.conf" >"$WORK/etc-tls/vsftpd.out" 2>&1 </dev/null &
		TLS_PID=$!
		PIDS+=("$TLS_PID")
		for ((i = 0; i < 100; i++)); do
			kill -0 "$TLS_PID" 2>/dev/null || break
			if greeted "$port" 2>/dev/null; then TLS_PORT=$port TLS_LO=$lo; break; fi
			sleep 0.1
		done
		[[ -z $TLS_PORT ]] || break
		note "vsftpd (TLS) did not start on port $port (try $try): $(cat "$WORK/etc-tls/vsftpd.out")"
		kill -KILL -- "-$TLS_PID" 2>/dev/null || true
	done
	[[ -n $TLS_PORT ]] || die "could not start vsftpd with TLS"
	note "vsftpd with explicit TLS on 127.0.0.1:$TLS_PORT"
}

# start_pure MODE: pure-ftpd (the Debian package) for row (f), plain or
# tls (TLS required on control and data, -Y 3), one user with a SHA-512
# crypt password (pure-pw's argon2 costs seconds per login), announcing
# 127.0.0.2 in PASV under TLS (the middlebox's data ports). Sets
# PURE_PORT[MODE] and PURE_LO[MODE].
declare -A PURE_PORT PURE_LO MBA
start_pure() {
	local mode=$1 try lo port pid i args
	command -v pure-ftpd >/dev/null 2>&1 || need_pkg pure-ftpd pure-ftpd
	if [[ ! -d $WORK/pure ]]; then
		mkdir -p -m 755 "$WORK/pure/root"
		ln "$ROOT/one.txt" "$WORK/pure/root/one.txt"
		chown -R nobody: "$WORK/pure/root"
		printf 'bench:%s:%d:%d::%s/./::::::::::::\n' "$(printf 'bench\n' | openssl passwd -6 -stdin)" \
			"$(id -u nobody)" "$(getent group nogroup | cut -d: -f3)" "$WORK/pure/root" >"$WORK/pure/passwd"
		chmod 600 "$WORK/pure/passwd"
		pure-pw mkdb "$WORK/pure/pdb" -f "$WORK/pure/passwd" >/dev/null
		cat "$WORK/etc-tls/key.pem" "$TLS_CERT" >"$WORK/pure/combined.pem"
		chmod 600 "$WORK/pure/combined.pem"
	fi
	for try in 1 2 3 4 5; do
		lo=$((20000 + (RANDOM % ((12700 - PASV_PORTS) / 16)) * 16))
		port=$((20000 + RANDOM % 12700))
		((port < lo || port >= lo + PASV_PORTS)) || continue
		port_free "$port" || continue
		ss -Htln 2>/dev/null | awk -v lo="$lo" -v hi=$((lo + PASV_PORTS - 1)) '{ n = split($4, a, ":"); p = a[n] + 0; if (p >= lo && p <= hi) bad = 1 } END { exit bad }' || continue
		args=(-S "127.0.0.1,$port" -p "$lo:$((lo + PASV_PORTS - 1))" -l "puredb:$WORK/pure/pdb" -E -A -H -u 1)
		[[ $mode == plain ]] || args+=(-Y 3 -2 "$WORK/pure/combined.pem" -P 127.0.0.2)
		setsid pure-ftpd "${args[@]}" >"$WORK/pure/$mode.out" 2>&1 </dev/null &
		pid=$!
		PIDS+=("$pid")
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			if greeted "$port" 2>/dev/null; then PURE_PORT[$mode]=$port PURE_LO[$mode]=$lo; return 0; fi
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	die "could not start pure-ftpd ($mode): $(cat "$WORK/pure/$mode.out")"
}

# mbox NAME TARGET_PORT [TLS_PASSIVE_LO]: a middlebox adding RTT_DELAY each
# way in front of 127.0.0.1:TARGET_PORT, left running; under TLS on
# 127.0.0.2, forwarding the passive range that starts at TLS_PASSIVE_LO.
# Sets MBA[NAME] to its address.
mbox() {
	local name=$1 port=$2 lo=${3:-} i pid args=(-target "127.0.0.1:$2" -delay "$RTT_DELAY")
	[[ -z $lo ]] || args+=(-listen 127.0.0.2:0 -data-ports "$lo-$((lo + PASV_PORTS - 1))")
	setsid "$MIDDLEBOX" "${args[@]}" >"$WORK/mb-$name.addr" 2>"$WORK/mb-$name.err" </dev/null &
	pid=$!
	PIDS+=("$pid")
	for ((i = 0; i < 200; i++)); do
		[[ -s $WORK/mb-$name.addr ]] && break
		kill -0 "$pid" 2>/dev/null || die "middlebox $name exited: $(cat "$WORK/mb-$name.err")"
		sleep 0.02
	done
	MBA[$name]=$(head -1 "$WORK/mb-$name.addr")
	[[ -n ${MBA[$name]} ]] || die "middlebox $name printed no address"
}

# Row (f): the cases one-SERVER-MODE-CLIENT, SERVER pure or vsftpd, MODE
# plain or tls, CLIENT keepftp, keepftp0 (--no-profile), curl, wget, lftp.
ONE_CLIENTS_plain=(keepftp keepftp0 curl wget lftp)
ONE_CLIENTS_tls=(keepftp keepftp0 curl lftp)
one_cases() { # one_cases SERVER MODE: the case ids of one table
	local c clients="ONE_CLIENTS_$2[@]"
	for c in "${!clients}"; do printf '%s ' "one-$1-$2-$c"; done
}

# one_cmd ID OUT: sets CMD for a case of row (f).
one_cmd() {
	local srv mode client addr user="" path=/one.txt tls=() ktls=() url
	IFS=- read -r _ srv mode client <<<"$1"
	addr=${MBA[$srv-$mode]}
	[[ $srv == pure ]] && user=bench:bench@
	if [[ $mode == tls ]]; then
		url=ftp://$user$addr$path
		ktls=(--ca-file "$TLS_CERT")
	else
		url=ftp://$user$addr$path
	fi
	case $client in
	keepftp | keepftp0)
		local k=("$KEEPFTP" get -q "${ktls[@]}" -o "$2")
		[[ $client == keepftp ]] || k+=(--no-profile)
		[[ $mode == tls ]] && url=ftpes://$user$addr$path
		CMD=("${k[@]}" "$url")
		;;
	curl)
		[[ $mode == tls ]] && tls=(--ssl-reqd --cacert "$TLS_CERT")
		CMD=(curl -sS "${tls[@]}" -o "$2" "$url")
		;;
	wget) CMD=(wget -q -O "$2" "$url") ;;
	lftp)
		if [[ $mode == tls ]]; then
			CMD=(lftp -c "$LFTP_TLS; get $url -o $2")
		else
			CMD=(lftp -c "set ftp:ssl-allow no; set xfer:clobber on; get $url -o $2")
		fi
		;;
	esac
}

one_label() {
	local srv mode client
	IFS=- read -r _ srv mode client <<<"$1"
	case $client in
	keepftp) echo "keepftp get" ;;
	keepftp0) echo "keepftp get --no-profile" ;;
	curl) echo "curl" ;;
	wget) echo "wget" ;;
	lftp) echo "lftp get" ;;
	esac
}

# rtts ID: the median wall time in round trips of the middlebox.
rtts() { awk -v m="$(median "$1")" -v d="${RTT_DELAY%ms}" 'BEGIN { printf "%.1f", m / (2 * d / 1000) }'; }

if row ftps; then
	start_tls_vsftpd
	note "(e) FTPS: ${SIZE_MIB} MiB down and up, vsftpd with explicit TLS on 127.0.0.1:$TLS_PORT"
	mkdir -p "$OUT/e"
	run_cases "$OUT/e" "$N" kftpsget cftpsget lftpsget kftpsput cftpsput lftpsput
fi
if row one; then
	start_tls_vsftpd # its certificate serves pure-ftpd too
	start_pure plain
	start_pure tls
	mbox pure-plain "${PURE_PORT[plain]}"
	mbox pure-tls "${PURE_PORT[tls]}" "${PURE_LO[tls]}"
	mbox vsftpd-plain "$PORT"
	mbox vsftpd-tls "$TLS_PORT" "$TLS_LO"
	note "(f) one: a 14-byte file, cold, RTT 2 x $RTT_DELAY, from pure-ftpd ($(pure-ftpd --help 2>&1 | head -1 | awk '{ print $2 }')) and vsftpd, plain and FTPS"
	mkdir -p "$OUT/f"
	for srv in pure vsftpd; do
		for mode in plain tls; do
			# shellcheck disable=SC2046 # the ids are words
			run_cases "$OUT/f" "$N" $(one_cases "$srv" "$mode")
		done
	done
fi
if row mirrortls; then
	start_tls_vsftpd
	[[ -n ${MBA[vsftpd-tls]:-} ]] || mbox vsftpd-tls "$TLS_PORT" "$TLS_LO" # row (f)'s, if it ran: one per passive range
	note "(g) mirror over FTPS: 100 x 16 KiB from vsftpd (explicit TLS, require_ssl_reuse), RTT 2 x $RTT_DELAY"
	mkdir -p "$OUT/g"
	run_cases "$OUT/g" "$N" kmirrortls1 lmirrortls1
fi

if row base; then bench_base; fi

echo
echo "rows (a)-(g), $(date -u +%Y-%m-%d), $N timed runs per case (+1 warm-up, checked), $(nproc) CPUs, $(uname -r), lftp $(lftp --version | head -1 | sed 's/^LFTP | Version //; s/ |.*//')"
if row mirror; then
	report_cases "(a) 100 x 16 KiB, RTT 2 x $RTT_DELAY, to $(stat -f -c %T "$OUT")" lmirror1 kmirror1 lmirror1
	report_cases "" lmirror8 kmirror8 lmirror8
	echo "  FTP commands per file in the warm-up run (vsftpd's log; logins and listings included):"
	for c in kmirror1 lmirror1 kmirror8 lmirror8; do commands_per_file "$c" 100; done
fi
if row pget; then
	report_cases "(b) ${SIZE_MIB} MiB, $CAP B/s per connection, data connections cut: $CUTS (and without cuts)" lpget0 kseg lpget kseg0 lpget0
	echo "  FTP commands in the warm-up run:"
	for c in kseg lpget kseg0 lpget0; do commands_per_file "$c" 1; done
fi
if row disk; then
	report_cases "(c) ${SIZE_MIB} MiB to disk ($(stat -f -c %T "$DISK_OUT"))" dd kdisk ldisk dd
fi
if row many; then
	report_cases "(d) $MANY x 1 MiB at once from keepftp serve, one process, to $(stat -f -c %T "$OUT")" many many
fi
if row ftps; then
	report_cases "(e) FTPS download, ${SIZE_MIB} MiB, vsftpd explicit TLS (require_ssl_reuse), to $(stat -f -c %T "$OUT")" kftpsget kftpsget cftpsget lftpsget
	report_cases "(e) FTPS upload, ${SIZE_MIB} MiB, to vsftpd explicit TLS (require_ssl_reuse), checked at the server" kftpsput kftpsput cftpsput lftpsput
	echo "  keepftp over curl and lftp, medians of wall and of CPU (user+sys) time:"
	for op in get put; do
		printf '  %-8s wall %.2fx curl, %.2fx lftp; cpu %.2fx curl, %.2fx lftp\n' "FTPS $op" \
			"$(ratio kftps$op cftps$op)" "$(ratio kftps$op lftps$op)" "$(cpu_ratio kftps$op cftps$op)" "$(cpu_ratio kftps$op lftps$op)"
	done
fi
if row one; then
	echo
	echo "(f) one 14-byte file, cold (a new process each), RTT 2 x $RTT_DELAY: median wall time, in round trips, over curl's and lftp's"
	printf '  %-28s %8s %8s %6s %8s %8s\n' case "best s" "median s" RTT "x curl" "x lftp"
	for srv in pure vsftpd; do
		for mode in plain tls; do
			echo "  $([[ $srv == pure ]] && echo pure-ftpd || echo vsftpd), $([[ $mode == tls ]] && echo "FTPS (explicit)" || echo plain):"
			for c in $(one_cases "$srv" "$mode"); do
				read -r b m _ _ < <(stats "$c")
				printf '    %-26s %8.3f %8.3f %6s %8.2f %8.2f\n' "$(case_label "$c")" "$b" "$m" "$(rtts "$c")" \
					"$(ratio "$c" "one-$srv-$mode-curl")" "$(ratio "$c" "one-$srv-$mode-lftp")"
			done
		done
	done
fi
if row mirrortls; then
	report_cases "(g) 100 x 16 KiB over FTPS (vsftpd, require_ssl_reuse), RTT 2 x $RTT_DELAY, to $(stat -f -c %T "$OUT")" lmirrortls1 kmirrortls1 lmirrortls1
fi
if row mirror || row mirrortls; then
	echo "  round trips per file (median wall time / 100 / RTT, login and listing included):"
	for c in kmirror1 lmirror1 kmirrortls1 lmirrortls1; do
		[[ -s $WORK/res/$c ]] || continue
		awk -v l="$(case_label "$c")" -v m="$(median "$c")" -v d="${RTT_DELAY%ms}" 'BEGIN { printf "  %-30s %5.2f\n", l, m / 100 / (2 * d / 1000) }'
	done
fi
# ==== results: every row's ratios, as a file, a chart and a table ====
# One line per row and client (bench/cmd/chart reads it): keepftp's
# median, the client's, their ratio, and the highest ratio the goal allows
# (empty: none for this client). Rows in the order of issue 17's table.
RES_BODY=$WORK/results.body
: >"$RES_BODY"
# result ROW CLIENT VALUE REFERENCE [GOAL]
result() {
	awk -v row="$1" -v c="$2" -v v="$3" -v r="$4" -v g="${5:-}" 'BEGIN {
		printf "%s\t%s\t%.4g\t%.4g\t%.4f\t%s\n", row, c, v, r, v / r, g
	}' >>"$RES_BODY"
}
cpu_median() { stats "$1" | cut -d' ' -f4; }
# result_wall ROW CLIENT CASE REFCASE [GOAL]: medians of wall time.
result_wall() { result "$1" "$2" "$(median "$3")" "$(median "$4")" "${5:-}"; }
# result_cpu ROW CLIENT CASE REFCASE [GOAL]: medians of CPU time (user+sys).
result_cpu() { result "$1" "$2" "$(cpu_median "$3")" "$(cpu_median "$4")" "${5:-}"; }
if [[ $RTT_DELAY =~ ^([0-9]+)ms$ ]]; then RTT_LABEL="$((BASH_REMATCH[1] * 2)) ms RTT"; else RTT_LABEL="RTT 2 x $RTT_DELAY"; fi

if row base; then
	R="${SIZE_MIB} MiB get, plain, wall (s)"
	result_wall "$R" lftp keepftp lftp 1
	result_wall "$R" curl keepftp curl
	result_wall "$R" wget keepftp wget
	result_wall "$R" "raw TCP (limit)" keepftp raw
	R="${SIZE_MIB} MiB get, plain, CPU (s)"
	for c in lftp curl wget; do result_cpu "$R" "$c" keepftp "$c"; done
fi
if row ftps; then
	for op in get put; do
		R="${SIZE_MIB} MiB $op, FTPS, wall (s)"
		result_wall "$R" curl kftps$op cftps$op 1
		result_wall "$R" lftp kftps$op lftps$op 1
		R="${SIZE_MIB} MiB $op, FTPS, CPU (s)"
		result_cpu "$R" curl kftps$op cftps$op 1
		result_cpu "$R" lftp kftps$op lftps$op
	done
fi
# rtt_s N: N round trips of the middlebox, in seconds.
rtt_s() { awk -v n="$1" -v d="${RTT_DELAY%ms}" 'BEGIN { print n * 2 * d / 1000 }'; }
if row one; then
	for srv in pure vsftpd; do
		name=$([[ $srv == pure ]] && echo pure-ftpd || echo vsftpd)
		R="one 14-byte file from $name, cold, $RTT_LABEL, plain (s)"
		result_wall "$R" curl "one-$srv-plain-keepftp" "one-$srv-plain-curl" 0.7
		result_wall "$R" wget "one-$srv-plain-keepftp" "one-$srv-plain-wget"
		result_wall "$R" lftp "one-$srv-plain-keepftp" "one-$srv-plain-lftp"
		result "$R" "6.5 round trips (goal)" "$(median "one-$srv-plain-keepftp")" "$(rtt_s 6.5)" 1
		R="same, FTPS (s)"
		result_wall "$R" lftp "one-$srv-tls-keepftp" "one-$srv-tls-lftp" 0.5
		result_wall "$R" curl "one-$srv-tls-keepftp" "one-$srv-tls-curl"
		result "$R" "10 round trips (goal)" "$(median "one-$srv-tls-keepftp")" "$(rtt_s 10)" 1
	done
fi
if row pget; then
	R="${SIZE_MIB} MiB, --segments 4 / pget -n 4, $((CAP / 1000000)) MB/s per connection, no cuts (s)"
	result_wall "$R" "lftp pget" kseg0 lpget0
	result "$R" "4 x $((CAP / 1000000)) MB/s (limit)" "$(median kseg0)" "$(awk -v s="$SIZE" -v c="$CAP" 'BEGIN { print s / (4 * c) }')"
	R="same, 2 data connections cut (s)"
	result_wall "$R" "lftp pget, no cuts" kseg lpget0 1.1
	result_wall "$R" "lftp pget, same cuts" kseg lpget 1
fi
if row mirror; then
	result_wall "100 x 16 KiB, $RTT_LABEL, mirror -P 1 (s)" lftp kmirror1 lmirror1 0.5
	result "100 x 16 KiB, $RTT_LABEL, mirror -P 1 (s)" "2 round trips a file (goal)" "$(median kmirror1)" "$(rtt_s 200)" 1
	result_wall "100 x 16 KiB, $RTT_LABEL, mirror -P 8 (s)" lftp kmirror8 lmirror8 0.8
fi
if row mirrortls; then
	result_wall "100 x 16 KiB over FTPS, $RTT_LABEL, mirror -P 1 (s)" lftp kmirrortls1 lmirrortls1 0.6
fi
if row disk; then
	R="${SIZE_MIB} MiB get to disk (keepftp fsyncs) (s)"
	result_wall "$R" "dd conv=fsync" kdisk dd 1.1
	result_wall "$R" "lftp (no fsync)" kdisk ldisk
fi
# Row (d) has no other client: its peak RSS and its goal are in its table.

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "# $STARTED, keepftp $COMMIT, ROWS=\"$ROWS\", medians of $N timed runs (+1 checked warm-up) per case"
	echo "# $(nproc) CPUs, Linux $(uname -r), load average (1, 5, 15 min) $LOAD_START at the start, $LOAD_END at the end"
	echo "# $("$VSFTPD" -v 0>&1 2>&1 | head -1 | tr -s ' '), $(curl --version | head -1 | cut -d' ' -f1-2), $(wget --version | head -1 | cut -d' ' -f1-3), lftp $(lftp --version | head -1 | sed 's/^LFTP | Version //; s/ |.*//'), $(go version | cut -d' ' -f3)"
	printf 'row\tclient\tvalue\treference\tratio\tgoal\n'
	cat "$RES_BODY"
} >"$WORK/results.tsv"
"$CHART" -in "$WORK/results.tsv" -svg "$WORK/results.svg" -md "$WORK/results.md" \
	-title "keepftp against other clients: keepftp's median over theirs"
for f in results.tsv results.svg results.md; do
	cp "$WORK/$f" "$RESULTS_DIR/$f"
	# Owned like the directory, not by root: the script runs under sudo.
	chown --reference="$RESULTS_DIR" "$RESULTS_DIR/$f" 2>/dev/null || true
done
echo
echo "results ($RESULTS_DIR/results.tsv, chart results.svg, table results.md):"
grep '^#' "$WORK/results.tsv"
cat "$WORK/results.md"
exit 0
