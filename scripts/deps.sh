#!/usr/bin/env bash
# Check for (and, as root, install) the Debian 12 packages the build and tests need.
#   scripts/deps.sh          install what is missing (as root) or print the apt-get command
#   scripts/deps.sh --list   print the package list (used by .ci/run)
set -euo pipefail
PACKAGES=(gcc libc6-dev make nasm binutils gnu-efi mtools dosfstools gdisk xorriso grub-pc-bin grub-common
	bochs bochsbios vgabios bochs-term qemu-system-x86 ovmf libcmocka-dev python3 python3-pytest python3-pytest-xdist python3-pexpect
	console-setup-linux clang libclang-rt-14-dev llvm)
if [ "${1:-}" = "--list" ]; then
	echo "${PACKAGES[@]}"
	exit 0
fi
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: install them with:  sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
