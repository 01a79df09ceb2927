/* The hypervisor proper: VMXON, VMCS, EPT, the guest's life. */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include "vmm/bootinfo.h"
#include "vmm/cmdline.h"
#include "vmm/pmm.h"
#include "vmm/vmx_caps.h"

/* Runs the guest to its end; returns the status to power off with. */
int vmm_run(const struct bootinfo *bi, const struct hv_config *cfg, const struct vmx_caps *caps, struct pmm *pmm);

#endif
