/* Host unit tests for vmm/mm/guest/gpt.c: hand-built guest page tables in a fake guest memory. */
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
#include "vmm/gpt.h"

#define GMEM_SIZE (256 * 1024)
static uint8_t gmem[GMEM_SIZE];
static unsigned pte_writes;

static int rd(void *ctx, uint64_t gpa, uint64_t *val, unsigned size)
{
	(void)ctx;
	if (gpa > GMEM_SIZE || size > GMEM_SIZE - gpa)
		return -1;
	uint64_t v = 0;
	memcpy(&v, gmem + gpa, size);
	*val = v;
	return 0;
}

static int wr(void *ctx, uint64_t gpa, uint64_t val, unsigned size)
{
	(void)ctx;
	if (gpa > GMEM_SIZE || size > GMEM_SIZE - gpa)
		return -1;
	/* The A/D bits to set, ORed in (vmm/gpt.h). */
	uint64_t old = 0;
	memcpy(&old, gmem + gpa, size);
	old |= val;
	memcpy(gmem + gpa, &old, size);
	pte_writes++;
	return 0;
}

static const struct gpt_ops OPS = { rd, wr, NULL };

static void put64(uint64_t gpa, uint64_t v) { memcpy(gmem + gpa, &v, sizeof(v)); }
static uint64_t get64(uint64_t gpa) { uint64_t v; memcpy(&v, gmem + gpa, sizeof(v)); return v; }
static void put32(uint64_t gpa, uint32_t v) { memcpy(gmem + gpa, &v, sizeof(v)); }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, gmem + gpa, sizeof(v)); return v; }

#define URW (PTE_P | PTE_W | PTE_U)

/*
 * 4-level layout: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000; GVA uses
 * index 1, 2, 3, 4 at the four levels and maps the page at GPA 0x10000.
 */
#define L4_PML4 0x1000ull
#define L4_PDPT 0x2000ull
#define L4_PD   0x3000ull
#define L4_PT   0x4000ull
#define L4_PAGE 0x10000ull
#define L4_GVA  ((1ull << 39) | (2ull << 30) | (3ull << 21) | (4ull << 12))
#define E_PML4E (L4_PML4 + 1 * 8)
#define E_PDPTE (L4_PDPT + 2 * 8)
#define E_PDE   (L4_PD + 3 * 8)
#define E_PTE   (L4_PT + 4 * 8)
static const uint64_t l4_entries[4] = { E_PML4E, E_PDPTE, E_PDE, E_PTE };

static struct gpt_cpu cpu64(void)
{
	struct gpt_cpu c = { 0 };
	c.cr0 = CR0_PE | CR0_PG;
	c.cr3 = L4_PML4;
	c.cr4 = CR4_PAE;
	c.efer = EFER_LME | EFER_LMA | EFER_NXE;
	c.page_1g = true;
	return c;
}

static int setup_4level(void **state)
{
	(void)state;
	memset(gmem, 0, sizeof(gmem));
	pte_writes = 0;
	put64(E_PML4E, L4_PDPT | URW);
	put64(E_PDPTE, L4_PD | URW);
	put64(E_PDE, L4_PT | URW);
	put64(E_PTE, L4_PAGE | URW);
	return 0;
}

static int walk(const struct gpt_cpu *c, uint64_t gva, unsigned access, struct gpt_walk *w)
{
	return gpt_translate(c, &OPS, gva, access, false, w);
}

static void test_paging_off(void **state)
{
	(void)state;
	struct gpt_cpu c = { 0 };
	c.cr0 = CR0_PE;
	struct gpt_walk w;
	assert_int_equal(gpt_mode_of(&c), GPT_MODE_NONE);
	assert_int_equal(walk(&c, 0x12345678, GPT_ACCESS_WRITE | GPT_ACCESS_USER, &w), GPT_OK);
	assert_int_equal(w.gpa, 0x12345678);
	assert_int_equal(w.levels, 0);
	assert_int_equal(w.page_size, PAGE_SIZE);
	assert_true(w.writable && w.user && !w.nx);
	/* Linear addresses are 32 bits without long mode. */
	assert_int_equal(walk(&c, 1ull << 32, 0, &w), GPT_NONCANONICAL);
	/* Real mode too. */
	c.cr0 = 0;
	assert_int_equal(walk(&c, 0xb8000, 0, &w), GPT_OK);
	assert_int_equal(w.gpa, 0xb8000);
}

