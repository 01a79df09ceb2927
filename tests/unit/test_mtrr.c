/* Host unit tests for vmm/mm/guest/mtrr.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/msr.h"
#include "vmm/mtrr.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define PHYS_BITS 36u
#define PHYS_MASK ((1ull << PHYS_BITS) - 1)

#define UC MTRR_TYPE_UC
#define WC MTRR_TYPE_WC
#define WT MTRR_TYPE_WT
#define WP MTRR_TYPE_WP
#define WB MTRR_TYPE_WB

/* A fake MSR file: reading an MSR that is not in it fails the test (unless permissive). */
#define MAX_MSRS 64
static struct { uint32_t index; uint64_t value; } msrs[MAX_MSRS];
static unsigned nmsrs, nreads;
static bool permissive;

static void set_msr(uint32_t index, uint64_t value)
{
	for (unsigned i = 0; i < nmsrs; i++)
		if (msrs[i].index == index) {
			msrs[i].value = value;
			return;
		}
	assert_true(nmsrs < MAX_MSRS);
	msrs[nmsrs].index = index;
	msrs[nmsrs++].value = value;
}

static uint64_t fake_rdmsr(void *ctx, uint32_t index)
{
	assert_ptr_equal(ctx, msrs);
	nreads++;
	for (unsigned i = 0; i < nmsrs; i++)
		if (msrs[i].index == index)
			return msrs[i].value;
	if (!permissive)
		fail_msg("read of MSR %#x, which this CPU does not have", index);
	return 0;
}

static uint64_t bytes8(uint8_t t)
{
	return 0x0101010101010101ull * t;
}

/* Variable range i: [base, base + size) (size a power of two, base aligned to it). */
static void set_var_msr(unsigned i, uint64_t base, uint64_t size, unsigned type)
{
	set_msr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i, base | type);
	set_msr(MSR_IA32_MTRR_PHYSMASK0 + 2 * i, (~(size - 1) & PHYS_MASK) | MTRR_PHYSMASK_VALID);
}

/*
 * A typical PC: default UC; fixed: WB below 640K, UC VGA hole, WP for the
 * 0xC0000-0xCFFFF option ROM and 0xF0000-0xFFFFF BIOS, UC between; variable:
 * WB [0, 4G) with a UC hole [3G, 4G).
 */
static struct mtrr_state S;

static int setup_pc(void **state)
{
	(void)state;
	nmsrs = nreads = 0;
	permissive = false;
	set_msr(MSR_IA32_MTRRCAP, MTRRCAP_FIX | 2);
	set_msr(MSR_IA32_MTRR_DEF_TYPE, MTRR_DEF_E | MTRR_DEF_FE | UC);
	set_msr(MSR_IA32_MTRR_FIX64K_00000, bytes8(WB));
	set_msr(MSR_IA32_MTRR_FIX16K_80000, bytes8(WB));
	set_msr(MSR_IA32_MTRR_FIX16K_A0000, bytes8(UC));
	for (unsigned k = 0; k < 8; k++)
		set_msr(MSR_IA32_MTRR_FIX4K_C0000 + k, (k < 2 || k >= 6) ? bytes8(WP) : bytes8(UC));
	set_var_msr(0, 0, 4 * GiB, WB);
	set_var_msr(1, 3 * GiB, 1 * GiB, UC);
	assert_int_equal(mtrr_read(&S, fake_rdmsr, msrs, PHYS_BITS), 0);
	return 0;
}

static void test_read_decodes(void **state)
{
	(void)state;
	assert_true(S.enabled);
	assert_true(S.fixed_supported);
	assert_true(S.fixed_enabled);
	assert_int_equal(S.default_type, UC);
	assert_int_equal(S.phys_bits, PHYS_BITS);
	assert_int_equal(S.fixed[0], WB);
	assert_int_equal(S.fixed[15], WB);
	assert_int_equal(S.fixed[16], UC);
	assert_int_equal(S.fixed[23], UC);
	assert_int_equal(S.fixed[24], WP);
	assert_int_equal(S.fixed[39], WP);
	assert_int_equal(S.fixed[40], UC);
	assert_int_equal(S.fixed[72], WP);
	assert_int_equal(S.fixed[87], WP);
	assert_int_equal(S.var_count, 2);
	assert_int_equal(S.var[0].base, 0);
	assert_int_equal(S.var[0].mask, 0xf00000000ull);
	assert_int_equal(S.var[0].type, WB);
	assert_true(S.var[0].valid);
	assert_int_equal(S.var[1].base, 3 * GiB);
	assert_int_equal(S.var[1].mask, 0xfc0000000ull);
	assert_int_equal(S.var[1].type, UC);
	/* CAP, DEF_TYPE, 11 fixed, 2 x 2 variable: nothing else (the fake fails other reads). */
	assert_int_equal(nreads, 2 + 11 + 4);
}

