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