static void test_4level_4k(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	assert_int_equal(gpt_mode_of(&c), GPT_MODE_4LEVEL);
	assert_int_equal(walk(&c, L4_GVA + 0x123, GPT_ACCESS_WRITE | GPT_ACCESS_USER, &w), GPT_OK);
	assert_int_equal(w.gpa, L4_PAGE + 0x123);
	assert_int_equal(w.levels, 4);
	assert_int_equal(w.page_size, PAGE_SIZE);
	assert_int_equal(w.leaf_pte, L4_PAGE | URW);
	assert_int_equal(w.leaf_pte_gpa, E_PTE);
	assert_true(w.writable && w.user && !w.nx);
	assert_int_equal(w.mode, GPT_MODE_4LEVEL);
	/* PCID bits and bits above MAXPHYADDR in CR3 are not part of the address. */
	c.cr3 = L4_PML4 | 0x5;
	c.cr4 |= CR4_PCIDE;
	assert_int_equal(walk(&c, L4_GVA, 0, &w), GPT_OK);
	assert_int_equal(w.gpa, L4_PAGE);
}

static void test_not_present_each_level(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	for (unsigned lvl = 0; lvl < 4; lvl++) {
		setup_4level(NULL);
		put64(l4_entries[lvl], get64(l4_entries[lvl]) & ~PTE_P);
		struct gpt_walk w;
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_PAGE_FAULT);
		assert_int_equal(w.pf_error_code, 0);
		assert_int_equal(w.levels, lvl + 1);
		assert_int_equal(w.leaf_pte_gpa, l4_entries[lvl]);
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE | GPT_ACCESS_USER, &w), GPT_PAGE_FAULT);
		assert_int_equal(w.pf_error_code, PF_EC_WRITE | PF_EC_USER);
		/* I/D: fetch with PAE-style paging and NXE. */
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_FETCH, &w), GPT_PAGE_FAULT);
		assert_int_equal(w.pf_error_code, PF_EC_FETCH);
	}
	/* Without NXE a fetch does not report I/D, unless CR4.SMEP. */
	setup_4level(NULL);
	put64(E_PTE, 0);
	c.efer &= ~EFER_NXE;
	struct gpt_walk w;
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_FETCH, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, 0);
	c.cr4 |= CR4_SMEP;
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_FETCH, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_FETCH);
}

static void test_user_supervisor(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	/* U/S clear at any one level makes the page supervisor-only. */
	for (unsigned lvl = 0; lvl < 4; lvl++) {
		setup_4level(NULL);
		put64(l4_entries[lvl], get64(l4_entries[lvl]) & ~PTE_U);
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_USER, &w), GPT_PAGE_FAULT);
		assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_USER);
		assert_int_equal(w.levels, 4);
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_USER | GPT_ACCESS_WRITE, &w), GPT_PAGE_FAULT);
		assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_USER | PF_EC_WRITE);
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_OK);
		assert_false(w.user);
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE, &w), GPT_OK);
	}
}

static void test_write_protect(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	for (unsigned lvl = 0; lvl < 4; lvl++) {
		setup_4level(NULL);
		put64(l4_entries[lvl], get64(l4_entries[lvl]) & ~PTE_W);
		c.cr0 &= ~CR0_WP;
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE, &w), GPT_OK); /* supervisor, WP=0 */
		assert_false(w.writable);
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE | GPT_ACCESS_USER, &w), GPT_PAGE_FAULT);
		assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_WRITE | PF_EC_USER);
		c.cr0 |= CR0_WP;
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE, &w), GPT_PAGE_FAULT);
		assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_WRITE);
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE | GPT_ACCESS_USER, &w), GPT_PAGE_FAULT);
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ | GPT_ACCESS_USER, &w), GPT_OK);
	}
}