static void test_fixed_ranges(void **state)
{
	(void)state;
	assert_int_equal(mtrr_type_of_range(&S, 0, 640 * KiB), WB);
	assert_int_equal(mtrr_type_of_range(&S, 0x1001, 10), WB); /* rounded to its page */
	assert_int_equal(mtrr_type_of_range(&S, 0xa0000, 128 * KiB), UC);
	assert_int_equal(mtrr_type_of_range(&S, 0x9f000, 8 * KiB), -1); /* WB | UC */
	assert_int_equal(mtrr_type_of_range(&S, 0xc0000, 4 * KiB), WP);
	assert_int_equal(mtrr_type_of_range(&S, 0xc0000, 64 * KiB), WP);
	assert_int_equal(mtrr_type_of_range(&S, 0xc0000, 68 * KiB), -1);
	assert_int_equal(mtrr_type_of_range(&S, 0xf0000, 64 * KiB), WP);
	assert_int_equal(mtrr_type_of_range(&S, 0, 1 * MiB), -1);
	/* The fixed ranges win over the variable WB range below 1 MiB; at 1 MiB WB takes over. */
	assert_int_equal(mtrr_type_of_range(&S, 0xff000, 8 * KiB), -1);
	assert_int_equal(mtrr_type_of_range(&S, 1 * MiB, 4 * KiB), WB);
	assert_int_equal(mtrr_type_of_range(&S, 0x80000, 512 * KiB + 1 * MiB), -1);
	/* WB fixed range next to the WB variable range: uniform. */
	set_msr(MSR_IA32_MTRR_FIX4K_C0000 + 7, bytes8(WB));
	assert_int_equal(mtrr_read(&S, fake_rdmsr, msrs, PHYS_BITS), 0);
	assert_int_equal(mtrr_type_of_range(&S, 0xf8000, 32 * KiB + 2 * MiB), WB);
}

static void test_variable_hole(void **state)
{
	(void)state;
	assert_int_equal(mtrr_type_of_range(&S, 1 * MiB, 2 * GiB), WB);
	assert_int_equal(mtrr_type_of_range(&S, 2 * MiB, 2 * MiB), WB);
	assert_int_equal(mtrr_type_of_range(&S, 1 * GiB, 1 * GiB), WB);
	assert_int_equal(mtrr_type_of_range(&S, 1 * MiB, 3 * GiB - 1 * MiB), WB);
	assert_int_equal(mtrr_type_of_range(&S, 3 * GiB, 256 * MiB), UC);
	assert_int_equal(mtrr_type_of_range(&S, 3 * GiB, 1 * GiB), UC);
	assert_int_equal(mtrr_type_of_range(&S, 3 * GiB - 2 * MiB, 4 * MiB), -1);
	assert_int_equal(mtrr_type_of_range(&S, 3 * GiB - 4 * KiB, 8 * KiB), -1);
	assert_int_equal(mtrr_type_of_range(&S, 1 * MiB, 3 * GiB), -1);
	/* Above 4 GiB: the default (UC), which also matches the UC hole below it. */
	assert_int_equal(mtrr_type_of_range(&S, 4 * GiB, 4 * KiB), UC);
	assert_int_equal(mtrr_type_of_range(&S, 4 * GiB - 4 * KiB, 8 * KiB), UC);
	assert_int_equal(mtrr_type_of_range(&S, 3 * GiB, 60 * GiB), UC);
	assert_int_equal(mtrr_type_of_range(&S, 4 * GiB, 60 * GiB), UC);
	assert_int_equal(mtrr_type_of_range(&S, 0, 4 * GiB), -1);
}

static void test_bad_ranges(void **state)
{
	(void)state;
	assert_int_equal(mtrr_type_of_range(&S, 1 * MiB, 0), -1);
	assert_int_equal(mtrr_type_of_range(&S, UINT64_MAX - 10, 20), -1);
	assert_int_equal(mtrr_type_of_range(&S, (1ull << PHYS_BITS) - 4 * KiB, 8 * KiB), -1);
	assert_int_equal(mtrr_type_of_range(&S, (1ull << PHYS_BITS) - 4 * KiB, 4 * KiB), UC);
	assert_int_equal(mtrr_type_of_range(&S, 1ull << PHYS_BITS, 4 * KiB), -1);
}

