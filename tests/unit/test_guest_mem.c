/* Host unit tests for vmm/mm/guest/guest_mem.c (with vmm/mm/guest/gpt.c for guest-virtual access). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/cr.h"
#include "arch/msr.h"
#include "arch/paging.h"
#include "vmm/guest_mem.h"

#define PG     GUEST_PAGE_SIZE
#define NPAGES 96u
#define GSIZE  (NPAGES * PG)
#define FRAME_OF(page) (((page) * 7u + 3u) % NPAGES) /* guest page -> host frame: a shuffle */

/* Host frames backing guest RAM; an HPA is a pointer cast to uint64_t. */
static uint8_t host[NPAGES][PG] __attribute__((aligned(4096)));
static uint64_t frames[NPAGES];
static uint8_t snapshot[NPAGES][PG];

static void *hpa_ptr(void *ctx, uint64_t hpa)
{
	(void)ctx;
	return (void *)(uintptr_t)hpa;
}

static struct guest_mem GM;

/* Host byte backing guest-physical byte gpa (computed independently of guest_mem.c). */
static uint8_t *hbyte(uint64_t gpa)
{
	return &host[FRAME_OF(gpa / PG)][gpa % PG];
}

static void gput64(uint64_t gpa, uint64_t v)
{
	assert_int_equal(guest_phys_write(&GM, gpa, &v, sizeof(v)), GM_OK);
}

static uint64_t gget64(uint64_t gpa)
{
	uint64_t v;
	assert_int_equal(guest_phys_read(&GM, gpa, &v, sizeof(v)), GM_OK);
	return v;
}

/* Guest page tables (4-level), built in guest RAM from page 1 up. */
static uint64_t next_table, cr3;

static uint64_t new_table(void)
{
	const uint64_t g = next_table++ * PG;
	memset(hbyte(g), 0, PG);
	return g;
}

/* Leaf entry of gva (creating tables) - returns its GPA. */
static uint64_t pte_gpa(uint64_t gva)
{
	uint64_t table = cr3;
	for (unsigned shift = PML4_SHIFT; shift > PT_SHIFT; shift -= PT_INDEX_BITS) {
		const uint64_t at = table + ((gva >> shift) & PT_INDEX_MASK) * 8;
		uint64_t e = gget64(at);
		if (!(e & PTE_P)) {
			e = new_table() | PTE_P | PTE_W | PTE_U;
			gput64(at, e);
		}
		table = e & PTE_ADDR_MASK;
	}
	return table + ((gva >> PT_SHIFT) & PT_INDEX_MASK) * 8;
}

static void map4k(uint64_t gva, uint64_t gpa, uint64_t flags)
{
	gput64(pte_gpa(gva), gpa | flags);
}

/*
 * Virtual layout at V (tables in guest pages 1-4):
 *  V+0 -> page 10 RW    V+1 -> page 40 RW     V+2 -> page 20 read-only
 *  V+3 not mapped        V+4 -> GPA 1 GiB (outside RAM)
 *  V+5 -> page 21 supervisor-only              V+6 -> page 22 RW, V+7 not mapped
 */
#define V 0x00007f0000000000ull
#define URW (PTE_P | PTE_W | PTE_U)

static struct gpt_cpu CPU;

static int setup(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NPAGES; i++)
		frames[i] = (uint64_t)(uintptr_t)host[FRAME_OF(i)];
	for (unsigned f = 0; f < NPAGES; f++)
		memset(host[f], (int)(0x40 + f), PG);
	GM = (struct guest_mem){ GSIZE, frames, hpa_ptr, NULL };
	next_table = 1;
	cr3 = new_table();
	map4k(V + 0 * PG, 10 * PG, URW);
	map4k(V + 1 * PG, 40 * PG, URW);
	map4k(V + 2 * PG, 20 * PG, PTE_P | PTE_U);
	map4k(V + 4 * PG, 1ull << 30, URW);
	map4k(V + 5 * PG, 21 * PG, PTE_P | PTE_W);
	map4k(V + 6 * PG, 22 * PG, URW);
	assert_int_equal(next_table, 5); /* PML4, PDPT, PD, PT */
	memset(&CPU, 0, sizeof(CPU));
	CPU.cr0 = CR0_PE | CR0_PG;
	CPU.cr3 = cr3;
	CPU.cr4 = CR4_PAE;
	CPU.efer = EFER_LME | EFER_LMA | EFER_NXE;
	return 0;
}

