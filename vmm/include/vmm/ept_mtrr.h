/*
 * EPT mappings with the host's memory types: the guest's RAM gets, page by page,
 * the type the firmware's MTRRs give its host frames (SDM Vol. 3C 29.3.7: with EPT,
 * the EPT memory type takes the place of the MTRR type for guest accesses).
 * Pure logic over vmm/mm/guest/ept.c and vmm/mm/guest/mtrr.c: unit-tested on the host.
 */
#ifndef VMM_EPT_MTRR_H
#define VMM_EPT_MTRR_H

#include <stdint.h>
#include "vmm/ept.h"
#include "vmm/mtrr.h"

/*
 * Map the host-contiguous run [hpa, hpa + len) at gpa with perm.  A run of one type
 * is one ept_map (so it gets the largest leaves its alignment allows); a run that
 * mixes types is split at 2 MiB host boundaries, and a 2 MiB piece that still mixes
 * them into 4 KiB pages.  mtrr NULL: no MTRRs to follow, everything write-back.
 * Returns ept_map's result (EPT_OK or EPT_ERR_*).
 */
int ept_map_with_mtrr_types(struct ept *e, const struct mtrr_state *mtrr, uint64_t gpa, uint64_t hpa, uint64_t len,
			    unsigned perm);

#endif
