/*
 * 4-level page tables (SDM Vol. 3A 4.5 "4-level paging and 5-level paging")
 * and address spaces.
 *
 * PML4 slot 0 is the kernel half: one PDPT, shared by every address space,
 * whose PML4 entry has U/S = 0 so nothing below it is reachable from ring 3
 * (SDM 4.6.1: a user-mode access needs U/S = 1 at every level).  It holds
 * the identity map of guest RAM (2 MiB pages, 4 KiB ones where RAM or the
 * unmapped page 0 need them) and the kernel demand region.  PML4 slot 1 is
 * the user half, private to each address space.
 */
#include <string.h>
#include <arch/cpuid.h>
#include "guest/abi.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/mm.h"
#include "guest/percpu.h"
#include "guest/priv.h"

#define MMAP_ALIGN PAGE_SIZE

struct aspace kernel_aspace;
/* The CR3 this CPU has loaded: each CPU's own (struct cpu_sched). */
#define active_cr3 (this_cpu()->sched.active_cr3)

static inline uint64_t *table_at(uint64_t entry)
{
	return phys_to_virt(entry & PTE_ADDR_MASK);
}

static inline unsigned pt_index(uint64_t va, unsigned shift)
{
	return (unsigned)(va >> shift) & PT_INDEX_MASK;
}

static inline bool in_kernel_half(uint64_t va)
{
	return pt_index(va, PML4_SHIFT) == KERNEL_HALF_SLOT && is_canonical(va);
}

static inline bool in_user_half(uint64_t va)
{
	return va >= USER_BASE && va < USER_END;
}

/* Intermediate entries: user-half tables let U/S through; the leaf decides. */
static uint64_t table_flags(uint64_t va)
{
	return PTE_P | PTE_W | (in_kernel_half(va) ? 0 : PTE_U);
}

/*
 * The entry at level `stop_shift` for va (PML4_SHIFT .. PT_SHIFT), creating
 * missing tables when create.  NULL when a table is missing (and not
 * created) or a large page is in the way.
 */
static uint64_t *entry_slot(uint64_t cr3, uint64_t va, unsigned stop_shift, bool create)
{
	uint64_t *t = phys_to_virt(cr3 & PTE_ADDR_MASK);
	for (unsigned shift = PML4_SHIFT; shift > stop_shift; shift -= PT_INDEX_BITS) {
		uint64_t *e = &t[pt_index(va, shift)];
		if (!(*e & PTE_P)) {
			if (!create)
				return NULL;
			uint64_t f = frame_alloc();
			if (!f)
				return NULL;
			*e = f | table_flags(va);
		} else if (*e & PTE_PS) {
			return NULL;
		}
		t = table_at(*e);
	}
	return &t[pt_index(va, stop_shift)];
}

bool pt_lookup(uint64_t cr3, uint64_t va, struct pt_walk *w)
{
	const uint64_t *t = phys_to_virt(cr3 & PTE_ADDR_MASK);
	unsigned levels = 0;
	for (unsigned shift = PML4_SHIFT;; shift -= PT_INDEX_BITS) {
		uint64_t e = t[pt_index(va, shift)];
		levels++;
		if (!(e & PTE_P))
			return false;
		/* PS in a PDPTE maps 1 GiB, in a PDE 2 MiB (SDM 4.5.4); a PTE is always a leaf. */
		if (shift == PT_SHIFT || (e & PTE_PS)) {
			const uint64_t size = 1ull << shift;
			*w = (struct pt_walk){
				.pte = e,
				.pa = (e & PTE_ADDR_MASK & ~(size - 1)) | (va & (size - 1)),
				.page_size = size,
				.levels = levels,
			};
			return true;
		}
		t = table_at(e);
	}
}

int pt_map(uint64_t cr3, uint64_t va, uint64_t pa, uint64_t leaf_flags)
{
	uint64_t *e = entry_slot(cr3, va, PT_SHIFT, true);
	if (!e)
		return SYS_ERR_NOMEM;
	if (*e & PTE_P)
		return SYS_ERR_INVAL;
	*e = (pa & PTE_ADDR_MASK) | leaf_flags | PTE_P;
	return 0;
}

uint64_t *pt_leaf_entry(uint64_t cr3, uint64_t va)
{
	return entry_slot(cr3, va, PT_SHIFT, false);
}

