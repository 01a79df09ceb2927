"""Boot tests under QEMU TCG (no VT-x there): the UEFI loader, the USB image and the
GRUB/Multiboot2 ISO all reach the monitor, which reports the missing VT-x and exits
with its status through isa-debug-exit; scripts/run-qemu.sh turns that into its exit code.

Run: /usr/bin/python3 -m pytest -v tests/boot/test_qemu.py  (after 'make')
"""
import os
import re
import shlex
import subprocess
import shutil
import time
from pathlib import Path

import pexpect
import pytest

from conftest import harness_output, verdict_line

ROOT = Path(__file__).resolve().parents[2]
RUN_QEMU = ROOT / "scripts" / "run-qemu.sh"
STATUS_H = ROOT / "vmm" / "include" / "vmm" / "status.h"
BUILD = ROOT / "build"

QEMU_TIMEOUT_S = 120           # run-qemu.sh kills QEMU after this
EXPECT_SLACK_S = 30            # pexpect waits this much longer, for the script's own cleanup

EFI_BANNER = r"\[efi\] hv-efi-loader: loading monitor \(\d+ bytes\) and guest \(\d+ bytes\)"
EFI_EXITED = r"\[efi\] ExitBootServices done after \d+ attempt\(s\); jumping to monitor at 0x[0-9a-f]+"
HV_LINE = r"\[hv\] "
NO_VTX = r"\[hv\][^\r\n]*no VT-x"


def hv_status(name):
    """The value of an HV_* status, read from the monitor's status table (vmm/include/vmm/status.h)."""
    m = re.search(r"X\(\s*" + re.escape(name) + r"\s*,\s*(\d+)\s*,", STATUS_H.read_text())
    assert m, f"{name} is not in {STATUS_H}"
    return int(m.group(1))


def hv_exit_line(status):
    return verdict_line(status)


class QemuRun:
    """scripts/run-qemu.sh under pexpect: expect() serial lines in order, then finish() for the exit status."""

    def __init__(self, options, cmdline, log_path, node):
        self.argv = [str(RUN_QEMU), "--timeout", str(QEMU_TIMEOUT_S), "--log", str(log_path),
                     *options, "--", *cmdline.split()]
        self.log_path = log_path
        self.child = pexpect.spawn(self.argv[0], self.argv[1:], cwd=str(ROOT), encoding="utf-8",
                                   codec_errors="replace", timeout=QEMU_TIMEOUT_S + EXPECT_SLACK_S)
        self.child.logfile_read = harness_output(node, self.argv, str(log_path.with_suffix(".output.txt")))

    def command(self):
        return " ".join(shlex.quote(a) for a in self.argv)

    def expect(self, pattern):
        """Wait for a regular expression; fail with the output so far if it never comes."""
        try:
            self.child.expect(pattern)
        except (pexpect.TIMEOUT, pexpect.EOF) as e:
            pytest.fail(f"expected /{pattern}/ from {self.command()}, got {type(e).__name__}; "
                        f"output before:\n{self.child.before}")
        return self.child.match

    def finish(self):
        """Wait for the script to end; return its exit status."""
        try:
            self.child.expect(pexpect.EOF)
        except pexpect.TIMEOUT:
            self.child.close(force=True)
            pytest.fail(f"{self.command()} did not end within {QEMU_TIMEOUT_S + EXPECT_SLACK_S} s")
        self.child.close()
        return self.child.exitstatus

    def log_tail(self, lines=30):
        text = Path(self.log_path).read_text(errors="replace") if Path(self.log_path).exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture
def run_qemu(tmp_path, request):
    """run_qemu(*options, cmdline="...") starts scripts/run-qemu.sh with a private serial log."""
    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail("qemu-system-x86_64 is not installed: run 'make deps'")

    def start(*options, cmdline=""):
        needed = [] if "--iso" in options else [BUILD / ("usb.img" if "--usb" in options else "esp.img")]
        needed += [BUILD / "hv.elf", BUILD / "guest.elf"]
        missing = [str(p.relative_to(ROOT)) for p in needed if not p.exists()]
        if missing:
            pytest.fail(f"{', '.join(missing)} missing: run 'make' first")
        return QemuRun(options, cmdline, tmp_path / "serial.log", request.node)
    return start


