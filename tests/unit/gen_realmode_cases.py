#!/usr/bin/env python3
"""Write the assembler-checked cases of tests/unit/test_realmode_decode.c.

Each case is a line of 16-bit code (Intel syntax, `.code16`) and what vmm/dev/realmode_decode.c
must make of it with the registers REGS.  The bytes come from the GNU assembler (`as --32`), not
from this file, so that the decoder is checked against an encoder written by someone else; the
expected fields are written here by hand, the offsets as sums of the registers.

    python3 tests/unit/gen_realmode_cases.py OUT.h     (the unit-test build runs it)
"""
import os
import re
import subprocess
import sys
import tempfile

M16, M32 = 0xFFFF, 0xFFFFFFFF

# The guest's registers: the high halves are not zero, so 16-bit addressing must drop them.
EAX, ECX, EDX, EBX = 0x00010010, 0x00000020, 0x000003F8, 0xAAAA1000
ESP, EBP, ESI, EDI = 0x0000FFF0, 0xDDDD0004, 0xBBBB0200, 0xCCCC0030
REGS = [EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI]
AX, BX, SP, BP, SI, DI = EAX & M16, EBX & M16, ESP & M16, EBP & M16, ESI & M16, EDI & M16
GPR = {n: i for i, n in enumerate(["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"])}
GPR.update({n: i for i, n in enumerate(["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"])})


def m16(seg, off):
    return (seg, off & M16)


def m32(seg, off):
    return (seg, off & M32)


def case(asm, op, o=16, a=16, acc=0, base_bits=0, mem=None, gpr=None, ctl=0, port=None, rep=False):
    return dict(asm=asm, op=op, o=o, a=a, acc=acc, base_bits=base_bits, mem=mem, gpr=gpr, ctl=ctl, port=port,
                rep=rep)


CASES = []

# LGDT, LIDT, SGDT, SIDT: each of the eight 16-bit r/m forms, mod 0, disp8 and disp16 (SDM Vol. 2A Table 2-1).
FORMS16 = [("bx+si", BX + SI, "DS"), ("bx+di", BX + DI, "DS"), ("bp+si", BP + SI, "SS"), ("bp+di", BP + DI, "SS"),
           ("si", SI, "DS"), ("di", DI, "DS"), ("bp", BP, "SS"), ("bx", BX, "DS")]
for k, (form, value, seg) in enumerate(FORMS16):
    if form != "bp":  # [bp] with mod 0 is [disp16]; as writes [bp+0] (disp8) for it
        CASES.append(case(f"lgdt [{form}]", "LGDT", acc=6, base_bits=24, mem=m16(seg, value)))
    CASES.append(case(f"lidt [{form}+0x7f]", "LIDT", acc=6, base_bits=24, mem=m16(seg, value + 0x7F)))
    CASES.append(case(f"sgdt [{form}-0x80]", "SGDT", acc=6, base_bits=32, mem=m16(seg, value - 0x80)))
    CASES.append(case(f"sidt [{form}+0x1234]", "SIDT", acc=6, base_bits=32, mem=m16(seg, value + 0x1234)))
    CASES.append(case(f"{{disp16}} lgdt [{form}+{k}]", "LGDT", acc=6, base_bits=24, mem=m16(seg, value + k)))
