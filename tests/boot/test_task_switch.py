"""Boot tests of hardware task switches in a 32-bit guest (issue 14, finding 4).

guest.test=task_switch runs guest/task32.asm from the guest's 32-bit entry: JMP, CALL,
IRET with NT=1, task gates in the GDT and the IDT, an exception through a task gate, and
the faults of bad switches.  Every task switch exits (SDM Vol. 3C 26.4.2) and the monitor
performs it (vmm/exit/task.c); without that handler the guest stops with status 78.
"""
import re

import pytest

CASES = ["task_jmp_tss", "task_call_iret", "task_call_gate", "task_int_gate", "task_exception_gate",
         "task_not_present", "task_busy_call", "task_short_limit", "task_bad_cs", "task_cr3",
         "task_tss_not_mapped", "lgdt32_full_base"]


@pytest.mark.parametrize("mem", ["ept", "shadow"])
def test_task_switches_in_a_32bit_guest(bochs, mem):
    b = bochs(f"log=info mem={mem} guest.test=task_switch")
    b.expect(r"\[guest\] task_switch: 32-bit hardware task switches")
    m = b.expect(r"\[guest\] SUMMARY: (\d+) tests, (\d+) failures")
    tests, failures = int(m.group(1)), int(m.group(2))
    status, log = b.finish()
    passes = re.findall(r"\[guest\] PASS: (\S+)", log)
    fails = re.findall(r"\[guest\] FAIL: (.+)", log)
    assert fails == [] and failures == 0, f"guest failures: {fails}"
    for case in CASES:
        assert case in passes, f"no PASS line for {case}"
    assert tests == len(CASES) and status == 0
    exits = dict(re.findall(r"^\[hv\]\s{3}([A-Z_]+)\s+(\d+)\s+\d+\s+\d+\s*$", log, re.M))
    assert int(exits.get("TASK_SWITCH", 0)) > 0, f"no task-switch exit counted: {exits}"
