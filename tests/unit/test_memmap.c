/* Host unit tests for vmm/mm/host/memmap.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/memmap.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)

#define U  BI_MEM_USABLE
#define R  BI_MEM_RESERVED
#define AR BI_MEM_ACPI_RECLAIM
#define AN BI_MEM_ACPI_NVS
#define M  BI_MEM_MMIO

static struct bootinfo_mem_range rng(uint64_t base, uint64_t length, uint32_t type)
{
	struct bootinfo_mem_range r = { base, length, type, 0 };
	return r;
}

/* Check r[0..count) against the expected list, with a readable dump on mismatch. */
static void expect_map(const struct bootinfo_mem_range *r, unsigned count,
		       const struct bootinfo_mem_range *want, unsigned nwant)
{
	bool same = count == nwant;
	for (unsigned i = 0; same && i < count; i++)
		same = r[i].base == want[i].base && r[i].length == want[i].length &&
		       r[i].type == want[i].type;
	if (!same) {
		print_message("got %u ranges:\n", count);
		for (unsigned i = 0; i < count; i++)
			print_message("  [%#llx, +%#llx) %s\n", (unsigned long long)r[i].base,
				      (unsigned long long)r[i].length, memmap_type_name(r[i].type));
		print_message("want %u ranges:\n", nwant);
		for (unsigned i = 0; i < nwant; i++)
			print_message("  [%#llx, +%#llx) %s\n", (unsigned long long)want[i].base,
				      (unsigned long long)want[i].length, memmap_type_name(want[i].type));
	}
	assert_true(same);
}

/* Normalise `in` (capacity: its own size) and compare with the listed ranges. */
#define NORMALIZE_EXPECT(in, ...)                                                        \
	do {                                                                             \
		struct bootinfo_mem_range want_[] = { __VA_ARGS__ };                     \
		unsigned n_ = (unsigned)(sizeof(in) / sizeof((in)[0]));                  \
		assert_int_equal(memmap_normalize((in), &n_, n_), 0);                    \
		expect_map((in), n_, want_, (unsigned)(sizeof(want_) / sizeof(want_[0]))); \
	} while (0)

static void test_unsorted_input_is_sorted(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[] = {
		rng(0x100000, 0x700000, U),
		rng(0xfee00000, 0x1000, M),
		rng(0, 0x9f000, U),
		rng(0xf0000, 0x10000, R),
	};
	NORMALIZE_EXPECT(m,
		rng(0, 0x9f000, U),
		rng(0xf0000, 0x10000, R),
		rng(0x100000, 0x700000, U),
		rng(0xfee00000, 0x1000, M));
}

static void test_reserved_inside_usable_splits(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[3] = {
		rng(0x100000, 0x100000, U),
		rng(0x140000, 0x10000, R),
	};
	unsigned n = 2;
	assert_int_equal(memmap_normalize(m, &n, 3), 0);
	struct bootinfo_mem_range want[] = {
		rng(0x100000, 0x40000, U),
		rng(0x140000, 0x10000, R),
		rng(0x150000, 0xb0000, U),
	};
	expect_map(m, n, want, 3);
}

static void test_overlap_at_edges_trims_usable(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[] = {
		rng(0x200000, 0x100000, R),  /* covers the start of the usable range */
		rng(0x200000, 0x400000, U),
		rng(0x580000, 0x100000, AR), /* covers its end, and beyond */
	};
	NORMALIZE_EXPECT(m,
		rng(0x200000, 0x100000, R),
		rng(0x300000, 0x280000, U),
		rng(0x580000, 0x100000, AR));
}

static void test_usable_fully_covered_disappears(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[] = {
		rng(0x10000, 0x1000, U),
		rng(0x0, 0x100000, R),
	};
	NORMALIZE_EXPECT(m, rng(0x0, 0x100000, R));
}

