"""scripts/run-bochs.sh itself, for a first user: a timeout in wall-clock seconds, a mistyped CPU model."""
import os
import stat
import subprocess
import time

import pytest

from conftest import ROOT

USAGE_EXIT = 2
TIMEOUT_EXIT = 124
NO_VERDICT_EXIT = 125


def run_bochs(*args, timeout):
    start = time.monotonic()
    p = subprocess.run([str(ROOT / "scripts" / "run-bochs.sh"), *args], cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, errors="replace", timeout=timeout)
    return p, time.monotonic() - start


def test_timeout_counts_wall_clock_seconds(tmp_path):
    """A guest that spins forever (watchdog off) ends with 124 after --timeout seconds of real time,
    however slowly the loaded machine lets Bochs run."""
    p, elapsed = run_bochs("--timeout", "5", "--log", str(tmp_path / "spin.log"), "--",
                           "watchdog=0", "guest.test=spin", timeout=60)
    assert p.returncode == TIMEOUT_EXIT, p.stderr
    assert "TIMEOUT after 5 s" in p.stderr
    assert 5 <= elapsed < 5 + 5, f"--timeout 5 took {elapsed:.1f} s"


def test_unknown_cpu_model_is_named_with_the_known_ones():
    p, _ = run_bochs("--cpu", "tigerlak", "--", "log=info", timeout=30)
    assert p.returncode == USAGE_EXIT, p.stderr
    assert "unknown Bochs CPU model 'tigerlak'" in p.stderr
    for model in ("tigerlake", "corei7_haswell_4770", "core2_penryn_t9600"):
        assert model in p.stderr
    assert "No such file" not in p.stderr


# A stand-in for bochs: writes $FAKE_SERIAL to the com1 file of the bochsrc given with -f, $FAKE_BOCHS_LOG
# to its log file, the monitor's verdict copy on stdout (port 0xe9), and ends as the Shutdown port does.
FAKE_BOCHS = r'''#!/usr/bin/env bash
while [ $# -gt 0 ]; do [ "$1" = -f ] && rc=$2; shift; done
[ -n "${rc:-}" ] || exit 0   # "bochs -help cpu": no model list, so the harness does not check the model
printf '%b' "$FAKE_SERIAL" > "$(sed -n 's/^com1: .*dev=\(.*\)$/\1/p' "$rc")"
printf '%b' "$FAKE_BOCHS_LOG" > "$(sed -n 's/^log: \(.*\)$/\1/p' "$rc")"
printf '%b' "$FAKE_SERIAL" | grep -a '^HV-EXIT'
sleep "${FAKE_SLEEP:-0}"
exit 1
'''
UEFI_SERIAL = "[efi] ExitBootServices done after 1 attempt(s)\\n[hv] done\\nHV-EXIT status=0 (success)\\n"
OVMF_MSR_READ = "00450922360e[CPU0  ] RDMSR: Unknown register 0x17\\n"


def run_fake_uefi(tmp_path, serial, bochs_log="", sleep=0):
    if not (ROOT / "build" / "usb.img").exists():
        pytest.fail("build/usb.img is missing: run 'make' first")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "bochs"
    fake.write_text(FAKE_BOCHS)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_SERIAL=serial,
               FAKE_BOCHS_LOG=bochs_log, FAKE_SLEEP=str(sleep))
    start = time.monotonic()
    p = subprocess.run([str(ROOT / "scripts" / "run-bochs.sh"), "--uefi", "--timeout", "60",
                        "--log", str(tmp_path / "s.log")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    return p, time.monotonic() - start


@pytest.mark.parametrize("bochs_log,expected", [
    (OVMF_MSR_READ, 0),                                                        # OVMF's own read
    (OVMF_MSR_READ + "00480093999e[CPU0  ] WRMSR: Unknown register 0x1a0\\n", NO_VERDICT_EXIT),
    ("00480093999e[CPU0  ] RDMSR: Unknown register 0x10a\\n", NO_VERDICT_EXIT),
], ids=["ovmf_platform_id_read", "other_wrmsr", "other_rdmsr"])
def test_uefi_run_refuses_a_verdict_after_an_unknown_msr(tmp_path, bochs_log, expected):
    """--uefi runs Bochs with ignore_bad_msrs=1 (OVMF reads IA32_PLATFORM_ID, which Bochs lacks): any other
    unknown MSR, which would fault on a real CPU, makes the verdict untrustworthy."""
    p, _ = run_fake_uefi(tmp_path, UEFI_SERIAL, bochs_log)
    assert p.returncode == expected, p.stderr
    if expected == NO_VERDICT_EXIT:
        assert "MSRs this CPU model lacks" in p.stderr
        assert "0x17" not in p.stderr


def test_uefi_loader_failure_ends_the_run_at_once(tmp_path):
    """A loader that gives up returns to OVMF, which would wait in its boot menu until the timeout."""
    p, elapsed = run_fake_uefi(tmp_path, "[efi] ERROR: cannot open x\\n[efi] hv-efi-loader failed\\n", sleep=50)
    assert p.returncode == NO_VERDICT_EXIT, p.stderr
    assert "the UEFI loader failed before starting the monitor" in p.stderr
    assert elapsed < 30, f"took {elapsed:.1f} s"
