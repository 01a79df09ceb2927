#!/usr/bin/env bash
# 'make run': boot the monitor and guest with the serial console in this terminal.
# QEMU/KVM (nested VT-x) when this host can, otherwise Bochs (emulated VT-x).
# Monitor options: make run ARGS="log=debug guest_mem=32M"
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a args <<< "${ARGS:-}"
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qw vmx /proc/cpuinfo; then
	echo "run: this host has VT-x and /dev/kvm: booting under QEMU/KVM with nested VT-x"
	exec scripts/run-qemu.sh --kvm --timeout "${TIMEOUT:-600}" -- "${args[@]}"
fi
echo "run: no usable VT-x + /dev/kvm on this host: booting in Bochs (emulated VT-x, model ${CPU:-tigerlake})"
exec scripts/run-bochs.sh --cpu "${CPU:-tigerlake}" --timeout "${TIMEOUT:-600}" -- "${args[@]}"
