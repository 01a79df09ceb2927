/*
 * A small decoder for the instructions that may touch the xAPIC page: the 32-bit MOV forms
 * (SDM Vol. 2B MOV) 8B /r (load), 89 /r (store a register) and C7 /0 id (store an immediate), with
 * segment-override, address-size and REX prefixes.  Pure: it sees bytes, never guest memory.
 */
#ifndef VMM_MMIO_DECODE_H
#define VMM_MMIO_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#define MMIO_INSN_MAX 15 /* the longest x86 instruction (SDM Vol. 2A 2.3.11) */

enum mmio_op { MMIO_LOAD, MMIO_STORE_REG, MMIO_STORE_IMM };

enum mmio_decode_result {
	MMIO_DECODE_OK,
	MMIO_DECODE_UNSUPPORTED, /* another instruction, operand size or form */
	MMIO_DECODE_TRUNCATED,   /* the bytes end before the instruction does */
};

struct mmio_insn {
	enum mmio_op op;
	unsigned len;  /* bytes, prefixes included */
	unsigned size; /* operand bytes (4) */
	unsigned reg;  /* GPR, SDM numbering (Table 28-3): the load's destination, the store's source */
	uint32_t imm;  /* MMIO_STORE_IMM */
};

/* long_mode: 64-bit code (REX prefixes exist, 67h selects 32-bit addressing); else 32-bit code. */
enum mmio_decode_result mmio_decode(const uint8_t *bytes, unsigned n, bool long_mode, struct mmio_insn *out);

#endif
