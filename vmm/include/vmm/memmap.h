/*
 * Memory-map normalisation.  Loaders hand over maps that may be unsorted,
 * overlapping, split into many adjacent pieces, or unaligned; the monitor
 * turns them into one canonical form before building its frame allocator.
 * Pure logic: unit-tested on the host (tests/unit/test_memmap.c).
 */
#ifndef VMM_MEMMAP_H
#define VMM_MEMMAP_H

#include <stdint.h>
#include "vmm/bootinfo.h"

/*
 * Normalise r[0..*count) in place:
 *  - drop zero-length ranges and ranges that wrap past 2^64;
 *  - where ranges overlap, the non-usable type wins over BI_MEM_USABLE
 *    (between two non-usable types, the higher enum value wins);
 *  - shrink BI_MEM_USABLE ranges inward to 4 KiB boundaries (drop empty ones);
 *  - sort by base and merge adjacent or overlapping ranges of the same type.
 * `cap` is the capacity of r (overlap resolution can split a range in up to three).
 * Returns 0, or -1 if the result would not fit in `cap` entries (r is then unspecified).
 */
int memmap_normalize(struct bootinfo_mem_range *r, unsigned *count, unsigned cap);

/* Bytes of BI_MEM_USABLE memory at or above `min_addr` (ranges straddling it count partially). */
uint64_t memmap_usable_bytes(const struct bootinfo_mem_range *r, unsigned count, uint64_t min_addr);

/* Name of a bootinfo memory type ("usable", "reserved", ...; "unknown" otherwise). */
const char *memmap_type_name(uint32_t type);

#endif
