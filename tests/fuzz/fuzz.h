/*
 * Shared helpers of the libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 * A harness reads its input through a struct fuzz_input (a tiny C cousin of
 * LLVM's FuzzedDataProvider): numbers come from the front, and reading past
 * the end gives zeros, so every input is valid.  A broken property aborts
 * through FUZZ_CHECK, which libFuzzer reports as a crash with the input saved.
 */
#ifndef HV_FUZZ_H
#define HV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                          \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			fprintf(stderr, "fuzz property broken: %s (%s:%d)\n", #cond, __FILE__,   \
				__LINE__);                                                        \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

struct fuzz_input {
	const uint8_t *data;
	size_t size;
};

/* The next `bytes` (1..8) bytes, little endian; zeros once the input runs out. */
static inline uint64_t fuzz_take(struct fuzz_input *in, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		if (in->size == 0)
			break;
		v |= (uint64_t)in->data[0] << (8 * i);
		in->data++;
		in->size--;
	}
	return v;
}

static inline uint8_t fuzz_u8(struct fuzz_input *in) { return (uint8_t)fuzz_take(in, 1); }
static inline uint16_t fuzz_u16(struct fuzz_input *in) { return (uint16_t)fuzz_take(in, 2); }
static inline uint32_t fuzz_u32(struct fuzz_input *in) { return (uint32_t)fuzz_take(in, 4); }
static inline uint64_t fuzz_u64(struct fuzz_input *in) { return fuzz_take(in, 8); }

/* A value in [0, n) (n > 0). */
static inline uint64_t fuzz_below(struct fuzz_input *in, uint64_t n)
{
	unsigned bytes = n <= 0x100 ? 1 : n <= 0x10000 ? 2 : n <= 0x100000000ull ? 4 : 8;
	return fuzz_take(in, bytes) % n;
}

#endif
