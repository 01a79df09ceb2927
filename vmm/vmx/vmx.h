/* Entering and leaving VMX root operation (SDM Vol. 3C 24.7, 24.8). */
#ifndef VMM_VMX_H
#define VMM_VMX_H

#include <stdint.h>
#include "vmm/pmm.h"
#include "vmm/vmx_caps.h"

/*
 * Apply the CR0/CR4 fixed bits, set CR4.VMXE, allocate the VMXON region
 * and execute VMXON, reporting each step.  Returns HV_OK or a status.
 */
int vmx_enable(const struct vmx_caps *caps, struct pmm *pmm);

/* Report a failed VMX instruction: VMfailInvalid, or VMfailValid with the decoded VM_INSTRUCTION_ERROR. */
void vmx_report_failure(const char *instruction, int result);

#endif
