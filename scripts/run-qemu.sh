#!/usr/bin/env bash
# Boot the monitor under QEMU, headless and bounded.
#
#   scripts/run-qemu.sh [--kvm] [--usb] [--shell] [--iso [--no-guest] [--guest FILE]] [--gdb]
#                       [--timeout SECS] [--log FILE] [--mem SIZE] [--smp N] [--screendump FILE]
#                       [-- monitor command line...]
#
# Default: UEFI (OVMF) on QEMU TCG, booting a private copy of build/esp.img whose
# EFI/BOOT/CMDLINE.TXT holds the command line given after "--".
#   --kvm      QEMU/KVM with the host's CPU (nested VT-x) instead of TCG
#   --check-kvm  only say whether --kvm can run here (exit 0) or why not (exit 2); boots nothing
#   --usb      boot build/usb.img (GPT disk) as a USB mass-storage stick on an xHCI controller
#   --shell    boot through OVMF's UEFI Shell: the loader sits at \EFI\HV\HV.EFI (not the removable-media
#              path), so the firmware starts its shell, whose startup.nsh runs it with the command line
#              as arguments (the load-options path of a real boot entry); no CMDLINE.TXT is left
#   --iso      boot the GRUB BIOS ISO (Multiboot2, built by scripts/mkiso.sh) through SeaBIOS;
#              --no-guest / --guest FILE are passed to mkiso.sh
#   --gdb      QEMU waits for gdb on tcp::1234 (no timeout unless --timeout is given)
#   --timeout  seconds before QEMU is killed (default 120; 0: none)
#   --log      serial log file (default build/qemu-serial.log)
#   --mem      guest RAM, QEMU -m syntax (default 512M)
#   --smp N    N processors (QEMU -smp, 1..8; default 1): OVMF and SeaBIOS list them in the ACPI MADT
#   --screendump FILE  give the machine a display (-vga std) and, once the monitor has halted after its
#              verdict, write the screen to FILE (a PPM, QEMU's QMP 'screendump'), then end QEMU.  The
#              monitor must stay up for that, so there is no isa-debug-exit: the verdict is the serial
#              line alone, trusted only when the monitor's own "[hv] halted" line follows it.
# Environment: BUILD (default build, relative to the repository root) is where esp.img and usb.img are found.
#
# Serial output goes to stdout and to the log file as it arrives.
# Exit status: the monitor's verdict N from its line "HV-EXIT status=N (...)" (scripts/verdict.sh),
# trusted only when QEMU ended through isa-debug-exit with the same N (a port only the monitor
# reaches: the guest's port I/O is emulated); 124 on timeout (also when the verdict was printed but
# QEMU did not exit); 125 when there is no trustworthy verdict (none, two, or QEMU's exit code
# disagrees: crash, reset, triple fault, a failed UEFI loader, a forged line); 2 for a bad
# invocation or a missing prerequisite.
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

BUILD=${BUILD:-build}
PYTHON=/usr/bin/python3
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
KVM_NESTED_PARAM=/sys/module/kvm_intel/parameters/nested
DEBUG_EXIT_IOBASE=0xf4
DEBUG_EXIT_IOSIZE=0x04
GDB_PORT=1234
POLL_PER_SECOND=10
EXIT_USAGE=2
EXIT_TIMEOUT=124
EXIT_NO_VERDICT=125
# GPT (UEFI spec, chapter 5): header in LBA 1; PartitionEntryLBA at byte 72 of it;
# StartingLBA at byte 32 of a partition entry.
# Printed by vmm/platform/power.c after the verdict, when the machine did not power off.
ISO_GFXPAYLOAD=1024x768x32 # --iso --screendump: GRUB's graphics mode (a VBE mode of -vga std)
HALTED_PATTERN='^\[hv\] halted: ' # at the start of a line (a guest's lines start with "[guest] ")
# Printed by boot/efi when it gives up before reaching the monitor.
LOADER_FAILED_LINE='[efi] hv-efi-loader failed'
LOADER_DONE_LINE='[efi] ExitBootServices done'