static void test_higher_non_usable_type_wins(void **state)
{
	(void)state;
	/* ACPI NVS (4) beats reserved (2); MMIO (8) beats both. */
	struct bootinfo_mem_range m[4] = {
		rng(0x1000, 0x4000, R),
		rng(0x2000, 0x1000, AN),
		rng(0x4000, 0x2000, M),
	};
	unsigned n = 3;
	assert_int_equal(memmap_normalize(m, &n, 4), 0);
	struct bootinfo_mem_range want[] = {
		rng(0x1000, 0x1000, R),
		rng(0x2000, 0x1000, AN),
		rng(0x3000, 0x1000, R),
		rng(0x4000, 0x2000, M),
	};
	expect_map(m, n, want, 4);
}

static void test_adjacent_same_type_merges(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[] = {
		rng(0x300000, 0x100000, U),
		rng(0x100000, 0x100000, U),
		rng(0x200000, 0x100000, U),
		rng(0x400000, 0x1000, R), /* adjacent but another type: kept apart */
		rng(0x401000, 0x1000, R),
		rng(0x402000, 0x1000, U),
	};
	NORMALIZE_EXPECT(m,
		rng(0x100000, 0x300000, U),
		rng(0x400000, 0x2000, R),
		rng(0x402000, 0x1000, U));
}

static void test_overlapping_same_type_merges(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[] = {
		rng(0x100000, 0x200000, U),
		rng(0x180000, 0x300000, U),
		rng(0x120000, 0x10000, U), /* nested */
	};
	NORMALIZE_EXPECT(m, rng(0x100000, 0x380000, U));
}

static void test_unaligned_usable_shrinks_inward(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[] = {
		rng(0x100001, 0x5000 - 2, U),  /* [0x100001, 0x104fff) -> [0x101000, 0x104000) */
		rng(0x200800, 0x800, U),       /* no whole page: dropped */
		rng(0x300123, 0x456, R),       /* non-usable ranges keep their bytes */
	};
	NORMALIZE_EXPECT(m,
		rng(0x101000, 0x3000, U),
		rng(0x300123, 0x456, R));
}

static void test_usable_pieces_next_to_unaligned_reserved_shrink(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[3] = {
		rng(0x0, 0x10000, U),
		rng(0x2800, 0x1000, R), /* [0x2800, 0x3800) */
	};
	unsigned n = 2;
	assert_int_equal(memmap_normalize(m, &n, 3), 0);
	struct bootinfo_mem_range want[] = {
		rng(0x0, 0x2000, U),
		rng(0x2800, 0x1000, R),
		rng(0x4000, 0xc000, U),
	};
	expect_map(m, n, want, 3);
}

static void test_zero_length_and_wrapping_dropped(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[] = {
		rng(0x100000, 0, U),
		rng(UINT64_MAX - 0xfff, 0x2000, R),      /* wraps past 2^64 */
		rng(0xfffff00000000000ull, UINT64_MAX, U), /* wraps */
		rng(0x200000, 0x1000, U),
		rng(0x300000, 0, R),
	};
	NORMALIZE_EXPECT(m, rng(0x200000, 0x1000, U));

	struct bootinfo_mem_range only_bad[] = { rng(5, 0, U), rng(UINT64_MAX, 2, R) };
	unsigned n = 2;
	assert_int_equal(memmap_normalize(only_bad, &n, 2), 0);
	assert_int_equal(n, 0);
}

static void test_capacity_overflow_fails(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[2] = {
		rng(0x100000, 0x100000, U),
		rng(0x140000, 0x10000, R),
	};
	unsigned n = 2;
	assert_int_equal(memmap_normalize(m, &n, 2), -1); /* needs 3 */

	/* Two holes: needs 5. */
	struct bootinfo_mem_range m2[5] = {
		rng(0x100000, 0x100000, U),
		rng(0x140000, 0x10000, R),
		rng(0x180000, 0x10000, R),
	};
	n = 3;
	assert_int_equal(memmap_normalize(m2, &n, 4), -1);
	m2[0] = rng(0x100000, 0x100000, U);
	m2[1] = rng(0x140000, 0x10000, R);
	m2[2] = rng(0x180000, 0x10000, R);
	n = 3;
	assert_int_equal(memmap_normalize(m2, &n, 5), 0);
	assert_int_equal(n, 5);

	/* More entries than the capacity to begin with. */
	n = 3;
	assert_int_equal(memmap_normalize(m2, &n, 2), -1);
}

