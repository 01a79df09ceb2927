#!/usr/bin/env python3
"""Write the seed corpora of the libFuzzer harnesses: tests/fuzz/corpus/<name>/.

Each seed is a small, well-formed input in the layout its harness reads (see the
comment at the top of tests/fuzz/fuzz_<name>.c), so that fuzzing starts from deep
inside each parser rather than from its first check.  Run it again after changing
a harness's input layout:  python3 tests/fuzz/make_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MiB = 1 << 20


def write(name, seed, data):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, seed), "wb") as f:
        f.write(data)


# ---- monitor command line (the bytes of the line) ----
for i, line in enumerate([
    "log=debug guest_mem=32M",
    "mem=shadow ept_scatter=1 vpid=0 watchdog=0x100",
    "guest.bench=1 guest.x guest.name=value log=warn",
    "break=exit_storm guest_mem=0x2000000 vpid=yes ept_scatter=off",
    "guest_mem=3G watchdog=1000000 mem=ept break=monitor_fault",
    "log= =x guest. guest.=1 unknown=1 guest_mem=12Q vpid=maybe",
]):
    write("cmdline", "line%d" % i, line.encode())


# ---- Multiboot2 information (spec 3.6) ----
def tag(t, payload):
    body = struct.pack("<II", t, 8 + len(payload)) + payload
    return body + b"\0" * (-len(body) % 8)


def mbi(tags):
    body = b"".join(tags) + tag(0, b"")
    return struct.pack("<II", 8 + len(body), 0) + body


mmap = tag(6, struct.pack("<II", 24, 0) + b"".join(struct.pack("<QQII", b, l, t, 0) for b, l, t in [
    (0, 0x9f000, 1), (0x9f000, 0x61000, 2), (MiB, 255 * MiB, 1), (0xfec00000, 0x1000, 4), (0x100000000, MiB, 3)]))
write("boot_mb2", "grub", mbi([
    tag(1, b"log=debug guest_mem=32M\0"), tag(2, b"GRUB 2.06\0"),
    tag(3, struct.pack("<II", 0x400000, 0x420000) + b"guest\0"), mmap,
    tag(8, struct.pack("<QIIIBBH", 0xfd000000, 4096, 1024, 768, 32, 1, 0)),
    tag(14, b"RSD PTR " + b"\0" * 12), tag(15, b"RSD PTR " + b"\0" * 28)]))
write("boot_mb2", "two_modules", mbi([
    tag(3, struct.pack("<II", 0x500000, 0x501000) + b"other\0"),
    tag(3, struct.pack("<II", 0x600000, 0x602000) + b"guest\0"), mmap]))


# ---- UEFI loader command line: switches, 2 lengths, shell args, load options, file ----
def efi(switches, shell_args, options, text):
    sh = b"".join(a.encode("utf-16-le") + b"\0\0" for a in shell_args)
    op = options.encode("utf-16-le")
    return struct.pack("<BHH", switches, len(sh), len(op)) + sh + op + text


SHELL, FILE = 1, 2
write("efi_cmdline", "file", efi(FILE, [], "", b"# options\n  log=debug\tguest_mem=32M  \r\n#x=1\nvpid=0\n"))
write("efi_cmdline", "file_bom16", efi(FILE, [], "", b"\xff\xfe" + "log=info\n# c\nmem=shadow".encode("utf-16-le")))
write("efi_cmdline", "file_bom8", efi(FILE, [], "", b"\xef\xbb\xbfguest.a=1   guest.b\n"))
write("efi_cmdline", "shell", efi(SHELL | FILE, ["log=debug", "guest_mem=16M"], "", b"ignored=1\n"))
write("efi_cmdline", "options", efi(FILE, [], "FS0:\\EFI\\BOOT\\BOOTX64.EFI log=warn  vpid=1", b""))


# ---- UEFI memory map: 2-byte DescriptorSize, then the descriptors (UEFI 2.10 7.2) ----
def efi_map(desc_size, descs):
    out = b""
    for t, start, pages in descs:
        d = struct.pack("<IIQQQQ", t, 0, start, 0, pages, 0xf)
        out += d + b"\xcc" * (desc_size - len(d))
    return struct.pack("<H", desc_size) + out


ovmf = [(3, 0, 0xa0), (0, 0xa0000, 0x60), (7, MiB, 0x700), (4, 0x800000, 0x10), (2, 0x810000, 0x100),
        (7, 0x910000, 0x3000), (9, 0x3f000000, 0x20), (10, 0x3f020000, 0x10), (5, 0x3f030000, 0x40),
        (6, 0x3f070000, 0x40), (11, 0xffc00000, 0x400)]
write("efi_memmap", "ovmf48", efi_map(48, ovmf))
write("efi_memmap", "plain40", efi_map(40, ovmf[:4]))


# ---- ELF64 (gABI): 4-byte mem_limit / 256, then the image ----
def elf(segments, entry):
    phoff = 64
    ehdr = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9 + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, entry, phoff, 0, 0, 64, 56, len(segments), 0, 0, 0)
    ph = b""
    data = b""
    off = phoff + 56 * len(segments)
    for ptype, flags, paddr, vaddr, filesz, memsz in segments:
        ph += struct.pack("<IIQQQQQQ", ptype, flags, off, vaddr, paddr, filesz, memsz, 0x1000)
        data += bytes((i * 7) & 0xff for i in range(filesz))
        off += filesz
    return ehdr + ph + data


write("elf", "guest", struct.pack("<I", (64 * MiB) >> 8) + elf(
    [(1, 5, 0x100000, 0x100000, 64, 0x1000), (1, 6, 0x101000, 0x101000, 16, 0x2000), (4, 4, 0, 0, 0, 0)], 0x100010))
write("elf", "high_vaddr", struct.pack("<I", (16 * MiB) >> 8) + elf(
    [(1, 7, 0x200000, 0xffffffff80200000, 32, 32)], 0xffffffff80200004))


# ---- Multiboot1 (0.6.96): 4-byte mem_limit / 256, then the image ----
MB1_MAGIC = 0x1BADB002


def mb1_header(flags, fields=()):
    return struct.pack("<III", MB1_MAGIC, flags, (-(MB1_MAGIC + flags)) & 0xFFFFFFFF) + \
        struct.pack("<" + "I" * len(fields), *fields)


# The flat image with the address fields (flag 16): header at 0, loaded at 1 MiB, 256 bytes of bss.
aout = mb1_header(0x10003, (0x100000, 0x100000, 0x100100, 0x100200, 0x100020))
aout += bytes((i * 5) & 0xff for i in range(0x100 - len(aout)))
write("boot_mb1", "aout_kludge", struct.pack("<I", (64 * MiB) >> 8) + aout)
# An ELF64 image with the header in its text (ELF32 is the same checks, narrower).
text = mb1_header(0x3) + bytes(52)
write("boot_mb1", "elf64", struct.pack("<I", (64 * MiB) >> 8) + elf(
    [(1, 5, 0x100000, 0x100000, 64, 0x1000)], 0x100010)[:120] + text)

# ---- guest page tables: control word, CR3, MAXPHYADDR, [PDPTEs], GVA, access, then memory ----
PG, WP, PSE, PAE, LMA, NXE, SETAD = 1, 2, 4, 8, 128, 256, 2048
P, W, U, PS = 1, 2, 4, 0x80


def mem(entries, size=4 * 4096):
    m = bytearray(size)
    for off, val, width in entries:
        m[off:off + width] = val.to_bytes(width, "little")
    return bytes(m).rstrip(b"\0")  # the harness pads guest memory with zeros


gva4 = (1 << 39) | (2 << 30) | (3 << 21) | (4 << 12) | 0x123
write("gpt", "4level", struct.pack("<HQB", PG | WP | PAE | LMA | NXE | SETAD, 0x0000, 40) + struct.pack("<QB", gva4, 1) +
      mem([(1 * 8, 0x1000 | P | W | U, 8), (0x1000 + 2 * 8, 0x2000 | P | W | U, 8),
           (0x2000 + 3 * 8, 0x3000 | P | W | U, 8), (0x3000 + 4 * 8, 0x7000 | P | W | U, 8)]))
write("gpt", "4level_2m", struct.pack("<HQB", PG | PAE | LMA, 0x0000, 36) + struct.pack("<QB", (5 << 21) | 0x42, 2) +
      mem([(0, 0x1000 | P | W | U, 8), (0x1000, 0x2000 | P | W, 8), (0x2000 + 5 * 8, 0x400000 | P | PS, 8)]))
write("gpt", "pae", struct.pack("<HQB", PG | WP | PAE | NXE, 0x20, 36) + struct.pack("<QB", (1 << 30) | (2 << 21) | 0x10, 0) +
      mem([(0x20 + 8, 0x1000 | P, 8), (0x1000 + 2 * 8, 0x2000 | P | W, 8), (0x2000, 0x5000 | P | W, 8)]))
write("gpt", "32bit_pse", struct.pack("<HQB", PG | PSE | SETAD, 0x1000, 36) + struct.pack("<QB", (3 << 22) | 0x1234, 3) +
      mem([(0x1000 + 3 * 4, 0x00c00000 | P | W | U | PS, 4), (0x1000 + 4 * 4, 0x2000 | P | W | U, 4)]))


# ---- EPT: caps, MAXPHYADDR, table budget, MTRR (bits, default, phys_bits, count, vars, fixed), ops ----
def addr(gib, page, high=None):
    return struct.pack("<BH", gib | (0x80 if high is not None else 0), page) + (bytes([high]) if high is not None else b"")


def size(unit, n, extra=0):
    return bytes([unit, n]) + (bytes([extra]) if unit % 4 == 1 else b"")


def op(kind, gpa, sz, hpa, perm, mt):
    return bytes([kind]) + gpa + sz + hpa + bytes([perm, mt])


mtrr = bytes([7, 6, 36, 1]) + addr(0, 0x200) + bytes([40 - 12 + 0, 0, 0]) + bytes([6] * 11)
write("ept", "map_ops", bytes([3, 39, 64]) + mtrr +
      op(0, addr(0, 0), size(2, 1), addr(1, 0), 7, 6) + op(1, addr(1, 0), size(1, 1, 5), addr(0, 0x100), 3, 0) +
      op(3, addr(0, 0), size(2, 0), b"\0\0\0", 1, 0) + op(2, addr(0, 0x100), size(0, 3), b"\0\0\0", 0, 0) +
      op(0, addr(2, 0), size(3, 0), addr(2, 0), 7, 6) + op(1, addr(4, 0), size(2, 3), addr(0, 0x1f0), 7, 0))
write("ept", "no_large", bytes([4, 0, 16]) + bytes([0, 6, 0, 0]) +
      op(0, addr(0, 1), size(1, 2, 9), addr(0, 9), 4, 0) + op(0, addr(0, 0), size(0, 4), addr(0, 0), 7, 4))


# ---- memory map: cap (1 byte below 256), then ranges (base, length, type) ----
def mm_val(how, v):
    return struct.pack("<BH", how, v)


def pc_map():
    out = b""
    for (bh, bv), (lh, lv), t in [((0, 0), (0, 0x9f), 1), ((0, 0x9f), (0, 0x61), 2), ((2, 1), (2, 255), 1),
                                  ((1, 0x1234), (0, 0x10), 2), ((2, 200), (2, 16), 3), ((3, 0), (0, 5), 8)]:
        out += mm_val(bh, bv) + mm_val(lh, lv) + bytes([t])
    return out


write("memmap", "pc", bytes([255]) + pc_map())
write("memmap", "tight", bytes([3]) + pc_map())


# ---- frame allocator: switch, min_addr, ranges, exclusions, ops ----
def win(a):
    return struct.pack("<I", a)


pmm = bytes([1]) + win(0x100000 * 4) + bytes([3])
for b, e, t in [(0x1000, 0x9f000, 0), (0x100000, 0x2f0000, 0), (0x180000, 0x190000, 1)]:
    pmm += win(b) + win(e) + bytes([t]) + (bytes([2]) if t else b"")
pmm += bytes([1]) + win(0x150000) + win(0x10800)
for k in range(6):
    pmm += bytes([0]) + bytes([k + 1]) + bytes([k])          # alloc k+1 pages, 4 KiB << k
pmm += bytes([1, 0, 0, 0]) + bytes([2]) + win(0x150000) + bytes([3])  # free an allocation, free the monitor
write("pmm", "pc", pmm)


# ---- LLDT/LTR checks: switches (LTR, IA-32e, 32-bit limit), selector, GDT limit, descriptor ----
def sysdesc(type_, base, present=True):
    lo = 0x67 | ((base & 0xffffff) << 16) | (type_ << 40) | ((1 << 47) if present else 0) | (((base >> 24) & 0xff) << 56)
    return struct.pack("<QQ", lo, base >> 32)


write("dtable_check", "ltr_ia32e", struct.pack("<BHH", 3, 0x28, 0x3f) + sysdesc(9, 0xffffffff80001000))
write("dtable_check", "lldt_legacy", struct.pack("<BHH", 0, 0x30, 0x37) + sysdesc(2, 0x5000))


# ---- VMX capabilities: 17 MSRs, has-bits, required/optional controls, IA32_FEATURE_CONTROL ----
msrs = [0x00da040000000004 | (1 << 55), 0x7004c1e7, 0x0000007f00000016, 0xfff9fffe0401e172,
        0x01ffffff00036dff, 0x0003ffff000011ff, 0x0000007f00000016, 0xfff9fffe04006172,
        0x01ffffff00036dfb, 0x0003ffff000011fb, 0x005fffff00000000, 0x00000f0106734141, 0,
        0x80000021, 0xffffffff, 0x2000, 0x3727ff]
write("vmx_caps", "tigerlake", struct.pack("<17Q", *msrs) + bytes([3]) + struct.pack("<IIQ", 0x84, 0x80000000, 5))
write("vmx_caps", "no_true", struct.pack("<17Q", *([msrs[0] & ~(1 << 55)] + msrs[1:])) + bytes([0]) +
      struct.pack("<IIQ", 0xffffffff, 0, 0))


# ---- xAPIC-page MOV decoder: mode byte (bit 0: 64-bit code), then the instruction bytes ----
write("mmio_decode", "load_disp32", bytes([1, 0x8B, 0x05, 0x20, 0x00, 0x00, 0x00]))       # mov eax, [rip+0x20]
write("mmio_decode", "store_rex_sib", bytes([1, 0x44, 0x89, 0x44, 0x24, 0x08]))           # mov [rsp+8], r8d
write("mmio_decode", "store_imm_32", bytes([0, 0xC7, 0x80, 0xB0, 0x00, 0x00, 0x00, 0, 0, 0, 0]))  # mov dword [eax+0xb0], 0
write("mmio_decode", "prefixes", bytes([1, 0x67, 0x3E, 0x8B, 0x00]))                       # ds: mov eax, [eax]


# ---- real-mode decoder: EAX..EDI (4 bytes each), reason buffer size, then the instruction bytes ----
RM_REGS = struct.pack("<8I", 0x00010010, 0x20, 0x3F8, 0xAAAA1000, 0xFFF0, 0xDDDD0004, 0xBBBB0200, 0xCCCC0030)
for seed, code in [
    ("lgdt_o32_disp16", [0x66, 0x2E, 0x0F, 0x01, 0x96, 0x34, 0x12]),              # o32 lgdt cs:[bp+0x1234]
    ("lidt_sib_disp32", [0x67, 0x0F, 0x01, 0x9C, 0x8D, 0x78, 0x56, 0x34, 0x12]),  # lidt [ebp+ecx*4+0x12345678]
    ("mov_cr0", [0x0F, 0x22, 0xC0, 0x66, 0xEA, 0x00, 0x10, 0x00, 0x00, 0x08, 0x00]),  # mov cr0, eax; jmp far
    ("smsw_lmsw", [0x0F, 0x01, 0xE0, 0x0F, 0x01, 0x76, 0xFE]),                   # smsw ax; lmsw [bp-2]
    ("rep_insw", [0x67, 0xF3, 0x66, 0x6D]),                                       # rep insd, EDI
    ("io", [0xE4, 0x70, 0xEE]),                                                   # in al, 0x70; out dx, al
    ("msr", [0x0F, 0x32, 0x0F, 0x30, 0x0F, 0xA2, 0xF4]),                          # rdmsr; wrmsr; cpuid; hlt
    ("lock_refused", [0xF0, 0x0F, 0x01, 0x16, 0x00, 0x01]),                       # lock lgdt [0x100]
    ("prefixes", [0x26, 0x64, 0x66, 0x67, 0x3E] * 3),                             # 15 prefixes: too long
]:
    write("realmode_decode", seed, RM_REGS + bytes([200]) + bytes(code))


# ---- vLAPIC: start TSC (4), APIC ID (1), then operations: op byte, operands ----
def vl_op(op, *fields):
    return bytes([op]) + b"".join(struct.pack(f, v) for f, v in fields)


vl_start = struct.pack("<IB", 1000, 0)
write("vlapic", "timer_periodic", vl_start + vl_op(1, ("<H", 0xF0), ("<I", 0x1FF)) +      # SVR: enable, vector 0xff
      vl_op(1, ("<H", 0x320), ("<I", 0x20030)) + vl_op(1, ("<H", 0x3E0), ("<I", 0xB)) +  # LVT timer periodic 0x30, divide 1
      vl_op(1, ("<H", 0x380), ("<I", 100)) + vl_op(6, ("<I", 350)) + vl_op(8) + vl_op(9))
write("vlapic", "x2apic_tpr", vl_start + vl_op(4, ("<Q", 0xFEE00C00)) + vl_op(3, ("<B", 0x08), ("<Q", 0x40)) +
      vl_op(7, ("<B", 0x35)) + vl_op(7, ("<B", 0x51)) + vl_op(8) + vl_op(9))
write("vlapic", "nested_eoi", vl_start + vl_op(1, ("<H", 0xF0), ("<I", 0x1FF)) + vl_op(7, ("<B", 0x40)) + vl_op(8) +
      vl_op(7, ("<B", 0x80)) + vl_op(8) + vl_op(9) + vl_op(9))


# ---- VM-exit information decoders: kind, raw field, displacement, 16 GPRs ----
def exit_decode_seed(kind, raw, disp=0, gprs=(0,) * 16):
    return struct.pack("<BQQ16Q", kind, raw, disp, *gprs)


for i, (kind, raw) in enumerate([
    (0, 0x3f80000),                    # OUT DX, AL to COM1
    (0, 0x800000 | 1 | 1 << 4 | 1 << 5),  # REP OUTSW to port 0x80
    (1, 3 | 0 << 4 | 12 << 8),         # MOV CR3, R12
    (1, 3 << 4 | 1 << 6 | 0xbeef << 16),  # LMSW from memory
    (2, 3 | 2 << 7 | 3 << 15 | 6 << 18 | 3 << 23 | 3 << 28),  # LIDT [RBX + RSI*8]
    (3, 1 << 10 | 5 << 3 | 2 << 28),   # LLDT with a register operand
]):
    write("exit_decode", f"seed{i}", exit_decode_seed(kind, raw, 0x20, tuple(range(1, 17))))


# ---- ACPI: physical memory from 0x1000 on, the RSDP first (tests/fuzz/fuzz_acpi.c) ----
def acpi_sum(b):
    return (-sum(b)) & 0xFF


def acpi_table(sig, body):
    t = bytearray(sig + struct.pack("<IB", 36 + len(body), 1) + b"\0" + b"HVTEST" + b"\0" * 8 +
                  b"\0" * 4 + b"\0" * 8 + body)
    t[9] = acpi_sum(t)
    return bytes(t)


def acpi_image(revision, x2apic=False):
    base = 0x1000
    entries = struct.pack("<BBBBI", 0, 8, 0, 0, 1) + struct.pack("<BBBBI", 0, 8, 1, 1, 1)
    if x2apic:
        entries += struct.pack("<BBHIII", 9, 16, 0, 0x100, 1, 2)
    madt = acpi_table(b"APIC", struct.pack("<II", 0xFEE00000, 1) + entries)
    root_at, madt_at = base + 0x40, base + 0x100
    if revision >= 2:
        root = acpi_table(b"XSDT", struct.pack("<Q", madt_at))
        r = bytearray(b"RSD PTR " + b"\0" + b"HVTEST" + bytes([revision]) + struct.pack("<I", 0) +
                      struct.pack("<IQ", 36, root_at) + b"\0" * 4)
        r[8] = acpi_sum(r[:20])
        r[32] = acpi_sum(r[:36])
    else:
        root = acpi_table(b"RSDT", struct.pack("<I", madt_at))
        r = bytearray(b"RSD PTR " + b"\0" + b"HVTEST" + bytes([0]) + struct.pack("<I", root_at))
        r[8] = acpi_sum(r)
    img = bytearray(0x100 + len(madt))
    img[0:len(r)] = r
    img[0x40:0x40 + len(root)] = root
    img[0x100:0x100 + len(madt)] = madt
    return bytes(img)


write("acpi", "rsdt_two_cpus", acpi_image(0))
write("acpi", "xsdt_x2apic", acpi_image(2, x2apic=True))


# ---- MP spec 1.4: EBDA address, base memory end, then memory from 0x9fc00 on (tests/fuzz/fuzz_mptable.c) ----
MP_BASE = 0x9fc00


def mp_floating_pointer(table, spec_rev=4, feature1=0, feature2=0):
    f = bytearray(b"_MP_" + struct.pack("<IBBBBB", table, 1, spec_rev, 0, feature1, feature2) + b"\0" * 3)
    f[10] = acpi_sum(f)
    return bytes(f)


def mp_table(entries, spec_rev=4):
    body = b"".join(entries)
    t = bytearray(b"PCMP" + struct.pack("<HBB", 44 + len(body), spec_rev, 0) + b"HVTEST  " + b"FUZZ SEED   " +
                  struct.pack("<IHHIHBB", 0, 0, len(entries), 0xFEE00000, 0, 0, 0) + body)
    t[7] = acpi_sum(t)
    return bytes(t)


def mp_cpu(apic_id, flags):  # MP spec 1.4 4.3.1: EN bit 0, BP bit 1
    return struct.pack("<BBBBIIQ", 0, apic_id, 0x14, flags, 0x671, 0xbfebfbff, 0)


MP_REST = [struct.pack("<BB6s", 1, 0, b"ISA   "), struct.pack("<BBBBI", 2, 4, 0x11, 1, 0xFEC00000),
           struct.pack("<BBHBBBB", 3, 0, 0, 0, 1, 4, 1), struct.pack("<BBHBBBB", 4, 3, 0, 0, 0, 0xff, 0)]


def mp_image(ebda, base_mem_end, fp_at, fp, table_at=None, table=b""):
    img = bytearray(max(fp_at - MP_BASE + 16, (table_at or MP_BASE) - MP_BASE + len(table)))
    img[fp_at - MP_BASE:fp_at - MP_BASE + 16] = fp
    if table_at:
        img[table_at - MP_BASE:table_at - MP_BASE + len(table)] = table
    return struct.pack("<QQ", ebda, base_mem_end) + bytes(img)


write("mptable", "ebda_two_cpus", mp_image(MP_BASE, 0, MP_BASE, mp_floating_pointer(MP_BASE + 0x10), MP_BASE + 0x10,
                                           mp_table([mp_cpu(0, 3), mp_cpu(1, 1)] + MP_REST)))
write("mptable", "base_end_four_cpus", mp_image(
    0, 0xa0000, MP_BASE + 0x3f0, mp_floating_pointer(MP_BASE + 0x400, 1, 0, 0x80), MP_BASE + 0x400,
    mp_table([mp_cpu(2, 1), mp_cpu(4, 0), mp_cpu(0, 3), mp_cpu(6, 1), mp_cpu(8, 1)] + MP_REST, 1)))
write("mptable", "default_config", mp_image(0, 0, MP_BASE + 0x100, mp_floating_pointer(0, 4, 5, 0x80)))
