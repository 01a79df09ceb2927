"""Every physical CPU in VMX root (issue 11): the monitor finds the machine's CPUs (ACPI MADT, the
UEFI loader's list from the firmware's MP services, or the MP table of a legacy BIOS), starts each
application processor with INIT-SIPI-SIPI through its trampoline below 1 MiB, checks its VT-x against
the bootstrap processor's and enters VMX root there; a processor that does not answer or fails its
checks is reported by number and left out, never a hang.  The guest suite runs as before.

The verdict of every Bochs boot is the monitor's own (scripts/run-bochs.sh): status 0 means the whole
guest suite passed after the CPUs came up."""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def ids(n):
    return " ".join(str(i) for i in range(n))


def expect_all_in_vmx_root(b, n):
    """One line per application processor, in order, then the summary."""
    for i in range(1, n):
        b.expect(rf"\[hv\] CPU {i} \(APIC ID {i}\): in VMX root operation \(VMXON region at 0x[0-9a-f]+\)")
    b.expect(rf"\[hv\] CPUs in VMX root: {n} of {n} \(APIC IDs {ids(n)}\)")


SMP_TESTS = ("smp_user_programs_spread", "smp_all_online", "smp_ap_exits_accounted", "smp_ipi_ping_pong", "smp_nmi_ipi", "smp_spinlock_counter",
             "smp_tlb_shootdown", "smp_apic_timer_every_cpu", "smp_init_restarts_a_running_cpu",
             "smp_sipi_to_absent_cpu", "smp_spinner_does_not_block")


def expect_restart_and_absent_cpu(b, n, mem):
    """smp_init_restarts_a_running_cpu restarts the last AP: the monitor takes its INIT, waits, starts it at the
    STARTUP; then smp_sipi_to_absent_cpu's INIT and STARTUP to APIC ID n reach nobody, and the monitor says so."""
    last = n - 1
    b.expect(rf"\[guest\] PASS: smp_apic_timer_every_cpu\b")
    b.expect(rf"\[hv\] vCPU {last}: INIT: it waits for a STARTUP IPI")
    b.expect(rf"\[hv\] vCPU {last}: STARTUP IPI with vector 0x[0-9a-f]+: starts in real mode at [0-9a-f]{{4}}:0000 "
             rf"on CPU {last} \(APIC ID {last}\)")
    if mem == "shadow":
        b.expect(rf"\[hv\] vCPU {last}: CR0.PE set at [0-9a-f]{{4}}:[0-9a-f]{{4}}: from virtual-8086 mode")
    b.expect(rf"\[guest\] CPU {last} online \(APIC ID {last}\)")
    b.expect(rf"\[guest\] PASS: smp_init_restarts_a_running_cpu\b")
    b.expect(rf"\[hv\] warning: vCPU 0 sent an INIT IPI \(vector 0\) to physical APIC ID {n:#x}, which no vCPU of this "
             rf"VM has \({n} vCPUs\): dropped, as a machine without that processor would")
    b.expect(rf"\[hv\] warning: vCPU 0 sent a STARTUP IPI \(vector 0x[0-9a-f]+\) to physical APIC ID {n:#x}, which no "
             rf"vCPU of this VM has \({n} vCPUs\): dropped, as a machine without that processor would")
    b.expect(rf"\[guest\] PASS: smp_sipi_to_absent_cpu\b")