static void take_snapshot(void)
{
	memcpy(snapshot, host, sizeof(host));
}

static void assert_unchanged(void)
{
	assert_memory_equal(snapshot, host, sizeof(host));
}

static void test_range_ok(void **state)
{
	(void)state;
	assert_true(guest_mem_range_ok(&GM, 0, 0));
	assert_true(guest_mem_range_ok(&GM, 0, GSIZE));
	assert_true(guest_mem_range_ok(&GM, GSIZE - 1, 1));
	assert_true(guest_mem_range_ok(&GM, GSIZE, 0));
	assert_true(guest_mem_range_ok(&GM, 123, 0));
	assert_false(guest_mem_range_ok(&GM, GSIZE + 1, 0));
	assert_false(guest_mem_range_ok(&GM, 1, GSIZE));
	assert_false(guest_mem_range_ok(&GM, GSIZE, 1));
	assert_false(guest_mem_range_ok(&GM, 0, GSIZE + 1));
	/* Overflow near 2^64: a wrapping sum must not look small. */
	assert_false(guest_mem_range_ok(&GM, UINT64_MAX, 2));
	assert_false(guest_mem_range_ok(&GM, 2, UINT64_MAX));
	assert_false(guest_mem_range_ok(&GM, UINT64_MAX, 0));
	assert_false(guest_mem_range_ok(&GM, 0x10, UINT64_MAX - 0x8));
}

static void test_gpa_to_hpa(void **state)
{
	(void)state;
	uint64_t hpa;
	for (uint64_t p = 0; p < NPAGES; p++) {
		assert_int_equal(guest_mem_gpa_to_hpa(&GM, p * PG + 0x5a, &hpa), GM_OK);
		assert_int_equal(hpa, (uint64_t)(uintptr_t)hbyte(p * PG + 0x5a));
	}
	assert_int_equal(guest_mem_gpa_to_hpa(&GM, GSIZE - 1, &hpa), GM_OK);
	assert_int_equal(guest_mem_gpa_to_hpa(&GM, GSIZE, &hpa), GM_ERR_BAD_POINTER);
	assert_int_equal(guest_mem_gpa_to_hpa(&GM, UINT64_MAX, &hpa), GM_ERR_BAD_POINTER);
}

static void test_phys_cross_page(void **state)
{
	(void)state;
	/* 3 pages + 100 bytes starting 50 bytes before a page end: 5 frames touched. */
	enum { LEN = 3 * 4096 + 100 };
	static uint8_t buf[LEN], back[LEN];
	const uint64_t gpa = 30 * PG - 50;
	for (unsigned i = 0; i < LEN; i++)
		buf[i] = (uint8_t)(i * 13 + 7);
	take_snapshot();
	assert_int_equal(guest_phys_write(&GM, gpa, buf, LEN), GM_OK);
	for (unsigned i = 0; i < LEN; i++)
		assert_int_equal(*hbyte(gpa + i), buf[i]);
	/* Bytes just outside are untouched. */
	assert_int_equal(*hbyte(gpa - 1), snapshot[FRAME_OF((gpa - 1) / PG)][(gpa - 1) % PG]);
	assert_int_equal(*hbyte(gpa + LEN), snapshot[FRAME_OF((gpa + LEN) / PG)][(gpa + LEN) % PG]);
	assert_int_equal(guest_phys_read(&GM, gpa, back, LEN), GM_OK);
	assert_memory_equal(buf, back, LEN);

	/* Out of range, wrapping, or ending one byte past RAM: refused, nothing copied. */
	take_snapshot();
	assert_int_equal(guest_phys_write(&GM, GSIZE - 10, buf, 11), GM_ERR_BAD_POINTER);
	assert_int_equal(guest_phys_write(&GM, UINT64_MAX - 5, buf, 10), GM_ERR_BAD_POINTER);
	assert_int_equal(guest_phys_write(&GM, GSIZE, buf, 1), GM_ERR_BAD_POINTER);
	assert_unchanged();
	memset(back, 0x77, sizeof(back));
	assert_int_equal(guest_phys_read(&GM, GSIZE - 10, back, 11), GM_ERR_BAD_POINTER);
	assert_int_equal(back[0], 0x77);
	/* The last bytes of RAM and empty copies are fine. */
	assert_int_equal(guest_phys_write(&GM, GSIZE - 10, buf, 10), GM_OK);
	assert_int_equal(guest_phys_read(&GM, GSIZE, back, 0), GM_OK);
}

