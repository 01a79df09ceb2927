/*
 * libFuzzer harness: the real-mode instruction decoder (vmm/dev/realmode_decode.c), which reads
 * bytes the guest controls (the instruction at CS:IP of its real-mode code).
 * Input: 8 registers (4 bytes each, EAX..EDI), the size of the reason buffer (1 byte, 0: none),
 * then the instruction bytes (any number: the decoder must stop at 15), each buffer on the heap
 * with exactly its size so that ASan sees a read or write past it.
 * Properties (SDM Vol. 2A chapter 2 instruction format): the reason is NUL-terminated within its
 * buffer, and not empty on a refusal; an accepted instruction is 1..15 bytes long and within the
 * bytes given, with fields in their ranges (operand and address size 16 or 32, a 16-bit offset with
 * 16-bit addressing, CR0/2/3/4, REP only on INS/OUTS); decoding exactly its bytes gives the same,
 * so does any other register set except for the offset, and any shorter prefix of its bytes is
 * "truncated"; its printed form has the length rm_insn_format says.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/realmode_decode.h"

#define REG_BYTES     4u
#define OFFSET16_MAX  0xffffu
#define MAX_CODE      (RM_INSN_MAX + 8u) /* more than the decoder may read */
#define TRUNCATED     "truncated: "

static bool same_but_offset(const struct rm_insn *a, const struct rm_insn *b)
{
	return a->op == b->op && a->len == b->len && a->operand_bits == b->operand_bits &&
	       a->address_bits == b->address_bits && a->access_bytes == b->access_bytes &&
	       a->base_bits == b->base_bits && a->has_mem == b->has_mem && (!a->has_mem || a->seg == b->seg) &&
	       a->has_gpr == b->has_gpr && (!a->has_gpr || a->gpr == b->gpr) && a->ctl_reg == b->ctl_reg &&
	       a->port_imm == b->port_imm && (!a->port_imm || a->port == b->port) && a->rep == b->rep;
}

static bool same(const struct rm_insn *a, const struct rm_insn *b)
{
	return same_but_offset(a, b) && (!a->has_mem || a->offset == b->offset);
}

static void check_fields(const struct rm_insn *in, unsigned n)
{
	FUZZ_CHECK(in->len >= 1 && in->len <= RM_INSN_MAX && in->len <= n);
	FUZZ_CHECK((unsigned)in->op < RM_OP_COUNT);
	FUZZ_CHECK(in->operand_bits == 16 || in->operand_bits == 32);
	FUZZ_CHECK(in->address_bits == 16 || in->address_bits == 32);
	FUZZ_CHECK(in->access_bytes <= 4 || in->access_bytes == 6);
	if (in->has_mem) {
		FUZZ_CHECK(in->seg < RM_SEG_COUNT);
		FUZZ_CHECK(in->address_bits == 32 || in->offset <= OFFSET16_MAX);
	}
	if (in->has_gpr)
		FUZZ_CHECK(in->gpr < RM_GPR_COUNT);
	FUZZ_CHECK(in->ctl_reg < 8);
	if (in->op == RM_MOV_FROM_CR || in->op == RM_MOV_TO_CR)
		FUZZ_CHECK(in->ctl_reg == 0 || in->ctl_reg == 2 || in->ctl_reg == 3 || in->ctl_reg == 4);
	if (in->op == RM_LGDT || in->op == RM_LIDT)
		FUZZ_CHECK(in->base_bits == (in->operand_bits == 16 ? 24 : 32) && in->has_mem && in->access_bytes == 6);
	FUZZ_CHECK(!in->rep || in->op == RM_INS || in->op == RM_OUTS);
	FUZZ_CHECK(!in->port_imm || in->op == RM_IN || in->op == RM_OUT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input input = { data, size };
	struct rm_regs regs, zero = { { 0 } };
	for (unsigned k = 0; k < RM_GPR_COUNT; k++)
		regs.gpr[k] = (uint32_t)fuzz_take(&input, REG_BYTES);
	const size_t why_len = (size_t)fuzz_take(&input, 1);
	const unsigned n = input.size > MAX_CODE ? MAX_CODE : (unsigned)input.size;
	uint8_t *code = malloc(n ? n : 1);
	memcpy(code, input.data, n);
	char *why = why_len ? malloc(why_len) : NULL;

	struct rm_insn in;
	const int r = rm_decode(code, n, &regs, &in, why, why_len);
	FUZZ_CHECK(r == 0 || r == -1);
	if (why_len) {
		FUZZ_CHECK(memchr(why, 0, why_len) != NULL);
		FUZZ_CHECK(r == 0 ? why[0] == 0 : why_len < 2 || why[0] != 0);
	}
	if (r == 0) {
		check_fields(&in, n);
		char reason[128];
		/* Exactly its own bytes; another register set: the same, but for the offset. */
		uint8_t *exact = malloc(in.len);
		memcpy(exact, code, in.len);
		struct rm_insn again;
		FUZZ_CHECK(rm_decode(exact, in.len, &regs, &again, reason, sizeof(reason)) == 0 && same(&in, &again));
		FUZZ_CHECK(rm_decode(exact, in.len, &zero, &again, reason, sizeof(reason)) == 0 &&
			   same_but_offset(&in, &again));
		/* Fewer bytes: truncated, never another instruction. */
		for (unsigned k = 0; k < in.len; k++) {
			FUZZ_CHECK(rm_decode(exact, k, &regs, &again, reason, sizeof(reason)) == -1);
			FUZZ_CHECK(strncmp(reason, TRUNCATED, strlen(TRUNCATED)) == 0);
		}
		free(exact);
		/* Printed: the length it says, into a buffer of exactly that size. */
		const int len = rm_insn_format(&in, NULL, 0);
		FUZZ_CHECK(len > 0);
		char *text = malloc((size_t)len + 1);
		FUZZ_CHECK(rm_insn_format(&in, text, (size_t)len + 1) == len && strlen(text) == (size_t)len);
		free(text);
	}
	free(why);
	free(code);
	return 0;
}