/* SMEP and SMAP (SDM 4.6.1): supervisor fetches from / data accesses to user-mode pages. */
static void test_smep_smap(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	/* Without SMEP/SMAP, the supervisor may fetch from and touch a user page. */
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_FETCH, &w), GPT_OK);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_OK);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE, &w), GPT_OK);

	c.cr4 |= CR4_SMEP;
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_FETCH, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_FETCH);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_OK);    /* SMEP leaves data alone */
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_FETCH | GPT_ACCESS_USER, &w), GPT_OK); /* and ring 3 */

	c.cr4 = (c.cr4 & ~CR4_SMEP) | CR4_SMAP;
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_WRITE);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_FETCH, &w), GPT_OK);   /* SMAP leaves fetches alone */
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ | GPT_ACCESS_USER, &w), GPT_OK);
	c.rflags_ac = true; /* STAC: explicit supervisor accesses may reach user pages */
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_OK);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE, &w), GPT_OK);
	c.rflags_ac = false;

	/* A supervisor page is not subject to either, whatever the lower levels say. */
	c.cr4 |= CR4_SMEP;
	put64(E_PDPTE, get64(E_PDPTE) & ~PTE_U);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_FETCH, &w), GPT_OK);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_OK);

	/* 32-bit paging has SMEP too, and reports I/D with it. */
	memset(gmem, 0, sizeof(gmem));
	struct gpt_cpu c32 = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1000, .cr4 = CR4_SMEP };
	put32(0x1000, 0x2000 | URW);
	put32(0x2000, 0x3000 | URW);
	assert_int_equal(walk(&c32, 0, GPT_ACCESS_FETCH, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_FETCH);
}

/* gpt_walk.accessed says whether the CPU would have had to set an A flag (the shadow revalidation uses it). */
static void test_accessed_report(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_OK);
	assert_false(w.accessed); /* the tables are fresh */
	assert_int_equal(gpt_translate(&c, &OPS, L4_GVA, GPT_ACCESS_READ, true, &w), GPT_OK);
	assert_false(w.accessed); /* describes the entries before this walk set A */
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_OK);
	assert_true(w.accessed);
	/* The guest clears A at any one level: reported again. */
	for (unsigned lvl = 0; lvl < 4; lvl++) {
		put64(l4_entries[lvl], get64(l4_entries[lvl]) & ~PTE_A);
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_OK);
		assert_false(w.accessed);
		put64(l4_entries[lvl], get64(l4_entries[lvl]) | PTE_A);
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_OK);
		assert_true(w.accessed);
	}
}

static void test_nx(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	put64(E_PDPTE, get64(E_PDPTE) | PTE_NX);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_FETCH, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_FETCH);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_FETCH | GPT_ACCESS_USER, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_FETCH | PF_EC_USER);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_OK);
	assert_true(w.nx);
	/* XD without EFER.NXE is a reserved bit, for any access. */
	c.efer &= ~EFER_NXE;
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_RSVD);
	assert_int_equal(w.levels, 2);
	/* Without XD anywhere, fetches are fine with or without NXE. */
	put64(E_PDPTE, get64(E_PDPTE) & ~PTE_NX);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_FETCH, &w), GPT_OK);
	assert_false(w.nx);
	c.efer |= EFER_NXE;
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_FETCH, &w), GPT_OK);
}

static void test_large_pages_4level(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	const uint64_t gva = L4_GVA + 0x1234;
	/* 2 MiB: bits 20:0 from the address; bit 12 of the PDE is PAT, not address. */
	put64(E_PDE, 0x40000000ull | URW | PTE_PS | (1ull << 12));
	assert_int_equal(walk(&c, gva, GPT_ACCESS_WRITE, &w), GPT_OK);
	assert_int_equal(w.gpa, 0x40000000ull + (gva & (PAGE_SIZE_2M - 1)));
	assert_int_equal(w.page_size, PAGE_SIZE_2M);
	assert_int_equal(w.levels, 3);
	assert_int_equal(w.leaf_pte_gpa, E_PDE);
	/* 1 GiB. */
	put64(E_PDPTE, 0x1c0000000ull | URW | PTE_PS);
	assert_int_equal(walk(&c, gva, GPT_ACCESS_WRITE, &w), GPT_OK);
	assert_int_equal(w.gpa, 0x1c0000000ull + (gva & (PAGE_SIZE_1G - 1)));
	assert_int_equal(w.page_size, PAGE_SIZE_1G);
	assert_int_equal(w.levels, 2);
	/* PS in a PML4E is reserved. */
	put64(E_PML4E, get64(E_PML4E) | PTE_PS);
	assert_int_equal(walk(&c, gva, GPT_ACCESS_READ, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_RSVD);
	assert_int_equal(w.levels, 1);
}

static void test_reserved_bits(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	/* Bits 20:13 of a 2 MiB PDE. */
	put64(E_PDE, 0x40000000ull | URW | PTE_PS | (1ull << 13));
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE | GPT_ACCESS_USER, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_RSVD | PF_EC_WRITE | PF_EC_USER);
	assert_int_equal(w.leaf_pte_gpa, E_PDE);
	/* Bits 29:13 of a 1 GiB PDPTE. */
	put64(E_PDPTE, 0x40000000ull | URW | PTE_PS | (1ull << 20));
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_RSVD);
	setup_4level(NULL);
	/* Address bits above MAXPHYADDR, at each level. */
	c.maxphyaddr = 36;
	for (unsigned lvl = 0; lvl < 4; lvl++) {
		setup_4level(NULL);
		put64(l4_entries[lvl], get64(l4_entries[lvl]) | (1ull << 40));
		assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_PAGE_FAULT);
		assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_RSVD);
		assert_int_equal(w.levels, lvl + 1);
	}
	/* With MAXPHYADDR 52 bit 51 is an address bit, and bits 62:52 are ignored in 4-level paging. */
	c.maxphyaddr = 0;
	setup_4level(NULL);
	put64(E_PTE, get64(E_PTE) | (1ull << 51) | (1ull << 55));
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_OK);
	assert_int_equal(w.gpa, L4_PAGE | (1ull << 51));
	/* A not-present entry's other bits do not matter. */
	put64(E_PTE, 0xfffffffffffffffeull);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, 0);
}

