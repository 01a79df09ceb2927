"""Boot tests for issue 12, "load anywhere": the monitor is position-independent and runs wherever its
loader finds room, on both paths, also when the range it was once linked at (2 MiB) is taken.

- UEFI (QEMU TCG + OVMF, no VT-x: the monitor stops with status 70 after it has started): the loader's
  test hook efi.reserve=START-END (boot/efi/reserve.c) takes a range from the firmware first.
- GRUB (Bochs): a copy of the monitor whose Multiboot2 relocatable header tag prefers the highest
  address; GRUB places it near the top of RAM, and the guest suite passes from there.
- UEFI in Bochs + OVMF: the 2 MiB range reserved, and the guest suite passes.

Run one: /usr/bin/python3 -m pytest -v tests/boot/test_load_anywhere.py::test_x  (after 'make')
"""
import re
import struct
from pathlib import Path

from conftest import STATUS, verdict_line
from test_qemu import EFI_EXITED, NO_VTX, assert_status, hv_exit_line, run_qemu  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
PAGE = 0x1000
OLD_LINK_RANGE = (0x200000, 0x400000)  # where linker.ld used to put the monitor: 2 MiB, 2 MiB long

IMAGE_LINE = r"\[hv\] hv monitor starting \(image 0x([0-9a-f]+)-0x([0-9a-f]+)\)"
LOADED_LINE = r"\[efi\] monitor loaded at \[0x([0-9A-Fa-f]+)-0x([0-9A-Fa-f]+)\)"

# Multiboot2 spec 3.1: header magic, the relocatable header tag (type 10) and its preference field.
MB2_HEADER_MAGIC = 0xE85250D6
MB2_HEADER_SEARCH = 32768
MB2_HEADER_ALIGN = 8
MB2_HEADER_SIZE = 16
MB2_TAG_END, MB2_TAG_RELOCATABLE = 0, 10
MB2_RELOCATABLE_PREFERENCE_OFFSET = 20   # type u16, flags u16, size, min_addr, max_addr, align, preference
MB2_LOAD_PREFERENCE_HIGH = 2
HIGH_ENOUGH = 64 << 20                   # "near the top" of Bochs's 256 MiB

UEFI_BOCHS_TIMEOUT = 420


def overlaps(a, b):
    return a[0] < b[1] and b[0] < a[1]


def image_range(match):
    return int(match.group(1), 16), int(match.group(2), 16)


def boot_uefi_with_reserve(run_qemu, reserved):
    """Boot the UEFI path under TCG with efi.reserve=reserved; return where the monitor ran."""
    lo, hi = reserved
    run = run_qemu(cmdline=f"efi.reserve={lo:#x}-{hi:#x} log=debug")
    run.expect(rf"\[efi\] efi.reserve: \[0x{lo:X}-0x{hi:X}\) ")
    loaded = image_range(run.expect(LOADED_LINE))
    run.expect(EFI_EXITED)
    ran = image_range(run.expect(IMAGE_LINE))
    run.expect(r'\[hv\] command line: "log=debug"')   # the loader keeps its own word to itself
    run.expect(NO_VTX)
    no_vmx = STATUS["HV_ERR_NO_VMX"]
    run.expect(hv_exit_line(no_vmx))
    assert_status(run, run.finish(), no_vmx)
    assert ran[0] == loaded[0], f"the monitor says it runs at {ran[0]:#x}, the loader put it at {loaded[0]:#x}"
    assert not overlaps(ran, reserved), f"monitor image [{ran[0]:#x}, {ran[1]:#x}) overlaps the reserved range"
    return ran


def test_uefi_monitor_runs_outside_the_reserved_2mib_range(run_qemu):
    """The firmware owns [2 MiB, 4 MiB), the monitor's old fixed home: the loader puts it elsewhere, and it runs."""
    boot_uefi_with_reserve(run_qemu, OLD_LINK_RANGE)


