/* Building guest memory: host frames for guest RAM, EPT over them (see memory.h for access). */
#ifndef VMM_MEMORY_SETUP_H
#define VMM_MEMORY_SETUP_H

#include <stdint.h>
#include "vmm/cmdline.h"
#include "vmm/ept.h"
#include "vmm/guest_mem.h"
#include "vmm/mtrr.h"
#include "vmm/pmm.h"
#include "vmm/shadow.h"
#include "vmm/vmx_caps.h"

struct vmm_memory {
	struct guest_mem gm;   /* GPA -> HPA, one host frame per 4 KiB guest page */
	uint64_t *frames;      /* the frame table gm reads (writable here) */
	struct ept ept;        /* EPT mode */
	uint64_t eptp;
	uint64_t initial_cr3;  /* shadow mode: the table used while the guest's paging is off */
	uint32_t mode;         /* enum hv_mem_mode */
	struct pmm *pmm;
	struct mtrr_state mtrr;
	bool have_mtrrs;
	struct shadow_state shadow; /* shadow mode */
	uint64_t chunks_1g, chunks_2m, frames_4k; /* how guest RAM is backed */
};

int vmm_memory_setup(struct vmm_memory *m, struct pmm *pmm, const struct hv_config *cfg,
		     const struct vmx_caps *caps, uint32_t mode);

#endif
