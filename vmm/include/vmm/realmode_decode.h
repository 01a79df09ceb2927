/*
 * A decoder for the privileged and I/O instructions of 16-bit real-address and virtual-8086 code
 * (SDM Vol. 2A chapter 2, Vol. 2B instruction pages).  Without unrestricted guest the monitor runs
 * a guest's real-mode code (an application processor's start-up trampoline) in virtual-8086 mode,
 * where the privileged ones raise #GP, and the I/O ones too where the TSS's I/O permission bitmap
 * says so (SDM Vol. 3B, 8086 Emulation, "Sensitive Instructions"); the monitor decodes the faulting
 * instruction with rm_decode() and emulates it.  Pure: it sees the instruction bytes and the general
 * registers, never guest memory; host-tested in tests/unit/test_realmode_decode.c and
 * tests/fuzz/fuzz_realmode_decode.c.
 *
 * The code is 16-bit: the operand-size and address-size attributes are 16 bits, and 66h / 67h make
 * them 32 (SDM Vol. 2A 2.1.1, Vol. 1 3.6).  A memory operand's effective address is computed here
 * (offset, and segment after any override); the caller adds the segment base (selector << 4 in real
 * and virtual-8086 mode) and checks the 64 KiB limit (a 32-bit offset above 0xffff is #GP there).
 */
#ifndef VMM_REALMODE_DECODE_H
#define VMM_REALMODE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RM_INSN_MAX 15 /* the longest instruction; a longer one is #GP (SDM Vol. 2A 2.3.11) */

/*
 * The instructions: enumerator, mnemonic.  One table for the enum, rm_op_name() and the printing,
 * so they cannot drift.  The MOV forms share the mnemonic; rm_insn_format() prints their operands.
 */
#define RM_OPS(X)                                                                                          \
	X(LGDT, "lgdt")          /* 0F 01 /2, memory only (SDM Vol. 2A LGDT/LIDT) */                       \
	X(LIDT, "lidt")          /* 0F 01 /3, memory only */                                               \
	X(SGDT, "sgdt")          /* 0F 01 /0, memory only (Vol. 2B SGDT) */                                \
	X(SIDT, "sidt")          /* 0F 01 /1, memory only (Vol. 2B SIDT) */                                \
	X(SMSW, "smsw")          /* 0F 01 /4, r/m16, r32 with 66h (Vol. 2B SMSW) */                        \
	X(LMSW, "lmsw")          /* 0F 01 /6, r/m16 (Vol. 2A LMSW) */                                      \
	X(INVLPG, "invlpg")      /* 0F 01 /7, memory only (Vol. 2A INVLPG) */                              \
	X(MOV_FROM_CR, "mov")    /* 0F 20 /r: MOV r32, CRn (Vol. 2B MOV-Move to/from Control Registers) */ \
	X(MOV_FROM_DR, "mov")    /* 0F 21 /r: MOV r32, DRn (Vol. 2B MOV-Move to/from Debug Registers) */   \
	X(MOV_TO_CR, "mov")      /* 0F 22 /r: MOV CRn, r32 */                                              \
	X(MOV_TO_DR, "mov")      /* 0F 23 /r: MOV DRn, r32 */                                              \
	X(CLTS, "clts")          /* 0F 06 */                                                               \
	X(INVD, "invd")          /* 0F 08 */                                                               \
	X(WBINVD, "wbinvd")      /* 0F 09 */                                                               \
	X(WRMSR, "wrmsr")        /* 0F 30 */                                                               \
	X(RDMSR, "rdmsr")        /* 0F 32 */                                                               \
	X(CPUID, "cpuid")        /* 0F A2: exits by itself, decoded to be named */                         \
	X(HLT, "hlt")            /* F4 */                                                                  \
	X(IN, "in")              /* E4, E5 (imm8 port); EC, ED (port DX) */                                \
	X(OUT, "out")            /* E6, E7 (imm8 port); EE, EF (port DX) */                                \
	X(INS, "ins")            /* 6C, 6D; F3 (REP) allowed */                                            \
	X(OUTS, "outs")          /* 6E, 6F; F3 (REP) allowed */

enum rm_op {
#define RM_OP_ENUM(name, mnemonic) RM_##name,
	RM_OPS(RM_OP_ENUM)
#undef RM_OP_ENUM
	RM_OP_COUNT
};

/* Segment registers in the SDM's numbering (the sreg field, SDM Vol. 2 appendix B; VM-exit instruction
 * information, Vol. 3C Table 28-10): the values of enum vcpu_segment (vmm/include/vmm/vcpu_regs.h),
 * which this layer may not include. */
enum rm_seg { RM_SEG_ES, RM_SEG_CS, RM_SEG_SS, RM_SEG_DS, RM_SEG_FS, RM_SEG_GS, RM_SEG_COUNT };