static void test_virt_read_write(void **state)
{
	(void)state;
	/* 6000 bytes from V + 100: 3996 bytes in guest page 10, 2004 in guest page 40. */
	enum { LEN = 6000 };
	static uint8_t buf[LEN], back[LEN];
	for (unsigned i = 0; i < LEN; i++)
		buf[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(guest_virt_write(&GM, &CPU, V + 100, buf, LEN, LEN), GM_OK);
	for (unsigned i = 0; i < LEN; i++) {
		const uint64_t gpa = i < PG - 100 ? 10 * PG + 100 + i : 40 * PG + (i - (PG - 100));
		assert_int_equal(*hbyte(gpa), buf[i]);
	}
	memset(back, 0, sizeof(back));
	assert_int_equal(guest_virt_read(&GM, &CPU, V + 100, back, LEN, LEN), GM_OK);
	assert_memory_equal(buf, back, LEN);
	/* A and D set in both leaves (the write), A in the tables. */
	assert_int_equal(gget64(pte_gpa(V)), 10 * PG | URW | PTE_A | PTE_D);
	assert_int_equal(gget64(pte_gpa(V + PG)), 40 * PG | URW | PTE_A | PTE_D);
	assert_true(gget64(cr3 + ((V >> PML4_SHIFT) & PT_INDEX_MASK) * 8) & PTE_A);
	/* A read sets A only. */
	uint8_t b[8];
	assert_int_equal(guest_virt_read(&GM, &CPU, V + 6 * PG, b, sizeof(b), sizeof(b)), GM_OK);
	assert_int_equal(gget64(pte_gpa(V + 6 * PG)), 22 * PG | URW | PTE_A);
	assert_memory_equal(b, hbyte(22 * PG), sizeof(b));
	/* A read-only page reads fine; supervisor writes to it with CR0.WP = 0 too. */
	assert_int_equal(guest_virt_read(&GM, &CPU, V + 2 * PG, b, sizeof(b), sizeof(b)), GM_OK);
	assert_int_equal(guest_virt_write(&GM, &CPU, V + 2 * PG, b, sizeof(b), sizeof(b)), GM_OK);
	/* The hypercall-translation path: the same walk through guest_mem_gpt_ops. */
	struct gpt_ops ops;
	struct gpt_walk w;
	guest_mem_gpt_ops(&GM, &ops);
	assert_int_equal(gpt_translate(&CPU, &ops, V + PG + 0x10, GPT_ACCESS_READ, false, &w), GPT_OK);
	assert_int_equal(w.gpa, 40 * PG + 0x10);
}

static void test_virt_second_page_unmapped(void **state)
{
	(void)state;
	/* 200 bytes straddling V+6 (mapped) and V+7 (not mapped). */
	uint8_t buf[200];
	memset(buf, 0xee, sizeof(buf));
	struct guest_virt_fault f;
	take_snapshot();
	assert_int_equal(guest_virt_access(&GM, &CPU, V + 7 * PG - 100, buf, sizeof(buf), sizeof(buf),
					   GPT_ACCESS_WRITE, &f),
			 GM_ERR_NOT_MAPPED);
	assert_int_equal(f.gva, V + 7 * PG);
	assert_int_equal(f.gpt_result, GPT_PAGE_FAULT);
	assert_int_equal(f.pf_error_code, PF_EC_WRITE);
	/* Nothing written: not the first page's bytes, not even an accessed flag. */
	assert_unchanged();
	assert_int_equal(guest_virt_read(&GM, &CPU, V + 7 * PG - 100, buf, sizeof(buf), sizeof(buf)),
			 GM_ERR_NOT_MAPPED);
	assert_unchanged();
	assert_int_equal(guest_virt_read(&GM, &CPU, V + 3 * PG, buf, 1, 1), GM_ERR_NOT_MAPPED);
	/* Same with a first page that is unmapped and a second that is mapped. */
	assert_int_equal(guest_virt_read(&GM, &CPU, V + 4 * PG - 100, buf, sizeof(buf), sizeof(buf)),
			 GM_ERR_NOT_MAPPED);
}

static void test_virt_bad_pointers(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct guest_virt_fault f;
	take_snapshot();
	/* Longer than allowed. */
	assert_int_equal(guest_virt_read(&GM, &CPU, V, buf, sizeof(buf), sizeof(buf) - 1), GM_ERR_BAD_POINTER);
	assert_int_equal(guest_virt_read(&GM, &CPU, V, buf, GUEST_VIRT_MAX_LEN + 1, UINT64_MAX),
			 GM_ERR_BAD_POINTER);
	/* Wrapping past 2^64. */
	assert_int_equal(guest_virt_read(&GM, &CPU, UINT64_MAX - 10, buf, 20, sizeof(buf)), GM_ERR_BAD_POINTER);
	/* Non-canonical: directly, and as the second page of a range. */
	assert_int_equal(guest_virt_read(&GM, &CPU, 0x0000800000000000ull, buf, 8, sizeof(buf)), GM_ERR_BAD_POINTER);
	map4k(0x00007ffffffff000ull, 23 * PG, URW);
	take_snapshot();
	assert_int_equal(guest_virt_read(&GM, &CPU, 0x00007ffffffff000ull + 4088, buf, 8, sizeof(buf)), GM_OK);
	take_snapshot();
	assert_int_equal(guest_virt_access(&GM, &CPU, 0x00007ffffffff000ull + 4090, buf, 16, sizeof(buf),
					   GPT_ACCESS_READ, &f),
			 GM_ERR_BAD_POINTER);
	assert_int_equal(f.gva, 0x0000800000000000ull);
	assert_int_equal(f.gpt_result, GPT_NONCANONICAL);
	/* A page that maps outside guest RAM. */
	assert_int_equal(guest_virt_access(&GM, &CPU, V + 4 * PG, buf, 8, sizeof(buf), GPT_ACCESS_READ, &f),
			 GM_ERR_BAD_POINTER);
	assert_int_equal(f.gpt_result, GPT_OK);
	/* A page whose last bytes are fine but the range continues outside RAM (paging off). */
	struct gpt_cpu off = { .cr0 = CR0_PE };
	assert_int_equal(guest_virt_read(&GM, &off, GSIZE - 4, buf, 8, sizeof(buf)), GM_ERR_BAD_POINTER);
	/* Writes to a read-only page with CR0.WP. */
	CPU.cr0 |= CR0_WP;
	assert_int_equal(guest_virt_access(&GM, &CPU, V + 2 * PG, buf, 8, sizeof(buf), GPT_ACCESS_WRITE, &f),
			 GM_ERR_BAD_POINTER);
	assert_int_equal(f.gpt_result, GPT_PAGE_FAULT);
	assert_int_equal(f.pf_error_code, PF_EC_PRESENT | PF_EC_WRITE);
	/* A user access to a supervisor page; the supervisor may read it. */
	assert_int_equal(guest_virt_access(&GM, &CPU, V + 5 * PG, buf, 8, sizeof(buf), GPT_ACCESS_USER, &f),
			 GM_ERR_BAD_POINTER);
	assert_int_equal(f.pf_error_code, PF_EC_PRESENT | PF_EC_USER);
	assert_unchanged();
	assert_int_equal(guest_virt_read(&GM, &CPU, V + 5 * PG, buf, 8, sizeof(buf)), GM_OK);
	/* Guest page tables outside guest RAM. */
	const uint64_t pde = 3 * PG + ((V >> PD_SHIFT) & PT_INDEX_MASK) * 8; /* the PD of V is page 3 */
	const uint64_t pde_before = gget64(pde);
	gput64(pde, (1ull << 30) | URW);
	take_snapshot();
	assert_int_equal(guest_virt_access(&GM, &CPU, V, buf, 8, sizeof(buf), GPT_ACCESS_READ, &f),
			 GM_ERR_BAD_POINTER);
	assert_int_equal(f.gpt_result, GPT_BAD_GPA);
	assert_unchanged();
	gput64(pde, pde_before);
	/* len 0 succeeds whatever the pointer; len == max_len is fine. */
	assert_int_equal(guest_virt_read(&GM, &CPU, 0xdead000000000000ull, buf, 0, 0), GM_OK);
	assert_int_equal(guest_virt_read(&GM, &CPU, V + 6 * PG, buf, sizeof(buf), sizeof(buf)), GM_OK);
}

static void test_virt_paging_off_and_max_len(void **state)
{
	(void)state;
	struct gpt_cpu off = { .cr0 = CR0_PE };
	/* Paging off: GVA = GPA; GUEST_VIRT_MAX_LEN from an unaligned start (65 pages). */
	static uint8_t big[GUEST_VIRT_MAX_LEN];
	const uint64_t gpa = PG + 1;
	assert_true(gpa + GUEST_VIRT_MAX_LEN <= GSIZE);
	assert_int_equal(guest_virt_read(&GM, &off, gpa, big, GUEST_VIRT_MAX_LEN, GUEST_VIRT_MAX_LEN), GM_OK);
	for (uint64_t i = 0; i < GUEST_VIRT_MAX_LEN; i += 997)
		assert_int_equal(big[i], *hbyte(gpa + i));
	assert_int_equal(big[GUEST_VIRT_MAX_LEN - 1], *hbyte(gpa + GUEST_VIRT_MAX_LEN - 1));
	for (uint64_t i = 0; i < GUEST_VIRT_MAX_LEN; i++)
		big[i] = (uint8_t)(i * 31);
	assert_int_equal(guest_virt_write(&GM, &off, gpa, big, GUEST_VIRT_MAX_LEN, GUEST_VIRT_MAX_LEN), GM_OK);
	for (uint64_t i = 0; i < GUEST_VIRT_MAX_LEN; i++)
		assert_int_equal(*hbyte(gpa + i), (uint8_t)(i * 31));
	/* 32-bit linear addresses stop at 4 GiB. */
	assert_int_equal(guest_virt_read(&GM, &off, 1ull << 32, big, 1, 1), GM_ERR_BAD_POINTER);
}

/*
 * Paging structures that change under the A/D updates: a PAE PDPT that is
 * also the page table.  PDPTE0 (= PTE 0) maps GVA page 0 to the page
 * directory itself, PDPTE1 (= PTE 1) maps GVA page 1.  Step (1) translates
 * both pages; step (2) sets A in PTE 0, which is PDPTE0, where bit 5 is
 * reserved: the walk of page 1 now fails.  The access is refused and no data
 * is copied; only the A flags of step (2) remain (documented).
 */
static void test_virt_tables_change_under_ad_updates(void **state)
{
	(void)state;
	const uint64_t pdpt = 1 * PG, pd = 2 * PG;
	memset(hbyte(pdpt), 0, PG);
	memset(hbyte(pd), 0, PG);
	gput64(pdpt + 0, pd | PTE_P);          /* PDPTE0, and PTE 0 -> page 2 */
	gput64(pdpt + 8, 3 * PG | PTE_P);      /* PDPTE1, and PTE 1 -> page 3 */
	gput64(pd + 0, pdpt | PTE_P | PTE_W);  /* PDE 0 -> the page table, which is the PDPT */
	struct gpt_cpu pae = { .cr0 = CR0_PE | CR0_PG, .cr3 = pdpt, .cr4 = CR4_PAE };
	uint8_t buf[200];
	/* Each page alone is fine, without A/D updates. */
	struct gpt_ops ops;
	struct gpt_walk w;
	guest_mem_gpt_ops(&GM, &ops);
	assert_int_equal(gpt_translate(&pae, &ops, 0, GPT_ACCESS_READ, false, &w), GPT_OK);
	assert_int_equal(w.gpa, pd);
	assert_int_equal(gpt_translate(&pae, &ops, PG, GPT_ACCESS_READ, false, &w), GPT_OK);
	assert_int_equal(w.gpa, 3 * PG);
	/* Both pages in one access: step (2) breaks the translation of page 1. */
	memset(buf, 0x33, sizeof(buf));
	struct guest_virt_fault f;
	assert_int_equal(guest_virt_access(&GM, &pae, PG - 100, buf, sizeof(buf), sizeof(buf), GPT_ACCESS_READ, &f),
			 GM_ERR_BAD_POINTER);
	assert_int_equal(f.gva, PG);
	assert_int_equal(f.gpt_result, GPT_PAGE_FAULT);
	assert_int_equal(f.pf_error_code, PF_EC_PRESENT | PF_EC_RSVD);
	assert_int_equal(buf[0], 0x33);
	assert_true(gget64(pdpt) & PTE_A);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_range_ok),
		T(test_gpa_to_hpa),
		T(test_phys_cross_page),
		T(test_virt_read_write),
		T(test_virt_second_page_unmapped),
		T(test_virt_bad_pointers),
		T(test_virt_paging_off_and_max_len),
		T(test_virt_tables_change_under_ad_updates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
