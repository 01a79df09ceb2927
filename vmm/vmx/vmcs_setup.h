/* Building the VMCS for the guest (SDM Vol. 3C chapter 25, 27.2, 27.3). */
#ifndef VMM_VMCS_SETUP_H
#define VMM_VMCS_SETUP_H

#include <stddef.h>
#include <stdint.h>
#include "vmm/pmm.h"
#include "vmm/start_state.h"
#include "vmm/vcpu.h"


/*
 * Allocate and load a VMCS, compute every control from the capability MSRs,
 * fill the host state from the monitor's own tables and the guest state for
 * 32-bit protected mode with paging off.  Returns HV_OK or a status.
 */
int vmcs_setup(struct vcpu *v, struct pmm *pmm, const struct vcpu_start *start);

/* The exceptions the memory mode intercepts (shadow paging: #PF). */
uint32_t vmcs_default_exception_bitmap(const struct vcpu *v);

/* Write the guest state of `start` again into the vCPU's current VMCS (an INIT and STARTUP). */
int vmcs_reset_guest(struct vcpu *v, const struct vcpu_start *start);

/*
 * Check the current VMCS guest state against the VM-entry rules of SDM 27.3.1
 * that the monitor knows.  Writes the first violated rule (field, value,
 * section) into buf and returns 1, or returns 0 when none was found.
 */
int vmcs_check_guest_state(const struct vmx_caps *caps, char *buf, size_t n);

#endif