/* The general registers, SDM numbering (Vol. 2A Table 2-1): EAX ECX EDX EBX ESP EBP ESI EDI. */
enum rm_gpr { RM_EAX, RM_ECX, RM_EDX, RM_EBX, RM_ESP, RM_EBP, RM_ESI, RM_EDI, RM_GPR_COUNT };

/* The guest's registers that addressing reads (32 bits each; 16-bit addressing uses the low 16). */
struct rm_regs {
	uint32_t gpr[RM_GPR_COUNT]; /* enum rm_gpr */
};

struct rm_insn {
	enum rm_op op;
	uint8_t len;          /* bytes, prefixes included: 1..RM_INSN_MAX */
	uint8_t operand_bits; /* operand-size attribute, 16 or 32 (66h); MOV CR/DR ignore it (always 32) */
	uint8_t address_bits; /* address-size attribute, 16 or 32 (67h) */
	/*
	 * Bytes the instruction transfers at its operand: LGDT/LIDT/SGDT/SIDT 6 (limit, then base: see
	 * base_bits); LMSW 2; SMSW 2 to memory, operand_bits / 8 to a register; MOV CR/DR 4; IN/OUT/INS/OUTS
	 * the port access, 1, 2 or 4; 0 for the others (INVLPG names an address but reads nothing).
	 */
	uint8_t access_bytes;
	/* LGDT/LIDT: bits of the base they load, 24 with a 16-bit operand size, else 32 (SDM Vol. 2A
	 * LGDT/LIDT); SGDT/SIDT store 32 bits whatever the operand size (Vol. 2B SGDT); 0 for the others. */
	uint8_t base_bits;
	/*
	 * Memory operand: LGDT LIDT SGDT SIDT INVLPG, LMSW/SMSW with mod != 3, and the string I/O
	 * instructions (INS: ES:DI or ES:EDI, no override; OUTS: DS:SI or DS:ESI, override allowed).
	 * offset: the effective address, wrapped to 16 bits with 16-bit addressing, 32 bits with 67h.
	 */
	bool has_mem;
	uint8_t seg;     /* enum rm_seg, after any override; has_mem only */
	uint32_t offset; /* has_mem only */
	/* A general register operand: MOV CR/DR's r32, LMSW/SMSW with mod 3 (enum rm_gpr). */
	bool has_gpr;
	uint8_t gpr;
	/*
	 * MOV CR: 0, 2, 3 or 4 (the others are refused); MOV DR: 0..7, DR4 and DR5 included: they are
	 * DR6 and DR7 with CR4.DE = 0 and #UD with CR4.DE = 1 (SDM Vol. 3B "Debug Registers DR4 and DR5"),
	 * which the caller knows.
	 */
	uint8_t ctl_reg;
	/* IN/OUT: port_imm says the port is the imm8 `port` (E4-E7), else it is DX (EC-EF). */
	bool port_imm;
	uint8_t port;
	bool rep; /* INS/OUTS with F3: repeat (E)CX times (address_bits says which) */
};

/*
 * Decodes the instruction at code[0..avail) (bytes fetched at CS:IP; at most RM_INSN_MAX are read,
 * never code[avail] or beyond).  Prefixes: 66h, 67h, the segment overrides 26h 2Eh 36h 3Eh 64h 65h
 * (the last one wins; ignored where there is no memory operand, and by INS) in any order and number;
 * F0h (LOCK) is refused on every instruction, F2h on every one, F3h on all but INS/OUTS.
 * Returns 0, fills *out and leaves why empty; or -1, leaves *out alone and puts the reason in why
 * (NUL-terminated, cut to why_len; why may be NULL when why_len is 0), which names the bytes:
 * "truncated: 3 bytes (0f 01 16), inside lgdt" (fetch more, or the fetch itself faults),
 * "<15 bytes>: longer than 15 bytes, which is #GP ...", "0f 01 d0: lgdt needs a memory operand ...",
 * "0f 22 e8: mov to cr5 is #UD ...", "f0 0f 01 16 00 01: lock (f0) with lgdt is #UD ...",
 * "opcode 0f 05 is not a privileged instruction this decoder knows".
 */
int rm_decode(const uint8_t *code, unsigned avail, const struct rm_regs *regs, struct rm_insn *out, char *why,
	      size_t why_len);

/* The mnemonic of an operation ("lgdt"; "mov" for the four MOV forms; "?" out of range). */
const char *rm_op_name(enum rm_op op);

/* The segment register's name ("ds"; "?" out of range). */
const char *rm_seg_name(unsigned seg);

/*
 * One line for logs and traces, in Intel order with the decoded operands: "lgdt ds:0x1210 (o16: 24-bit
 * base)", "mov cr0, eax", "smsw word ss:0xfffe", "rep insw es:0x30", "in al, 0x70", "out dx, eax".
 * snprintf semantics: NUL-terminated when len > 0; returns the full length.
 */
int rm_insn_format(const struct rm_insn *insn, char *buf, size_t len);

#endif