def test_uefi_monitor_moves_when_its_own_range_is_taken(run_qemu):
    """Reserve exactly where the monitor ran in a first boot: in the second it runs somewhere else."""
    first = boot_uefi_with_reserve(run_qemu, OLD_LINK_RANGE)
    taken = (first[0], (first[1] + PAGE - 1) // PAGE * PAGE)
    second = boot_uefi_with_reserve(run_qemu, taken)
    assert second[0] != first[0]


def monitor_preferring_high(path):
    """A copy of build/hv.elf whose relocatable header tag asks GRUB for the highest possible address
    (the header's checksum covers only its first 16 bytes, so a tag field may change)."""
    data = bytearray((ROOT / "build" / "hv.elf").read_bytes())
    for hdr in range(0, MB2_HEADER_SEARCH, MB2_HEADER_ALIGN):
        if struct.unpack_from("<I", data, hdr)[0] == MB2_HEADER_MAGIC:
            break
    else:
        raise AssertionError("build/hv.elf has no Multiboot2 header in its first 32 KiB")
    length = struct.unpack_from("<I", data, hdr + 8)[0]
    pos = hdr + MB2_HEADER_SIZE
    while pos < hdr + length:
        ttype, _, size = struct.unpack_from("<HHI", data, pos)
        if ttype == MB2_TAG_RELOCATABLE:
            struct.pack_into("<I", data, pos + MB2_RELOCATABLE_PREFERENCE_OFFSET, MB2_LOAD_PREFERENCE_HIGH)
            path.write_bytes(bytes(data))
            return path
        assert ttype != MB2_TAG_END, "the Multiboot2 header has no relocatable tag"
        pos += (size + MB2_HEADER_ALIGN - 1) & ~(MB2_HEADER_ALIGN - 1)
    raise AssertionError("the Multiboot2 header has no relocatable tag")


def test_multiboot2_monitor_placed_high_runs_guest_suite(bochs, tmp_path):
    """GRUB places the monitor near the top of RAM (relocatable tag, preference high); it relocates
    itself there and the whole guest suite passes."""
    monitor = monitor_preferring_high(tmp_path / "hv-high.elf")
    b = bochs("log=info", extra=["--monitor", str(monitor)])
    ran = image_range(b.expect(IMAGE_LINE))
    b.expect(r"\[hv\] loaded by GRUB[^\r\n]* via Multiboot2")
    m = b.expect(r"\[guest\] SUMMARY: (\d+) tests, (\d+) failures")
    assert int(m.group(1)) > 0 and int(m.group(2)) == 0, m.group(0)
    b.expect(verdict_line(0))
    status, _ = b.finish()
    assert status == 0
    assert ran[0] >= HIGH_ENOUGH, f"GRUB put the monitor at {ran[0]:#x}, not near the top of RAM"
    assert ran[0] % PAGE == 0


def test_uefi_bochs_monitor_outside_reserved_range_runs_guest_suite(bochs):
    """Bochs + OVMF with [2 MiB, 4 MiB) reserved: the monitor runs elsewhere, on emulated VT-x, and the
    guest suite passes."""
    lo, hi = OLD_LINK_RANGE
    b = bochs(f"efi.reserve={lo:#x}-{hi:#x} log=info", extra=["--uefi"], timeout=UEFI_BOCHS_TIMEOUT)
    b.expect(rf"\[efi\] efi.reserve: \[0x{lo:X}-0x{hi:X}\) ")
    ran = image_range(b.expect(IMAGE_LINE))
    b.expect(r'\[hv\] command line: "log=info"')
    m = b.expect(r"\[guest\] SUMMARY: (\d+) tests, (\d+) failures")
    assert int(m.group(1)) > 0 and int(m.group(2)) == 0, m.group(0)
    b.expect(verdict_line(0))
    status, log = b.finish()
    assert status == 0
    assert not overlaps(ran, OLD_LINK_RANGE), f"monitor image [{ran[0]:#x}, {ran[1]:#x}) is in the reserved range"
    assert not re.search(r"(?m)^\[guest\] FAIL", log)
