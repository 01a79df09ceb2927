/*
 * Guest page-table walker (see vmm/include/vmm/gpt.h).  SDM Vol. 3A 4.3-4.8.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "arch/cr.h"
#include "arch/msr.h"
#include "arch/paging.h"
#include "vmm/gpt.h"

#define GPT_MAX_LEVELS 4u

/* Linear-address widths. */
#define GPT_LA32_LIMIT     (1ull << 32)        /* 32-bit modes: linear addresses are 32 bits (SDM 4.1.1) */
#define GPT_LA_BITS        48u                 /* 4-level paging: bits 63:47 equal (SDM 3.3.7.1) */
#define GPT_LA_HIGH_ONES   ((1ull << (64 - GPT_LA_BITS + 1)) - 1) /* bits 63:47 all ones, shifted down */

/* 32-bit paging (SDM 4.3). */
#define PTE32_SIZE         4u
#define PT32_INDEX_BITS    10u
#define PT32_INDEX_MASK    ((1u << PT32_INDEX_BITS) - 1)
#define PT32_ADDR_MASK     0xfffff000ull       /* CR3, PDE and PTE: bits 31:12 */
#define GPT_PAGE_SIZE_4M   (1ull << 22)
#define PDE32_4M_ADDR_LOW  0xffc00000ull       /* 4 MiB PDE: bits 31:22 = address bits 31:22 */
#define PDE32_4M_HI_SHIFT  13u                 /* bits 20:13 = address bits 39:32 (PSE-36) */
#define PDE32_4M_HI_BITS   8u
#define PDE32_4M_RSVD_TOP  21u                 /* bit 21 always reserved (Table 4-4) */
#define PSE36_MAX_BITS     40u                 /* PSE-36 reaches at most 40 address bits */
#define PSE36_LOW_BITS     32u

/* PAE paging (SDM 4.4). */
#define PTE64_SIZE         8u
#define PAE_PDPT_ADDR_MASK 0xffffffe0ull       /* CR3 bits 31:5 */
#define PAE_PDPTE_INDEX_MASK (GPT_PAE_PDPTES - 1)
#define PAE_TOP_RSVD_BIT   62u                 /* PDE/PTE: bits 62:MAXPHYADDR reserved (Tables 4-9..4-11) */

/* 4-level paging (SDM 4.5). */
#define L4_TOP_RSVD_BIT    51u                 /* bits 51:MAXPHYADDR reserved (Tables 4-15 .. 4-20) */
#define TOP_BIT            63u

/* Paging levels as numbered here: 1 = PT, 2 = PD, 3 = PDPT, 4 = PML4. */
#define GPT_LEVEL_PT   1u
#define GPT_LEVEL_PD   2u
#define GPT_LEVEL_PDPT 3u
#define GPT_LEVEL_PML4 4u

static unsigned phys_bits(unsigned maxphyaddr)
{
	return maxphyaddr == 0 || maxphyaddr > GPT_DEFAULT_MAXPHYADDR ? GPT_DEFAULT_MAXPHYADDR : maxphyaddr;
}

