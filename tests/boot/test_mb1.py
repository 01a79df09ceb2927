"""Boot tests of the Multiboot1 loader (Multiboot 0.6.96): our tiny Multiboot1 kernel (tests/mb1/) as
the guest, in both of its forms, and a malformed image refused before anything is loaded."""
import struct

from conftest import ROOT, STATUS, verdict_line

MB1_ELF = ROOT / "build" / "mb1.elf"  # ELF32 with a Multiboot1 header
MB1_BIN = ROOT / "build" / "mb1.bin"  # flat binary, header with the address fields (a.out kludge)
MB1_BOOTLOADER_MAGIC = "0x2badb002"
MMAP_ENTRY_SIZE = 20  # Multiboot 0.6.96 3.3: the size field does not count itself
CHECKSUM_OFFSET = 8   # 3.1.1: magic, flags, checksum


def expect_report(b, form, status):
    """The kernel's report of its boot information, and its exit with `status`."""
    b.expect(rf"\[guest\] MB1: form={form} magic={MB1_BOOTLOADER_MAGIC} info=0x[0-9a-f]+")
    # flags: mem_* (bit 0), cmdline (2), mmap (6), boot_loader_name (9)
    m = b.expect(r"\[guest\] MB1: flags=0x245 mem_lower=636 mem_upper=(\d+)")
    mem_upper = int(m.group(1))
    b.expect(rf"\[guest\] MB1: mmap\[0\] base=0x0 length=0x9f000 type=1 size={MMAP_ENTRY_SIZE}")
    # The reserved range with the ACPI tables, as in the Multiboot2 information.
    b.expect(rf"\[guest\] MB1: mmap\[1\] base=0x9f000 length=0x61000 type=2 size={MMAP_ENTRY_SIZE}")
    m = b.expect(rf"\[guest\] MB1: mmap\[2\] base=0x100000 length=0x([0-9a-f]+) type=1 size={MMAP_ENTRY_SIZE}")
    assert int(m.group(1), 16) == mem_upper * 1024
    b.expect(rf"\[guest\] MB1: cmdline=\"mem=\w+ status={status}[^\"]*\"")
    b.expect(r"\[guest\] MB1: boot_loader_name=\"hv\"")
    b.expect(rf"\[guest\] MB1: done status={status}")
    b.expect(r"\[hv\] guest called exit\(%d\)" % status)
    b.expect(verdict_line(status))
    code, log = b.finish()
    assert code == status
    assert "MB1: FAIL" not in log


def test_mb1_elf32(bochs):
    b = bochs("log=info guest.status=7", extra=["--guest", str(MB1_ELF)])
    b.expect(r"\[hv\] guest image: Multiboot1 header at offset 0x1000, flags 0x3, ELF32")
    b.expect(r"\[hv\] Multiboot1 flag 1: memory information")
    b.expect(r"\[hv\] guest image loaded: 1 segments in \[0x100000-")
    expect_report(b, "elf32", 7)


def test_mb1_aout_kludge(bochs):
    b = bochs("log=info guest.status=9", extra=["--guest", str(MB1_BIN)])
    b.expect(r"\[hv\] guest image: Multiboot1 header at offset 0x0, flags 0x10003, "
             r"loaded by its address fields \(a\.out kludge\)")
    b.expect(r"\[hv\] Multiboot1 flag 16: address fields")
    expect_report(b, "aout", 9)


def test_mb1_bad_checksum_refused(bochs, tmp_path):
    """A header with a wrong checksum: refused by name, before anything is loaded."""
    image = bytearray(MB1_BIN.read_bytes())
    (checksum,) = struct.unpack_from("<I", image, CHECKSUM_OFFSET)
    struct.pack_into("<I", image, CHECKSUM_OFFSET, (checksum + 1) & 0xFFFFFFFF)  # the sum becomes 1
    bad = tmp_path / "mb1-bad-checksum.bin"
    bad.write_bytes(bytes(image))
    b = bochs("log=info", extra=["--guest", str(bad)])
    b.expect(r"ERROR: the guest image is refused: the Multiboot1 header at offset 0x0 has a bad checksum: "
             r"magic \+ flags \+ checksum is 0x1, not 0 \(Multiboot 0\.6\.96 3\.1\.2\): fix the checksum field")
    b.expect(verdict_line(STATUS["HV_ERR_BAD_GUEST"]))
    code, log = b.finish()
    assert code == STATUS["HV_ERR_BAD_GUEST"]
    assert "guest image loaded" not in log