/* Without 1 GiB pages (CPUID.80000001h:EDX[26] = 0), PS in a PDPTE is a reserved bit (SDM 4.5.4). */
static void test_pdpte_ps_without_1g_pages(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	c.page_1g = false;
	put64(E_PDPTE, 0x40000000ull | URW | PTE_PS);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_RSVD | PF_EC_WRITE);
	assert_int_equal(w.levels, 2);
	assert_int_equal(w.leaf_pte_gpa, E_PDPTE);
	/* PS clear: an ordinary PDPTE, walked on to the PD. */
	setup_4level(NULL);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE, &w), GPT_OK);
	assert_int_equal(w.page_size, PAGE_SIZE);
	/* 2 MiB pages need no CPUID bit. */
	put64(E_PDE, 0x40000000ull | URW | PTE_PS);
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_READ, &w), GPT_OK);
	assert_int_equal(w.page_size, PAGE_SIZE_2M);
}

/* The PDPTE-register check of MOV to CR3/CR0/CR4 in PAE paging (SDM 4.4.1, Table 4-8). */
static void test_pae_pdpte_valid(void **state)
{
	(void)state;
	const uint64_t table = 0x12345000ull;
	assert_true(gpt_pae_pdpte_valid(table | PTE_P, 36));
	assert_true(gpt_pae_pdpte_valid(0, 36));
	/* Not present: nothing else is checked. */
	assert_true(gpt_pae_pdpte_valid(~PTE_P, 36));
	/* Bits 2:1 (R/W, U/S positions) and 8:5 are reserved. */
	for (unsigned bit = 1; bit <= 8; bit++) {
		const bool reserved = bit <= 2 || bit >= 5;
		assert_int_equal(gpt_pae_pdpte_valid(table | PTE_P | (1ull << bit), 36), !reserved);
	}
	/* PWT, PCD (bits 3, 4) and the ignored bits 11:9 are not. */
	assert_true(gpt_pae_pdpte_valid(table | PTE_P | (7ull << 9), 36));
	/* Bits 63:MAXPHYADDR, XD (bit 63) included. */
	assert_false(gpt_pae_pdpte_valid(table | PTE_P | (1ull << 36), 36));
	assert_true(gpt_pae_pdpte_valid(table | PTE_P | (1ull << 35), 36));
	assert_true(gpt_pae_pdpte_valid(table | PTE_P | (1ull << 36), 46));
	assert_false(gpt_pae_pdpte_valid(table | PTE_P | (1ull << 63), 52));
	assert_false(gpt_pae_pdpte_valid(table | PTE_P | (1ull << 63), 0));
}

