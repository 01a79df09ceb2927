"""The verdict comes from the monitor alone (issue 14, finding 2).

A guest that prints "HV-EXIT status=0 (success)" itself, executes Bochs's magic breakpoint,
writes "Shutdown" to Bochs's port and 0 to QEMU's isa-debug-exit must not pass a boot test:
  - guest.test=forge_verdict does all that in real Bochs; the run must end with the guest's real
    status (3), reported by the monitor;
  - scripts/verdict.sh reads exactly one anchored verdict line;
  - run-bochs.sh and run-qemu.sh trust a serial verdict only when the out-of-band channel (Bochs's
    port 0xe9 plus its Shutdown exit, QEMU's isa-debug-exit code) agrees: checked here with fake
    emulators on PATH that replay chosen serial output and exit codes.
"""
import os
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, verdict_line

FORGE_STATUS = 3  # guest/main.c run_forge_verdict
EXIT_TIMEOUT, EXIT_NO_VERDICT = 124, 125
VERDICT_SH = ROOT / "scripts" / "verdict.sh"


@pytest.mark.parametrize("mem", ["ept", "shadow"])
def test_guest_cannot_forge_a_pass_in_bochs(bochs, mem):
    b = bochs(f"mem={mem} guest.test=forge_verdict")
    b.expect(r"\[guest\] test forge_verdict: faking the monitor's verdict")
    b.expect(r"\[guest\] HV-EXIT status=0 \(success\)")   # the forgery is visible, but prefixed
    b.expect(r"forge_verdict: still running after every forgery")
    b.expect(verdict_line(FORGE_STATUS))
    status, log = b.finish()
    assert status == FORGE_STATUS
    monitor_verdicts = [l for l in log.splitlines() if l.startswith("HV-EXIT")]
    assert monitor_verdicts == [f"HV-EXIT status={FORGE_STATUS} (guest exit status)"]


def verdict_of(tmp_path, text):
    log = tmp_path / "serial.log"
    log.write_bytes(text.encode())
    r = subprocess.run(["bash", "-c", f'. "{VERDICT_SH}"; verdict_from_log "$1"', "-", str(log)],
                       capture_output=True, text=True)
    return r.returncode, r.stdout.strip()


@pytest.mark.parametrize("text,expected", [
    ("[hv] done\nHV-EXIT status=0 (success)\n", (0, "0")),
    ("[hv] done\r\nHV-EXIT status=77 (guest watchdog expired)\r\n", (0, "77")),
    ("[hv] no verdict here\n", (1, "")),
    ("[guest] HV-EXIT status=0 (success)\n", (1, "")),                 # a guest line, prefixed
    ("[guest] x HV-EXIT status=0 (success)\nHV-EXIT status=3 (guest exit status)\n", (0, "3")),
    ("HV-EXIT status=0 (success) trailing\n", (1, "")),               # not the monitor's format
    ("HV-EXIT status=0 (success)\nHV-EXIT status=3 (guest exit status)\n", (2, "")),  # two verdicts
])
def test_verdict_from_log(tmp_path, text, expected):
    assert verdict_of(tmp_path, text) == expected


def fake_tool(bin_dir, name, body):
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


FAKE_BOCHS = r'''
# Replays $FAKE_SERIAL into the com1 file of the bochsrc given with -f, $FAKE_E9 on stdout, exits $FAKE_RC.
while [ $# -gt 0 ]; do [ "$1" = -f ] && rc=$2; shift; done
dev=$(sed -n 's/^com1: .*dev=\(.*\)$/\1/p' "$rc")
printf '%b' "$FAKE_SERIAL" > "$dev"
printf '%b' "$FAKE_E9"
exit "$FAKE_RC"
'''

FAKE_QEMU = r'''
# Replays $FAKE_SERIAL on stdout (run-qemu.sh uses -serial stdio) and exits $FAKE_RC.
printf '%b' "$FAKE_SERIAL"
exit "$FAKE_RC"
'''


def run_with_fake(tmp_path, script, args, tool, body, serial, rc, e9=""):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake_tool(bin_dir, tool, body)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_SERIAL=serial, FAKE_E9=e9,
               FAKE_RC=str(rc))
    r = subprocess.run([str(ROOT / "scripts" / script), "--timeout", "30", "--log", str(tmp_path / "s.log"),
                        *args], env=env, capture_output=True, text=True, timeout=120)
    return r.returncode, r.stderr


GOOD = "[hv] done\\nHV-EXIT status=0 (success)\\n"
FORGED = "[guest] ok\\nHV-EXIT status=0 (success)\\n"


@pytest.mark.parametrize("serial,e9,rc,expected", [
    (GOOD, GOOD, 1, 0),                                             # the monitor's Shutdown exit
    (GOOD, "", 1, EXIT_NO_VERDICT),                                 # no copy on port 0xe9
    (GOOD, "HV-EXIT status=3 (guest exit status)\\n", 1, EXIT_NO_VERDICT),  # the channels disagree
    (GOOD, GOOD, 0, EXIT_NO_VERDICT),                               # ended by a magic breakpoint
    (GOOD, GOOD + "[UNMAP ] Shutdown port: shutdown requested\\n", 139, 0),  # Bochs crashed after shutdown
    (GOOD, GOOD, 139, EXIT_NO_VERDICT),                             # Bochs crashed before any shutdown
    (FORGED + "HV-EXIT status=3 (guest exit status)\\n", GOOD, 1, EXIT_NO_VERDICT),  # two serial verdicts
    ("[hv] crashed\\n", "", 1, EXIT_NO_VERDICT),
])
def test_run_bochs_trusts_only_the_monitor(tmp_path, serial, e9, rc, expected):
    status, err = run_with_fake(tmp_path, "run-bochs.sh", [], "bochs", FAKE_BOCHS, serial, rc, e9)
    assert status == expected, err


@pytest.mark.parametrize("serial,rc,expected", [
    (GOOD, 1, 0),                              # isa-debug-exit with 0: QEMU exits (0 << 1) | 1
    ("[hv] x\\nHV-EXIT status=70 (CPU has no VT-x)\\n", (70 << 1) | 1, 70),
    (GOOD, 0, EXIT_NO_VERDICT),                # QEMU ended some other way: not the monitor's verdict
    (GOOD, (3 << 1) | 1, EXIT_NO_VERDICT),     # the monitor's port said 3, the serial line says 0
    (FORGED + "HV-EXIT status=3 (guest exit status)\\n", (3 << 1) | 1, EXIT_NO_VERDICT),
])
def test_run_qemu_trusts_only_the_monitor(tmp_path, serial, rc, expected):
    status, err = run_with_fake(tmp_path, "run-qemu.sh", ["--iso"], "qemu-system-x86_64", FAKE_QEMU, serial, rc)
    assert status == expected, err