say() { echo "run-qemu: $*" >&2; }
usage() {
	cat >&2 <<USAGE
usage: $0 [--kvm] [--usb] [--shell] [--iso [--no-guest] [--guest FILE]] [--gdb]
          [--timeout SECS] [--log FILE] [--mem SIZE] [--smp N] [--screendump FILE] [-- monitor command line...]
  --kvm        QEMU/KVM with nested VT-x (default: TCG, where the monitor finds no VT-x)
  --check-kvm  check the host for --kvm (/dev/kvm, vmx, kvm_intel nested=1), boot nothing
  --usb        UEFI boot from $BUILD/usb.img as a USB stick (default: $BUILD/esp.img as a disk)
  --shell      UEFI boot through OVMF's shell: the command line travels as the loader's arguments
  --iso        BIOS boot of the GRUB Multiboot2 ISO (scripts/mkiso.sh) instead of UEFI
  --no-guest, --guest FILE   (with --iso) passed to scripts/mkiso.sh
  --gdb        wait for gdb on :$GDB_PORT (then no timeout unless --timeout is given)
  --timeout S  kill QEMU after S seconds (default 120, 0: never), exit 124
  --log FILE   serial log (default $BUILD/qemu-serial.log)
  --mem SIZE   guest RAM (default 512M)
  --smp N      N processors (1..8; default 1), listed by the firmware in its ACPI MADT
  --screendump FILE  a -vga std display; at the end its screen as a PPM in FILE (no isa-debug-exit then)
USAGE
	exit $EXIT_USAGE
}

mode=esp
use_kvm=0
use_shell=0
check_kvm_only=0
use_gdb=0
timeout_s=120
timeout_given=0
log=$BUILD/qemu-serial.log
mem=512M
smp=1
screendump=""
iso_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kvm) use_kvm=1 ;;
	--shell) use_shell=1 ;;
	--check-kvm) check_kvm_only=1 ;;
	--usb) [ $mode = esp ] || { say "--usb and --iso exclude each other"; usage; }; mode=usb ;;
	--iso) [ $mode = esp ] || { say "--usb and --iso exclude each other"; usage; }; mode=iso ;;
	--gdb) use_gdb=1 ;;
	--no-guest) iso_args+=(--no-guest) ;;
	--guest) [ $# -ge 2 ] || { say "--guest needs a file"; usage; }; iso_args+=(--guest "$(from_caller "$2")"); shift ;;
	--timeout) [ $# -ge 2 ] || { say "--timeout needs a number of seconds"; usage; }; timeout_s=$2; timeout_given=1; shift ;;
	--log) [ $# -ge 2 ] || { say "--log needs a file"; usage; }; log=$(from_caller "$2"); shift ;;
	--mem) [ $# -ge 2 ] || { say "--mem needs a size (e.g. 512M)"; usage; }; mem=$2; shift ;;
	--smp) [ $# -ge 2 ] && [[ "$2" =~ ^[1-8]$ ]] || { say "--smp wants a number of processors from 1 to 8"; usage; }; smp=$2; shift ;;
	--screendump) [ $# -ge 2 ] || { say "--screendump needs a file"; usage; }; screendump=$(from_caller "$2"); shift ;;
	--) shift; break ;;
	-h|--help) usage ;;
	*) say "unknown option '$1' (the monitor's own options go after '--')"; usage ;;
	esac
	shift
done
cmdline="$*"

