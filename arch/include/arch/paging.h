/* x86-64 paging structures (SDM Vol. 3A 4.5, Table 4-14 .. 4-20). */
#ifndef ARCH_PAGING_H
#define ARCH_PAGING_H

#define PAGE_SHIFT      12
#define PAGE_SIZE       (1ull << PAGE_SHIFT)
#define PAGE_SIZE_2M    (1ull << 21)
#define PAGE_SIZE_1G    (1ull << 30)
#define PAGE_MASK       (~(PAGE_SIZE - 1))
#define PT_ENTRIES      512
#define PT_INDEX_BITS   9
#define PT_INDEX_MASK   (PT_ENTRIES - 1)

#define PTE_P     (1ull << 0)
#define PTE_W     (1ull << 1)
#define PTE_U     (1ull << 2)
#define PTE_PWT   (1ull << 3)
#define PTE_PCD   (1ull << 4)
#define PTE_A     (1ull << 5)
#define PTE_D     (1ull << 6)
#define PTE_PS    (1ull << 7)
#define PTE_G     (1ull << 8)
#define PTE_NX    (1ull << 63)
#define PTE_ADDR_MASK 0x000ffffffffff000ull

/* PAE paging's four PDPTEs (SDM Vol. 3A 4.4.1, Table 4-8): no R/W, U/S, A or D bit. */
#define PAE_PDPTE_COUNT    4u
#define PAE_PDPTE_SHIFT    30u
#define PAE_PDPTE_RSVD     ((3ull << 1) | (0xfull << 5)) /* bits 2:1 and 8:5 */
#define PAE_PDPTE_TOP_RSVD_BIT 63u                      /* bits 63:MAXPHYADDR are reserved too */

#define PML4_SHIFT 39
#define PDPT_SHIFT 30
#define PD_SHIFT   21
#define PT_SHIFT   12

/* Default IA32_PAT value at reset (SDM Vol. 3A 13.12.4, Table 13-12): WB WT UC- UC WB WT UC- UC. */
#define PAT_POWER_ON_DEFAULT 0x0007040600070406ull

#endif

#ifndef ARCH_PAGING_CANONICAL
#define ARCH_PAGING_CANONICAL
#include <stdint.h>
/* A 48-bit linear address is canonical when bits 63:47 are all equal (SDM Vol. 1 3.3.7.1). */
#define CANONICAL_BITS 48
static inline int is_canonical(uint64_t va)
{
	int64_t s = (int64_t)(va << (64 - CANONICAL_BITS)) >> (64 - CANONICAL_BITS);
	return (uint64_t)s == va;
}
#endif