CASES += [
    case("lgdt [0x1234]", "LGDT", acc=6, base_bits=24, mem=m16("DS", 0x1234)),           # mod 0, r/m 6
    case("lgdt [bp]", "LGDT", acc=6, base_bits=24, mem=m16("SS", BP)),                   # [bp+0], disp8
    # 64 KiB wrap-around: below zero with disp8, above 0xffff with disp16.
    case("lgdt [di-0x40]", "LGDT", acc=6, base_bits=24, mem=m16("DS", DI - 0x40)),
    case("lidt [bx+si+0xf000]", "LIDT", acc=6, base_bits=24, mem=m16("DS", BX + SI + 0xF000)),
    case("sgdt [bp+di+0xfff0]", "SGDT", acc=6, base_bits=32, mem=m16("SS", BP + DI + 0xFFF0)),
    case("sidt [0xffff]", "SIDT", acc=6, base_bits=32, mem=m16("DS", 0xFFFF)),
    # Operand size: LGDT/LIDT load a 24-bit base without 66h, 32 bits with it; SGDT/SIDT store 32 bits.
    case("data32 lgdt [bx]", "LGDT", o=32, acc=6, base_bits=32, mem=m16("DS", BX)),
    case("data32 lidt [si+2]", "LIDT", o=32, acc=6, base_bits=32, mem=m16("DS", SI + 2)),
    case("data32 sgdt [di]", "SGDT", o=32, acc=6, base_bits=32, mem=m16("DS", DI)),
    case("data32 sidt [bp+di]", "SIDT", o=32, acc=6, base_bits=32, mem=m16("SS", BP + DI)),
    # 32-bit addressing (67h): ModRM, SIB, disp8 and disp32 (SDM Vol. 2A Tables 2-2, 2-3).
    case("lgdt [eax]", "LGDT", a=32, acc=6, base_bits=24, mem=m32("DS", EAX)),
    case("lgdt [eax+ecx*4+0x10]", "LGDT", a=32, acc=6, base_bits=24, mem=m32("DS", EAX + ECX * 4 + 0x10)),
    case("lidt [esp]", "LIDT", a=32, acc=6, base_bits=24, mem=m32("SS", ESP)),
    case("sidt [esp+eax*2-8]", "SIDT", a=32, acc=6, base_bits=32, mem=m32("SS", ESP + EAX * 2 - 8)),
    case("sgdt [ebp+esi]", "SGDT", a=32, acc=6, base_bits=32, mem=m32("SS", EBP + ESI)),
    case("lgdt [ebp+0x12345678]", "LGDT", a=32, acc=6, base_bits=24, mem=m32("SS", EBP + 0x12345678)),
    case("lgdt [ecx*8+0x1000]", "LGDT", a=32, acc=6, base_bits=24, mem=m32("DS", ECX * 8 + 0x1000)),
    case("addr32 lidt [0x12345678]", "LIDT", a=32, acc=6, base_bits=24, mem=m32("DS", 0x12345678)),
    case("lidt [ebx+edi]", "LIDT", a=32, acc=6, base_bits=24, mem=m32("DS", EBX + EDI)),
    case("lidt [edi+esi*8-0x80]", "LIDT", a=32, acc=6, base_bits=24, mem=m32("DS", EDI + ESI * 8 - 0x80)),
    case("sgdt [esi+0x7fffffff]", "SGDT", a=32, acc=6, base_bits=32, mem=m32("DS", ESI + 0x7FFFFFFF)),
    case("data32 lgdt [edx]", "LGDT", o=32, a=32, acc=6, base_bits=32, mem=m32("DS", EDX)),
    # Every segment override, also redundant ones, on both address sizes.
    case("es lgdt [bx]", "LGDT", acc=6, base_bits=24, mem=m16("ES", BX)),
    case("cs lgdt [bp]", "LGDT", acc=6, base_bits=24, mem=m16("CS", BP)),
    case("ss lgdt [bx]", "LGDT", acc=6, base_bits=24, mem=m16("SS", BX)),
    case("ds lgdt [bp+si]", "LGDT", acc=6, base_bits=24, mem=m16("DS", BP + SI)),
    case("fs lidt [di]", "LIDT", acc=6, base_bits=24, mem=m16("FS", DI)),
    case("gs sidt [bx+di+1]", "SIDT", acc=6, base_bits=32, mem=m16("GS", BX + DI + 1)),
    case("ds lgdt [bx]", "LGDT", acc=6, base_bits=24, mem=m16("DS", BX)),
    case("ss lgdt [bp]", "LGDT", acc=6, base_bits=24, mem=m16("SS", BP)),
    case("ds lgdt [esp]", "LGDT", a=32, acc=6, base_bits=24, mem=m32("DS", ESP)),
    case("cs lgdt [ebp+0x12345678]", "LGDT", a=32, acc=6, base_bits=24, mem=m32("CS", EBP + 0x12345678)),
    case("data32 addr32 gs lgdt [eax]", "LGDT", o=32, a=32, acc=6, base_bits=32, mem=m32("GS", EAX)),
    # LMSW, SMSW: a register or a 16-bit memory operand; SMSW writes r32 with 66h.
    case("lmsw ax", "LMSW", acc=2, gpr="ax"),
    case("lmsw di", "LMSW", acc=2, gpr="di"),
    case("lmsw [bx+2]", "LMSW", acc=2, mem=m16("DS", BX + 2)),
    case("lmsw [bp-2]", "LMSW", acc=2, mem=m16("SS", BP - 2)),
    case("lmsw [eax+ecx]", "LMSW", a=32, acc=2, mem=m32("DS", EAX + ECX)),
    case("smsw ax", "SMSW", acc=2, gpr="ax"),
    case("smsw eax", "SMSW", o=32, acc=4, gpr="eax"),
    case("smsw bp", "SMSW", acc=2, gpr="bp"),
    case("smsw [bx]", "SMSW", acc=2, mem=m16("DS", BX)),
    case("data32 smsw [bx]", "SMSW", o=32, acc=2, mem=m16("DS", BX)),
    case("es smsw [esp+4]", "SMSW", a=32, acc=2, mem=m32("ES", ESP + 4)),
    # INVLPG: an address, no access.
    case("invlpg [bx]", "INVLPG", mem=m16("DS", BX)),
    case("invlpg [bp+di+0x100]", "INVLPG", mem=m16("SS", BP + DI + 0x100)),
    case("invlpg [eax]", "INVLPG", a=32, mem=m32("DS", EAX)),
    case("fs invlpg [ecx*2+0x10]", "INVLPG", a=32, mem=m32("FS", ECX * 2 + 0x10)),
    # MOV to and from CR0, CR2, CR3, CR4 and DR0-DR7: always 32-bit registers.
    case("mov eax, cr0", "MOV_FROM_CR", acc=4, gpr="eax", ctl=0),
    case("mov ecx, cr2", "MOV_FROM_CR", acc=4, gpr="ecx", ctl=2),
    case("mov edi, cr3", "MOV_FROM_CR", acc=4, gpr="edi", ctl=3),
    case("mov esp, cr4", "MOV_FROM_CR", acc=4, gpr="esp", ctl=4),
    case("mov cr0, eax", "MOV_TO_CR", acc=4, gpr="eax", ctl=0),
    case("mov cr2, edx", "MOV_TO_CR", acc=4, gpr="edx", ctl=2),
    case("mov cr3, ebx", "MOV_TO_CR", acc=4, gpr="ebx", ctl=3),
    case("mov cr4, esi", "MOV_TO_CR", acc=4, gpr="esi", ctl=4),
    case("data32 mov cr0, ebp", "MOV_TO_CR", o=32, acc=4, gpr="ebp", ctl=0),
    case("addr32 mov eax, cr3", "MOV_FROM_CR", a=32, acc=4, gpr="eax", ctl=3),
]
for n in range(8):
    r = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"][7 - n]
    CASES.append(case(f"mov {r}, dr{n}", "MOV_FROM_DR", acc=4, gpr=r, ctl=n))
    CASES.append(case(f"mov dr{n}, {r}", "MOV_TO_DR", acc=4, gpr=r, ctl=n))
