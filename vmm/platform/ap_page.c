/* Choosing the trampoline's page below 1 MiB (see vmm/include/vmm/ap_start.h). */
#include <arch/apic.h>
#include "vmm/ap_start.h"

#define TRAMPOLINE_PAGE ((uint64_t)1 << APIC_SIPI_PAGE_SHIFT)

static int inside_usable(const struct bootinfo_mem_range *mem, unsigned count, uint64_t base, uint64_t end)
{
	for (unsigned i = 0; i < count; i++)
		if (mem[i].type == BI_MEM_USABLE && mem[i].base <= base && end - mem[i].base <= mem[i].length)
			return 1;
	return 0;
}

static int excluded(const struct ap_exclusion *excl, unsigned nexcl, uint64_t base, uint64_t end)
{
	for (unsigned i = 0; i < nexcl; i++)
		if (excl[i].base < end && base < excl[i].end)
			return 1;
	return 0;
}

uint64_t ap_trampoline_page(const struct bootinfo_mem_range *mem, unsigned count,
			    const struct ap_exclusion *excl, unsigned nexcl)
{
	/* The highest first: low pages are where firmware and boot loaders leave things behind. */
	for (uint32_t vector = APIC_SIPI_VECTOR_MAX; vector >= APIC_SIPI_VECTOR_MIN; vector--) {
		const uint64_t base = (uint64_t)vector << APIC_SIPI_PAGE_SHIFT;
		if (inside_usable(mem, count, base, base + TRAMPOLINE_PAGE) &&
		    !excluded(excl, nexcl, base, base + TRAMPOLINE_PAGE))
			return base;
	}
	return 0;
}