case "$timeout_s" in
''|*[!0-9]*) say "--timeout wants whole seconds, got '$timeout_s'"; usage ;;
esac
if [ ${#iso_args[@]} -gt 0 ] && [ $mode != iso ]; then
	say "--no-guest and --guest need --iso: the UEFI images embed $BUILD/guest.elf (rebuild with 'make' to change it)"
	exit $EXIT_USAGE
fi
if [ $use_shell = 1 ] && [ $mode = iso ]; then
	say "--shell boots the UEFI images: it does not go with --iso"
	exit $EXIT_USAGE
fi
if [ $use_gdb = 1 ] && [ $timeout_given = 0 ]; then
	timeout_s=0
fi

# ---- prerequisites ----
check_kvm() {
	local missing=()
	# Nested VT-x needs an Intel CPU: on any other vendor the rest of the advice does not apply.
	if ! grep -q '^vendor_id[[:space:]]*: GenuineIntel' /proc/cpuinfo; then
		say "--kvm cannot run on this host: the CPU is $(sed -n 's/^vendor_id[[:space:]]*: //p' /proc/cpuinfo | head -n 1), not Intel; nested VT-x needs an Intel host (scripts/run-bochs.sh emulates VT-x)"
		exit $EXIT_USAGE
	fi
	if [ ! -e /dev/kvm ]; then
		missing+=("/dev/kvm does not exist: load KVM with 'sudo modprobe kvm_intel nested=1' (and enable VT-x in the firmware setup)")
	elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		missing+=("no read/write access to /dev/kvm: 'sudo usermod -aG kvm $USER', then log in again")
	fi
	if ! grep -qw vmx /proc/cpuinfo; then
		missing+=("the CPU shows no 'vmx' flag in /proc/cpuinfo: enable Intel VT-x in the firmware setup (nested VT-x needs an Intel host)")
	fi
	local nested=""
	[ -r "$KVM_NESTED_PARAM" ] && nested=$(cat "$KVM_NESTED_PARAM")
	case "$nested" in
	Y|y|1) ;;
	"") missing+=("kvm_intel is not loaded ($KVM_NESTED_PARAM is missing): 'sudo modprobe kvm_intel nested=1'") ;;
	*) missing+=("nested VT-x is off ($KVM_NESTED_PARAM is '$nested'): 'sudo modprobe -r kvm_intel && sudo modprobe kvm_intel nested=1' (to keep it: echo 'options kvm_intel nested=1' | sudo tee /etc/modprobe.d/kvm-nested.conf)") ;;
	esac
	if [ ${#missing[@]} -gt 0 ]; then
		say "--kvm cannot run on this host:"
		for m in "${missing[@]}"; do echo "  - $m" >&2; done
		say "(without --kvm the monitor runs under TCG, which has no VT-x; scripts/run-bochs.sh emulates VT-x)"
		exit $EXIT_USAGE
	fi
}
if [ $use_kvm = 1 ] || [ $check_kvm_only = 1 ]; then
	check_kvm
	[ $check_kvm_only = 1 ] && { say "this host can run --kvm (nested VT-x)"; exit 0; }
fi
command -v qemu-system-x86_64 >/dev/null || { say "qemu-system-x86_64 is not installed (Debian: qemu-system-x86): run 'make deps'"; exit $EXIT_USAGE; }
if [ $mode != iso ]; then
	for f in "$OVMF_CODE" "$OVMF_VARS"; do
		[ -r "$f" ] || { say "$f is missing: install the OVMF firmware (Debian: ovmf), e.g. 'make deps'"; exit $EXIT_USAGE; }
	done
	command -v mcopy >/dev/null || { say "mcopy is not installed (Debian: mtools): run 'make deps'"; exit $EXIT_USAGE; }
	image=$BUILD/$mode.img
	[ -f "$image" ] || { say "$image does not exist: run 'make' (or 'make $image') first"; exit $EXIT_USAGE; }
	for input in "$BUILD/hv.elf" "$BUILD/guest.elf"; do
		if [ -f "$input" ] && [ "$input" -nt "$image" ]; then
			say "warning: $image is older than $input, so it embeds an old copy: run 'make $image'"
		fi
	done
fi


# ---- a private copy of everything QEMU writes ----
tmp=$(mktemp -d)
qemu_pid=""
tee_pid=""
cleanup() {
	[ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2>/dev/null || true
	[ -n "$tee_pid" ] && kill "$tee_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP


qemu=(qemu-system-x86_64 -machine q35 -display none -no-reboot -nodefaults -serial stdio -m "$mem" -smp "$smp"
	-d cpu_reset,guest_errors -D "$tmp/qemu-debug.log")
if [ -n "$screendump" ]; then
	# The monitor halts after its verdict (no isa-debug-exit), so the screen can be read through QMP.
	qemu+=(-vga std -qmp "unix:$tmp/qmp.sock,server=on,wait=off")
else
	qemu+=(-device "isa-debug-exit,iobase=$DEBUG_EXIT_IOBASE,iosize=$DEBUG_EXIT_IOSIZE")
fi
if [ $use_kvm = 1 ]; then
	qemu+=(-accel kvm -cpu host)
else
	qemu+=(-accel tcg -cpu max)
fi

printf '%s\n' "$cmdline" > "$tmp/CMDLINE.TXT"
case $mode in
esp|usb)
	cp "$OVMF_VARS" "$tmp/OVMF_VARS.fd" # fresh variables every run: a reused store can hang boot
	qemu+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
		-drive "if=pflash,format=raw,unit=1,file=$tmp/OVMF_VARS.fd")
	disk=$tmp/$mode.img
	cp --sparse=always "$image" "$disk"
	if [ $mode = esp ]; then
		fat="$disk"
		qemu+=(-drive "if=none,id=esp,format=raw,file=$disk" -device virtio-blk-pci,drive=esp,bootindex=0)
	else
		fat="$disk@@$(gpt_partition1_offset "$disk")"
		qemu+=(-device qemu-xhci,id=xhci -drive "if=none,id=stick,format=raw,file=$disk"
			-device usb-storage,bus=xhci.0,drive=stick,bootindex=0)
	fi
	if [ $use_shell = 1 ]; then
		# The shell's startup script, CRLF lines.  The shell would act on some characters (UEFI Shell 2.2,
		# 3.6): '#' comments, '^' escapes, '%' variables, '<' '>' '|' redirection and pipes, '"' quoting.
		case "$cmdline" in *['#^%<>|"']*) say "--shell: the command line may not hold any of # ^ % < > | \""; exit $EXIT_USAGE ;; esac
		printf '@echo -off\r\nfs0:\r\n\\EFI\\HV\\HV.EFI %s\r\n' "$cmdline" > "$tmp/startup.nsh"
		{ MTOOLS_SKIP_CHECK=1 mmd -i "$fat" ::/EFI/HV &&
		  MTOOLS_SKIP_CHECK=1 mmove -i "$fat" ::/EFI/BOOT/BOOTX64.EFI ::/EFI/HV/HV.EFI &&
		  MTOOLS_SKIP_CHECK=1 mdel -i "$fat" ::/EFI/BOOT/CMDLINE.TXT &&
		  MTOOLS_SKIP_CHECK=1 mcopy -o -i "$fat" "$tmp/startup.nsh" ::/startup.nsh; } ||
			{ say "could not prepare the shell boot in a copy of $image: rebuild it with 'make $image'"; exit $EXIT_USAGE; }
	else
		MTOOLS_SKIP_CHECK=1 mcopy -o -i "$fat" "$tmp/CMDLINE.TXT" ::/EFI/BOOT/CMDLINE.TXT ||
			{ say "could not write the command line into EFI/BOOT/CMDLINE.TXT of a copy of $image: rebuild it with 'make $image'"; exit $EXIT_USAGE; }
	fi
	;;