uint64_t pt_unmap(uint64_t cr3, uint64_t va)
{
	uint64_t *e = entry_slot(cr3, va, PT_SHIFT, false);
	if (!e || !(*e & PTE_P))
		return 0;
	uint64_t pa = *e & PTE_ADDR_MASK;
	*e = 0;
	/* A stale TLB entry can survive only where this address space is live (SDM 4.10.4.1). */
	if (cr3 == active_cr3 || in_kernel_half(va))
		invlpg(va);
	return pa;
}

static void map_large(uint64_t cr3, uint64_t va, uint64_t flags)
{
	uint64_t *e = entry_slot(cr3, va, PD_SHIFT, true);
	if (!e)
		panic("out of frames building the kernel map");
	*e = va | flags | PTE_PS;
}

static void enable_nx(void)
{
	struct cpuid_regs r = priv_cpuid(CPUID_LEAF_EXT_MAX, 0);
	if (r.eax < CPUID_LEAF_EXT_FEATURES_8001)
		return;
	r = priv_cpuid(CPUID_LEAF_EXT_FEATURES_8001, 0);
	if (!(r.edx & CPUID_80000001_EDX_NX))
		return;
	priv_wrmsr(MSR_IA32_EFER, priv_rdmsr(MSR_IA32_EFER) | EFER_NXE);
	nx_enabled = true;
}

void aspace_activate(const struct aspace *as)
{
	if (as->cr3 != active_cr3) {
		priv_write_cr3(as->cr3);
		active_cr3 = as->cr3;
	}
}

void paging_init(void)
{
	enable_nx();
	const uint64_t mem = boot_config.guest_mem < KERNEL_MAP_MAX ? boot_config.guest_mem : KERNEL_MAP_MAX;
	const uint64_t kflags = PTE_P | PTE_W; /* supervisor-only, executable: the kernel image lives here */
	uint64_t pml4 = frame_alloc();
	if (!pml4)
		panic("no frame for the kernel PML4");
	kernel_aspace.cr3 = pml4;

	for (uint64_t chunk = 0; chunk < mem; chunk += PAGE_SIZE_2M) {
		if (chunk && chunk + PAGE_SIZE_2M <= mem) {
			map_large(pml4, chunk, kflags);
			continue;
		}
		/* Page 0 stays unmapped; RAM ending inside the chunk is mapped exactly. */
		for (uint64_t pa = chunk ? chunk : PAGE_SIZE; pa < chunk + PAGE_SIZE_2M && pa < mem; pa += PAGE_SIZE)
			if (pt_map(pml4, pa, pa, kflags))
				panic("out of frames building the kernel map");
	}

	/* The kernel demand region: its page table exists up front, its pages come on first touch. */
	if (!entry_slot(pml4, KERNEL_DEMAND_BASE, PT_SHIFT, true))
		panic("out of frames building the kernel demand region");
	kernel_aspace.vmas[kernel_aspace.nr_vmas++] = (struct vma){
		KERNEL_DEMAND_BASE, KERNEL_DEMAND_BASE + KERNEL_DEMAND_PAGES * PAGE_SIZE, VMA_WRITE
	};
	aspace_activate(&kernel_aspace);
}

uint64_t vma_pte_flags(uint32_t vma_flags)
{
	uint64_t f = PTE_P;
	if (vma_flags & VMA_USER)
		f |= PTE_U;
	if (vma_flags & VMA_WRITE)
		f |= PTE_W;
	if (!(vma_flags & VMA_EXEC) && nx_enabled)
		f |= PTE_NX;
	return f;
}

int aspace_create(struct aspace *as)
{
	memset(as, 0, sizeof(*as));
	as->cr3 = frame_alloc();
	if (!as->cr3)
		return SYS_ERR_NOMEM;
	const uint64_t *kpml4 = phys_to_virt(kernel_aspace.cr3);
	uint64_t *pml4 = phys_to_virt(as->cr3);
	pml4[KERNEL_HALF_SLOT] = kpml4[KERNEL_HALF_SLOT];
	as->mmap_next = USER_MMAP_BASE;
	return 0;
}

/* Frees the tables (and, at the leaves, the frames) below a user-half entry. */
static void free_tree(uint64_t entry, unsigned level_shift)
{
	uint64_t *t = table_at(entry);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		if (!(t[i] & PTE_P))
			continue;
		if (level_shift == PT_SHIFT)
			frame_free(t[i] & PTE_ADDR_MASK);
		else
			free_tree(t[i], level_shift - PT_INDEX_BITS);
	}
	frame_free(entry & PTE_ADDR_MASK);
}

