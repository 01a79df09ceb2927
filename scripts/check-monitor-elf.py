#!/usr/bin/env python3
"""Check the linked monitor image (build/hv.elf) before the build accepts it.

    scripts/check-monitor-elf.py IMAGE

The monitor runs wherever its loader puts it (linker.ld).  That works only when:
  - it is a position-independent ELF64 x86-64 executable (ET_DYN) linked at 0, without a
    program interpreter (PT_INTERP), with one PT_DYNAMIC segment;
  - its dynamic section asks for nothing but RELA relocations (no DT_NEEDED, DT_REL,
    DT_TEXTREL or DT_JMPREL), and every entry is R_X86_64_RELATIVE (or R_X86_64_NONE) with
    its 8-byte field inside the image: vmm/platform/reloc_self.c applies exactly those;
  - GRUB can load it through the Multiboot2 address tag, which copies the file's bytes as they
    are: the PT_LOAD segments lie in the file in memory order, at the same distances (p_offset -
    p_vaddr is the same for all), the Multiboot2 header starts the first one, within the first
    32 KiB of the file, and its address tag names the image's own bounds.
Prints one line on success; otherwise says what is wrong and exits 1.
"""
import struct
import sys

ET_DYN = 3
EM_X86_64 = 62
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
DT_NULL, DT_NEEDED, DT_RELA, DT_RELASZ, DT_RELAENT = 0, 1, 7, 8, 9
DT_REL, DT_TEXTREL, DT_JMPREL = 17, 22, 23
R_X86_64_NONE, R_X86_64_RELATIVE = 0, 8
RELA_SIZE, DYN_SIZE, FIELD_SIZE = 24, 16, 8
MB2_HEADER_MAGIC = 0xE85250D6
MB2_SEARCH = 32768          # Multiboot2 spec 3.1.1: the header lies in the first 32 KiB
MB2_HEADER_ALIGN = 8
MB2_TAG_END, MB2_TAG_ADDRESS, MB2_TAG_RELOCATABLE = 0, 2, 10
FIX = "the monitor's link (linker.ld, HV_MONITOR_LDFLAGS and HV_CFLAGS in the Makefile) changed"