def expect_smp_guest(b, n, mem):
    """One vCPU per CPU: the guest finds them in the monitor's MADT, starts each, and passes every SMP test."""
    b.expect(rf"guest ACPI tables: RSDP at 0xe0000, XSDT, MADT with {n} local APICs")
    b.expect(rf"vCPUs: {n}, vCPU n pinned to the n-th CPU in VMX root")
    b.expect(rf"\[guest\] CPUs: {n} in the MADT, APIC IDs {ids(n)}")
    for i in range(1, n):
        b.expect(rf"\[hv\] vCPU {i}: STARTUP IPI with vector 0x[0-9a-f]+: starts in real mode at [0-9a-f]{{4}}:0000 "
                 rf"on CPU {i} \(APIC ID {i}\)")
        if mem == "shadow":  # no unrestricted guest: virtual-8086 mode until CR0.PE
            b.expect(rf"\[hv\] vCPU {i}: CR0.PE set at [0-9a-f]{{4}}:[0-9a-f]{{4}}: from virtual-8086 mode to 16-bit "
                     r"protected mode")
        b.expect(rf"\[guest\] CPU {i} online \(APIC ID {i}\)")
    b.expect(rf"\[guest\] SMP: {n} of {n} CPUs online")
    for t in SMP_TESTS[:SMP_TESTS.index("smp_apic_timer_every_cpu")]:
        b.expect(rf"\[guest\] PASS: {t}\b")
    expect_restart_and_absent_cpu(b, n, mem)
    b.expect(r"\[guest\] PASS: smp_spinner_does_not_block\b")
    b.expect(r"\[guest\] SUMMARY: \d+ tests, 0 failures")
    b.expect(rf"VM-exit statistics \(\d+ exits on {n} vCPUs")
    for i in range(n):
        b.expect(rf"\[hv\]   vCPU {i} \(CPU APIC ID {i}\): \d+ exits, .* IPIs sent \(\d+ kicks\), stopped")


@pytest.mark.parametrize("mem", ["ept", "shadow"])
@pytest.mark.parametrize("n", [2, 4])
def test_grub_every_cpu_in_vmx_root(bochs, n, mem):
    b = bochs(f"log=info mem={mem}", extra=["--smp", str(n)])
    b.expect(rf"CPUs: {n} in the ACPI MADT \(RSDT, local APIC at 0xfee00000\), APIC IDs {ids(n)}")
    b.expect(r"TSC: \d+ kHz, measured against the 8254 PIT")
    b.expect(rf"CPUs: starting {n - 1} application processors? through the trampoline at 0x[0-9a-f]+000 "
             r"\(STARTUP vector 0x[0-9a-f]+\)")
    expect_all_in_vmx_root(b, n)
    expect_smp_guest(b, n, mem)
    status, log = b.finish()
    assert status == 0, log[-3000:]
    assert "ERROR" not in log, log[-3000:]


@pytest.mark.parametrize("mem", ["ept", "shadow"])
@pytest.mark.parametrize("n", [2, 4])
def test_uefi_every_cpu_in_vmx_root(bochs, n, mem):
    """Bochs + OVMF gives no ACPI tables (no fw_cfg): the loader's list from EFI_MP_SERVICES_PROTOCOL counts."""
    b = bochs(f"log=info mem={mem}", extra=["--uefi", "--smp", str(n)], timeout=400)
    b.expect(rf"\[efi\] CPUs: {n} of {n} listed by EFI_MP_SERVICES_PROTOCOL \(BSP APIC ID 0\), APIC IDs {ids(n)}")
    b.expect(rf"CPUs: {n} in the firmware's MP services \(no ACPI MADT: the loader found no ACPI RSDP\), "
             rf"APIC IDs {ids(n)}")
    expect_all_in_vmx_root(b, n)
    expect_smp_guest(b, n, mem)
    status, log = b.finish()
    assert status == 0, log[-3000:]


def test_mp_table_of_the_bios(bochs):
    """cpu_tables=mptable: the Intel MP table (spec 1.4) of Bochs's BIOS, as on machines without ACPI."""
    b = bochs("log=info cpu_tables=mptable", extra=["--smp", "4"])
    b.expect(r"CPUs: 4 in the MP table \(spec 1\.4, local APIC at 0xfee00000\), APIC IDs 0 1 2 3")
    expect_all_in_vmx_root(b, 4)
    status, log = b.finish()
    assert status == 0, log[-3000:]


def test_cpus_option_limits_the_count(bochs):
    b = bochs("log=info cpus=2", extra=["--smp", "4"])
    b.expect(r"CPUs: starting 1 application processor through the trampoline")
    b.expect(r"\[hv\] CPU 1 \(APIC ID 1\): in VMX root operation")
    b.expect(r"CPU with APIC ID 2: not used \(cpus=2\)")
    b.expect(r"CPU with APIC ID 3: not used \(cpus=2\)")
    b.expect(r"CPUs in VMX root: 2 of 4 \(APIC IDs 0 1\)")
    status, log = b.finish()
    assert status == 0, log[-3000:]