static void test_capacity_is_exact(void **state)
{
	(void)state;
	/*
	 * A naive order (splitting the usable range around the MMIO hole first)
	 * would need 5 entries on the way; the result needs 3.
	 */
	struct bootinfo_mem_range m[3] = {
		rng(0x0, 0x100000, U),
		rng(0x0, 0x100000, R),
		rng(0x40000, 0x10000, M),
	};
	unsigned n = 3;
	assert_int_equal(memmap_normalize(m, &n, 3), 0);
	struct bootinfo_mem_range want[] = {
		rng(0x0, 0x40000, R),
		rng(0x40000, 0x10000, M),
		rng(0x50000, 0xb0000, R),
	};
	expect_map(m, n, want, 3);

	/* A usable sliver that is dropped does not count against the capacity. */
	struct bootinfo_mem_range s[2] = {
		rng(0x0, 0x10000, U),
		rng(0x800, 0x800, R), /* leaves [0, 0x800): no whole page */
	};
	n = 2;
	assert_int_equal(memmap_normalize(s, &n, 2), 0);
	struct bootinfo_mem_range want_s[] = {
		rng(0x800, 0x800, R),
		rng(0x1000, 0xf000, U),
	};
	expect_map(s, n, want_s, 2);
}

static void test_empty_map(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[1];
	unsigned n = 0;
	assert_int_equal(memmap_normalize(m, &n, 1), 0);
	assert_int_equal(n, 0);
	n = 0;
	assert_int_equal(memmap_normalize(m, &n, 0), 0);
}

/*
 * Randomised comparison with a brute-force reference: the address space
 * [0, CELLS * CELL) is painted cell by cell with the strongest type, usable
 * runs are shrunk to pages, and the result must match exactly, including
 * whether it fits in a given capacity.
 */
#define CELL  0x400ull /* 1 KiB cells: 4 per page, so slivers happen */
#define CELLS 96
#define MAXIN 12

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int rank_of(uint32_t t)
{
	return t == BI_MEM_USABLE ? 1 : (int)t + 2; /* 0: nothing */
}

static unsigned reference(const struct bootinfo_mem_range *in, unsigned n, struct bootinfo_mem_range *out)
{
	uint32_t paint[CELLS];
	int best[CELLS];
	for (unsigned c = 0; c < CELLS; c++) {
		best[c] = 0;
		paint[c] = 0;
		for (unsigned i = 0; i < n; i++) {
			uint64_t a = c * CELL;
			if (in[i].length && a >= in[i].base && a < in[i].base + in[i].length &&
			    rank_of(in[i].type) > best[c]) {
				best[c] = rank_of(in[i].type);
				paint[c] = in[i].type;
			}
		}
	}
	unsigned k = 0;
	for (unsigned c = 0; c < CELLS;) {
		if (best[c] == 0) {
			c++;
			continue;
		}
		unsigned d = c;
		while (d < CELLS && best[d] == best[c])
			d++;
		uint64_t b = c * CELL, e = d * CELL;
		if (paint[c] == BI_MEM_USABLE) {
			b = (b + 0xfff) & ~0xfffull;
			e &= ~0xfffull;
		}
		if (b < e)
			out[k++] = rng(b, e - b, paint[c]);
		c = d;
	}
	return k;
}