/* Bits hi:lo set. */
static uint64_t bit_range(unsigned hi, unsigned lo)
{
	return hi < lo ? 0 : (((hi >= TOP_BIT) ? ~0ull : ((1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1));
}

enum gpt_mode gpt_mode_of(const struct gpt_cpu *cpu)
{
	const bool pg = cpu->cr0 & CR0_PG, pae = cpu->cr4 & CR4_PAE, lma = cpu->efer & EFER_LMA;
	if (!pg)
		return lma ? GPT_MODE_INVALID : GPT_MODE_NONE;
	if (!pae)
		return lma ? GPT_MODE_INVALID : GPT_MODE_32BIT;
	if (!lma)
		return GPT_MODE_PAE;
	return (cpu->cr4 & CR4_LA57) ? GPT_MODE_INVALID : GPT_MODE_4LEVEL;
}

/* One paging-structure entry used by the walk. */
struct used_entry {
	uint64_t gpa, val;
	unsigned size;
	bool pae_pdpte; /* PAE PDPTEs carry neither rights nor A/D flags (SDM 4.4.1) */
};

struct walk_state {
	const struct gpt_cpu *cpu;
	enum gpt_mode mode;
	unsigned maxphy;
	bool nxe;
};

/* Reserved bits of a present PAE PDPTE (SDM 4.4.2, Table 4-8). */
static uint64_t pae_pdpte_reserved(unsigned maxphy)
{
	return PAE_PDPTE_RSVD | bit_range(PAE_PDPTE_TOP_RSVD_BIT, maxphy);
}

bool gpt_pae_pdpte_valid(uint64_t pdpte, unsigned maxphyaddr)
{
	return !(pdpte & PTE_P) || !(pdpte & pae_pdpte_reserved(phys_bits(maxphyaddr)));
}

/* Reserved bits of a present entry v at `level` (SDM 4.3, 4.4.2, 4.5.4). */
static uint64_t reserved_bits(const struct walk_state *w, unsigned level, uint64_t v)
{
	const bool ps = v & PTE_PS;
	if (w->mode == GPT_MODE_32BIT) {
		if (level != GPT_LEVEL_PD || !ps || !(w->cpu->cr4 & CR4_PSE))
			return 0; /* 32-bit PDEs for tables and PTEs have no reserved bits */
		unsigned m = w->maxphy < PSE36_MAX_BITS ? w->maxphy : PSE36_MAX_BITS;
		if (m < PSE36_LOW_BITS)
			m = PSE36_LOW_BITS;
		return bit_range(PDE32_4M_RSVD_TOP, PDE32_4M_HI_SHIFT + (m - PSE36_LOW_BITS));
	}
	const uint64_t nx = w->nxe ? 0 : PTE_NX;
	if (w->mode == GPT_MODE_PAE) {
		if (level == GPT_LEVEL_PDPT)
			return pae_pdpte_reserved(w->maxphy);
		uint64_t r = bit_range(PAE_TOP_RSVD_BIT, w->maxphy) | nx;
		if (level == GPT_LEVEL_PD && ps)
			r |= bit_range(PD_SHIFT - 1, PT_SHIFT + 1); /* bits 20:13 (bit 12 is PAT) */
		return r;
	}
	/* 4-level paging. */
	uint64_t r = bit_range(L4_TOP_RSVD_BIT, w->maxphy) | nx;
	if (level == GPT_LEVEL_PML4)
		r |= PTE_PS;
	else if (level == GPT_LEVEL_PDPT && !w->cpu->page_1g)
		r |= PTE_PS; /* no 1 GiB pages on this CPU: PS is reserved (SDM 4.5.4, Table 4-16) */
	else if (level == GPT_LEVEL_PDPT && ps)
		r |= bit_range(PDPT_SHIFT - 1, PT_SHIFT + 1); /* bits 29:13 */
	else if (level == GPT_LEVEL_PD && ps)
		r |= bit_range(PD_SHIFT - 1, PT_SHIFT + 1);   /* bits 20:13 */
	return r;
}

static bool is_leaf(const struct walk_state *w, unsigned level, uint64_t v)
{
	if (level == GPT_LEVEL_PT)
		return true;
	if (!(v & PTE_PS))
		return false;
	if (w->mode == GPT_MODE_32BIT)
		return level == GPT_LEVEL_PD && (w->cpu->cr4 & CR4_PSE);
	if (w->mode == GPT_MODE_PAE)
		return level == GPT_LEVEL_PD;
	return level == GPT_LEVEL_PD || (level == GPT_LEVEL_PDPT && w->cpu->page_1g);
}

static unsigned level_shift(enum gpt_mode mode, unsigned level)
{
	if (mode == GPT_MODE_32BIT)
		return PT_SHIFT + PT32_INDEX_BITS * (level - 1);
	return PT_SHIFT + PT_INDEX_BITS * (level - 1);
}

/* Guest-physical address of the next table, or of the page of a leaf (page_size aligned). */
static uint64_t entry_address(const struct walk_state *w, unsigned level, uint64_t v, uint64_t page_size)
{
	if (w->mode == GPT_MODE_32BIT) {
		if (level == GPT_LEVEL_PD && page_size == GPT_PAGE_SIZE_4M) {
			const uint64_t hi = (v >> PDE32_4M_HI_SHIFT) & ((1ull << PDE32_4M_HI_BITS) - 1);
			return (v & PDE32_4M_ADDR_LOW) | (hi << PSE36_LOW_BITS);
		}
		return v & PT32_ADDR_MASK;
	}
	return v & PTE_ADDR_MASK & bit_range(w->maxphy - 1, 0) & ~(page_size - 1);
}

static uint32_t error_code(const struct walk_state *w, unsigned access)
{
	uint32_t ec = 0;
	if (access & GPT_ACCESS_WRITE)
		ec |= PF_EC_WRITE;
	if (access & GPT_ACCESS_USER)
		ec |= PF_EC_USER;
	/* SDM 4.7: I/D is reported only with SMEP, or with PAE/4-level paging and NXE. */
	if ((access & GPT_ACCESS_FETCH) &&
	    ((w->cpu->cr4 & CR4_SMEP) || ((w->cpu->cr4 & CR4_PAE) && w->nxe)))
		ec |= PF_EC_FETCH;
	return ec;
}

/* Access rights (SDM 4.6.1). */
static bool access_allowed(const struct walk_state *w, const struct gpt_walk *out, unsigned access)
{
	const bool user = access & GPT_ACCESS_USER;
	const bool fetch = access & GPT_ACCESS_FETCH;
	if (user && !out->user)
		return false;
	if (access & GPT_ACCESS_WRITE) {
		if (!out->writable && (user || (w->cpu->cr0 & CR0_WP)))
			return false;
	}
	if (fetch && out->nx)
		return false;
	/* A supervisor access to a user-mode address: SMEP forbids fetches, SMAP data accesses unless RFLAGS.AC. */
	if (!user && out->user) {
		if (fetch && (w->cpu->cr4 & CR4_SMEP))
			return false;
		if (!fetch && (w->cpu->cr4 & CR4_SMAP) && !w->cpu->rflags_ac)
			return false;
	}
	return true;
}

int gpt_translate(const struct gpt_cpu *cpu, const struct gpt_ops *ops, uint64_t gva, unsigned access,
		  bool set_accessed_dirty, struct gpt_walk *out)
{
	memset(out, 0, sizeof(*out));
	struct walk_state w = { cpu, gpt_mode_of(cpu), phys_bits(cpu->maxphyaddr), (cpu->efer & EFER_NXE) != 0 };
	out->mode = w.mode;
	out->writable = out->user = out->accessed = true;

	switch (w.mode) {
	case GPT_MODE_INVALID:
		return GPT_UNSUPPORTED;
	case GPT_MODE_4LEVEL: {
		const uint64_t top = gva >> (GPT_LA_BITS - 1);
		if (top != 0 && top != GPT_LA_HIGH_ONES)
			return GPT_NONCANONICAL;
		break;
	}
	default:
		if (gva >= GPT_LA32_LIMIT)
			return GPT_NONCANONICAL;
		break;
	}
	if (w.mode == GPT_MODE_NONE) {
		out->gpa = gva;
		out->page_size = PAGE_SIZE;
		return GPT_OK;
	}

	struct used_entry used[GPT_MAX_LEVELS];
	unsigned level;
	uint64_t table;
	if (w.mode == GPT_MODE_4LEVEL) {
		level = GPT_LEVEL_PML4;
		table = cpu->cr3 & PTE_ADDR_MASK & bit_range(w.maxphy - 1, 0);
	} else if (w.mode == GPT_MODE_PAE) {
		level = GPT_LEVEL_PDPT;
		table = cpu->cr3 & PAE_PDPT_ADDR_MASK;
	} else {
		level = GPT_LEVEL_PD;
		table = cpu->cr3 & PT32_ADDR_MASK;
	}

	for (;;) {
		const unsigned esize = w.mode == GPT_MODE_32BIT ? PTE32_SIZE : PTE64_SIZE;
		unsigned idx;
		if (w.mode == GPT_MODE_PAE && level == GPT_LEVEL_PDPT)
			idx = (unsigned)(gva >> PAE_PDPTE_SHIFT) & PAE_PDPTE_INDEX_MASK;
		else
			idx = (unsigned)(gva >> level_shift(w.mode, level)) &
			      (w.mode == GPT_MODE_32BIT ? PT32_INDEX_MASK : PT_INDEX_MASK);
		const uint64_t pte_gpa = table + (uint64_t)idx * esize;
		uint64_t v;
		if (w.mode == GPT_MODE_PAE && level == GPT_LEVEL_PDPT && cpu->pdptes_valid)
			v = cpu->pdpte[idx];
		else if (ops->read_pte(ops->ctx, pte_gpa, &v, esize) != 0)
			return GPT_BAD_GPA;
		used[out->levels] = (struct used_entry){ pte_gpa, v, esize, w.mode == GPT_MODE_PAE && level == GPT_LEVEL_PDPT };
		out->levels++;
		out->leaf_pte = v;
		out->leaf_pte_gpa = pte_gpa;

		if (!(v & PTE_P)) {
			out->pf_error_code = error_code(&w, access);
			return GPT_PAGE_FAULT;
		}
		if (v & reserved_bits(&w, level, v)) {
			out->pf_error_code = error_code(&w, access) | PF_EC_PRESENT | PF_EC_RSVD;
			return GPT_PAGE_FAULT;
		}
		if (!used[out->levels - 1].pae_pdpte) {
			out->accessed = out->accessed && (v & PTE_A);
			out->writable = out->writable && (v & PTE_W);
			out->user = out->user && (v & PTE_U);
			out->nx = out->nx || (w.nxe && (v & PTE_NX));
		}
		if (is_leaf(&w, level, v)) {
			const uint64_t size = w.mode == GPT_MODE_32BIT && level == GPT_LEVEL_PD
						      ? GPT_PAGE_SIZE_4M
						      : 1ull << level_shift(w.mode, level);
			out->page_size = size;
			out->gpa = entry_address(&w, level, v, size) | (gva & (size - 1));
			break;
		}
		table = entry_address(&w, level, v, PAGE_SIZE);
		level--;
	}

	if (!access_allowed(&w, out, access)) {
		out->pf_error_code = error_code(&w, access) | PF_EC_PRESENT;
		return GPT_PAGE_FAULT;
	}

	/* SDM 4.8: accessed flag in every entry used, dirty flag in the leaf on a write. */
	if (set_accessed_dirty) {
		for (unsigned i = 0; i < out->levels; i++) {
			if (used[i].pae_pdpte)
				continue;
			uint64_t nv = used[i].val | PTE_A;
			if (i + 1 == out->levels && (access & GPT_ACCESS_WRITE))
				nv |= PTE_D;
			/* Only the new A/D bits, set atomically: another vCPU may change the entry meanwhile. */
			if (nv != used[i].val && (!ops->write_pte ||
						  ops->write_pte(ops->ctx, used[i].gpa, nv & ~used[i].val, used[i].size) != 0))
				return GPT_BAD_GPA;
		}
	}
	return GPT_OK;
}
_Static_assert(GPT_PAE_PDPTES == PAE_PDPTE_COUNT, "four PAE PDPTEs (SDM 4.4.1)");