static void test_noncanonical(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	assert_int_equal(walk(&c, 0x0000800000000000ull, 0, &w), GPT_NONCANONICAL);
	assert_int_equal(walk(&c, 0xffff7fffffffffffull, 0, &w), GPT_NONCANONICAL);
	assert_int_equal(walk(&c, 0x8000000000000000ull, 0, &w), GPT_NONCANONICAL);
	/* The lowest and highest canonical halves walk (and fault: not mapped here). */
	assert_int_equal(walk(&c, 0xffff800000000000ull, 0, &w), GPT_PAGE_FAULT);
	assert_int_equal(walk(&c, 0x00007fffffffffffull, 0, &w), GPT_PAGE_FAULT);
	assert_int_equal(walk(&c, L4_GVA, 0, &w), GPT_OK);
}

static void test_accessed_dirty(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	/* Without set_accessed_dirty nothing is written. */
	assert_int_equal(walk(&c, L4_GVA, GPT_ACCESS_WRITE, &w), GPT_OK);
	assert_int_equal(pte_writes, 0);
	/* A read: A everywhere, no D. */
	assert_int_equal(gpt_translate(&c, &OPS, L4_GVA, GPT_ACCESS_READ, true, &w), GPT_OK);
	assert_int_equal(pte_writes, 4);
	for (unsigned lvl = 0; lvl < 4; lvl++) {
		assert_true(get64(l4_entries[lvl]) & PTE_A);
		assert_false(get64(l4_entries[lvl]) & PTE_D);
	}
	assert_int_equal(w.leaf_pte, L4_PAGE | URW); /* the value before the update */
	/* Again: nothing changes, nothing written. */
	assert_int_equal(gpt_translate(&c, &OPS, L4_GVA, GPT_ACCESS_READ, true, &w), GPT_OK);
	assert_int_equal(pte_writes, 4);
	/* A write: D in the leaf only. */
	assert_int_equal(gpt_translate(&c, &OPS, L4_GVA, GPT_ACCESS_WRITE, true, &w), GPT_OK);
	assert_int_equal(pte_writes, 5);
	assert_int_equal(get64(E_PTE), L4_PAGE | URW | PTE_A | PTE_D);
	for (unsigned lvl = 0; lvl < 3; lvl++)
		assert_false(get64(l4_entries[lvl]) & PTE_D);

	/* A faulting access changes nothing. */
	setup_4level(NULL);
	put64(E_PTE, get64(E_PTE) & ~PTE_W);
	c.cr0 |= CR0_WP;
	uint8_t before[GMEM_SIZE];
	memcpy(before, gmem, sizeof(before));
	assert_int_equal(gpt_translate(&c, &OPS, L4_GVA, GPT_ACCESS_WRITE, true, &w), GPT_PAGE_FAULT);
	assert_memory_equal(before, gmem, sizeof(before));
	assert_int_equal(pte_writes, 0);
	put64(E_PTE, 0);
	memcpy(before, gmem, sizeof(before));
	assert_int_equal(gpt_translate(&c, &OPS, L4_GVA, GPT_ACCESS_READ, true, &w), GPT_PAGE_FAULT);
	assert_memory_equal(before, gmem, sizeof(before));

	/* 2 MiB leaf: D in the PDE. */
	setup_4level(NULL);
	put64(E_PDE, 0x40000000ull | URW | PTE_PS);
	assert_int_equal(gpt_translate(&c, &OPS, L4_GVA, GPT_ACCESS_WRITE, true, &w), GPT_OK);
	assert_int_equal(get64(E_PDE), 0x40000000ull | URW | PTE_PS | PTE_A | PTE_D);
	assert_int_equal(pte_writes, 3);
	assert_int_equal(get64(E_PTE), L4_PAGE | URW); /* not used: untouched */
}

/*
 * PAE layout: CR3 = 0x5020 (a 32-byte aligned PDPT), PD 0x6000, PT 0x7000;
 * GVA uses PDPTE 2, PDE 3, PTE 4 and maps GPA 0x20000.
 */
#define PAE_PDPT 0x5020ull
#define PAE_PD   0x6000ull
#define PAE_PT   0x7000ull
#define PAE_GVA  ((2ull << 30) | (3ull << 21) | (4ull << 12))
#define E_PAE_PDPTE (PAE_PDPT + 2 * 8)
#define E_PAE_PDE   (PAE_PD + 3 * 8)
#define E_PAE_PTE   (PAE_PT + 4 * 8)

static struct gpt_cpu cpu_pae(void)
{
	struct gpt_cpu c = { 0 };
	c.cr0 = CR0_PE | CR0_PG;
	c.cr3 = PAE_PDPT;
	c.cr4 = CR4_PAE;
	c.efer = EFER_NXE;
	return c;
}

