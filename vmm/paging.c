#include <string.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/paging.h>
#include "vmm/log.h"
#include "vmm/paging.h"

#define FOUR_GIB (4ull << 30)

static uint64_t *alloc_table(struct pmm *pmm)
{
	uint64_t phys = pmm_alloc(pmm, 1, PAGE_SIZE);
	if (phys == PMM_NO_MEMORY)
		return NULL;
	memset(phys_to_virt(phys), 0, PAGE_SIZE);
	return phys_to_virt(phys);
}

int paging_init(const struct bootinfo *bi, struct pmm *pmm)
{
	uint64_t top = FOUR_GIB;
	const int use_1g = (cpuid(CPUID_LEAF_EXT_FEATURES_8001, 0).edx & CPUID_80000001_EDX_PAGE1GB) != 0;
	uint64_t *pml4 = alloc_table(pmm);

	for (unsigned i = 0; i < bi->mem_count; i++)
		if (bi->mem[i].base + bi->mem[i].length > top)
			top = bi->mem[i].base + bi->mem[i].length;
	top = (top + PAGE_SIZE_1G - 1) & ~(PAGE_SIZE_1G - 1);
	if (!pml4)
		return -1;

	/*
	 * Write-back everywhere in the page tables (PAT entry 0): the MTRRs make
	 * MMIO ranges uncacheable (SDM Vol. 3A 13.5.2.2: with PAT WB the MTRR type wins).
	 */
	for (uint64_t gib = 0; gib < top; gib += PAGE_SIZE_1G) {
		unsigned i4 = (gib >> PML4_SHIFT) & PT_INDEX_MASK, i3 = (gib >> PDPT_SHIFT) & PT_INDEX_MASK;
		uint64_t *pdpt;
		if (!(pml4[i4] & PTE_P)) {
			uint64_t *t = alloc_table(pmm);
			if (!t)
				return -1;
			pml4[i4] = virt_to_phys(t) | PTE_P | PTE_W;
		}
		pdpt = phys_to_virt(pml4[i4] & PTE_ADDR_MASK);
		if (use_1g) {
			pdpt[i3] = gib | PTE_P | PTE_W | PTE_PS;
			continue;
		}
		uint64_t *pd = alloc_table(pmm);
		if (!pd)
			return -1;
		for (unsigned i2 = 0; i2 < PT_ENTRIES; i2++)
			pd[i2] = (gib + (uint64_t)i2 * PAGE_SIZE_2M) | PTE_P | PTE_W | PTE_PS;
		pdpt[i3] = virt_to_phys(pd) | PTE_P | PTE_W;
	}
	write_cr3(virt_to_phys(pml4));
	log_info("paging: identity map of %llu GiB with %s pages, PML4 at %p", (unsigned long long)(top >> 30),
		 use_1g ? "1 GiB" : "2 MiB", (void *)pml4);
	return 0;
}
