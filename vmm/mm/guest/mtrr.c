/*
 * MTRR decoding (see vmm/include/vmm/mtrr.h).  SDM Vol. 3A 12.11.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "arch/msr.h"
#include "vmm/mtrr.h"

#define MTRR_PAGE_SHIFT          12u    /* MTRR granularity: 4 KiB */
#define MTRR_PAGE_SIZE           (1ull << MTRR_PAGE_SHIFT)
#define MTRR_MAX_PHYS_BITS       52u
#define MTRR_PHYSBASE_TYPE_MASK  0xffull /* IA32_MTRR_PHYSBASEn bits 7:0 */
#define MTRR_VAR_MSR_STRIDE      2u      /* PHYSBASEn = 0x200 + 2n, PHYSMASKn = 0x201 + 2n */
#define MTRR_FIXED_PER_MSR       8u      /* one type per byte */
#define MTRR_FIXED_TYPE_BITS     8u
#define MTRR_FIXED_TYPE_MASK     0xffull

/* Fixed-range layout (SDM 12.11.2.2, Table 12-9). */
#define FIX64K_BASE   0x00000ull
#define FIX64K_SHIFT  16u
#define FIX64K_COUNT  8u
#define FIX16K_BASE   0x80000ull
#define FIX16K_SHIFT  14u
#define FIX16K_COUNT  16u
#define FIX4K_BASE    0xc0000ull
#define FIX4K_SHIFT   12u
#define FIX4K_MSRS    8u     /* IA32_MTRR_FIX4K_C0000 .. IA32_MTRR_FIX4K_F8000, consecutive */

#define TYPE_NONE (-2)       /* no type accumulated yet */
#define TYPE_MIXED (-1)

static bool type_valid(unsigned t)
{
	return t == MTRR_TYPE_UC || t == MTRR_TYPE_WC || t == MTRR_TYPE_WT || t == MTRR_TYPE_WP || t == MTRR_TYPE_WB;
}

static int sanitize(unsigned t)
{
	return type_valid(t) ? (int)t : (int)MTRR_TYPE_UC;
}

static unsigned phys_bits_of(unsigned bits)
{
	if (bits == 0)
		return MTRR_DEFAULT_PHYS_BITS;
	return bits > MTRR_MAX_PHYS_BITS ? MTRR_MAX_PHYS_BITS : bits;
}

int mtrr_read(struct mtrr_state *s, uint64_t (*rdmsr)(void *ctx, uint32_t msr), void *ctx, unsigned phys_bits)
{
	memset(s, 0, sizeof(*s));
	s->phys_bits = phys_bits_of(phys_bits);
	const uint64_t addr_mask = ((1ull << s->phys_bits) - 1) & ~(MTRR_PAGE_SIZE - 1);
	const uint64_t cap = rdmsr(ctx, MSR_IA32_MTRRCAP);
	const uint64_t def = rdmsr(ctx, MSR_IA32_MTRR_DEF_TYPE);

	s->enabled = (def & MTRR_DEF_E) != 0;
	s->fixed_supported = (cap & MTRRCAP_FIX) != 0;
	s->fixed_enabled = (def & MTRR_DEF_FE) != 0;
	s->default_type = (uint8_t)(def & MTRR_DEF_TYPE_MASK);

	if (s->fixed_supported) {
		/* The 11 fixed-range MSRs in address order, 8 ranges each. */
		uint32_t msrs[FIX64K_COUNT / MTRR_FIXED_PER_MSR + FIX16K_COUNT / MTRR_FIXED_PER_MSR + FIX4K_MSRS];
		unsigned n = 0;
		msrs[n++] = MSR_IA32_MTRR_FIX64K_00000;
		msrs[n++] = MSR_IA32_MTRR_FIX16K_80000;
		msrs[n++] = MSR_IA32_MTRR_FIX16K_A0000;
		for (unsigned k = 0; k < FIX4K_MSRS; k++)
			msrs[n++] = MSR_IA32_MTRR_FIX4K_C0000 + k;
		for (unsigned m = 0; m < n; m++) {
			const uint64_t v = rdmsr(ctx, msrs[m]);
			for (unsigned b = 0; b < MTRR_FIXED_PER_MSR; b++)
				s->fixed[m * MTRR_FIXED_PER_MSR + b] =
					(uint8_t)((v >> (b * MTRR_FIXED_TYPE_BITS)) & MTRR_FIXED_TYPE_MASK);
		}
	}

	const unsigned vcnt = (unsigned)(cap & MTRRCAP_VCNT_MASK);
	s->var_count = vcnt < MTRR_MAX_VARIABLE ? vcnt : MTRR_MAX_VARIABLE;
	for (unsigned i = 0; i < s->var_count; i++) {
		const uint64_t base = rdmsr(ctx, MSR_IA32_MTRR_PHYSBASE0 + MTRR_VAR_MSR_STRIDE * i);
		const uint64_t mask = rdmsr(ctx, MSR_IA32_MTRR_PHYSMASK0 + MTRR_VAR_MSR_STRIDE * i);
		s->var[i].base = base & addr_mask;
		s->var[i].mask = mask & addr_mask;
		s->var[i].type = (uint8_t)(base & MTRR_PHYSBASE_TYPE_MASK);
		s->var[i].valid = (mask & MTRR_PHYSMASK_VALID) != 0;
	}
	return vcnt > MTRR_MAX_VARIABLE ? -1 : 0;
}