static void test_disabled(void **state)
{
	(void)state;
	/* E clear: everything UC (even where ranges say WB). */
	set_msr(MSR_IA32_MTRR_DEF_TYPE, MTRR_DEF_FE | WB);
	assert_int_equal(mtrr_read(&S, fake_rdmsr, msrs, PHYS_BITS), 0);
	assert_false(S.enabled);
	assert_int_equal(mtrr_type_of_range(&S, 0, 1 * MiB), UC);
	assert_int_equal(mtrr_type_of_range(&S, 1 * MiB, 1 * GiB), UC);
	assert_int_equal(mtrr_type_of_range(&S, 0, 64 * GiB), UC);
	/* FE clear: the variable ranges decide below 1 MiB too. */
	set_msr(MSR_IA32_MTRR_DEF_TYPE, MTRR_DEF_E | UC);
	assert_int_equal(mtrr_read(&S, fake_rdmsr, msrs, PHYS_BITS), 0);
	assert_int_equal(mtrr_type_of_range(&S, 0xa0000, 4 * KiB), WB);
	assert_int_equal(mtrr_type_of_range(&S, 0, 2 * MiB), WB);
	/* A zeroed state (no MTRRs at all): UC. */
	struct mtrr_state none;
	memset(&none, 0, sizeof(none));
	assert_int_equal(mtrr_type_of_range(&none, 1 * MiB, 4 * KiB), UC);
}

static void test_no_fixed_support(void **state)
{
	(void)state;
	/* Without IA32_MTRRCAP.FIX the fixed MSRs are never read (the fake would fail) nor used. */
	nmsrs = nreads = 0;
	set_msr(MSR_IA32_MTRRCAP, 1);
	set_msr(MSR_IA32_MTRR_DEF_TYPE, MTRR_DEF_E | MTRR_DEF_FE | UC);
	set_var_msr(0, 0, 2 * GiB, WB);
	assert_int_equal(mtrr_read(&S, fake_rdmsr, msrs, PHYS_BITS), 0);
	assert_int_equal(nreads, 4);
	assert_false(S.fixed_supported);
	assert_int_equal(mtrr_type_of_range(&S, 0xa0000, 4 * KiB), WB);
	assert_int_equal(mtrr_type_of_range(&S, 0, 2 * GiB), WB);
	/* An invalid variable range is ignored. */
	set_msr(MSR_IA32_MTRR_PHYSMASK0, ~(2 * GiB - 1) & PHYS_MASK);
	assert_int_equal(mtrr_read(&S, fake_rdmsr, msrs, PHYS_BITS), 0);
	assert_int_equal(mtrr_type_of_range(&S, 0, 2 * GiB), UC);
}

/* A state built directly: no fixed ranges, default `def`. */
static void plain_state(struct mtrr_state *s, unsigned def)
{
	memset(s, 0, sizeof(*s));
	s->enabled = true;
	s->default_type = (uint8_t)def;
	s->phys_bits = PHYS_BITS;
}

static void add_var(struct mtrr_state *s, uint64_t base, uint64_t mask, unsigned type)
{
	struct mtrr_variable *v = &s->var[s->var_count++];
	v->base = base;
	v->mask = mask & PHYS_MASK;
	v->type = (uint8_t)type;
	v->valid = true;
}

static void test_overlap_precedence(void **state)
{
	(void)state;
	struct mtrr_state s;
	const uint64_t m4g = ~(4 * GiB - 1), m2m = ~(2 * MiB - 1);
	/* WT over WB: WT; outside the WT range: WB. */
	plain_state(&s, UC);
	add_var(&s, 0, m4g, WB);
	add_var(&s, 16 * MiB, m2m, WT);
	assert_int_equal(mtrr_type_of_range(&s, 16 * MiB, 2 * MiB), WT);
	assert_int_equal(mtrr_type_of_range(&s, 18 * MiB, 2 * MiB), WB);
	assert_int_equal(mtrr_type_of_range(&s, 16 * MiB, 4 * MiB), -1);
	/* The order of the ranges does not matter. */
	plain_state(&s, UC);
	add_var(&s, 16 * MiB, m2m, WT);
	add_var(&s, 0, m4g, WB);
	assert_int_equal(mtrr_type_of_range(&s, 16 * MiB, 2 * MiB), WT);
	/* UC wins over anything. */
	add_var(&s, 16 * MiB, m2m, UC);
	assert_int_equal(mtrr_type_of_range(&s, 16 * MiB, 2 * MiB), UC);
	/* WC with WB: undefined by the SDM, UC here. */
	plain_state(&s, WB);
	add_var(&s, 0, m4g, WB);
	add_var(&s, 32 * MiB, m2m, WC);
	assert_int_equal(mtrr_type_of_range(&s, 32 * MiB, 2 * MiB), UC);
	/* The same type twice: that type. */
	plain_state(&s, UC);
	add_var(&s, 0, m4g, WC);
	add_var(&s, 32 * MiB, m2m, WC);
	assert_int_equal(mtrr_type_of_range(&s, 32 * MiB, 2 * MiB), WC);
	assert_int_equal(mtrr_type_of_range(&s, 0, 1 * GiB), WC);
	/* A reserved type encoding counts as UC. */
	plain_state(&s, WB);
	add_var(&s, 32 * MiB, m2m, 2);
	assert_int_equal(mtrr_type_of_range(&s, 32 * MiB, 2 * MiB), UC);
	plain_state(&s, 3);
	assert_int_equal(mtrr_type_of_range(&s, 32 * MiB, 2 * MiB), UC);
}