iso)
	# With a display to read, GRUB sets a graphics mode for the monitor's screen console.
	[ -n "$screendump" ] && iso_args+=(--gfxpayload "$ISO_GFXPAYLOAD")
	scripts/mkiso.sh "$tmp/hv.iso" ${iso_args[@]+"${iso_args[@]}"} -- "$@" || exit $EXIT_USAGE
	qemu+=(-cdrom "$tmp/hv.iso" -boot d)
	;;
esac

if [ $use_gdb = 1 ]; then
	qemu+=(-S -s)
	say "QEMU is stopped, waiting for gdb on tcp::$GDB_PORT. In another terminal:"
	say "  gdb -ex 'target remote :$GDB_PORT'"
	say "  (monitor symbols: the monitor is position-independent and linked at 0; once it prints"
	say "   'hv monitor starting (image BASE-...)': symbol-file -o BASE $BUILD/hv.elf)"
	if [ $mode != iso ]; then
		say "  (loader symbols: add-symbol-file $BUILD/efi/BOOTX64.so -o IMAGEBASE, IMAGEBASE from the loader's '[efi] loader image base' line)"
	fi
fi

# ---- run: serial -> fifo -> tee (stdout + log), bounded ----
mkdir -p "$(dirname "$log")"
: > "$log"
mkfifo "$tmp/serial"
tee "$log" < "$tmp/serial" &
tee_pid=$!
"${qemu[@]}" < /dev/null > "$tmp/serial" &
qemu_pid=$!

