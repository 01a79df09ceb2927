/*
 * libFuzzer harness: memory-map normalisation (vmm/mm/host/memmap.c).
 * Input: a capacity, then up to MAX_IN ranges (base, length, type), with
 * bases and lengths drawn so that ranges often overlap and touch, and now and
 * then reach the top of the 64-bit space (wrapping ranges included).
 * Properties of a normalised map: at most `cap` ranges, sorted, disjoint,
 * non-empty; usable ranges page aligned; no two touching ranges of one type
 * left unmerged; and, at every range edge of the input (and next to it), the
 * type the output gives a byte is the input's strongest type there (usable
 * loses to everything, else the higher type wins): a byte covered by a
 * non-usable input range keeps the strongest type, a byte no input range
 * covers stays uncovered, and a byte the output calls usable lies in a page
 * whose first and last bytes the input calls usable.
 * memmap_usable_bytes agrees with a sum over the output.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/memmap.h"

#define MAX_IN   64
#define PAGE     4096ull
#define NO_TYPE  0u /* "covered by nothing" in strongest() */
#define TYPES    9u /* 0 (not a bootinfo type) .. BI_MEM_MMIO */

static struct bootinfo_mem_range in_r[MAX_IN], out_r[BOOTINFO_MAX_MEM_RANGES];
static unsigned n_in;

static bool valid(const struct bootinfo_mem_range *r)
{
	return r->length != 0 && r->length <= UINT64_MAX - r->base;
}

static uint64_t rank(uint32_t t) { return t == BI_MEM_USABLE ? 0 : (uint64_t)t + 1; }

/* The strongest input type at byte p, and whether any input range covers it. */
static uint32_t strongest(uint64_t p, bool *covered)
{
	uint32_t best = NO_TYPE;
	*covered = false;
	for (unsigned i = 0; i < n_in; i++) {
		const struct bootinfo_mem_range *r = &in_r[i];
		if (!valid(r) || p < r->base || p - r->base >= r->length)
			continue;
		if (!*covered || rank(r->type) > rank(best))
			best = r->type;
		*covered = true;
	}
	return best;
}

/* The output range holding byte p, or NULL. */
static const struct bootinfo_mem_range *out_at(uint64_t p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (p >= out_r[i].base && p - out_r[i].base < out_r[i].length)
			return &out_r[i];
	return NULL;
}

static void check_point(uint64_t p, unsigned n)
{
	bool covered, c0, c1;
	const uint32_t t = strongest(p, &covered);
	const struct bootinfo_mem_range *o = out_at(p, n);
	if (!covered) {
		FUZZ_CHECK(o == NULL);
		return;
	}
	if (t != BI_MEM_USABLE) {
		FUZZ_CHECK(o != NULL && o->type == t);
		return;
	}
	if (o) {
		FUZZ_CHECK(o->type == BI_MEM_USABLE);
		const uint64_t page = p & ~(PAGE - 1);
		FUZZ_CHECK(strongest(page, &c0) == BI_MEM_USABLE && c0);
		FUZZ_CHECK(strongest(page + PAGE - 1, &c1) == BI_MEM_USABLE && c1);
	}
}

static uint64_t take_base(struct fuzz_input *in)
{
	const uint8_t how = fuzz_u8(in);
	const uint64_t v = fuzz_u16(in);
	switch (how % 4) {
	case 0: return v << 12;             /* pages */
	case 1: return v << 8;              /* unaligned */
	case 2: return (v << 20) | (how >> 2); /* MiBs, with a small offset */
	default: return UINT64_MAX - (v << 12) - (how >> 2); /* near the top */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	const unsigned cap = (unsigned)fuzz_below(&in, BOOTINFO_MAX_MEM_RANGES) + 1;
	n_in = 0;
	while (in.size > 0 && n_in < MAX_IN && n_in < cap) {
		struct bootinfo_mem_range *r = &in_r[n_in++];
		r->base = take_base(&in);
		r->length = take_base(&in);
		r->type = fuzz_u8(&in) % TYPES;
		r->reserved = 0;
	}
	memcpy(out_r, in_r, n_in * sizeof(in_r[0]));
	unsigned n = n_in;
	if (memmap_normalize(out_r, &n, cap) != 0)
		return 0;
	FUZZ_CHECK(n <= cap);
	uint64_t usable = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct bootinfo_mem_range *r = &out_r[i];
		FUZZ_CHECK(valid(r));
		if (r->type == BI_MEM_USABLE) {
			FUZZ_CHECK(r->base % PAGE == 0 && r->length % PAGE == 0);
			usable += r->length;
		}
		if (i > 0) {
			const struct bootinfo_mem_range *q = &out_r[i - 1];
			FUZZ_CHECK(q->base + q->length <= r->base);
			FUZZ_CHECK(q->base + q->length < r->base || q->type != r->type);
		}
	}
	FUZZ_CHECK(memmap_usable_bytes(out_r, n, 0) == usable);
	for (unsigned i = 0; i < n_in; i++) {
		const struct bootinfo_mem_range *r = &in_r[i];
		if (!valid(r))
			continue;
		const uint64_t end = r->base + r->length;
		check_point(r->base, n);
		check_point(end - 1, n);
		if (r->base > 0)
			check_point(r->base - 1, n);
		if (end < UINT64_MAX)
			check_point(end, n);
		check_point(r->base + r->length / 2, n);
	}
	return 0;
}