def assert_status(run, status, expected):
    assert status == expected, (f"{run.command()} exited {status}, expected {expected}; "
                                f"last serial lines:\n{run.log_tail()}")


def boot_uefi_to_no_vtx(run_qemu, *options):
    # efi_wait=0: the loader's pause after "VT-x is missing" (there is no VT-x under TCG) is for people.
    run = run_qemu(*options, cmdline="log=debug efi_wait=0")
    run.expect(EFI_BANNER)
    run.expect(r'\[efi\] command line: "log=debug efi_wait=0"')
    run.expect(EFI_EXITED)
    run.expect(HV_LINE)
    run.expect(r'\[hv\] command line: "log=debug efi_wait=0"')
    run.expect(NO_VTX)
    no_vmx = hv_status("HV_ERR_NO_VMX")
    run.expect(hv_exit_line(no_vmx))
    assert_status(run, run.finish(), no_vmx)


def test_uefi_ovmf_reaches_monitor_without_vtx(run_qemu):
    """OVMF boots BOOTX64.EFI from esp.img; the loader hands over to the monitor, which finds no VT-x."""
    boot_uefi_to_no_vtx(run_qemu)


def test_uefi_usb_stick_reaches_monitor_without_vtx(run_qemu):
    """The same from usb.img (GPT + EFI System Partition) as a USB mass-storage device on xHCI."""
    boot_uefi_to_no_vtx(run_qemu, "--usb")


def test_multiboot2_iso_reaches_monitor_without_vtx(run_qemu):
    """SeaBIOS boots the GRUB ISO; GRUB loads the monitor through Multiboot2."""
    run = run_qemu("--iso", cmdline="log=debug")
    run.expect(HV_LINE)
    run.expect(r'\[hv\] command line: "log=debug"')
    run.expect(NO_VTX)
    no_vmx = hv_status("HV_ERR_NO_VMX")
    run.expect(hv_exit_line(no_vmx))
    assert_status(run, run.finish(), no_vmx)


def test_uefi_unknown_option_is_named_and_refused(run_qemu):
    """An unknown key on the command line: the monitor names it and exits with HV_ERR_CMDLINE."""
    run = run_qemu(cmdline="frobnicate=1 efi_wait=0")
    run.expect(r'\[efi\] command line: "frobnicate=1 efi_wait=0"')
    # The loader already names it on screen, where the monitor's serial-only report may go unseen.
    run.expect(r"\[efi\] ERROR: unknown command-line key 'frobnicate'")
    run.expect(EFI_EXITED)
    run.expect(r"\[hv\][^\r\n]*frobnicate")
    bad_cmdline = hv_status("HV_ERR_CMDLINE")
    run.expect(hv_exit_line(bad_cmdline))
    assert_status(run, run.finish(), bad_cmdline)


def test_uefi_shell_arguments_reach_the_monitor(run_qemu):
    """Booted by OVMF's UEFI Shell (startup.nsh), with no CMDLINE.TXT on the disk: the command line
    travels as the loader's arguments (its load options) and reaches the monitor."""
    run = run_qemu("--shell", cmdline="log=debug frobnicate=1 efi_wait=0")
    run.expect(r'\[efi\] command line: "log=debug frobnicate=1 efi_wait=0" \(from the shell\'s arguments\)')
    run.expect(EFI_EXITED)
    run.expect(r'\[hv\] command line: "log=debug frobnicate=1 efi_wait=0"')
    run.expect(r"\[hv\][^\r\n]*frobnicate")
    bad_cmdline = hv_status("HV_ERR_CMDLINE")
    run.expect(hv_exit_line(bad_cmdline))
    assert_status(run, run.finish(), bad_cmdline)


