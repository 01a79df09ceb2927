"""Shared helpers for the boot tests: run a harness under pexpect, read status codes."""
import os
import re
import shlex
import sys
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parents[2]
STATUS_H = ROOT / "vmm" / "include" / "vmm" / "status.h"


def _read_statuses():
    table = {}
    for m in re.finditer(r"X\((HV_[A-Z_]+),\s*(\d+),", STATUS_H.read_text()):
        table[m.group(1)] = int(m.group(2))
    return table


STATUS = _read_statuses()


def verdict_line(status):
    """The monitor's verdict line for a status, anchored at the start of a serial line.

    Only the monitor starts a line with "HV-EXIT": guest output is prefixed "[guest] " by the
    virtual UART (vmm/exit/vuart.c).  The harness's exit status is the authority (it also checks
    the monitor's out-of-band copy); this pattern only keeps expectations from matching a forgery.
    """
    return rf"(?m)(?<=\n)HV-EXIT status={status} \([^()\r\n]*\)\r*$"


class Boot:
    """A running harness: expect() serial lines in order, then finish() for the exit status."""

    def __init__(self, argv, log_path, timeout):
        self.argv = argv
        self.log_path = log_path
        self.child = pexpect.spawn(str(ROOT / argv[0]), argv[1:], cwd=str(ROOT), encoding="utf-8",
                                   codec_errors="replace", timeout=timeout)
        self.child.logfile_read = sys.stdout

    def expect(self, pattern, timeout=-1):
        """Wait for a regular expression; fail with the output so far if it never comes."""
        try:
            self.child.expect(pattern, timeout=timeout)
        except (pexpect.TIMEOUT, pexpect.EOF) as e:
            pytest.fail(f"expected /{pattern}/ from {' '.join(map(shlex.quote, self.argv))}, "
                        f"got {type(e).__name__}; output before:\n{self.child.before}")
        return self.child.match

    def finish(self):
        """Wait for the harness to end; return (exit status, whole serial log)."""
        self.child.expect(pexpect.EOF)
        self.child.close()
        log = Path(self.log_path).read_text(errors="replace") if os.path.exists(self.log_path) else ""
        return self.child.exitstatus, log


@pytest.fixture
def bochs(tmp_path):
    """bochs(cmdline, cpu=..., extra=[...]) boots the GRUB ISO in Bochs."""
    def start(cmdline="", cpu="tigerlake", extra=(), timeout=240):
        log = str(tmp_path / f"bochs-{cpu}.log")
        argv = ["scripts/run-bochs.sh", "--cpu", cpu, "--timeout", str(timeout), "--log", log,
                *extra, "--", *cmdline.split()]
        return Boot(argv, log, timeout + 30)
    return start
