"""Boot tests: the Multiboot2 path in Bochs (emulated VT-x), real images, serial output asserted."""
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, STATUS, verdict_line

GUEST = ROOT / "build" / "guest.elf"


@pytest.mark.parametrize("cpu", ["tigerlake", "corei7_haswell_4770"])
def test_multiboot2_vmx_report_and_guest(bochs, cpu):
    b = bochs("log=info", cpu=cpu)
    b.expect(r"\[hv\] loaded by GRUB .* via Multiboot2")
    b.expect(r"\[hv\] memory map \(\d+ ranges, \d+ MiB usable above 1 MiB\)")
    b.expect(r"\[hv\] CPU: GenuineIntel")
    b.expect(r"\[hv\] VMX capabilities \(IA32_VMX_BASIC=0x[0-9a-f]+\)")
    b.expect(r"VMCS revision identifier\s+\d+")
    b.expect(r"EPT large pages\s+2M yes, 1G (yes|no)")
    b.expect(r"VPID\s+yes")
    b.expect(r"unrestricted guest\s+yes")
    b.expect(r"VMX-preemption timer\s+yes")
    b.expect(r"\[hv\] VMXON succeeded")
    b.expect(r"\[hv\] EPT: \d+ table pages")
    b.expect(r"\[hv\] VMLAUNCH succeeded")
    b.expect(r"\[guest\] ")
    b.expect(r"\[hv\] VM-exit statistics \((\d+) exits")
    b.expect(r"VMCALL\s+\d+")
    b.expect(verdict_line(0))
    status, _ = b.finish()
    assert status == 0


def test_older_model_without_1g_ept_pages(bochs):
    """Sandy Bridge: EPT without 1G pages or A/D bits; the monitor adapts and still runs the guest."""
    b = bochs("log=info", cpu="corei7_sandy_bridge_2600k")
    b.expect(r"EPT large pages\s+2M yes, 1G no")
    b.expect(r"EPT accessed/dirty bits\s+no")
    b.expect(r"EPTP 0x[0-9a-f]+ \(4-level, WB\)")
    b.expect(r"\[hv\] VMLAUNCH succeeded")
    b.expect(verdict_line(0))
    status, _ = b.finish()
    assert status == 0


def test_unknown_command_line_key(bochs):
    b = bochs("log=info frobnicate=1")
    b.expect(r"ERROR: unknown command-line key 'frobnicate'")
    b.expect(r"the monitor's command-line options are:")
    b.expect(verdict_line(STATUS['HV_ERR_CMDLINE']))
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_CMDLINE"]


def test_bad_command_line_value(bochs):
    b = bochs("guest_mem=12Q")
    b.expect(r"ERROR: .*guest_mem=12Q")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_CMDLINE"]


def test_missing_guest_module(bochs):
    b = bochs("log=info", extra=["--no-guest"])
    b.expect(r"ERROR: no guest image was given")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_NO_GUEST"]


def test_empty_guest_module_is_named(bochs, tmp_path):
    """An empty guest file: GRUB passes no module, and the message says what to check (issue 12)."""
    empty = tmp_path / "empty.elf"
    empty.write_bytes(b"")
    b = bochs("log=info", extra=["--guest", str(empty)])
    b.expect(r"ERROR: no guest image was given: .* for a file that is empty or does not fit in memory")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_NO_GUEST"]


def test_truncated_guest_image_refused(bochs, tmp_path):
    one = tmp_path / "one-byte.elf"
    one.write_bytes(b"x")
    b = bochs("log=info", extra=["--guest", str(one)])
    b.expect(r"guest image: 1 bytes at 0x[0-9a-f]+")
    b.expect(r"ERROR: the guest image \(1 bytes\) has neither a Multiboot2 header .* nor a Multiboot1 header")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_BAD_GUEST"]


def test_garbage_guest_image_refused(bochs, tmp_path):
    bad = tmp_path / "garbage.elf"
    bad.write_bytes(b"this is not an ELF file" * 10)
    b = bochs("log=info", extra=["--guest", str(bad)])
    b.expect(r"ERROR: the guest image \(\d+ bytes\) has neither a Multiboot2 header .* nor a Multiboot1 header")
    b.expect(r"ERROR: give a Multiboot2 ELF64 or Multiboot1 .* kernel as the 'guest' module")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_BAD_GUEST"]


def test_truncated_guest_elf_refused(bochs, tmp_path):
    """The first 8 KiB of the guest: its Multiboot2 header (at 4 KiB) is there, its segments' data is not."""
    bad = tmp_path / "truncated.elf"
    bad.write_bytes(GUEST.read_bytes()[:0x2000])
    b = bochs("log=info", extra=["--guest", str(bad)])
    b.expect(r"guest image: Multiboot2 header at offset 0x1000")
    b.expect(r"ERROR: the guest image is not a loadable ELF64 x86-64 executable: truncated")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_BAD_GUEST"]


