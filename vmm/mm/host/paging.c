#include <string.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/paging.h>
#include "vmm/log.h"
#include "vmm/paging.h"
#include "vmm/screen.h"

#define FOUR_GIB (4ull << 30)

static uint64_t *alloc_table(struct pmm *pmm)
{
	uint64_t phys = pmm_alloc(pmm, 1, PAGE_SIZE);
	if (phys == PMM_NO_MEMORY)
		return NULL;
	memset(phys_to_virt(phys), 0, PAGE_SIZE);
	return phys_to_virt(phys);
}

/* The table an entry points to, allocated (empty) when the entry is not present. */
static uint64_t *next_table(uint64_t *entry, struct pmm *pmm)
{
	if (!(*entry & PTE_P)) {
		uint64_t *t = alloc_table(pmm);
		if (!t)
			return NULL;
		*entry = virt_to_phys(t) | PTE_P | PTE_W;
	}
	return phys_to_virt(*entry & PTE_ADDR_MASK);
}

/*
 * Identity-map a framebuffer that lies above the identity map, with 2 MiB pages.  PCD=1, PWT=0
 * selects PAT entry 2, UC- at power-on (SDM Vol. 3A 13.12.3, Table 13-11): uncached unless the
 * MTRRs make the range write-combining (Table 13-7), never write-back like RAM.
 */
static int map_framebuffer(uint64_t *pml4, const struct bootinfo_framebuffer *fb, uint64_t mapped_end,
			   struct pmm *pmm)
{
	const uint64_t end = fb->addr + screen_fb_size(fb);
	for (uint64_t pa = fb->addr & ~(PAGE_SIZE_2M - 1); pa < end; pa += PAGE_SIZE_2M) {
		uint64_t *pdpt, *pd;
		if (pa < mapped_end)
			continue;
		pdpt = next_table(&pml4[(pa >> PML4_SHIFT) & PT_INDEX_MASK], pmm);
		pd = pdpt ? next_table(&pdpt[(pa >> PDPT_SHIFT) & PT_INDEX_MASK], pmm) : NULL;
		if (!pd)
			return -1;
		pd[(pa >> PD_SHIFT) & PT_INDEX_MASK] = pa | PTE_P | PTE_W | PTE_PS | PTE_PCD;
	}
	log_info("paging: framebuffer [%#llx-%#llx) mapped uncached (PAT UC-) above the identity map",
		 (unsigned long long)fb->addr, (unsigned long long)end);
	return 0;
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
	if (screen_fb_size(&bi->fb) && bi->fb.addr + screen_fb_size(&bi->fb) > top &&
	    map_framebuffer(pml4, &bi->fb, top, pmm) != 0)
		return -1;
	write_cr3(virt_to_phys(pml4));
	log_info("paging: identity map of %llu GiB with %s pages, PML4 at %p", (unsigned long long)(top >> 30),
		 use_1g ? "1 GiB" : "2 MiB", (void *)pml4);
	return 0;
}
