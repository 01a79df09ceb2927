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


def test_halt_with_nothing_armed_is_stopped_by_the_watchdog(bochs):
    """STI; HLT with no timer: the vCPU sleeps in the HLT state, and the watchdog still ends it."""
    b = bochs("log=info watchdog=20 guest.test=hlt_forever")
    b.expect(r"guest watchdog: 20 million TSC cycles passed without progress from the guest")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_WATCHDOG"]


APIC_TESTS = ["apic_x2apic_registers", "apic_xapic_mmio_registers", "apic_masked_lvt_delivers_nothing",
              "apic_timer_oneshot", "apic_timer_periodic", "apic_timer_tsc_deadline", "apic_hlt_wakes_on_timer",
              "apic_tpr_blocks_lower_priority", "apic_icr_self_ipi", "apic_nested_interrupts_eoi_order",
              "apic_sti_shadow_delays_one_instruction", "apic_nmi_self_ipi_blocked_until_iret",
              "sched_preempts_never_yielding_loop",
              "sched_sleep_blocks_idle_halts"]


@pytest.mark.parametrize("mem", ["ept", "shadow"])
@pytest.mark.parametrize("apicv", ["0", "1"])
def test_interrupt_tests_pass_with_and_without_apic_virtualization(bochs, mem, apicv):
    """tigerlake offers virtual-interrupt delivery: the same guest tests on the hardware path (EPT only) and on the
    software one."""
    b = bochs(f"log=info mem={mem} apicv={apicv}")
    m = b.expect(r"\[guest\] SUMMARY: (\d+) tests, (\d+) failures")
    status, log = b.finish()
    assert int(m.group(2)) == 0 and status == 0, re.findall(r"\[guest\] FAIL: (.+)", log)
    passes = set(re.findall(r"\[guest\] PASS: (\S+)", log))
    assert set(APIC_TESTS) <= passes, sorted(set(APIC_TESTS) - passes)
    hardware = apicv == "1" and mem == "ept"
    assert ("APIC virtualization: TPR shadow" in log) == hardware
    ticks = re.search(r"sched_preempts_never_yielding_loop: (\d+) ticks, (\d+) preemption-timer exits, "
                      r"(\d+) interrupt-window exits", log)
    assert ticks and int(ticks.group(1)) > 0
    if hardware:
        assert int(ticks.group(3)) == 0, "virtual-interrupt delivery needs no interrupt-window exit"