static void test_random_against_reference(void **state)
{
	(void)state;
	static const uint32_t types[] = { U, U, U, R, AR, AN, M };
	for (int iter = 0; iter < 3000; iter++) {
		struct bootinfo_mem_range in[MAXIN], work[4 * MAXIN], want[CELLS];
		unsigned n = 1 + (unsigned)(next_rand() % MAXIN);
		for (unsigned i = 0; i < n; i++) {
			uint64_t a = next_rand() % CELLS, len = next_rand() % 24;
			if (a + len > CELLS)
				len = CELLS - a;
			in[i] = rng(a * CELL, len * CELL, types[next_rand() % 7]);
		}
		unsigned nwant = reference(in, n, want);

		/* Ample room. */
		memcpy(work, in, sizeof(in[0]) * n);
		unsigned cnt = n;
		assert_int_equal(memmap_normalize(work, &cnt, 4 * MAXIN), 0);
		expect_map(work, cnt, want, nwant);

		/* Exactly the room the result needs (or the input, if larger) suffices. */
		unsigned cap = nwant > n ? nwant : n;
		memcpy(work, in, sizeof(in[0]) * n);
		cnt = n;
		assert_int_equal(memmap_normalize(work, &cnt, cap), 0);
		expect_map(work, cnt, want, nwant);

		/* One less than the result needs fails. */
		if (nwant > n) {
			memcpy(work, in, sizeof(in[0]) * n);
			cnt = n;
			assert_int_equal(memmap_normalize(work, &cnt, nwant - 1), -1);
		}
	}
}

static void test_usable_bytes(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[] = {
		rng(0x0, 0x9f000, U),
		rng(0x9f000, 0x61000, R),
		rng(0x100000, 0x300000, U),
		rng(0x400000, 0x100000, AR),
	};
	assert_int_equal(memmap_usable_bytes(m, 4, 0), 0x9f000 + 0x300000);
	assert_int_equal(memmap_usable_bytes(m, 4, MiB), 0x300000);
	/* Straddling: counted from min_addr. */
	assert_int_equal(memmap_usable_bytes(m, 4, 0x50000), 0x4f000 + 0x300000);
	assert_int_equal(memmap_usable_bytes(m, 4, 0x180000), 0x280000);
	assert_int_equal(memmap_usable_bytes(m, 4, 0x400000), 0);
	assert_int_equal(memmap_usable_bytes(m, 0, 0), 0);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(memmap_type_name(BI_MEM_USABLE), "usable");
	assert_string_equal(memmap_type_name(BI_MEM_RESERVED), "reserved");
	assert_string_equal(memmap_type_name(BI_MEM_ACPI_RECLAIM), "ACPI reclaimable");
	assert_string_equal(memmap_type_name(BI_MEM_ACPI_NVS), "ACPI NVS");
	assert_string_equal(memmap_type_name(BI_MEM_BAD), "bad");
	assert_string_equal(memmap_type_name(BI_MEM_LOADER), "loader");
	assert_string_equal(memmap_type_name(BI_MEM_FIRMWARE), "firmware");
	assert_string_equal(memmap_type_name(BI_MEM_MMIO), "MMIO");
	assert_string_equal(memmap_type_name(0), "unknown");
	assert_string_equal(memmap_type_name(9), "unknown");
	assert_string_equal(memmap_type_name(UINT32_MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsorted_input_is_sorted),
		cmocka_unit_test(test_reserved_inside_usable_splits),
		cmocka_unit_test(test_overlap_at_edges_trims_usable),
		cmocka_unit_test(test_usable_fully_covered_disappears),
		cmocka_unit_test(test_higher_non_usable_type_wins),
		cmocka_unit_test(test_adjacent_same_type_merges),
		cmocka_unit_test(test_overlapping_same_type_merges),
		cmocka_unit_test(test_unaligned_usable_shrinks_inward),
		cmocka_unit_test(test_usable_pieces_next_to_unaligned_reserved_shrink),
		cmocka_unit_test(test_zero_length_and_wrapping_dropped),
		cmocka_unit_test(test_capacity_overflow_fails),
		cmocka_unit_test(test_capacity_is_exact),
		cmocka_unit_test(test_empty_map),
		cmocka_unit_test(test_random_against_reference),
		cmocka_unit_test(test_usable_bytes),
		cmocka_unit_test(test_type_names),
	};
	return cmocka_run_group_tests_name("memmap", tests, NULL, NULL);
}