set +e
timed_out=0
halted=0
loader_failed=0
loader_done=0
polls=0
deadline_us=$(( start_us + timeout_s * 1000000 ))
while kill -0 "$qemu_pid" 2>/dev/null; do
	if [ "$timeout_s" -gt 0 ] && [ "$(now_us)" -ge "$deadline_us" ]; then
		timed_out=1
		break
	fi
	# A failed loader returns to the firmware, which would sit in its boot menu until the timeout.
	if [ $mode != iso ] && [ $loader_done = 0 ] && [ $((polls % POLL_PER_SECOND)) = 0 ]; then
		if grep -aqF "$LOADER_DONE_LINE" "$log"; then
			loader_done=1
		elif grep -aqF "$LOADER_FAILED_LINE" "$log"; then
			loader_failed=1
			break
		fi
	fi
	# --screendump: the monitor has printed its verdict and halted; the screen is final.
	if [ -n "$screendump" ] && grep -aq '^HV-EXIT status=' "$log" && grep -aq "$HALTED_PATTERN" "$log"; then
		halted=1
		break
	fi
	sleep 0.1
	polls=$((polls + 1))
done
screendump_ok=1
if [ $halted = 1 ]; then
	rm -f "$screendump"
	if ! $PYTHON scripts/qmp.py "$tmp/qmp.sock" screendump "$screendump" || [ ! -s "$screendump" ]; then
		say "the QMP screendump into $screendump failed"
		screendump_ok=0
	fi
	$PYTHON scripts/qmp.py "$tmp/qmp.sock" quit || kill -9 "$qemu_pid" 2>/dev/null
fi
if [ $timed_out = 1 ] || [ $loader_failed = 1 ]; then
	kill -9 "$qemu_pid" 2>/dev/null
fi
wait "$qemu_pid" 2>/dev/null
qemu_rc=$?
qemu_pid=""
wait "$tee_pid"
tee_pid=""
set -e

set +e
verdict=$(verdict_from_log "$log")
verdict_rc=$?
set -e
if [ $verdict_rc = 2 ]; then
	say "more than one HV-EXIT line: the verdict is not trustworthy (a forged or repeated verdict)"
	exit $EXIT_NO_VERDICT
fi
if [ $timed_out = 1 ] && [ -z "$verdict" ]; then
	say "TIMEOUT after $timeout_s s (serial log: $log)"
	exit $EXIT_TIMEOUT
fi
if [ $loader_failed = 1 ]; then
	say "the UEFI loader failed before starting the monitor (its '[efi] ERROR' lines above say why)"
	exit $EXIT_NO_VERDICT
fi
if [ -z "$verdict" ]; then
	if [ ! -s "$log" ] && [ $qemu_rc != 0 ]; then
		say "QEMU failed to start (exit $qemu_rc): see its message above"
		exit $EXIT_NO_VERDICT
	fi
	say "QEMU ended (exit $qemu_rc) without the monitor's HV-EXIT line: the machine crashed, reset or triple-faulted"
	cp "$tmp/qemu-debug.log" "${log%.log}.qemu-debug.log" 2>/dev/null || true
	if grep -aq 'Triple fault' "$tmp/qemu-debug.log" 2>/dev/null; then
		say "QEMU logged a triple fault; CPU state and guest errors: ${log%.log}.qemu-debug.log"
	else
		say "QEMU's reset and guest-error log: ${log%.log}.qemu-debug.log"
	fi
	exit $EXIT_NO_VERDICT
fi
if [ -n "$screendump" ]; then
	# No isa-debug-exit: the monitor's halt after the verdict stands in for it.
	if [ $halted = 0 ]; then
		say "the monitor printed HV-EXIT status=$verdict but not its '[hv] halted' line: not trusted"
		exit $EXIT_NO_VERDICT
	fi
	[ $screendump_ok = 1 ] || exit $EXIT_NO_VERDICT
	say "screen written to $screendump"
	exit "$verdict"
fi
if [ $timed_out = 1 ]; then
	say "the monitor printed HV-EXIT status=$verdict but QEMU did not exit within $timeout_s s:" \
		"hv_power_off failed (vmm/platform/power.c; is isa-debug-exit at $DEBUG_EXIT_IOBASE?)"
	exit $EXIT_TIMEOUT
fi
# isa-debug-exit makes QEMU exit (N << 1) | 1: only the monitor can write that port.
expected_rc=$(( ((verdict << 1) | 1) & 0xff ))
if [ "$qemu_rc" != "$expected_rc" ]; then
	say "QEMU exited $qemu_rc, but the monitor's verdict $verdict makes it exit $expected_rc through" \
		"isa-debug-exit: the serial verdict was not the monitor's; not trusted"
	exit $EXIT_NO_VERDICT
fi
exit "$verdict"
