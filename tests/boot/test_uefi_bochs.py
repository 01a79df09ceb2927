"""Boot tests: the UEFI path in Bochs (emulated VT-x): OVMF boots build/usb.img, the loader starts the monitor.

OVMF (Debian's 2 MiB OVMF.fd) runs as Bochs's ROM (scripts/run-bochs.sh --uefi); each run takes about
100 s, so these tests are few.
"""
import re

import pytest

from conftest import STATUS, verdict_line

# Bochs is slow to run OVMF; a loaded machine makes it slower still.
UEFI_TIMEOUT = 420

# From boot/efi/cmdline.c: the file the loader reads when no shell argument or load option gives a command line.
CMDLINE_TXT = r"\\EFI\\BOOT\\CMDLINE.TXT"


@pytest.mark.parametrize("mem", ["ept", "shadow"])
def test_uefi_loader_starts_monitor_and_guest_suite(bochs, mem):
    """The loader's lines come first, then the monitor, which finds IA32_FEATURE_CONTROL unlocked
    (OVMF leaves it so, unlike Bochs's legacy BIOS) and locks it itself; the guest suite passes."""
    b = bochs(f"log=info mem={mem}", extra=["--uefi"], timeout=UEFI_TIMEOUT)
    b.expect(r"\[efi\] hv-efi-loader: loading monitor \(\d+ bytes\) and guest \(\d+ bytes\)")
    b.expect(rf'\[efi\] command line: "log=info mem={mem}" \(from {CMDLINE_TXT}\)')
    b.expect(r"\[efi\] ExitBootServices done after \d+ attempt\(s\); jumping to monitor")
    b.expect(r"\[hv\] loaded by hv-efi-loader via UEFI")
    b.expect(rf'\[hv\] command line: "log=info mem={mem}"')
    b.expect(r"\[hv\] IA32_FEATURE_CONTROL was unlocked: enabled VMX outside SMX and locked it")
    b.expect(r"\[hv\] VT-x available: IA32_FEATURE_CONTROL=0x[0-9a-f]+ \(locked, VMX outside SMX on\)")
    b.expect(r"\[hv\] memory virtualization: " + ("EPT" if mem == "ept" else "shadow page tables"))
    b.expect(r"\[hv\] VMLAUNCH succeeded")
    m = b.expect(r"\[guest\] SUMMARY: (\d+) tests, (\d+) failures")
    assert int(m.group(1)) > 0 and int(m.group(2)) == 0, m.group(0)
    b.expect(verdict_line(0))
    status, log = b.finish()
    assert status == 0
    # The loader ran before the monitor, and the monitor did not find the register already locked.
    assert log.index("[efi] ExitBootServices done") < log.index("[hv] hv monitor starting")
    assert "VT-x is disabled in the firmware" not in log
    assert not re.search(r"(?m)^\[guest\] FAIL", log)


def test_uefi_cmdline_txt_unknown_key_refused(bochs):
    """The command line reaches the monitor through CMDLINE.TXT, here on the bare ESP image (--disk esp):
    an unknown key stops the monitor with status 65, naming the key."""
    b = bochs("log=info frobnicate=1 efi_wait=0", extra=["--uefi", "--disk", "esp"], timeout=UEFI_TIMEOUT)
    b.expect(rf'\[efi\] command line: "log=info frobnicate=1 efi_wait=0" \(from {CMDLINE_TXT}\)')
    b.expect(r"\[hv\] loaded by hv-efi-loader via UEFI")
    b.expect(r"ERROR: unknown command-line key 'frobnicate'")
    b.expect(verdict_line(STATUS["HV_ERR_CMDLINE"]))
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_CMDLINE"]