def test_uefi_loader_says_vtx_is_missing_before_leaving_the_firmware(run_qemu):
    """Under TCG there is no VT-x: the loader says so, naming the hypervisor and what to do, on the
    firmware console (here mirrored to the serial port) BEFORE ExitBootServices, pauses (efi_wait=1:
    a one-second pause, no key comes), and goes on to the monitor, which stops with status 70."""
    run = run_qemu(cmdline="efi_wait=1")
    run.expect(EFI_BANNER)
    run.expect(r"\[efi\] after ExitBootServices the monitor's log goes to the serial port at I/O port 0x3f8 "
               r"\(COM1\) at 115200 baud, 8N1 \(serial=0x3f8,115200\)")
    run.expect(r"\[efi\] ERROR: VT-x is missing: running under a hypervisor without nested VT-x "
               r'\(QEMU TCG, CPUID signature "TCGTCGTCGTCG"; CPUID.1:ECX.VMX\[5\]=0\)')
    run.expect(r"\[efi\]   what to do: QEMU's TCG emulator has no Intel VMX")
    no_vmx = hv_status("HV_ERR_NO_VMX")
    run.expect(rf"\[efi\]   the monitor will stop at once with status {no_vmx} \(no VT-x\)")
    run.expect(r"\[efi\] Secure Boot: off")
    run.expect(r"\[efi\] going on to the monitor in 1 s; press a key to go on now")
    run.expect(EFI_EXITED)
    run.expect(r"\[hv\] ERROR: no VT-x: running under a hypervisor without nested VT-x \(QEMU TCG")
    run.expect(hv_exit_line(no_vmx))
    assert_status(run, run.finish(), no_vmx)


def test_uefi_command_line_past_the_limit_refused(run_qemu):
    """A CMDLINE.TXT line longer than BOOTINFO_CMDLINE_LEN_MAX: the loader says so on screen before
    ExitBootServices, hands over an empty line, and the monitor stops with status 65 naming the limit."""
    limit = int(re.search(r"#define BOOTINFO_CMDLINE_MAX\s+(\d+)",
                          (ROOT / "vmm" / "include" / "vmm" / "bootinfo.h").read_text()).group(1)) - 1
    line = " ".join(["log=info"] * 70)
    assert len(line) > limit
    run = run_qemu(cmdline=line)
    run.expect(rf"\[efi\] ERROR: the command line from \\EFI\\BOOT\\CMDLINE.TXT is {len(line)} characters "
               rf"long; the monitor takes at most {limit} \(BOOTINFO_CMDLINE_LEN_MAX\)")
    run.expect(EFI_EXITED)
    run.expect(rf"\[hv\] ERROR: the command line is {len(line)} characters long, longer than the {limit}")
    bad_cmdline = hv_status("HV_ERR_CMDLINE")
    run.expect(hv_exit_line(bad_cmdline))
    assert_status(run, run.finish(), bad_cmdline)


def test_make_run_says_in_one_line_which_emulator_and_why():
    """'make run' (scripts/run.sh) picks QEMU/KVM or Bochs and says why in one line, with no KVM
    advice that does not apply (issue 12: five lines of modprobe advice on an AMD host)."""
    kvm = subprocess.run([str(RUN_QEMU), "--check-kvm"], capture_output=True, text=True)
    r = subprocess.run([str(ROOT / "scripts" / "run.sh")], env={**os.environ, "TIMEOUT": "3"},
                       capture_output=True, text=True, timeout=120, cwd=str(ROOT))
    out = r.stdout + r.stderr
    run_lines = [l for l in out.splitlines() if l.startswith(("run:", "run-qemu:"))]
    if kvm.returncode == 0:
        assert run_lines[0].startswith("run: this host has VT-x"), out
    else:
        assert len(run_lines) == 1 and run_lines[0].startswith("run: booting in Bochs"), out
        assert "modprobe" not in out or "GenuineIntel" in open("/proc/cpuinfo").read(), out


def test_timeout_counts_wall_clock_seconds():
    """--timeout is seconds of wall-clock time, preparation included (issue 12: it counted 0.1 s polls,
    so '--timeout 30' took 44.5 s under load).  --gdb keeps QEMU waiting for a debugger forever."""
    t0 = time.monotonic()
    r = subprocess.run([str(RUN_QEMU), "--timeout", "4", "--iso", "--gdb", "--", "log=info"],
                       capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    elapsed = time.monotonic() - t0
    assert r.returncode == 124, r.stderr
    assert 4 <= elapsed < 4 + 5, f"--timeout 4 took {elapsed:.1f} s"
