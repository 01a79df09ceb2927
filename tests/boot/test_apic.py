"""Boot tests of issue 10's stops: an xAPIC page access the monitor does not emulate, and a halt nothing
can end (the guest suite's tests_apic.c covers what works)."""
import re

import pytest

from conftest import STATUS


@pytest.mark.parametrize("mem", ["ept", "shadow"])
def test_unsupported_xapic_instruction_stops_the_guest_naming_it(bochs, mem):
    """MOVZX (0f b6) from the xAPIC page: a clear stop with the instruction bytes and RIP, never a hang."""
    b = bochs(f"log=info mem={mem} guest.test=xapic_unsupported")
    b.expect(r"xAPIC page: guest access at guest-physical 0xfee00030 by an instruction the monitor does not emulate")
    status, log = b.finish()
    assert status == STATUS["HV_ERR_GUEST_FAULT"]
    assert re.search(r"RIP=0x[0-9a-f]+ bytes \[(4[0-9a-f] )?0f b6 ", log), log


@pytest.mark.parametrize("mem", ["ept", "shadow"])
def test_xapic_page_access_by_event_delivery_is_named_not_decoded(bochs, mem):
    """The IDT on the xAPIC page: delivering INT3 reads the gate there.  The instruction at RIP did not
    make that access, so the monitor names the event instead of emulating INT3 as an APIC access."""
    b = bochs(f"log=info mem={mem} guest.test=xapic_idt")
    b.expect(r"xAPIC page: guest access at guest-physical 0xfee00030 while delivering vector 3 \(type 6\)")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_GUEST_FAULT"]


def test_halt_with_nothing_armed_is_stopped_by_the_watchdog(bochs):
    """STI; HLT with no timer: the vCPU sleeps in the HLT state, and the watchdog still ends it."""
    b = bochs("log=info watchdog=20 guest.test=hlt_forever")
    b.expect(r"guest watchdog: 20 million TSC cycles passed without progress from the guest")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_WATCHDOG"]


APIC_TESTS = ["apic_x2apic_registers", "apic_xapic_mmio_registers", "apic_masked_lvt_delivers_nothing",
              "apic_timer_oneshot", "apic_timer_periodic", "apic_timer_tsc_deadline", "apic_hlt_wakes_on_timer",
              "apic_tpr_blocks_lower_priority", "apic_icr_self_ipi", "apic_nested_interrupts_eoi_order",
              "apic_sti_shadow_delays_one_instruction",
              "apic_mov_ss_shadow_ends_after_one_instruction", "apic_svr_software_disable", "apic_cr8_is_the_tpr", "apic_nmi_self_ipi_blocked_until_iret",
              "sched_preempts_never_yielding_loop",
              "sched_sleep_blocks_idle_halts"]


# What apicv=1 gets (vmm/vmx/apicv.c): all four controls with EPT where the CPU has virtual-interrupt
# delivery, else the TPR shadow alone (Sandy Bridge has no virtual-interrupt delivery; shadow paging
# does not use it).
APICV_LOG = {
    "full": "APIC virtualization: TPR shadow, x2APIC virtualization, APIC-register virtualization and "
            "virtual-interrupt delivery",
    "tpr": "APIC virtualization: TPR shadow and x2APIC virtualization while",
}


@pytest.mark.parametrize("cpu", ["tigerlake", "corei7_sandy_bridge_2600k"])
@pytest.mark.parametrize("mem", ["ept", "shadow"])
@pytest.mark.parametrize("apicv", ["0", "1"])
def test_interrupt_tests_pass_with_and_without_apic_virtualization(bochs, cpu, mem, apicv):
    """The same guest tests on each path: software (apicv=0), the TPR shadow alone, and full APIC
    virtualization (tigerlake with EPT)."""
    b = bochs(f"log=info mem={mem} apicv={apicv}", cpu=cpu)
    m = b.expect(r"\[guest\] SUMMARY: (\d+) tests, (\d+) failures")
    status, log = b.finish()
    assert int(m.group(2)) == 0 and status == 0, re.findall(r"\[guest\] FAIL: (.+)", log)
    passes = set(re.findall(r"\[guest\] PASS: (\S+)", log))
    assert set(APIC_TESTS) <= passes, sorted(set(APIC_TESTS) - passes)
    level = "off" if apicv == "0" else "full" if (cpu == "tigerlake" and mem == "ept") else "tpr"
    for name, line in APICV_LOG.items():
        assert (line in log) == (level == name), f"{name}: {line!r} expected {level == name}"
    exits = dict(re.findall(r"^\[hv\]\s{3}([A-Z_]+)\s+(\d+)\s+\d+\s+\d+\s*$", log, re.M))
    ticks = re.search(r"sched_preempts_never_yielding_loop: (\d+) ticks, (\d+) preemption-timer exits, "
                      r"(\d+) interrupt-window exits", log)
    assert ticks and int(ticks.group(1)) > 0
    if level == "full":
        assert int(ticks.group(3)) == 0, "virtual-interrupt delivery needs no interrupt-window exit"
    # Lowering the TPR under a held interrupt exits only with the TPR shadow alone; without a TPR
    # shadow MOV CR8 exits (the guest's CR8 is the vLAPIC's TPR, never the physical one).
    assert (int(exits.get("TPR_BELOW_THRESHOLD", 0)) > 0) == (level == "tpr"), exits