static void test_noncontiguous_masks(void **state)
{
	(void)state;
	struct mtrr_state s;
	/* WB on every page whose address has bit 12 set (mask = bit 12 only). */
	plain_state(&s, UC);
	add_var(&s, 0x1000, 0x1000, WB);
	assert_int_equal(mtrr_type_of_range(&s, 0x100000, 4 * KiB), UC);
	assert_int_equal(mtrr_type_of_range(&s, 0x101000, 4 * KiB), WB);
	assert_int_equal(mtrr_type_of_range(&s, 0x100000, 8 * KiB), -1);
	assert_int_equal(mtrr_type_of_range(&s, 0x200000, 2 * MiB), -1);
	assert_int_equal(mtrr_type_of_range(&s, 0x1000, 4 * KiB), WB);
	/* Plus WB on every page with bit 12 clear: uniform WB again, over any size. */
	add_var(&s, 0, 0x1000, WB);
	assert_int_equal(mtrr_type_of_range(&s, 0x100000, 8 * KiB), WB);
	assert_int_equal(mtrr_type_of_range(&s, 0, 16 * GiB), WB);
	/*
	 * Two partially matching ranges with different split points: WB on pages
	 * with bit 12 set (as the WB default: invisible) listed before a UC 2 MiB
	 * range; [0, 4M) must still see the UC half.
	 */
	plain_state(&s, WB);
	add_var(&s, 0x1000, 0x1000, WB);
	add_var(&s, 2 * MiB, ~(2 * MiB - 1), UC);
	assert_int_equal(mtrr_type_of_range(&s, 0, 4 * MiB), -1);
	assert_int_equal(mtrr_type_of_range(&s, 0, 2 * MiB), WB);
	assert_int_equal(mtrr_type_of_range(&s, 2 * MiB, 2 * MiB), UC);
	/* Every other GiB (mask = bit 30 only) UC over a WB default. */
	plain_state(&s, WB);
	add_var(&s, 1 * GiB, 1 * GiB, UC);
	assert_int_equal(mtrr_type_of_range(&s, 2 * GiB, 1 * GiB), WB);
	assert_int_equal(mtrr_type_of_range(&s, 3 * GiB, 1 * GiB), UC);
	assert_int_equal(mtrr_type_of_range(&s, 2 * GiB, 2 * GiB), -1);
	assert_int_equal(mtrr_type_of_range(&s, 5 * GiB + 4 * KiB, 2 * MiB), UC);
}

static void test_too_many_variable_ranges(void **state)
{
	(void)state;
	nmsrs = nreads = 0;
	permissive = true;
	set_msr(MSR_IA32_MTRRCAP, MTRR_MAX_VARIABLE + 6);
	set_msr(MSR_IA32_MTRR_DEF_TYPE, MTRR_DEF_E | WB);
	assert_int_equal(mtrr_read(&S, fake_rdmsr, msrs, 0), -1);
	assert_int_equal(S.var_count, MTRR_MAX_VARIABLE);
	assert_int_equal(S.phys_bits, MTRR_DEFAULT_PHYS_BITS);
	assert_int_equal(nreads, 2 + 2 * MTRR_MAX_VARIABLE);
	permissive = false;
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(mtrr_type_name(UC), "UC");
	assert_string_equal(mtrr_type_name(WC), "WC");
	assert_string_equal(mtrr_type_name(WT), "WT");
	assert_string_equal(mtrr_type_name(WP), "WP");
	assert_string_equal(mtrr_type_name(WB), "WB");
	assert_string_equal(mtrr_type_name(7), "reserved");
}

#define T(f) cmocka_unit_test_setup(f, setup_pc)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_read_decodes),
		T(test_fixed_ranges),
		T(test_variable_hole),
		T(test_bad_ranges),
		T(test_disabled),
		T(test_no_fixed_support),
		T(test_overlap_precedence),
		T(test_noncontiguous_masks),
		T(test_too_many_variable_ranges),
		T(test_type_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
