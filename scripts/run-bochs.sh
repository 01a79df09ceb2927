#!/usr/bin/env bash
# Boot the monitor in Bochs (emulated VT-x), headless and bounded.
#
#   scripts/run-bochs.sh [--uefi [--disk usb|esp]] [--cpu MODEL] [--smp N] [--timeout SECS] [--log FILE]
#                        [--megs N] [--no-guest] [--guest FILE] [--monitor FILE] [--com2 FILE] [-- monitor command line...]
#
# Default: the GRUB ISO (Multiboot2, scripts/mkiso.sh) through Bochs's legacy BIOS; --no-guest,
# --guest FILE and --monitor FILE (instead of build/hv.elf) are passed to mkiso.sh.
# --uefi: the UEFI path instead: Debian's 2 MiB OVMF.fd (package ovmf) as the ROM at 0xffe00000 boots a
# private copy of build/usb.img (GPT disk; --disk esp: build/esp.img, a bare FAT ESP) as an ATA disk,
# with the command line in the copy's EFI/BOOT/CMDLINE.TXT, which the loader reads (boot/efi/cmdline.c).
#
# Serial output goes to stdout, without terminal escapes (OVMF clears the screen and sets colours on
# COM1), and raw to the log file (default build/bochs-serial.log).
# --com2 FILE: a second UART, COM2 (I/O 0x2f8), written to FILE, for the monitor's serial=0x2f8.  The
# serial verdict is then the one HV-EXIT line of COM1 and COM2 together (two are untrusted, as ever).
# --timeout: wall-clock seconds, from this script's start, until Bochs is killed (default 120; 0: no limit).
# Paths given to --log and --guest are relative to the caller's directory.
# Exit status: the monitor's verdict N from its line "HV-EXIT status=N (...)" (scripts/verdict.sh),
# trusted only when the monitor's copy on Bochs's port 0xe9 (which the guest cannot write) says the
# same and Bochs ended through the Shutdown port; 124 on timeout; 125 when there is no trustworthy
# verdict (none, two, or the two channels disagree: bochs.log and the message say why, also when
# the UEFI loader gave up before the monitor); 2 for a bad invocation (an unknown CPU model, a
# missing tool or image).
# Unknown MSRs fault as on real CPUs (cpu: ignore_bad_msrs=0) and the magic breakpoint is off (a guest
# could execute XCHG BX,BX to end the run).  OVMF reads an MSR Bochs lacks, so --uefi runs with
# ignore_bad_msrs=1 and instead refuses the verdict (125) when Bochs's log shows any other unknown MSR.
set -euo pipefail
now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }
start_us=$(now_us) # --timeout counts wall-clock time from here, preparation included
caller_dir=$PWD
cd "$(dirname "$0")/.."
# shellcheck source=scripts/verdict.sh
. scripts/verdict.sh
# shellcheck source=scripts/gpt.sh
. scripts/gpt.sh
# A path the caller gave, made absolute against the caller's directory (we run from the repository root).
from_caller() { case "$1" in /*) echo "$1" ;; *) echo "$caller_dir/$1" ;; esac; }

BUILD=build
# Debian's ovmf package: the 2 MiB image fits below 4 GiB at 0xffe00000 (the 4 MiB OVMF_CODE_4M.fd does not).
OVMF_ROM=/usr/share/ovmf/OVMF.fd
OVMF_ROM_ADDRESS=0xffe00000
UEFI_MEGS=512
# GPT (UEFI spec, chapter 5): header in LBA 1; PartitionEntryLBA at byte 72 of it;
# StartingLBA at byte 32 of a partition entry.
# Printed by boot/efi when it gives up before reaching the monitor (it then returns to the firmware,
# which would sit in its boot menu until the timeout).
LOADER_FAILED_LINE='[efi] hv-efi-loader failed'
LOADER_DONE_LINE='[efi] ExitBootServices done'
# MSRs that OVMF itself reads and Bochs 2.7 does not implement, as hex numbers in Bochs's log
# ("RDMSR: Unknown register 0x17"): IA32_PLATFORM_ID (0x17), read at start-up on every Intel CPU
# (edk2's CPU/microcode code).  With ignore_bad_msrs=0 that read is a #GP and OVMF stops in its
# exception handler before the loader runs, so --uefi needs ignore_bad_msrs=1: see the check below.
OVMF_UNKNOWN_MSRS=(0x17)
POLL_SECONDS=0.1
EXIT_USAGE=2
EXIT_TIMEOUT=124
EXIT_NO_VERDICT=125

say() { echo "run-bochs: $*" >&2; }
# The CPU models this Bochs knows ("bochs -help cpu" lists them after "Supported CPU models:").
bochs_cpu_models() {
	bochs -help cpu 2>&1 | sed -n '/^Supported CPU models:/,/quit_sim/p' | grep -E '^[a-z0-9_]+$' || true
}

cpu=tigerlake
smp=1
timeout_s=120
log=$BUILD/bochs-serial.log
megs=""
uefi=0
disk=usb
disk_given=0
iso_args=()
com2=""
usage() {
	cat >&2 <<USAGE
usage: $0 [--uefi [--disk usb|esp]] [--cpu MODEL] [--smp N] [--timeout SECS] [--log FILE] [--megs N]
          [--no-guest] [--guest FILE] [--monitor FILE] [--com2 FILE] [-- cmdline...]
  --uefi         boot $BUILD/usb.img through OVMF (the UEFI loader) instead of the GRUB ISO
  --disk usb|esp with --uefi: the GPT disk $BUILD/usb.img (default) or the bare ESP $BUILD/esp.img
  --cpu MODEL    Bochs CPU model; with VT-x: tigerlake (default, most features), corei7_icelake_u,
                 corei3_cnl, corei7_skylake_x, broadwell_ult, corei7_haswell_4770,
                 corei7_ivy_bridge_3770k, corei7_sandy_bridge_2600k, core2_penryn_t9600 (no EPT)
  --smp N        N processors (Bochs 'cpu: count=N', 1..8; default 1): the firmware lists them in its
                 ACPI tables and leaves the others halted
  --timeout S    give up after S wall-clock seconds (default 120, 0: never): kill Bochs, exit 124
  --log FILE     serial log (default $BUILD/bochs-serial.log; Bochs's own log beside it)
  --megs N       guest RAM in MiB (default 256, with --uefi $UEFI_MEGS)
  --no-guest, --guest FILE, --monitor FILE   (GRUB ISO only) passed to scripts/mkiso.sh
  --com2 FILE    also a COM2 (I/O 0x2f8) written to FILE, e.g. for the monitor's serial=0x2f8;
                 the verdict line may then come from either port (exactly one in all)
USAGE
	exit $EXIT_USAGE
}
while [ $# -gt 0 ]; do
	case "$1" in
	--uefi) uefi=1 ;;
	--disk) [ $# -ge 2 ] || usage; disk=$2; disk_given=1; shift ;;
	--cpu) [ $# -ge 2 ] || usage; cpu=$2; shift ;;
	--smp) [ $# -ge 2 ] || usage; smp=$2; shift ;;
	--timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift ;;
	--log) [ $# -ge 2 ] || usage; log=$(from_caller "$2"); shift ;;
	--megs) [ $# -ge 2 ] || usage; megs=$2; shift ;;
	--no-guest) iso_args+=(--no-guest) ;;
	--guest) [ $# -ge 2 ] || usage; iso_args+=(--guest "$(from_caller "$2")"); shift ;;
	--monitor) [ $# -ge 2 ] || usage; iso_args+=(--monitor "$(from_caller "$2")"); shift ;;
	--com2) [ $# -ge 2 ] || usage; com2=$(from_caller "$2"); shift ;;
	--) shift; break ;;
	-h|--help) usage ;;
	*) say "unknown option '$1' (the monitor's own options go after '--')"; usage ;;
	esac
	shift
done
case "$timeout_s" in
''|*[!0-9]*) say "--timeout wants whole seconds, got '$timeout_s'"; usage ;;
esac
case "$smp" in
[1-8]) ;;
*) say "--smp wants a number of processors from 1 to 8, got '$smp'"; usage ;;
esac
case "$disk" in
usb|esp) ;;
*) say "--disk wants usb or esp, got '$disk'"; usage ;;
esac
if [ $disk_given = 1 ] && [ $uefi = 0 ]; then
	say "--disk needs --uefi (without it, Bochs boots the GRUB ISO)"
	exit $EXIT_USAGE
fi
if [ ${#iso_args[@]} -gt 0 ] && [ $uefi = 1 ]; then
	say "--no-guest, --guest and --monitor go with the GRUB ISO: the UEFI images embed $BUILD/guest.elf (rebuild with 'make' to change it)"
	exit $EXIT_USAGE
fi
if [ -z "$megs" ]; then
	if [ $uefi = 1 ]; then megs=$UEFI_MEGS; else megs=256; fi
fi
case "$megs" in
''|*[!0-9]*) say "--megs wants a whole number of MiB, got '$megs'"; usage ;;
esac

# ---- prerequisites ----
command -v bochs >/dev/null || { say "bochs is not installed: run 'make deps'"; exit $EXIT_USAGE; }
# A mistyped model would otherwise end Bochs at start-up with a PANIC in its own log only.
models=$(bochs_cpu_models)
if [ -n "$models" ] && ! grep -qxF -- "$cpu" <<< "$models"; then
	say "unknown Bochs CPU model '$cpu'; this Bochs knows:"
	paste -s -d ' ' <<< "$models" | fold -s -w 96 | sed 's/ *$//; s/^/  /' >&2
	say "(VT-x: tigerlake, corei7_icelake_u, corei3_cnl, corei7_skylake_x, broadwell_ult, corei7_haswell_4770," \
		"corei7_ivy_bridge_3770k, corei7_sandy_bridge_2600k; without EPT: core2_penryn_t9600)"
	exit $EXIT_USAGE
fi
if [ $uefi = 1 ]; then
	[ -r "$OVMF_ROM" ] || { say "$OVMF_ROM is missing: install the OVMF firmware (Debian: ovmf), e.g. 'make deps'"; exit $EXIT_USAGE; }
	command -v mcopy >/dev/null || { say "mcopy is not installed (Debian: mtools): run 'make deps'"; exit $EXIT_USAGE; }
	image=$BUILD/$disk.img
	[ -f "$image" ] || { say "$image does not exist: run 'make' (or 'make $image') first"; exit $EXIT_USAGE; }
	for input in "$BUILD/hv.elf" "$BUILD/guest.elf"; do
		if [ -f "$input" ] && [ "$input" -nt "$image" ]; then
			say "warning: $image is older than $input, so it embeds an old copy: run 'make $image'"
		fi
	done
fi

tmp=$(mktemp -d)
bochs_pid=""
show_pid=""
screen_pid=""
cleanup() {
	[ -n "$bochs_pid" ] && kill -9 "$bochs_pid" 2>/dev/null || true
	[ -n "$show_pid" ] && kill "$show_pid" 2>/dev/null || true
	[ -n "$screen_pid" ] && kill "$screen_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP


if [ $uefi = 1 ]; then
	# A private copy of the disk (nothing writes to it, but a run must not change the build), with the
	# command line in its EFI/BOOT/CMDLINE.TXT.
	boot_disk=$tmp/$disk.img
	cp --sparse=always "$image" "$boot_disk"
	fat=$boot_disk
	if [ "$disk" = usb ]; then
		fat="$boot_disk@@$(gpt_partition1_offset "$boot_disk")"
	fi
	printf '%s\n' "$*" > "$tmp/CMDLINE.TXT"
	MTOOLS_SKIP_CHECK=1 mcopy -o -i "$fat" "$tmp/CMDLINE.TXT" ::/EFI/BOOT/CMDLINE.TXT ||
		{ say "could not write the command line into EFI/BOOT/CMDLINE.TXT of a copy of $image: rebuild it with 'make $image'"; exit $EXIT_USAGE; }
	# OVMF needs PCI (i440fx) and a VBE-capable VGA.  It leaves IA32_FEATURE_CONTROL unlocked (Bochs's
	# legacy BIOS locks it): the monitor locks it with VMX on.
	ignore_bad_msrs=1
	machine="memory: host=$megs, guest=$megs
romimage: file=$OVMF_ROM, address=$OVMF_ROM_ADDRESS, options=none
vgaromimage: file=/usr/share/vgabios/vgabios.bin
pci: enabled=1, chipset=i440fx
vga: extension=vbe, update_freq=5
ata0-master: type=disk, path=$boot_disk, mode=flat
boot: disk"
else
	ignore_bad_msrs=0
	scripts/mkiso.sh "$tmp/hv.iso" ${iso_args[@]+"${iso_args[@]}"} -- "$@"
	machine="megs: $megs
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$tmp/hv.iso, status=inserted
boot: cdrom"
fi

mkdir -p "$(dirname "$log")"
: > "$log"
com2_rc=""
if [ -n "$com2" ]; then
	mkdir -p "$(dirname "$com2")"
	: > "$com2"
	com2_rc="com2: enabled=1, mode=file, dev=$com2"
fi
cat > "$tmp/bochsrc" <<RC
$machine
cpu: model=$cpu, count=$smp, ips=50000000, reset_on_triple_fault=0, ignore_bad_msrs=$ignore_bad_msrs
com1: enabled=1, mode=file, dev=$log
$com2_rc
clock: sync=none, time0=1
display_library: term
magic_break: enabled=0
port_e9_hack: enabled=1
panic: action=fatal
error: action=report
log: $tmp/bochs.log
RC
printf 'c\nquit\n' > "$tmp/rc"

# The serial log as it grows, on stdout without terminal control: CSI sequences (ESC [ ... final),
# other ESC sequences, and control characters but tab, newline and carriage return.  The log file
# keeps the raw bytes.
show_serial() {
	tail -n +1 -s "$POLL_SECONDS" --pid="$1" -f "$log" 2>/dev/null |
		LC_ALL=C sed -u -E $'s#\x1b\\[[0-?]*[ -/]*[@-~]##g; s#\x1b[ -/]*[0-~]##g; s#[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]##g'
}


set +e
setsid bochs -q -f "$tmp/bochsrc" -rc "$tmp/rc" </dev/null >"$tmp/bochs.out" 2>&1 &
bochs_pid=$!
show_serial "$bochs_pid" &
show_pid=$!
deadline_us=$(( start_us + timeout_s * 1000000 ))
timed_out=0
loader_failed=0
loader_done=0
while kill -0 "$bochs_pid" 2>/dev/null; do
	if [ "$timeout_s" -gt 0 ] && [ "$(now_us)" -ge "$deadline_us" ]; then
		timed_out=1
		break
	fi
	# Without a terminal, Bochs's term display opens a pseudo-terminal of its own and writes the
	# screen there; nobody reads it, and after some minutes the full pty blocks Bochs for good
	# (a 10-million-operation run stopped at 1.8 M).  Drain it.
	if [ -z "$screen_pid" ]; then
		pty=$(sed -n 's/^Bochs connected to screen "\(\/dev\/pts\/[0-9]*\)".*/\1/p' "$tmp/bochs.out" 2>/dev/null | head -n 1)
		if [ -n "$pty" ]; then
			cat "$pty" > /dev/null 2>&1 &
			screen_pid=$!
		fi
	fi
	if [ $uefi = 1 ] && [ $loader_done = 0 ]; then
		if grep -aqF "$LOADER_DONE_LINE" "$log"; then
			loader_done=1
		elif grep -aqF "$LOADER_FAILED_LINE" "$log"; then
			loader_failed=1
			break
		fi
	fi
	sleep "$POLL_SECONDS"
done
if kill -0 "$bochs_pid" 2>/dev/null; then
	kill -9 "$bochs_pid" 2>/dev/null
fi
wait "$bochs_pid" 2>/dev/null
bochs_rc=$?
bochs_pid=""
[ -n "$screen_pid" ] && kill "$screen_pid" 2>/dev/null
screen_pid=""
# tail --pid ends by itself once Bochs is gone, after a last read of the log.
wait "$show_pid" 2>/dev/null
show_pid=""
set -e
cp "$tmp/bochs.log" "${log%.log}.bochs.log" 2>/dev/null || true
cp "$tmp/bochs.out" "${log%.log}.bochs.out" 2>/dev/null || true

# The serial verdict, and the monitor's own copy on port 0xe9 (in Bochs's output, bochs.out).
# With --com2 the monitor may log to either port (serial=): one verdict line in both together.
cat "$log" ${com2:+"$com2"} > "$tmp/serial-all" 2>/dev/null || true
set +e
verdict=$(verdict_from_log "$tmp/serial-all")
verdict_rc=$?
e9_verdict=$(verdict_from_log "$tmp/bochs.out")
e9_rc=$?
set -e
if [ $timed_out = 1 ]; then
	if [ $verdict_rc = 0 ]; then
		# In Bochs the power-off routine must end the emulator (Shutdown port): a machine
		# still running after the verdict means that routine is broken, so this stays a timeout.
		say "the monitor said HV-EXIT status=$verdict but Bochs did not stop: hv_power_off failed (vmm/platform/power.c)"
	fi
	say "TIMEOUT after $timeout_s s (serial log: $log, Bochs log: ${log%.log}.bochs.log)"
	exit $EXIT_TIMEOUT
fi
if [ $loader_failed = 1 ]; then
	say "the UEFI loader failed before starting the monitor (its '[efi] ERROR' lines above say why)"
	exit $EXIT_NO_VERDICT
fi
# With ignore_bad_msrs=1 (--uefi) Bochs still logs every access to an MSR it lacks, and goes on as if it
# existed: a real CPU would #GP.  Only reads of the MSRs OVMF is known to read (OVMF_UNKNOWN_MSRS) may appear.
if [ "$ignore_bad_msrs" = 1 ] && [ -f "$tmp/bochs.log" ]; then
	bad_msrs=$(grep -a -o -E '(RD|WR)MSR: Unknown register 0x[0-9a-fA-F]+' "$tmp/bochs.log" |
		grep -v -x -F -f <(for m in "${OVMF_UNKNOWN_MSRS[@]}"; do echo "RDMSR: Unknown register $m"; done) |
		sort -u | tr '\n' ';' || true)
	if [ -n "$bad_msrs" ]; then
		say "Bochs logged accesses to MSRs this CPU model lacks (${bad_msrs%;}): on a real CPU they fault," \
			"but --uefi runs with ignore_bad_msrs=1 for OVMF's sake, so the run is not trusted" \
			"(Bochs log: ${log%.log}.bochs.log)"
		exit $EXIT_NO_VERDICT
	fi
fi
if [ $verdict_rc = 2 ] || [ $e9_rc = 2 ]; then
	say "more than one HV-EXIT line: the verdict is not trustworthy (a forged or repeated verdict)"
	exit $EXIT_NO_VERDICT
fi
if [ $verdict_rc != 0 ]; then
	say "Bochs ended (exit $bochs_rc) without the monitor's HV-EXIT line"
	if [ -s "$tmp/bochs.log" ]; then
		echo "last lines of ${log%.log}.bochs.log:" >&2
		grep -a -E '(PANIC|ERROR|\[CPU0  \] |triple|shutdown)' "$tmp/bochs.log" | tail -n 15 >&2 || true
	else
		echo "Bochs wrote no log; its output (${log%.log}.bochs.out) ends:" >&2
		tail -n 15 "$tmp/bochs.out" >&2 || true
	fi
	exit $EXIT_NO_VERDICT
fi
if [ $e9_rc != 0 ] || [ "$e9_verdict" != "$verdict" ]; then
	say "the serial log says HV-EXIT status=$verdict but the monitor's port-0xe9 copy says" \
		"'${e9_verdict:-nothing}': the serial verdict was not the monitor's; not trusted"
	exit $EXIT_NO_VERDICT
fi
# Bochs ends through the Shutdown port (exit 1).  Bochs 2.7 sometimes crashes while it shuts down
# (SIGSEGV, exit 139, after its "Shutdown port: shutdown requested" message): the monitor's verdict is
# then complete on both channels, so it stands, with a warning.  Any other ending is not the
# monitor's power-off (exit 0 would be a magic breakpoint, which is off).
if [ "$bochs_rc" != 1 ]; then
	if [ "$bochs_rc" -gt 128 ] && grep -aq 'Shutdown port: shutdown requested' "$tmp/bochs.out"; then
		say "warning: Bochs crashed (exit $bochs_rc) after the monitor's Shutdown request; the verdict stands"
	else
		say "Bochs exited $bochs_rc, not through the monitor's Shutdown port (1): not trusted"
		exit $EXIT_NO_VERDICT
	fi
fi
exit "$verdict"