def test_broken_guest_state_is_decoded(bochs):
    b = bochs("log=info break=guest_state")
    b.expect(r"VM entry failed: exit reason 33 \(INVALID_GUEST_STATE\)")
    b.expect(r"failing check: GUEST_RFLAGS=0: reserved bit 1 must be 1 \(SDM 27\.3\.1\.4\)")
    b.expect(r"VMCS dump")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_VMENTRY"]


def enclosing_symbol(elf, address):
    """The symbol of `elf` whose address is the greatest one not above `address` (nm -n)."""
    out = subprocess.run(["nm", "-n", str(elf)], check=True, stdout=subprocess.PIPE, text=True).stdout
    best = None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT" and int(parts[0], 16) <= address:
            best = parts[2]
    return best


def test_monitor_exception_is_reported_not_a_triple_fault(bochs):
    """A fault in the monitor itself: its IDT prints vector, error code, RIP and registers, then stops."""
    b = bochs("log=info break=monitor_fault")
    b.expect(r"monitor exception #GP general protection \(vector 13\), error code 0")
    m = b.expect(r"RIP=([0-9a-f]{16}) CS=0008 RFLAGS=[0-9a-f]{16} RSP=[0-9a-f]{16} SS=0010")
    rip = int(m.group(1), 16)
    # The monitor is position-independent, linked at 0: the report gives the RIP's offset in the image.
    m = b.expect(r"RIP is at offset (0x[0-9a-f]+) in the image: addr2line -f -e build/hv.elf 0x[0-9a-f]+")
    offset = int(m.group(1), 16)
    b.expect(r"RAX=[0-9a-f]{16} RBX=[0-9a-f]{16} RCX=[0-9a-f]{16} RDX=[0-9a-f]{16}")
    b.expect(r"CR0=[0-9a-f]{16} CR2=[0-9a-f]{16} CR3=[0-9a-f]{16} CR4=[0-9a-f]{16}")
    status, log = b.finish()
    assert status == STATUS["HV_ERR_EXCEPTION"]
    base = int(re.search(r"hv monitor starting \(image (0x[0-9a-f]+)-", log).group(1), 16)
    assert rip - base == offset, f"RIP {rip:#x} - load address {base:#x} != reported offset {offset:#x}"
    assert enclosing_symbol(ROOT / "build" / "hv.elf", offset) == "hv_main", \
        f"RIP {rip:#x} (offset {offset:#x} in the image) is not in hv_main"


def test_disallowed_control_is_named(bochs):
    b = bochs("log=info break=controls")
    b.expect(r"does not allow the pin-based control 'posted interrupts' \(bit 7\)")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_VMX_FEATURE"]


def test_ept_scatter_backs_guest_with_shuffled_frames(bochs):
    b = bochs("log=info ept_scatter=1")
    b.expect(r"backed by 0 x 1G \+ 0 x 2M chunks \+ 16384 x 4K frames in shuffled order")
    m = b.expect(r"guest page 0 -> host (0x[0-9a-f]+), guest page 16383 -> host (0x[0-9a-f]+)")
    first, last = int(m.group(1), 16), int(m.group(2), 16)
    assert last != first + 16383 * 4096, "frames are not shuffled"
    b.expect(r"\[hv\] VMLAUNCH succeeded")
    b.expect(verdict_line(0))
    status, _ = b.finish()
    assert status == 0


def test_cpu_without_ept_falls_back_to_shadow_paging(bochs):
    """Core 2 (Penryn) has VT-x without EPT: the monitor says so and runs the guest on shadow tables."""
    b = bochs("log=info", cpu="core2_penryn_t9600")
    b.expect(r"EPT\s+no")
    b.expect(r"warning: this CPU has no usable EPT with unrestricted guest: falling back to shadow paging")
    b.expect(r"memory virtualization: shadow page tables")
    b.expect(r"shadow paging: identity tables for the guest's paging-off phase")
    b.expect(r"\[hv\] VMLAUNCH succeeded")
    b.expect(r"shadow paging: \d+ fills")
    b.expect(verdict_line(0))
    status, _ = b.finish()
    assert status == 0


def test_explicit_ept_on_cpu_without_ept_is_refused(bochs):
    b = bochs("mem=ept", cpu="core2_penryn_t9600")
    b.expect(r"ERROR: mem=ept needs EPT")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_VMX_FEATURE"]
