/*
 * Decoders of the information a VM exit gives (SDM Vol. 3C 28.2): pure functions of the raw
 * fields, host-tested and fuzzed (tests/unit/test_exit_decode.c, tests/fuzz/fuzz_exit_decode.c);
 * the I/O and CR ones are inline here, since every such exit runs them.
 * Each refuses an encoding the SDM does not define (returns false), so that a handler never acts
 * on a field it cannot name: the exit is then stopped as unexpected.
 */
#ifndef VMM_EXIT_DECODE_H
#define VMM_EXIT_DECODE_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/vcpu_regs.h" /* enum vcpu_segment */

/* I/O instruction (exit reason 30; SDM Table 28-5). */
struct io_exit {
	uint16_t port;
	uint8_t size; /* 1, 2 or 4 bytes */
	bool in;      /* IN/INS, else OUT/OUTS */
	bool string;  /* INS/OUTS */
	bool rep;
};
/* The exit qualification's fields. */
#define IO_QUAL_SIZE_MASK   0x7ull
#define IO_QUAL_IN          (1ull << 3)
#define IO_QUAL_STRING      (1ull << 4)
#define IO_QUAL_REP         (1ull << 5)
#define IO_QUAL_IMMEDIATE   (1ull << 6) /* operand encoding: immediate port, else DX */
#define IO_QUAL_PORT_SHIFT  16
#define IO_QUAL_PORT_MASK   0xffffull
#define IO_QUAL_RESERVED    (0xff80ull | 0xffffffff00000000ull) /* bits 15:7 and 63:32 */
enum { IO_SIZE_1 = 0, IO_SIZE_2 = 1, IO_SIZE_4 = 3 }; /* other size encodings are not used */

static inline bool exit_decode_io(uint64_t q, struct io_exit *io)
{
	if (q & IO_QUAL_RESERVED)
		return false;
	switch (q & IO_QUAL_SIZE_MASK) {
	case IO_SIZE_1: io->size = 1; break;
	case IO_SIZE_2: io->size = 2; break;
	case IO_SIZE_4: io->size = 4; break;
	default: return false;
	}
	io->in = (q & IO_QUAL_IN) != 0;
	io->string = (q & IO_QUAL_STRING) != 0;
	io->rep = io->string && (q & IO_QUAL_REP); /* REP means nothing to IN and OUT */
	io->port = (uint16_t)((q >> IO_QUAL_PORT_SHIFT) & IO_QUAL_PORT_MASK);
	return true;
}

/* Control-register access (exit reason 28; SDM Table 28-3). */
enum cr_access_type { CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2, CR_LMSW = 3 };
struct cr_exit {
	enum cr_access_type type;
	uint8_t cr;           /* 0, 3, 4 or 8 for MOV; 0 for CLTS and LMSW */
	uint8_t gpr;          /* MOV: the general-purpose register, SDM numbering (0 = RAX .. 15 = R15) */
	bool lmsw_memory;     /* LMSW: the operand was in memory */
	uint16_t lmsw_source; /* LMSW: the source data */
};
/* The exit qualification's fields. */
#define CR_QUAL_NUMBER_MASK  0xfull
#define CR_QUAL_TYPE_SHIFT   4
#define CR_QUAL_TYPE_MASK    0x3ull
#define CR_QUAL_LMSW_MEMORY  (1ull << 6)
#define CR_QUAL_GPR_SHIFT    8
#define CR_QUAL_GPR_MASK     0xfull
#define CR_QUAL_LMSW_SHIFT   16
#define CR_QUAL_LMSW_MASK    0xffffull
#define CR_QUAL_RESERVED     ((1ull << 7) | 0xf000ull | 0xffffffff00000000ull) /* bits 7, 15:12, 63:32 */

static inline bool exit_decode_cr(uint64_t q, struct cr_exit *cr)
{
	if (q & CR_QUAL_RESERVED)
		return false;
	cr->cr = (uint8_t)(q & CR_QUAL_NUMBER_MASK);
	cr->type = (enum cr_access_type)((q >> CR_QUAL_TYPE_SHIFT) & CR_QUAL_TYPE_MASK);
	cr->gpr = (uint8_t)((q >> CR_QUAL_GPR_SHIFT) & CR_QUAL_GPR_MASK);
	cr->lmsw_memory = (q & CR_QUAL_LMSW_MEMORY) != 0;
	cr->lmsw_source = (uint16_t)((q >> CR_QUAL_LMSW_SHIFT) & CR_QUAL_LMSW_MASK);
	if (cr->type == CR_CLTS || cr->type == CR_LMSW)
		return cr->cr == 0; /* both write CR0 */
	/* MOV: only CR0, CR3, CR4 and CR8 exist to exit on (the others are #UD before any exit). */
	return cr->cr == 0 || cr->cr == 3 || cr->cr == 4 || cr->cr == 8;
}


/*
 * VM-exit instruction information of LGDT/LIDT/SGDT/SIDT and LLDT/LTR/SLDT/STR (exit reasons 46
 * and 47; SDM Tables 28-10 and 28-11): the operand, in a register or in memory.
 */
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
