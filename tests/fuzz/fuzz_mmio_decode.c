/*
 * libFuzzer harness: the xAPIC-page instruction decoder (vmm/dev/mmio_decode.c), which reads
 * bytes the guest controls (the instruction at its RIP).
 * Input: a mode byte (64-bit code or not), then up to 15 instruction bytes, copied into a heap
 * buffer of exactly that size so that ASan sees any read past them.
 * Properties (SDM Vol. 2A 2.1-2.2 instruction format, Vol. 2B MOV): an accepted instruction is
 * one of the three MOV forms, 1..15 bytes long and within the bytes given, with a 4-byte operand
 * and a register 0-15 (0-7 outside 64-bit mode); decoding exactly its own bytes gives the same
 * result, and any shorter prefix of them is "truncated", never another instruction.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/mmio_decode.h"

#define LEGACY_GPRS 8u
#define ALL_GPRS    16u
#define MOV_OPERAND_BYTES 4u

static bool same(const struct mmio_insn *a, const struct mmio_insn *b)
{
	return a->op == b->op && a->len == b->len && a->size == b->size && a->reg == b->reg &&
	       (a->op != MMIO_STORE_IMM || a->imm == b->imm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const bool long_mode = data[0] & 1;
	const unsigned n = size - 1 > MMIO_INSN_MAX ? MMIO_INSN_MAX : (unsigned)(size - 1);
	uint8_t *bytes = malloc(n ? n : 1);
	memcpy(bytes, data + 1, n);

	struct mmio_insn insn;
	const enum mmio_decode_result r = mmio_decode(bytes, n, long_mode, &insn);
	FUZZ_CHECK(r == MMIO_DECODE_OK || r == MMIO_DECODE_UNSUPPORTED || r == MMIO_DECODE_TRUNCATED);
	if (r == MMIO_DECODE_OK) {
		FUZZ_CHECK(insn.len >= 1 && insn.len <= n && insn.len <= MMIO_INSN_MAX);
		FUZZ_CHECK(insn.op == MMIO_LOAD || insn.op == MMIO_STORE_REG || insn.op == MMIO_STORE_IMM);
		FUZZ_CHECK(insn.size == MOV_OPERAND_BYTES);
		FUZZ_CHECK(insn.reg < (long_mode ? ALL_GPRS : LEGACY_GPRS));
		/* Exactly its own bytes: the same instruction. */
		uint8_t *exact = malloc(insn.len);
		memcpy(exact, bytes, insn.len);
		struct mmio_insn again;
		FUZZ_CHECK(mmio_decode(exact, insn.len, long_mode, &again) == MMIO_DECODE_OK && same(&insn, &again));
		/* Fewer bytes: never a different, shorter instruction. */
		for (unsigned k = 0; k < insn.len; k++) {
			struct mmio_insn cut;
			const enum mmio_decode_result rc = mmio_decode(exact, k, long_mode, &cut);
			FUZZ_CHECK(rc != MMIO_DECODE_OK);
		}
		free(exact);
	}
	free(bytes);
	return 0;
}
