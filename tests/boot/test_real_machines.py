"""Boot tests for issue 12's first users: serial output where the machine has its UART (serial=),
and a command line too long for the boot information refused, never cut (Bochs, GRUB path).

Run one: /usr/bin/python3 -m pytest -v tests/boot/test_real_machines.py::test_x  (after 'make')
"""
import re
from pathlib import Path

from conftest import ROOT, STATUS, Boot, verdict_line

BOOTINFO_H = ROOT / "vmm" / "include" / "vmm" / "bootinfo.h"
TIMEOUT_S = 240


def cmdline_len_max():
    """BOOTINFO_CMDLINE_LEN_MAX, from BOOTINFO_CMDLINE_MAX in vmm/include/vmm/bootinfo.h."""
    m = re.search(r"#define BOOTINFO_CMDLINE_MAX\s+(\d+)", BOOTINFO_H.read_text())
    assert m, f"no BOOTINFO_CMDLINE_MAX in {BOOTINFO_H}"
    return int(m.group(1)) - 1


def bochs_with_com2(request, tmp_path, cmdline):
    log = str(tmp_path / "com1.log")
    com2 = tmp_path / "com2.log"
    argv = ["scripts/run-bochs.sh", "--timeout", str(TIMEOUT_S), "--log", log, "--com2", str(com2),
            "--", *cmdline.split()]
    return Boot(argv, log, TIMEOUT_S + 30, node=request.node), com2


def test_serial_moves_the_log_to_com2(request, tmp_path):
    """serial=0x2f8: every monitor line, the verdict included, is on COM2 and none on COM1; the
    harness (--com2) takes the verdict from COM2 and still checks it against port 0xe9.  A bad
    option then shows its message on COM2 too (and a quick status 65 keeps the test short)."""
    b, com2 = bochs_with_com2(request, tmp_path, "serial=0x2f8,115200 log=info frobnicate=1")
    status, com1_log = b.finish()
    com2_log = com2.read_text(errors="replace")
    assert status == STATUS["HV_ERR_CMDLINE"], f"harness exited {status}; COM2:\n{com2_log[-3000:]}"
    assert re.search(r"\[hv\] hv monitor starting", com2_log)
    assert re.search(r'\[hv\] command line: "serial=0x2f8,115200 log=info frobnicate=1"', com2_log)
    assert re.search(r"ERROR: unknown command-line key 'frobnicate'", com2_log)
    assert re.search(verdict_line(STATUS["HV_ERR_CMDLINE"]), "\n" + com2_log.replace("\r", ""))
    assert "[hv]" not in com1_log and "HV-EXIT" not in com1_log


def test_serial_com2_runs_the_guest(request, tmp_path):
    """serial=com2 for a whole run: the guest's suite passes and the verdict (0) comes from COM2."""
    b, com2 = bochs_with_com2(request, tmp_path, "serial=com2 log=info")
    status, com1_log = b.finish()
    com2_log = com2.read_text(errors="replace")
    assert status == 0, f"harness exited {status}; COM2:\n{com2_log[-3000:]}"
    assert "[hv] serial output: serial=0x2f8,115200 (8N1)" in com2_log
    assert re.search(r"\[guest\] SUMMARY: \d+ tests, 0 failures", com2_log)
    assert "[hv]" not in com1_log


def test_grub_command_line_past_the_limit_refused(bochs):
    """A 600-character multiboot2 line ending in guest_mem=8M: once cut at 511 characters and run
    with another value, now refused with status 65, naming the limit."""
    limit = cmdline_len_max()
    tail = "guest_mem=0x8000000"
    words = ["log=info"] * ((600 - len(tail)) // len("log=info "))
    line = " ".join(words + [tail])
    assert len(line) > limit
    b = bochs(line)
    b.expect(rf"ERROR: the command line is {len(line)} characters long, longer than the {limit} "
             r"the monitor takes \(BOOTINFO_CMDLINE_LEN_MAX")
    b.expect(verdict_line(STATUS["HV_ERR_CMDLINE"]))
    status, log = b.finish()
    assert status == STATUS["HV_ERR_CMDLINE"]
    assert "VMXON" not in log and "[guest]" not in log
