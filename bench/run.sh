#!/usr/bin/env bash
# bench/run.sh: download speed and memory of keepftp against curl, wget,
# lftp and a raw TCP copy, all in the same run, from vsftpd on loopback.
# See bench/README.md. Run as root from anywhere:
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
set -euo pipefail
export LC_ALL=C

N=${N:-5}
SIZE_MIB=${SIZE_MIB:-200}
EXTRA=${EXTRA:-1}
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
[[ -x /usr/bin/time ]] || need_pkg /usr/bin/time time
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
note "building keepftp and rawcopy"
(cd "$REPO" && go build -o "$WORK/keepftp" ./cmd/keepftp && go build -o "$WORK/rawcopy" ./bench/cmd/rawcopy)
KEEPFTP=$WORK/keepftp
RAWCOPY=$WORK/rawcopy

# ---- the file ----
ROOT=$WORK/root
mkdir -m 755 "$ROOT"
SIZE=$((SIZE_MIB * 1024 * 1024))
note "writing ${SIZE_MIB} MiB of random data"
head -c "$SIZE" /dev/urandom >"$ROOT/big.bin"
chmod 644 "$ROOT/big.bin"
SUM=$(sha256sum "$ROOT/big.bin" | cut -d' ' -f1)

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
		lo=$((20000 + (RANDOM % 790) * 16))
		PORT=$((20000 + RANDOM % 12700))
		((PORT < lo || PORT > lo + 15)) || continue
		ok=1
		for ((i = lo; i <= lo + 15; i++)); do port_free "$i" || { ok=""; break; }; done
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
pasv_max_port=$((lo + 15))
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
start_vsftpd
URL=ftp://127.0.0.1:$PORT/big.bin
note "vsftpd $("$VSFTPD" -v 0>&1 2>&1 | head -1 | tr -s ' ') pid $VSFTPD_PID on 127.0.0.1:$PORT"

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

mkdir "$WORK/res"
# run_one TOOL VERIFY: one download; appends "wall_s rss_kib cpu_s" to
# $WORK/res/TOOL unless VERIFY (the warm-up run, checked by sha256).
run_one() {
	local tool=$1 verify=$2 f t0 t1 got rc
	f=$OUT/$tool.out
	rm -f "$f" "$f".*
	tool_cmd "$tool" "$f"
	t0=${EPOCHREALTIME/./}
	rc=0
	/usr/bin/time -f '%M %U %S' -o "$WORK/time.txt" -- "${CMD[@]}" </dev/null >"$WORK/$tool.stdout" 2>"$WORK/$tool.stderr" || rc=$?
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
		# /usr/bin/time's last line: "%M %U %S" (it may print a notice first).
		tail -1 "$WORK/time.txt" | awk -v us=$((t1 - t0)) '{ printf "%.6f %d %.2f\n", us / 1e6, $1, $2 + $3 }' >>"$WORK/res/$tool"
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

# ---- report ----
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
		printf "%-30s %8.3f %8.3f %8.0f %9.1f %8.2f %10.2f\n", l, b, m, mib / m, r / 1024, c, m / k
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
