/* The monitor's own address space: an identity map of all physical memory. */
#ifndef VMM_PAGING_H
#define VMM_PAGING_H

#include <stdint.h>
#include "vmm/bootinfo.h"
#include "vmm/phys.h"
#include "vmm/pmm.h"

/*
 * Replace the boot page tables (low 4 GiB only) by an identity map of
 * [0, max(4 GiB, end of the highest memory-map range)), with 1 GiB pages
 * when the CPU has them, else 2 MiB pages.  Returns 0 or -1 (out of memory).
 */
int paging_init(const struct bootinfo *bi, struct pmm *pmm);

#endif
