#!/usr/bin/env bash
# Build a GRUB2 BIOS El Torito ISO that boots the monitor through Multiboot2,
# with the guest kernel as a module and the given monitor command line.
#
#   scripts/mkiso.sh OUT.iso [--no-guest] [--guest FILE] [--monitor FILE] [--gfxpayload MODE] [-- monitor command line...]
#
# --gfxpayload MODE (e.g. 1024x768x32): GRUB sets that graphics mode before it starts the monitor
# (the monitor's Multiboot2 header accepts a framebuffer), and the monitor's log appears on screen
# too.  Without it GRUB keeps text mode (gfxpayload=text), with no screen console.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 OUT.iso [--no-guest] [--guest FILE] [--monitor FILE] [--gfxpayload WxHxD] [-- cmdline...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
out=$1; shift
guest=build/guest.elf
monitor=build/hv.elf
with_guest=1
gfxpayload=""
while [ $# -gt 0 ]; do
	case "$1" in
	--no-guest) with_guest=0 ;;
	--guest) [ $# -ge 2 ] || usage; guest=$2; shift ;;
	--monitor) [ $# -ge 2 ] || usage; monitor=$2; shift ;;
	--gfxpayload) [ $# -ge 2 ] || usage; gfxpayload=$2; shift ;;
	--) shift; break ;;
	*) usage ;;
	esac
	shift
done
cmdline="$*"
# GRUB's script syntax would interpret these; the monitor's options never need them.
case "$cmdline" in
*[\;\{\}\$\'\"\\\`\&\|\<\>@]*) echo "mkiso: the command line may not contain ; { } \$ ' \" \\ \` & | < > @: '$cmdline'" >&2; exit 2 ;;
esac
case "$gfxpayload" in
*[!0-9x]*) echo "mkiso: --gfxpayload wants WIDTHxHEIGHTxDEPTH (e.g. 1024x768x32), got '$gfxpayload'" >&2; exit 2 ;;
esac
for f in "$monitor" $([ $with_guest = 1 ] && echo "$guest"); do
	[ -f "$f" ] || { echo "mkiso: $f does not exist: run 'make' first" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root="$tmp/iso" # the ISO's contents; the log stays outside it
mkdir -p "$root/boot/grub"
cp "$monitor" "$root/boot/hv.elf"
module_line=""
if [ $with_guest = 1 ]; then
	cp "$guest" "$root/boot/guest.elf"
	module_line="module2 /boot/guest.elf guest"
fi
# GRUB would pick a graphics mode for the monitor's (optional) framebuffer header tag on its own:
# keep text mode unless asked (Bochs's terminal display has no graphics modes).
video_line="set gfxpayload=text"
if [ -n "$gfxpayload" ]; then
	video_line="insmod all_video; set gfxpayload=$gfxpayload"
fi
sed -e "s|@CMDLINE@|$cmdline|" -e "s|@MODULE@|$module_line|" -e "s|@VIDEO@|$video_line|" boot/grub/grub.cfg.in > "$root/boot/grub/grub.cfg"
grub-mkrescue -d /usr/lib/grub/i386-pc -o "$out" "$root" >"$tmp/mkrescue.log" 2>&1 || {
	cat "$tmp/mkrescue.log" >&2
	echo "mkiso: grub-mkrescue failed (are grub-pc-bin, xorriso and mtools installed? run 'make deps')" >&2
	exit 1
}