/* Two matching variable ranges (SDM 12.11.4.1 "MTRR precedences"). */
static int combine(int acc, int t)
{
	if (acc == TYPE_NONE || acc == t)
		return t;
	if (acc == (int)MTRR_TYPE_UC || t == (int)MTRR_TYPE_UC)
		return MTRR_TYPE_UC;
	if ((acc == (int)MTRR_TYPE_WT && t == (int)MTRR_TYPE_WB) || (acc == (int)MTRR_TYPE_WB && t == (int)MTRR_TYPE_WT))
		return MTRR_TYPE_WT;
	return MTRR_TYPE_UC; /* undefined by the SDM: be safe */
}

/* Accumulate one uniform piece: TYPE_MIXED as soon as two pieces differ. */
static int merge(int acc, int t)
{
	if (acc == TYPE_NONE)
		return t;
	return acc == t ? acc : TYPE_MIXED;
}

static unsigned highest_bit(uint64_t v)
{
	unsigned h = 0;
	while (v >>= 1)
		h++;
	return h;
}

/*
 * Type of the naturally aligned block [b, b + 2^k) from the variable ranges, or
 * TYPE_MIXED.  A range either matches the whole block (its mask has no bit
 * below k), none of it (a mask bit at or above k disagrees), or part of it; in
 * the last case the pattern inside the block depends only on the mask bits
 * below k, so it suffices to compare the two halves split at the highest such bit.
 */
static int block_type(const struct mtrr_state *s, uint64_t b, unsigned k)
{
	const uint64_t low = (1ull << k) - 1;
	int t = TYPE_NONE;
	bool partial = false;
	unsigned split = 0;
	for (unsigned i = 0; i < s->var_count; i++) {
		const struct mtrr_variable *v = &s->var[i];
		if (!v->valid || ((b ^ v->base) & v->mask & ~low))
			continue;
		if (v->mask & low) {
			const unsigned h = highest_bit(v->mask & low);
			if (!partial || h > split)
				split = h;
			partial = true;
		} else {
			t = combine(t, sanitize(v->type));
		}
	}
	if (!partial)
		return t == TYPE_NONE ? sanitize(s->default_type) : t;
	const int t0 = block_type(s, b, split);
	if (t0 == TYPE_MIXED)
		return TYPE_MIXED;
	const int t1 = block_type(s, b | (1ull << split), split);
	return t1 == t0 ? t0 : TYPE_MIXED;
}

/* Index of the fixed range holding addr (< 1 MiB) and the end of that range. */
static unsigned fixed_index(uint64_t addr, uint64_t *end)
{
	if (addr < FIX16K_BASE) {
		*end = ((addr >> FIX64K_SHIFT) + 1) << FIX64K_SHIFT;
		return (unsigned)(addr >> FIX64K_SHIFT);
	}
	if (addr < FIX4K_BASE) {
		*end = ((addr >> FIX16K_SHIFT) + 1) << FIX16K_SHIFT;
		return FIX64K_COUNT + (unsigned)((addr - FIX16K_BASE) >> FIX16K_SHIFT);
	}
	*end = ((addr >> FIX4K_SHIFT) + 1) << FIX4K_SHIFT;
	return FIX64K_COUNT + FIX16K_COUNT + (unsigned)((addr - FIX4K_BASE) >> FIX4K_SHIFT);
}

int mtrr_type_of_range(const struct mtrr_state *s, uint64_t base, uint64_t size)
{
	if (size == 0 || base > UINT64_MAX - size)
		return TYPE_MIXED;
	uint64_t end = base + size;
	const uint64_t limit = 1ull << phys_bits_of(s->phys_bits);
	if (end > limit)
		return TYPE_MIXED;
	if (!s->enabled)
		return MTRR_TYPE_UC; /* SDM 12.11.2.1: E clear, all of physical memory is UC */
	base &= ~(MTRR_PAGE_SIZE - 1);
	end = (end + MTRR_PAGE_SIZE - 1) & ~(MTRR_PAGE_SIZE - 1); /* limit is page aligned: no wrap */

	int type = TYPE_NONE;
	if (s->fixed_supported && s->fixed_enabled && base < MTRR_FIXED_LIMIT) {
		const uint64_t fend = end < MTRR_FIXED_LIMIT ? end : MTRR_FIXED_LIMIT;
		while (base < fend) {
			uint64_t next;
			type = merge(type, sanitize(s->fixed[fixed_index(base, &next)]));
			if (type == TYPE_MIXED)
				return TYPE_MIXED;
			base = next;
		}
	}
	while (base < end) {
		/* The largest naturally aligned block at base that fits. */
		unsigned k = MTRR_PAGE_SHIFT;
		while (!(base & (1ull << k)) && (2ull << k) <= end - base)
			k++;
		type = merge(type, block_type(s, base, k));
		if (type == TYPE_MIXED)
			return TYPE_MIXED;
		base += 1ull << k;
	}
	return type;
}

const char *mtrr_type_name(unsigned type)
{
	switch (type) {
	case MTRR_TYPE_UC: return "UC";
	case MTRR_TYPE_WC: return "WC";
	case MTRR_TYPE_WT: return "WT";
	case MTRR_TYPE_WP: return "WP";
	case MTRR_TYPE_WB: return "WB";
	default: return "reserved";
	}
}
