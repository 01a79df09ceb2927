/*
 * The VT-x backend's decoders of the information a VM exit gives (SDM Vol. 3C 28.2), into the
 * neutral forms of vmm/vm_exit.h: pure functions of the raw
 * fields, host-tested and fuzzed (tests/unit/test_exit_decode.c, tests/fuzz/fuzz_exit_decode.c);
 * the I/O and CR ones are inline here, since every such exit runs them.
 * Each refuses an encoding the SDM does not define (returns false), so that a handler never acts
 * on a field it cannot name: the exit is then stopped as unexpected.
 */
#ifndef VMX_EXIT_DECODE_H
#define VMX_EXIT_DECODE_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/vm_exit.h" /* the decoded forms */

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


bool exit_decode_dt_info(uint32_t info, bool ldtr_tr, struct insn_operand *op);

#endif
