"""The machine's CPUs, found in the firmware's ACPI tables (vmm/platform/acpi.c; issue 11's first
step): the monitor lists every enabled processor of the MADT on each boot path, and a machine with
several CPUs runs the guest suite as before (the other processors stay halted where the firmware
left them)."""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CPUS_LINE = r"CPUs: {n} in the ACPI MADT \({root}, local APIC at 0xfee00000\), APIC IDs {ids};"


@pytest.mark.parametrize("n", [2, 4])
def test_bochs_grub_lists_every_cpu_and_runs_the_suite(bochs, n):
    b = bochs("log=info", extra=["--smp", str(n)])
    b.expect(CPUS_LINE.format(n=n, root="RSDT", ids=" ".join(str(i) for i in range(n))))
    status, log = b.finish()
    assert status == 0, log[-3000:]  # the monitor's verdict: the whole guest suite passed


def test_bochs_uefi_without_acpi_says_why(bochs):
    """OVMF gets its ACPI tables from QEMU's fw_cfg, which Bochs lacks: the monitor says so and goes on."""
    b = bochs("log=info", extra=["--uefi", "--smp", "2"], timeout=400)
    b.expect(r"CPU discovery: the loader found no ACPI RSDP; the monitor counts only the processor it runs on")
    status, log = b.finish()
    assert status == 0, log[-3000:]


@pytest.mark.parametrize("path,root", [([], "XSDT"), (["--iso"], "RSDT")])
def test_qemu_firmware_tables_list_two_cpus(tmp_path, path, root):
    """OVMF (ACPI 2.0, XSDT) and SeaBIOS under GRUB (RSDT): two CPUs, before the monitor stops for want of VT-x."""
    log = tmp_path / "serial.log"
    r = subprocess.run([str(ROOT / "scripts" / "run-qemu.sh"), *path, "--smp", "2", "--timeout", "150",
                        "--log", str(log), "--", "log=info", "efi_wait=0"],
                       cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=200)
    assert re.search(CPUS_LINE.format(n=2, root=root, ids="0 1"), r.stdout), r.stdout[-3000:]
    assert r.returncode == 70, r.stdout[-2000:]  # HV_ERR_NO_VMX under TCG
