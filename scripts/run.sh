#!/usr/bin/env bash
# 'make run': boot the monitor and guest with the serial console in this terminal.
# QEMU/KVM (nested VT-x) when this host can, otherwise Bochs (emulated VT-x).
# Monitor options: make run ARGS="log=debug guest_mem=32M"
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a args <<< "${ARGS:-}"
# run-qemu.sh --check-kvm checks the CPU vendor, /dev/kvm, the vmx flag and kvm_intel's nested=1.
if why=$(scripts/run-qemu.sh --check-kvm 2>&1); then
	echo "run: this host has VT-x, /dev/kvm and nested KVM: booting under QEMU/KVM with nested VT-x"
	exec scripts/run-qemu.sh --kvm --timeout "${TIMEOUT:-600}" -- "${args[@]}"
fi
# One line: why not QEMU/KVM (the first reason; 'scripts/run-qemu.sh --check-kvm' lists them all).
why=$(printf '%s\n' "$why" | sed -n 's/^run-qemu: --kvm cannot run on this host: *//p; s/^  - //p' | sed -n '/./{p;q}')
echo "run: booting in Bochs (emulated VT-x, model ${CPU:-tigerlake}): QEMU/KVM with nested VT-x is not usable here${why:+ ($why)}"
exec scripts/run-bochs.sh --cpu "${CPU:-tigerlake}" --timeout "${TIMEOUT:-600}" -- "${args[@]}"
