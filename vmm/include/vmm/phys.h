/* The monitor's view of physical memory: an identity map (vmm/mm/host/paging.c builds it). */
#ifndef VMM_PHYS_H
#define VMM_PHYS_H

#include <stdint.h>

static inline void *phys_to_virt(uint64_t phys) { return (void *)(uintptr_t)phys; }
static inline uint64_t virt_to_phys(const void *p) { return (uint64_t)(uintptr_t)p; }

#endif