void aspace_clear_user_half(struct aspace *as)
{
	uint64_t *pml4 = phys_to_virt(as->cr3);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		if (i != KERNEL_HALF_SLOT && (pml4[i] & PTE_P)) {
			free_tree(pml4[i], PDPT_SHIFT);
			pml4[i] = 0;
		}
	}
	if (as->cr3 == active_cr3)
		priv_write_cr3(as->cr3); /* no translation of the freed frames may stay in the TLB */
}

void aspace_destroy(struct aspace *as)
{
	if (!as->cr3)
		return;
	if (as->cr3 == active_cr3)
		aspace_activate(&kernel_aspace);
	aspace_clear_user_half(as);
	frame_free(as->cr3);
	as->cr3 = 0;
	as->nr_vmas = 0;
}

const struct vma *vma_find(const struct aspace *as, uint64_t va)
{
	for (unsigned i = 0; i < as->nr_vmas; i++)
		if (va >= as->vmas[i].start && va < as->vmas[i].end)
			return &as->vmas[i];
	return NULL;
}

bool aspace_overlaps(const struct aspace *as, uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < as->nr_vmas; i++)
		if (start < as->vmas[i].end && as->vmas[i].start < end)
			return true;
	return false;
}

static void unmap_pages(struct aspace *as, uint64_t start, uint64_t end)
{
	for (uint64_t va = start; va < end; va += PAGE_SIZE) {
		uint64_t pa = pt_unmap(as->cr3, va);
		if (pa)
			frame_free(pa);
	}
}

int aspace_add_region(struct aspace *as, uint64_t start, uint64_t end, uint32_t flags, bool populate)
{
	if ((start | end) & ~PAGE_MASK || start >= end)
		return SYS_ERR_INVAL;
	if ((flags & VMA_USER) ? !(in_user_half(start) && end <= USER_END) : !in_kernel_half(start))
		return SYS_ERR_INVAL;
	if (aspace_overlaps(as, start, end))
		return SYS_ERR_INVAL;
	if (as->nr_vmas == MAX_VMAS)
		return SYS_ERR_NOMEM;
	if (populate) {
		for (uint64_t va = start; va < end; va += PAGE_SIZE) {
			uint64_t f = frame_alloc();
			if (!f || pt_map(as->cr3, va, f, vma_pte_flags(flags))) {
				if (f)
					frame_free(f);
				unmap_pages(as, start, va);
				return SYS_ERR_NOMEM;
			}
		}
	}
	as->vmas[as->nr_vmas++] = (struct vma){ start, end, flags };
	return 0;
}

int aspace_remove_range(struct aspace *as, uint64_t start, uint64_t end)
{
	if ((start | end) & ~PAGE_MASK || start >= end)
		return SYS_ERR_INVAL;
	/* A range strictly inside one region splits it in two: make sure there is room first. */
	for (unsigned i = 0; i < as->nr_vmas; i++)
		if (as->vmas[i].start < start && end < as->vmas[i].end && as->nr_vmas == MAX_VMAS)
			return SYS_ERR_NOMEM;
	for (unsigned i = 0; i < as->nr_vmas;) {
		struct vma *v = &as->vmas[i];
		if (end <= v->start || v->end <= start) {
			i++;
			continue;
		}
		uint64_t s = start > v->start ? start : v->start;
		uint64_t e = end < v->end ? end : v->end;
		unmap_pages(as, s, e);
		if (s == v->start && e == v->end) {
			*v = as->vmas[--as->nr_vmas];
			continue; /* look at the region moved into slot i */
		}
		if (s == v->start) {
			v->start = e;
		} else if (e == v->end) {
			v->end = s;
		} else {
			as->vmas[as->nr_vmas++] = (struct vma){ e, v->end, v->flags };
			v->end = s;
		}
		i++;
	}
	return 0;
}

bool demand_fault(struct aspace *as, uint64_t va, uint64_t error_code)
{
	if (error_code & (PF_ERR_P | PF_ERR_RSVD))
		return false; /* the page is there: a protection violation, not a missing page */
	const struct vma *v = vma_find(as, va);
	if (!v)
		return false;
	if (((error_code & PF_ERR_U) && !(v->flags & VMA_USER)) || ((error_code & PF_ERR_W) && !(v->flags & VMA_WRITE)) ||
	    ((error_code & PF_ERR_I) && !(v->flags & VMA_EXEC)))
		return false;
	uint64_t f = frame_alloc();
	if (!f)
		return false;
	if (pt_map(as->cr3, va & PAGE_MASK, f, vma_pte_flags(v->flags))) {
		frame_free(f);
		return false;
	}
	as->demand_faults++;
	return true;
}