static int setup_pae(void **state)
{
	(void)state;
	memset(gmem, 0, sizeof(gmem));
	pte_writes = 0;
	put64(E_PAE_PDPTE, PAE_PD | PTE_P);
	put64(E_PAE_PDE, PAE_PT | URW);
	put64(E_PAE_PTE, 0x20000ull | URW);
	return 0;
}

static void test_pae(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu_pae();
	struct gpt_walk w;
	assert_int_equal(gpt_mode_of(&c), GPT_MODE_PAE);
	assert_int_equal(walk(&c, PAE_GVA + 0x321, GPT_ACCESS_WRITE | GPT_ACCESS_USER, &w), GPT_OK);
	assert_int_equal(w.gpa, 0x20321);
	assert_int_equal(w.levels, 3);
	assert_int_equal(w.leaf_pte_gpa, E_PAE_PTE);
	assert_int_equal(w.mode, GPT_MODE_PAE);
	/* Linear addresses are 32 bits. */
	assert_int_equal(walk(&c, 1ull << 32, 0, &w), GPT_NONCANONICAL);
	/* 2 MiB page. */
	put64(E_PAE_PDE, 0x00400000ull | URW | PTE_PS);
	assert_int_equal(walk(&c, PAE_GVA + 0x321, 0, &w), GPT_OK);
	assert_int_equal(w.gpa, 0x00400000ull + ((PAE_GVA + 0x321) & (PAGE_SIZE_2M - 1)));
	assert_int_equal(w.page_size, PAGE_SIZE_2M);
	assert_int_equal(w.levels, 2);
	/* Reserved bits 20:13 of a 2 MiB PDE; bits 62:MAXPHYADDR of a PTE (PAE: not ignored). */
	put64(E_PAE_PDE, 0x00400000ull | URW | PTE_PS | (1ull << 14));
	assert_int_equal(walk(&c, PAE_GVA, 0, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_RSVD);
	setup_pae(NULL);
	put64(E_PAE_PTE, get64(E_PAE_PTE) | (1ull << 55));
	assert_int_equal(walk(&c, PAE_GVA, 0, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_RSVD);
	/* PDPTE reserved bits 2:1 (R/W and U/S do not exist there). */
	setup_pae(NULL);
	put64(E_PAE_PDPTE, PAE_PD | PTE_P | PTE_W);
	assert_int_equal(walk(&c, PAE_GVA, 0, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_RSVD);
	assert_int_equal(w.levels, 1);
	/* Not-present PDPTE. */
	put64(E_PAE_PDPTE, 0);
	assert_int_equal(walk(&c, PAE_GVA, GPT_ACCESS_WRITE, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_WRITE);
	/* The PDPTE registers, when given, replace the PDPT in memory. */
	c.pdptes_valid = true;
	c.pdpte[2] = PAE_PD | PTE_P;
	assert_int_equal(walk(&c, PAE_GVA, 0, &w), GPT_OK);
	assert_int_equal(w.gpa, 0x20000);
	c.pdpte[2] = 0;
	put64(E_PAE_PDPTE, PAE_PD | PTE_P);
	assert_int_equal(walk(&c, PAE_GVA, 0, &w), GPT_PAGE_FAULT);
	c.pdptes_valid = false;
	/* XD with NXE. */
	setup_pae(NULL);
	put64(E_PAE_PTE, get64(E_PAE_PTE) | PTE_NX);
	assert_int_equal(walk(&c, PAE_GVA, GPT_ACCESS_FETCH, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_FETCH);
	c.efer = 0;
	assert_int_equal(walk(&c, PAE_GVA, GPT_ACCESS_READ, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_RSVD);
	/* A/D: the PDPTE has no A flag; PDE and PTE get A, the PTE D. */
	setup_pae(NULL);
	c = cpu_pae();
	assert_int_equal(gpt_translate(&c, &OPS, PAE_GVA, GPT_ACCESS_WRITE, true, &w), GPT_OK);
	assert_int_equal(get64(E_PAE_PDPTE), PAE_PD | PTE_P);
	assert_int_equal(get64(E_PAE_PDE), PAE_PT | URW | PTE_A);
	assert_int_equal(get64(E_PAE_PTE), 0x20000ull | URW | PTE_A | PTE_D);
	assert_int_equal(pte_writes, 2);
}

/*
 * 32-bit layout: CR3 = PD at 0x8000, PT at 0x9000; GVA uses PDE 5 and PTE 6
 * and maps GPA 0x30000.  Entries are 4 bytes.
 */
#define P32_PD  0x8000ull
#define P32_PT  0x9000ull
#define P32_GVA ((5ull << 22) | (6ull << 12))
#define E_P32_PDE (P32_PD + 5 * 4)
#define E_P32_PTE (P32_PT + 6 * 4)

static struct gpt_cpu cpu32(void)
{
	struct gpt_cpu c = { 0 };
	c.cr0 = CR0_PE | CR0_PG;
	c.cr3 = P32_PD;
	return c;
}

static int setup_32(void **state)
{
	(void)state;
	memset(gmem, 0, sizeof(gmem));
	pte_writes = 0;
	put32(E_P32_PDE, (uint32_t)(P32_PT | URW));
	put32(E_P32_PTE, (uint32_t)(0x30000 | URW));
	/* Garbage right after each entry: 4-byte entries must not see it. */
	put32(E_P32_PDE + 4, 0xffffffffu);
	put32(E_P32_PTE + 4, 0xffffffffu);
	return 0;
}

static void test_32bit(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu32();
	struct gpt_walk w;
	assert_int_equal(gpt_mode_of(&c), GPT_MODE_32BIT);
	assert_int_equal(walk(&c, P32_GVA + 0xabc, GPT_ACCESS_WRITE | GPT_ACCESS_USER, &w), GPT_OK);
	assert_int_equal(w.gpa, 0x30abc);
	assert_int_equal(w.levels, 2);
	assert_int_equal(w.leaf_pte, 0x30000 | URW);
	assert_int_equal(w.leaf_pte_gpa, E_P32_PTE);
	assert_false(w.nx);
	assert_int_equal(walk(&c, 1ull << 32, 0, &w), GPT_NONCANONICAL);
	/* PS without CR4.PSE is ignored: the PDE still points to a page table. */
	put32(E_P32_PDE, (uint32_t)(P32_PT | URW | PTE_PS));
	assert_int_equal(walk(&c, P32_GVA, 0, &w), GPT_OK);
	assert_int_equal(w.gpa, 0x30000);
	/* 4 MiB page with CR4.PSE; PSE-36 bits 20:13 give address bits 39:32. */
	c.cr4 = CR4_PSE;
	put32(E_P32_PDE, (uint32_t)(0x00c00000u | URW | PTE_PS | (3u << 13)));
	assert_int_equal(walk(&c, P32_GVA + 0xabc, GPT_ACCESS_WRITE, &w), GPT_OK);
	assert_int_equal(w.gpa, 0x300c00000ull + ((P32_GVA + 0xabc) & 0x3fffff));
	assert_int_equal(w.page_size, 4 * 1024 * 1024);
	assert_int_equal(w.levels, 1);
	/* Bit 21 is reserved; with MAXPHYADDR 36, so are bits 20:17. */
	put32(E_P32_PDE, (uint32_t)(0x00c00000u | URW | PTE_PS | (1u << 21)));
	assert_int_equal(walk(&c, P32_GVA, 0, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_RSVD);
	c.maxphyaddr = 36;
	put32(E_P32_PDE, (uint32_t)(0x00c00000u | URW | PTE_PS | (1u << 17)));
	assert_int_equal(walk(&c, P32_GVA, 0, &w), GPT_PAGE_FAULT);
	put32(E_P32_PDE, (uint32_t)(0x00c00000u | URW | PTE_PS | (1u << 16)));
	assert_int_equal(walk(&c, P32_GVA, 0, &w), GPT_OK);
	assert_int_equal(w.gpa, 0x800c00000ull + (P32_GVA & 0x3fffff));
	c.maxphyaddr = 0;
	/* Rights: U/S and R/W with WP. */
	setup_32(NULL);
	c = cpu32();
	put32(E_P32_PTE, (uint32_t)(0x30000 | PTE_P | PTE_U));
	assert_int_equal(walk(&c, P32_GVA, GPT_ACCESS_WRITE, &w), GPT_OK);
	c.cr0 |= CR0_WP;
	assert_int_equal(walk(&c, P32_GVA, GPT_ACCESS_WRITE, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_WRITE);
	put32(E_P32_PDE, (uint32_t)(P32_PT | PTE_P | PTE_W));
	assert_int_equal(walk(&c, P32_GVA, GPT_ACCESS_USER, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_PRESENT | PF_EC_USER);
	/* No NX in 32-bit paging: fetches are allowed and I/D is reported only with SMEP. */
	setup_32(NULL);
	assert_int_equal(walk(&c, P32_GVA, GPT_ACCESS_FETCH, &w), GPT_OK);
	put32(E_P32_PTE, 0);
	c.efer = EFER_NXE;
	assert_int_equal(walk(&c, P32_GVA, GPT_ACCESS_FETCH, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, 0);
	c.cr4 |= CR4_SMEP;
	assert_int_equal(walk(&c, P32_GVA, GPT_ACCESS_FETCH, &w), GPT_PAGE_FAULT);
	assert_int_equal(w.pf_error_code, PF_EC_FETCH);
	/* A/D with 4-byte entries: the neighbours stay untouched. */
	setup_32(NULL);
	c = cpu32();
	assert_int_equal(gpt_translate(&c, &OPS, P32_GVA, GPT_ACCESS_WRITE, true, &w), GPT_OK);
	assert_int_equal(get32(E_P32_PDE), (uint32_t)(P32_PT | URW | PTE_A));
	assert_int_equal(get32(E_P32_PTE), (uint32_t)(0x30000 | URW | PTE_A | PTE_D));
	assert_int_equal(get32(E_P32_PDE + 4), 0xffffffffu);
	assert_int_equal(get32(E_P32_PTE + 4), 0xffffffffu);
}

static void test_bad_gpa(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	/* A page table outside guest RAM. */
	put64(E_PDE, 0x10000000ull | URW);
	assert_int_equal(walk(&c, L4_GVA, 0, &w), GPT_BAD_GPA);
	/* CR3 outside guest RAM. */
	c.cr3 = 0x80000000ull;
	assert_int_equal(walk(&c, L4_GVA, 0, &w), GPT_BAD_GPA);
	/* A/D write-back failing (no write_pte given). */
	setup_4level(NULL);
	c = cpu64();
	const struct gpt_ops ro = { rd, NULL, NULL };
	assert_int_equal(gpt_translate(&c, &ro, L4_GVA, 0, true, &w), GPT_BAD_GPA);
	assert_int_equal(gpt_translate(&c, &ro, L4_GVA, 0, false, &w), GPT_OK);
}

static void test_unsupported_modes(void **state)
{
	(void)state;
	struct gpt_cpu c = cpu64();
	struct gpt_walk w;
	c.cr4 |= CR4_LA57;
	assert_int_equal(gpt_mode_of(&c), GPT_MODE_INVALID);
	assert_int_equal(walk(&c, L4_GVA, 0, &w), GPT_UNSUPPORTED);
	c = cpu64();
	c.cr4 &= ~CR4_PAE; /* LMA without PAE */
	assert_int_equal(walk(&c, L4_GVA, 0, &w), GPT_UNSUPPORTED);
	c = cpu64();
	c.cr0 &= ~CR0_PG; /* LMA without PG */
	assert_int_equal(walk(&c, L4_GVA, 0, &w), GPT_UNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paging_off),
		cmocka_unit_test_setup(test_4level_4k, setup_4level),
		cmocka_unit_test_setup(test_not_present_each_level, setup_4level),
		cmocka_unit_test_setup(test_user_supervisor, setup_4level),
		cmocka_unit_test_setup(test_write_protect, setup_4level),
		cmocka_unit_test_setup(test_nx, setup_4level),
		cmocka_unit_test_setup(test_smep_smap, setup_4level),
		cmocka_unit_test_setup(test_accessed_report, setup_4level),
		cmocka_unit_test_setup(test_large_pages_4level, setup_4level),
		cmocka_unit_test_setup(test_reserved_bits, setup_4level),
		cmocka_unit_test_setup(test_pdpte_ps_without_1g_pages, setup_4level),
		cmocka_unit_test(test_pae_pdpte_valid),
		cmocka_unit_test_setup(test_noncanonical, setup_4level),
		cmocka_unit_test_setup(test_accessed_dirty, setup_4level),
		cmocka_unit_test_setup(test_pae, setup_pae),
		cmocka_unit_test_setup(test_32bit, setup_32),
		cmocka_unit_test_setup(test_bad_gpa, setup_4level),
		cmocka_unit_test_setup(test_unsupported_modes, setup_4level),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
