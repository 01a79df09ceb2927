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
    virtual UART (vmm/dev/vuart.c).  The harness's exit status is the authority (it also checks
    the monitor's out-of-band copy); this pattern only keeps expectations from matching a forgery.
    """
    return rf"(?m)(?<=\n)HV-EXIT status={status} \([^()\r\n]*\)\r*$"


# A harness's output (its serial lines, without terminal escapes, and its own messages) goes to a file
# beside its serial log, not to the terminal: a passing test stays quiet, and a failing one shows the
# output in its report (pytest_runtest_makereport below).  With pytest -s it is also echoed live.
HARNESS_OUTPUTS = pytest.StashKey[list]()
OUTPUT_SHOWN_LINES = 400  # of a failing test's harness output, the last lines shown in its report


class _Tee:
    def __init__(self, *files):
        self.files = files

    def write(self, text):
        for f in self.files:
            f.write(text)

    def flush(self):
        for f in self.files:
            f.flush()


def harness_output(node, argv, path):
    """A writer for pexpect's logfile_read: the file `path`, shown in `node`'s report if the test fails."""
    f = open(path, "w", encoding="utf-8", errors="replace")
    node.stash.setdefault(HARNESS_OUTPUTS, []).append((argv, path, f))
    if node.config.getoption("capture") == "no":
        return _Tee(f, sys.stdout)
    return f


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if not report.failed:
        return
    for argv, path, f in item.stash.get(HARNESS_OUTPUTS, []):
        f.flush()
        lines = Path(path).read_text(errors="replace").splitlines()
        if len(lines) > OUTPUT_SHOWN_LINES:
            lines = [f"... ({len(lines) - OUTPUT_SHOWN_LINES} earlier lines in {path})",
                     *lines[-OUTPUT_SHOWN_LINES:]]
        report.sections.append((f"output of {' '.join(map(shlex.quote, argv))} ({path})", "\n".join(lines)))


class Boot:
    """A running harness: expect() serial lines in order, then finish() for the exit status.

    Its output goes to harness_output() when the test's node is given, else to stdout."""

    def __init__(self, argv, log_path, timeout, node=None):
        self.argv = argv
        self.log_path = log_path
        self.child = pexpect.spawn(str(ROOT / argv[0]), argv[1:], cwd=str(ROOT), encoding="utf-8",
                                   codec_errors="replace", timeout=timeout)
        if node is None:
            self.child.logfile_read = sys.stdout
        else:
            self.child.logfile_read = harness_output(node, argv, re.sub(r"(\.log)?$", ".output.txt", log_path, 1))

    def expect(self, pattern, timeout=-1):
        """Wait for a regular expression; fail with the last lines so far if it never comes."""
        try:
            self.child.expect(pattern, timeout=timeout)
            return self.child.match
        except (pexpect.TIMEOUT, pexpect.EOF) as e:
            failure = type(e).__name__
        # Outside the except block: the report shows this message, not pexpect's internals.
        last = "\n".join(str(self.child.before).splitlines()[-10:])
        pytest.fail(f"expected /{pattern}/ from {' '.join(map(shlex.quote, self.argv))}, "
                    f"got {failure}; the last lines before:\n{last}")

    def finish(self):
        """Wait for the harness to end; return (exit status, whole serial log)."""
        self.child.expect(pexpect.EOF)
        self.child.close()
        log = Path(self.log_path).read_text(errors="replace") if os.path.exists(self.log_path) else ""
        return self.child.exitstatus, log


@pytest.fixture
def bochs(tmp_path, request):
    """bochs(cmdline, cpu=..., extra=[...]) boots the GRUB ISO in Bochs (extra=["--uefi"]: the UEFI loader)."""
    def start(cmdline="", cpu="tigerlake", extra=(), timeout=240):
        log = str(tmp_path / f"bochs-{cpu}.log")
        argv = ["scripts/run-bochs.sh", "--cpu", cpu, "--timeout", str(timeout), "--log", log,
                *extra, "--", *cmdline.split()]
        return Boot(argv, log, timeout + 30, node=request.node)
    return start
