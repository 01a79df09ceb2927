/*
 * Decoders of the information a VM exit gives (SDM Vol. 3C 28.2): pure functions of the raw
 * fields, host-tested and fuzzed (tests/unit/test_exit_decode.c, tests/fuzz/fuzz_exit_decode.c).
 * Each refuses an encoding the SDM does not define (returns false), so that a handler never acts
 * on a field it cannot name: the exit is then stopped as unexpected.
 */
#ifndef VMM_EXIT_DECODE_H
#define VMM_EXIT_DECODE_H

#include <stdbool.h>
#include <stdint.h>

/* I/O instruction (exit reason 30; SDM Table 28-5). */
struct io_exit {
	uint16_t port;
	uint8_t size; /* 1, 2 or 4 bytes */
	bool in;      /* IN/INS, else OUT/OUTS */
	bool string;  /* INS/OUTS */
	bool rep;
};
bool exit_decode_io(uint64_t qualification, struct io_exit *io);

/* Control-register access (exit reason 28; SDM Table 28-3). */
enum cr_access_type { CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2, CR_LMSW = 3 };
struct cr_exit {
	enum cr_access_type type;
	uint8_t cr;           /* 0, 3, 4 or 8 for MOV; 0 for CLTS and LMSW */
	uint8_t gpr;          /* MOV: the general-purpose register, SDM numbering (0 = RAX .. 15 = R15) */
	bool lmsw_memory;     /* LMSW: the operand was in memory */
	uint16_t lmsw_source; /* LMSW: the source data */
};
bool exit_decode_cr(uint64_t qualification, struct cr_exit *cr);

/*
 * VM-exit instruction information of LGDT/LIDT/SGDT/SIDT and LLDT/LTR/SLDT/STR (exit reasons 46
 * and 47; SDM Tables 28-10 and 28-11): the operand, in a register or in memory.
 */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_COUNT };
struct insn_operand {
	uint8_t identity;    /* which instruction: 0-3, as the table of the exit reason lists them */
	bool is_register;    /* reason 47 only: the operand is the register `reg` */
	uint8_t reg;         /* reason 47, register operand */
	bool operand_32bit;  /* reason 46: 32-bit operand size (else 16-bit; ignored in 64-bit mode) */
	uint8_t addr_bytes;  /* memory operand: address size, 2, 4 or 8 */
	uint8_t seg;         /* memory operand: SEG_ES .. SEG_GS */
	bool base_valid, index_valid;
	uint8_t base, index; /* general-purpose registers, SDM numbering */
	uint8_t scale;       /* index multiplier: 1, 2, 4 or 8 */
};
bool exit_decode_dt_info(uint32_t info, bool ldtr_tr, struct insn_operand *op);

/*
 * The offset of a memory operand within its segment (SDM Vol. 1 3.7.5): base + index * scale +
 * displacement (the exit qualification), wrapped to the address size.  `gpr` holds the 16
 * general-purpose registers in SDM order.
 */
uint64_t exit_operand_offset(const struct insn_operand *op, uint64_t displacement, const uint64_t gpr[16]);

/*
 * Operand size of LGDT/LIDT/SGDT/SIDT outside 64-bit mode, from the instruction's own bytes: the
 * code segment's default (CS.D) toggled by a 0x66 prefix (SDM Vol. 2A 2.1.1, 3.3.5).  4 or 2
 * (bytes of base the 16-bit operand size keeps 3 of), or 0 when the bytes are not a 0F 01
 * instruction after legacy prefixes.  Bochs 2.7 leaves the operand-size bit of the instruction
 * information (bit 11, Table 28-10) clear, so the monitor reads the instruction instead.
 */
unsigned exit_dt_operand_bytes(const uint8_t *bytes, unsigned n, bool cs_d);

#endif