CASES += [
    # No operands.
    case("rdmsr", "RDMSR"), case("wrmsr", "WRMSR"), case("hlt", "HLT"), case("wbinvd", "WBINVD"),
    case("invd", "INVD"), case("clts", "CLTS"), case("cpuid", "CPUID"),
    case("data32 rdmsr", "RDMSR", o=32), case("addr32 wrmsr", "WRMSR", a=32), case("cs hlt", "HLT"),
    # IN and OUT: imm8 port or DX, AL / AX / EAX.
    case("in al, 0x70", "IN", acc=1, port=0x70), case("in ax, 0x71", "IN", acc=2, port=0x71),
    case("in eax, 0xff", "IN", o=32, acc=4, port=0xFF), case("out 0x80, al", "OUT", acc=1, port=0x80),
    case("out 0, ax", "OUT", acc=2, port=0), case("out 0x43, eax", "OUT", o=32, acc=4, port=0x43),
    case("in al, dx", "IN", acc=1), case("in ax, dx", "IN", acc=2), case("in eax, dx", "IN", o=32, acc=4),
    case("out dx, al", "OUT", acc=1), case("out dx, ax", "OUT", acc=2), case("out dx, eax", "OUT", o=32, acc=4),
    # INS writes ES:(E)DI (no override), OUTS reads DS:(E)SI (override allowed); REP allowed.
    case("insb", "INS", acc=1, mem=m16("ES", DI)), case("insw", "INS", acc=2, mem=m16("ES", DI)),
    case("insd", "INS", o=32, acc=4, mem=m16("ES", DI)), case("outsb", "OUTS", acc=1, mem=m16("DS", SI)),
    case("outsw", "OUTS", acc=2, mem=m16("DS", SI)), case("outsd", "OUTS", o=32, acc=4, mem=m16("DS", SI)),
    case("rep insb", "INS", acc=1, mem=m16("ES", DI), rep=True),
    case("rep outsw", "OUTS", acc=2, mem=m16("DS", SI), rep=True),
    case("addr32 rep insd", "INS", o=32, a=32, acc=4, mem=m32("ES", EDI), rep=True),
    case("addr32 outsb", "OUTS", a=32, acc=1, mem=m32("DS", ESI)),
    case("gs outsw", "OUTS", acc=2, mem=m16("GS", SI)), case("es outsb", "OUTS", acc=1, mem=m16("ES", SI)),
    case("cs rep outsd", "OUTS", o=32, acc=4, mem=m16("CS", SI), rep=True),
    case("fs insb", "INS", acc=1, mem=m16("ES", DI)),
]


