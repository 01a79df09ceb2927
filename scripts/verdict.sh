# shellcheck shell=bash
# The monitor's verdict from a serial log, shared by run-bochs.sh and run-qemu.sh.
#
# The monitor ends every run with exactly one line "HV-EXIT status=N (text)" at the start of a
# line (vmm/platform/power.c).  The guest cannot forge it: the virtual UART prefixes each guest line with
# "[guest] " (vmm/dev/vuart.c), so no guest output starts a line.  The harnesses also check the
# verdict against a channel only the monitor reaches (Bochs's port 0xe9, QEMU's isa-debug-exit),
# since the guest has no access to real I/O ports (vmm/exit/io.c).
#
#   verdict_from_log FILE   print N and return 0; return 1 when there is no verdict line,
#                           2 when there is more than one (a forged or repeated verdict)
verdict_from_log() {
	local lines
	lines=$(tr -d '\r' < "$1" | { grep -a -E '^HV-EXIT status=[0-9]+ \([^()]*\)$' || true; })
	[ -n "$lines" ] || return 1
	[ "$(printf '%s\n' "$lines" | wc -l)" = 1 ] || return 2
	printf '%s\n' "$lines" | sed -E 's/^HV-EXIT status=([0-9]+) .*/\1/'
}