def fail(path, msg):
    print(f"check-monitor-elf: {path}: {msg}; {FIX}: fix it and rebuild with 'make'", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        print("usage: check-monitor-elf.py IMAGE", file=sys.stderr)
        sys.exit(2)
    path = sys.argv[1]
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        fail(path, "not a little-endian ELF64 file")
    (e_type, e_machine, _, e_entry, e_phoff, _, _, _, e_phentsize, e_phnum) = struct.unpack_from(
        "<HHIQQQIHHH", data, 16)
    if e_type != ET_DYN:
        fail(path, f"ELF type {e_type}, not ET_DYN ({ET_DYN}): it must be linked -pie at address 0")
    if e_machine != EM_X86_64:
        fail(path, f"ELF machine {e_machine}, not EM_X86_64")
    phdrs = [struct.unpack_from("<IIQQQQQQ", data, e_phoff + i * e_phentsize) for i in range(e_phnum)]
    if any(p[0] == PT_INTERP for p in phdrs):
        fail(path, "it has a PT_INTERP segment (a program interpreter): link it with --no-dynamic-linker")
    loads = [p for p in phdrs if p[0] == PT_LOAD and p[6] > 0]
    dynamic = [p for p in phdrs if p[0] == PT_DYNAMIC]
    if not loads or len(dynamic) != 1:
        fail(path, f"{len(loads)} PT_LOAD and {len(dynamic)} PT_DYNAMIC segments (want some, and one)")
    first = loads[0]
    if first[3] != 0:
        fail(path, f"its first PT_LOAD segment is at 0x{first[3]:x}, not at the link address 0")
    delta = first[2] - first[3]
    prev_end = 0
    for p in loads:
        _, _, off, vaddr, paddr, filesz, memsz, _ = p
        if vaddr != paddr:
            fail(path, f"a segment has p_vaddr 0x{vaddr:x} != p_paddr 0x{paddr:x}")
        if vaddr < prev_end:
            fail(path, f"PT_LOAD segment at 0x{vaddr:x} is not in ascending order")
        if off - vaddr != delta:
            fail(path, f"PT_LOAD segment at 0x{vaddr:x} lies at file offset 0x{off:x}, not 0x{vaddr + delta:x}: "
                       "the file is not laid out as memory is, which the Multiboot2 address tag needs")
        prev_end = vaddr + memsz
    image_end = prev_end
    file_end = max(p[3] + p[5] for p in loads)   # where the file's data ends in memory

    # The Multiboot2 header: at the start of the first segment.
    hdr = first[2]
    if hdr + 16 > MB2_SEARCH or hdr % MB2_HEADER_ALIGN:
        fail(path, f"the first segment (the Multiboot2 header) is at file offset 0x{hdr:x}, "
                   f"not 8-byte aligned within the first {MB2_SEARCH} bytes")
    magic, _, length, _ = struct.unpack_from("<IIII", data, hdr)
    if magic != MB2_HEADER_MAGIC:
        fail(path, "the first segment does not start with the Multiboot2 header")
    tags, pos, addr = set(), hdr + 16, None
    while pos < hdr + length:
        ttype, _, tsize = struct.unpack_from("<HHI", data, pos)
        if ttype == MB2_TAG_END:
            break
        tags.add(ttype)
        if ttype == MB2_TAG_ADDRESS:
            addr = struct.unpack_from("<IIII", data, pos + 8)
        pos += (tsize + 7) & ~7
    if MB2_TAG_RELOCATABLE not in tags or addr is None:
        fail(path, "the Multiboot2 header lacks its address tag or its relocatable tag (vmm/platform/entry.asm)")
    header_addr, load_addr, load_end_addr, bss_end_addr = addr
    if header_addr != 0 or load_addr != 0 or load_end_addr > file_end or bss_end_addr < image_end:
        fail(path, f"the Multiboot2 address tag says header 0x{header_addr:x}, load [0x{load_addr:x}, "
                   f"0x{load_end_addr:x}), bss end 0x{bss_end_addr:x}, but the image is [0, 0x{image_end:x}) "
                   f"with file data up to 0x{file_end:x}")

    # The dynamic section, read through the segment that holds it.
    def file_offset(vaddr, size):
        for p in loads:
            if p[3] <= vaddr and vaddr + size <= p[3] + p[5]:
                return vaddr + delta
        fail(path, f"[0x{vaddr:x}, +0x{size:x}) is not file data of a PT_LOAD segment")

    dyn = {}
    dyn_off = file_offset(dynamic[0][3], dynamic[0][5])
    for i in range(dynamic[0][5] // DYN_SIZE):
        tag, val = struct.unpack_from("<qQ", data, dyn_off + i * DYN_SIZE)
        if tag == DT_NULL:
            break
        dyn[tag] = val
    for tag, name in ((DT_NEEDED, "DT_NEEDED (a shared library)"), (DT_REL, "DT_REL (REL relocations)"),
                      (DT_TEXTREL, "DT_TEXTREL (relocations in read-only code)"),
                      (DT_JMPREL, "DT_JMPREL (PLT relocations)")):
        if tag in dyn:
            fail(path, f"its dynamic section has {name}")
    count = 0
    if DT_RELA in dyn:
        if dyn.get(DT_RELAENT) != RELA_SIZE or dyn.get(DT_RELASZ, 0) % RELA_SIZE:
            fail(path, f"DT_RELAENT {dyn.get(DT_RELAENT)} / DT_RELASZ {dyn.get(DT_RELASZ)} are not "
                       f"whole {RELA_SIZE}-byte RELA entries")
        count = dyn[DT_RELASZ] // RELA_SIZE
        rela_off = file_offset(dyn[DT_RELA], dyn[DT_RELASZ])
        for i in range(count):
            r_offset, r_info, _ = struct.unpack_from("<QQq", data, rela_off + i * RELA_SIZE)
            rtype, rsym = r_info & 0xffffffff, r_info >> 32
            if rtype == R_X86_64_NONE:
                continue
            if rtype != R_X86_64_RELATIVE or rsym != 0:
                fail(path, f"relocation {i} at 0x{r_offset:x} has type {rtype} symbol {rsym}: only "
                           "R_X86_64_RELATIVE without a symbol is applied (vmm/platform/reloc_self.c); "
                           "is some code built without -fpie?")
            if r_offset + FIELD_SIZE > image_end:
                fail(path, f"relocation {i} writes at 0x{r_offset:x}, outside the image")
    print(f"check-monitor-elf: {path}: position-independent, image [0, 0x{image_end:x}), "
          f"entry 0x{e_entry:x}, {count} R_X86_64_RELATIVE relocations")


if __name__ == "__main__":
    main()