def test_cpu_tables_none_runs_alone(bochs):
    b = bochs("log=info cpu_tables=none", extra=["--smp", "2"])
    b.expect(r"CPUs: cpu_tables=none: the monitor runs on the processor it started on alone")
    b.expect(r"CPUs in VMX root: 1 of 1 \(APIC IDs 0\)")
    status, log = b.finish()
    assert status == 0, log[-3000:]
    assert "trampoline" not in log


def test_processor_that_never_answers_is_left_out(bochs):
    """break=ap_silent: the last AP gets INIT but no STARTUP; the monitor waits 200 ms, says so, goes on."""
    b = bochs("log=info break=ap_silent", extra=["--smp", "4"])
    b.expect(r"\[hv\] CPU 1 \(APIC ID 1\): in VMX root operation")
    b.expect(r"\[hv\] CPU 2 \(APIC ID 2\): in VMX root operation")
    b.expect(r"ERROR: CPU 3 \(APIC ID 3\) did not answer INIT-SIPI-SIPI within 200 ms: it never ran the "
             r"trampoline \(no STARTUP IPI arrived, or the processor is absent\); it is sent INIT again")
    b.expect(r"CPUs in VMX root: 3 of 4 \(APIC IDs 0 1 2\)")
    status, log = b.finish()
    assert status == 0, log[-3000:]


def test_processor_with_other_vmx_capabilities_is_left_out(bochs):
    """break=ap_vmx: the last AP reads a different IA32_VMX_MISC; it names the MSR and both values."""
    b = bochs("log=info break=ap_vmx", extra=["--smp", "2"])
    m = b.expect(r"ERROR: CPU 1 \(APIC ID 1\): its VMX capabilities differ from the bootstrap processor's: "
                 r"its IA32_VMX_MISC is (0x[0-9a-f]+), the bootstrap processor's (0x[0-9a-f]+);")
    assert int(m.group(1), 16) ^ int(m.group(2), 16) == 1
    b.expect(r"CPUs in VMX root: 1 of 2 \(APIC IDs 0\)")
    status, log = b.finish()
    assert status == 0, log[-3000:]
    assert "in VMX root operation" not in log


@pytest.mark.parametrize("path,root", [([], "XSDT"), (["--iso"], "RSDT")])
def test_qemu_firmware_tables_list_two_cpus(tmp_path, path, root):
    """OVMF (ACPI 2.0, XSDT) and SeaBIOS under GRUB (RSDT): two CPUs, before the monitor stops for want of VT-x."""
    log = tmp_path / "serial.log"
    r = subprocess.run([str(ROOT / "scripts" / "run-qemu.sh"), *path, "--smp", "2", "--timeout", "150",
                        "--log", str(log), "--", "log=info", "efi_wait=0"],
                       cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=200)
    assert re.search(rf"CPUs: 2 in the ACPI MADT \({root}, local APIC at 0xfee00000\), APIC IDs 0 1", r.stdout), \
        r.stdout[-3000:]
    if not path:  # the UEFI loader asked the firmware too
        assert "[efi] CPUs: 2 of 2 listed by EFI_MP_SERVICES_PROTOCOL (BSP APIC ID 0), APIC IDs 0 1" in r.stdout
    assert r.returncode == 70, r.stdout[-2000:]  # HV_ERR_NO_VMX under TCG


def test_more_vcpus_than_cpus_is_refused(bochs):
    """vcpus= larger than the CPUs in VMX root: a clear answer and status 65, never a hang."""
    b = bochs("log=info vcpus=3", extra=["--smp", "2"])
    b.expect(r"vcpus=3, but 2 physical CPUs are in VMX root: the monitor pins each vCPU to a CPU of its own; "
             r"use vcpus=2 or fewer")
    status, log = b.finish()
    assert status == 65, log[-3000:]
