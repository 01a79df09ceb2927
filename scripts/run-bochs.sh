#!/usr/bin/env bash
# Boot the monitor in Bochs (emulated VT-x) from a GRUB ISO, headless and bounded.
#
#   scripts/run-bochs.sh [--cpu MODEL] [--timeout SECS] [--log FILE] [--megs N]
#                        [--no-guest] [--guest FILE] [-- monitor command line...]
#
# Serial output goes to stdout and to the log file (default build/bochs-serial.log).
# --timeout 0: no time limit. Paths given to --log and --guest are relative to the caller's directory.
# Exit status: the monitor's verdict N from its line "HV-EXIT status=N (...)" (scripts/verdict.sh),
# trusted only when the monitor's copy on Bochs's port 0xe9 (which the guest cannot write) says the
# same and Bochs ended through the Shutdown port; 124 on timeout; 125 when there is no trustworthy
# verdict (none, two, or the two channels disagree: bochs.log and the message say why).
# Unknown MSRs fault as on real CPUs (cpu: ignore_bad_msrs=0) and the magic breakpoint is off (a guest
# could execute XCHG BX,BX to end the run).
set -euo pipefail
caller_dir=$PWD
cd "$(dirname "$0")/.."
# shellcheck source=scripts/verdict.sh
. scripts/verdict.sh
# A path the caller gave, made absolute against the caller's directory (we run from the repository root).
from_caller() { case "$1" in /*) echo "$1" ;; *) echo "$caller_dir/$1" ;; esac; }

cpu=tigerlake
timeout_s=120
log=build/bochs-serial.log
megs=256
iso_args=()
usage() {
	echo "usage: $0 [--cpu MODEL] [--timeout SECS] [--log FILE] [--megs N] [--no-guest] [--guest FILE] [-- cmdline...]" >&2
	echo "  CPU models with VT-x: tigerlake (default, most features), corei7_icelake_u, corei3_cnl," >&2
	echo "  corei7_skylake_x, broadwell_ult, corei7_haswell_4770, corei7_ivy_bridge_3770k, corei7_sandy_bridge_2600k" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--cpu) [ $# -ge 2 ] || usage; cpu=$2; shift ;;
	--timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift ;;
	--log) [ $# -ge 2 ] || usage; log=$(from_caller "$2"); shift ;;
	--megs) [ $# -ge 2 ] || usage; megs=$2; shift ;;
	--no-guest) iso_args+=(--no-guest) ;;
	--guest) [ $# -ge 2 ] || usage; iso_args+=(--guest "$(from_caller "$2")"); shift ;;
	--) shift; break ;;
	-h|--help) usage ;;
	*) echo "run-bochs: unknown option '$1'" >&2; usage ;;
	esac
	shift
done
case "$timeout_s" in
''|*[!0-9]*) echo "run-bochs: --timeout wants whole seconds, got '$timeout_s'" >&2; usage ;;
esac
command -v bochs >/dev/null || { echo "run-bochs: bochs is not installed: run 'make deps'" >&2; exit 2; }

tmp=$(mktemp -d)
bochs_pid=""
cleanup() {
	[ -n "$bochs_pid" ] && kill -9 "$bochs_pid" 2>/dev/null || true
	[ -n "${tail_pid:-}" ] && kill "$tail_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
scripts/mkiso.sh "$tmp/hv.iso" "${iso_args[@]}" -- "$@"

mkdir -p "$(dirname "$log")"
: > "$log"
cat > "$tmp/bochsrc" <<RC
megs: $megs
cpu: model=$cpu, count=1, ips=50000000, reset_on_triple_fault=0, ignore_bad_msrs=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$tmp/hv.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$log
clock: sync=none, time0=1
display_library: term
magic_break: enabled=0
port_e9_hack: enabled=1
panic: action=fatal
error: action=report
log: $tmp/bochs.log
RC
printf 'c\nquit\n' > "$tmp/rc"

tail -n +1 -f "$log" &
tail_pid=$!
set +e
setsid bochs -q -f "$tmp/bochsrc" -rc "$tmp/rc" </dev/null >"$tmp/bochs.out" 2>&1 &
bochs_pid=$!
timed_out=0
for ((i = 0; timeout_s == 0 || i < timeout_s * 10; i++)); do
	kill -0 "$bochs_pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$bochs_pid" 2>/dev/null; then
	timed_out=1
	kill -9 "$bochs_pid" 2>/dev/null
fi
wait "$bochs_pid" 2>/dev/null
bochs_rc=$?
bochs_pid=""
sleep 0.2
kill "$tail_pid" 2>/dev/null; wait "$tail_pid" 2>/dev/null
tail_pid=""
set -e
cp "$tmp/bochs.log" "${log%.log}.bochs.log" 2>/dev/null || true
cp "$tmp/bochs.out" "${log%.log}.bochs.out" 2>/dev/null || true

# The serial verdict, and the monitor's own copy on port 0xe9 (in Bochs's output, bochs.out).
set +e
verdict=$(verdict_from_log "$log")
verdict_rc=$?
e9_verdict=$(verdict_from_log "$tmp/bochs.out")
e9_rc=$?
set -e
if [ $timed_out = 1 ]; then
	if [ $verdict_rc = 0 ]; then
		# In Bochs the power-off routine must end the emulator (Shutdown port): a machine
		# still running after the verdict means that routine is broken, so this stays a timeout.
		echo "run-bochs: the monitor said HV-EXIT status=$verdict but Bochs did not stop: hv_power_off failed (vmm/power.c)" >&2
	fi
	echo "run-bochs: TIMEOUT after $timeout_s s (Bochs log: ${log%.log}.bochs.log)" >&2
	exit 124
fi
if [ $verdict_rc = 2 ] || [ $e9_rc = 2 ]; then
	echo "run-bochs: more than one HV-EXIT line: the verdict is not trustworthy (a forged or repeated verdict)" >&2
	exit 125
fi
if [ $verdict_rc != 0 ]; then
	echo "run-bochs: Bochs ended (exit $bochs_rc) without the monitor's HV-EXIT line; last lines of bochs.log:" >&2
	grep -a -E '(PANIC|ERROR|\[CPU0  \] |triple|shutdown)' "$tmp/bochs.log" | tail -n 15 >&2 || true
	exit 125
fi
if [ $e9_rc != 0 ] || [ "$e9_verdict" != "$verdict" ]; then
	echo "run-bochs: the serial log says HV-EXIT status=$verdict but the monitor's port-0xe9 copy says" \
		"'${e9_verdict:-nothing}': the serial verdict was not the monitor's; not trusted" >&2
	exit 125
fi
# Bochs ends through the Shutdown port only (exit 1): anything else is not the monitor's power-off.
if [ "$bochs_rc" != 1 ]; then
	echo "run-bochs: Bochs exited $bochs_rc, not through the monitor's Shutdown port (1): not trusted" >&2
	exit 125
fi
exit "$verdict"
