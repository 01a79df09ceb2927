"""Boot tests of issue 14's hypercall findings: refused hypercalls are logged at a bounded rate and
are no progress for the watchdog (the debug-trap and LTR/LLDT findings are guest tests: guest/tests_emul.c)."""
import re

import pytest

from conftest import STATUS

# vmm/exit/hypercall.c: the first 8 refusals are logged one by one, then one summary line per 1000.
REFUSED_LOG_FIRST = 8
REFUSED_LOG_PERIOD = 1000


@pytest.mark.parametrize("mem", ["ept", "shadow"])
def test_refused_hypercall_flood_is_stopped_by_the_watchdog(bochs, mem):
    """A silent guest that makes refused hypercalls forever: the watchdog ends it, the log stays short."""
    b = bochs(f"log=info mem={mem} watchdog=20 guest.test=hypercall_flood")
    b.expect(r"guest watchdog: 20 million TSC cycles passed without progress from the guest")
    status, log = b.finish()
    assert status == STATUS["HV_ERR_WATCHDOG"]
    calls = re.search(r"^\[hv\]\s+VMCALL\s+(\d+)", log, re.M)
    assert calls and int(calls.group(1)) > 2 * REFUSED_LOG_PERIOD, "the guest did not flood hypercalls"
    refused_lines = [l for l in log.splitlines() if "refused" in l]
    bound = REFUSED_LOG_FIRST + int(calls.group(1)) // REFUSED_LOG_PERIOD + 1
    assert len(refused_lines) <= bound, f"{len(refused_lines)} log lines for {calls.group(1)} refused hypercalls"
    assert any(re.search(r"\d+ more refused hypercalls \(\d+ in all\)", l) for l in refused_lines)