def assemble(lines):
    """The bytes of each line, as the GNU assembler encodes it in 16-bit code."""
    src = [".intel_syntax noprefix", ".code16"]
    for i, line in enumerate(lines):
        src.append(f"L{i}: {line}")
    src.append(f"L{len(lines)}:")
    with tempfile.TemporaryDirectory() as tmp:
        s, o, b = (os.path.join(tmp, n) for n in ("c.s", "c.o", "c.bin"))
        with open(s, "w") as f:
            f.write("\n".join(src) + "\n")
        subprocess.run(["as", "--32", "-o", o, s], check=True)
        syms = subprocess.run(["nm", o], check=True, capture_output=True, text=True).stdout
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", o, b], check=True)
        with open(b, "rb") as f:
            text = f.read()
    at = {}
    for line in syms.splitlines():
        m = re.fullmatch(r"([0-9a-f]+) t L(\d+)", line.strip())
        if m:
            at[int(m.group(2))] = int(m.group(1), 16)
    return [text[at[i]:at[i + 1]] for i in range(len(lines))]


# Lengths from objdump (-b binary -m i8086), for every ModRM byte of the group 7 forms with a memory
# operand (16-bit addressing, and 32-bit with every SIB byte for LGDT) and of MOV to/from CR/DR:
# the decoder's length must be objdump's.  Each candidate sits at a 16-byte stride, NOPs after it
# (they are the displacement, if any).
STRIDE, NOP = 16, 0x90
GROUP7_MEM_REGS = [0, 1, 2, 3, 4, 6, 7]


def length_candidates():
    out = []
    for reg in GROUP7_MEM_REGS:
        for mod in range(3):
            for rm in range(8):
                out.append(bytes([0x0F, 0x01, mod << 6 | reg << 3 | rm]))
    for mod in range(3):
        for rm in range(8):
            modrm = mod << 6 | 2 << 3 | rm
            if rm == 4:
                out += [bytes([0x67, 0x0F, 0x01, modrm, sib]) for sib in range(256)]
            else:
                out.append(bytes([0x67, 0x0F, 0x01, modrm]))
    for op2 in (0x20, 0x21, 0x22, 0x23):
        out += [bytes([0x0F, op2, modrm]) for modrm in range(256)]
    return out


def objdump_lengths(seqs):
    """objdump's length and text of each sequence."""
    blob = b"".join(s + bytes([NOP]) * (STRIDE - len(s)) for s in seqs)
    with tempfile.TemporaryDirectory() as tmp:
        b = os.path.join(tmp, "c.bin")
        with open(b, "wb") as f:
            f.write(blob)
        dis = subprocess.run(["objdump", "-D", "-b", "binary", "-mi8086", "-Mintel", b], check=True,
                             capture_output=True, text=True).stdout
    starts = {}
    for line in dis.splitlines():
        parts = line.split("\t")
        m = re.fullmatch(r"\s*([0-9a-f]+):", parts[0])
        if m and len(parts) >= 3:
            starts[int(m.group(1), 16)] = " ".join(parts[2].split())
    order = sorted(starts)
    nxt = {a: b for a, b in zip(order, order[1:] + [len(blob)])}
    return [(nxt[k * STRIDE] - k * STRIDE, starts[k * STRIDE]) for k in range(len(seqs))]


def c_case(c, code):
    fields = [f".op = RM_{c['op']}", f".len = {len(code)}", f".operand_bits = {c['o']}",
              f".address_bits = {c['a']}", f".access_bytes = {c['acc']}", f".base_bits = {c['base_bits']}"]
    if c["mem"]:
        fields += [".has_mem = true", f".seg = RM_SEG_{c['mem'][0]}", f".offset = {c['mem'][1]:#x}"]
    if c["gpr"]:
        fields += [".has_gpr = true", f".gpr = {GPR[c['gpr']]}"]
    fields.append(f".ctl_reg = {c['ctl']}")
    if c["port"] is not None:
        fields += [".port_imm = true", f".port = {c['port']:#x}"]
    if c["rep"]:
        fields.append(".rep = true")
    hexes = ", ".join(f"0x{x:02x}" for x in code)
    return f'\t{{ "{c["asm"]}", {{ {hexes} }}, {{ {", ".join(fields)} }} }},'


def main():
    out = sys.argv[1]
    codes = assemble([c["asm"] for c in CASES])
    lines = ["/* Generated by tests/unit/gen_realmode_cases.py with the GNU assembler: do not edit. */",
             "static const struct rm_regs rm_asm_regs = { { " + ", ".join(f"{r:#010x}" for r in REGS) + " } };",
             "static const struct rm_asm_case rm_asm_cases[] = {"]
    lines += [c_case(c, code) for c, code in zip(CASES, codes)]
    lines.append("};")
    seqs = length_candidates()
    lines.append("static const struct rm_len_case rm_objdump_lengths[] = {")
    for code, (n, text) in zip(seqs, objdump_lengths(seqs)):
        hexes = ", ".join(f"0x{x:02x}" for x in code + bytes([NOP]) * (STRIDE - 1 - len(code)))
        lines.append(f'\t{{ {{ {hexes} }}, {n}, "{text}" }},')
    lines.append("};")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
