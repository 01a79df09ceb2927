/* Identify the CPU and decide whether VT-x can be used (SDM Vol. 3C 23.6, 23.7). */
#ifndef VMM_CPU_REPORT_H
#define VMM_CPU_REPORT_H

#include "vmm/vmx_caps.h"

/*
 * Prints vendor, family/model/stepping and brand; checks CPUID.1:ECX.VMX and
 * IA32_FEATURE_CONTROL (enabling and locking VMX outside SMX when it is unlocked).
 * On success fills *caps, prints the decoded capability table and returns HV_OK;
 * otherwise prints why VT-x cannot be used and what to do, and returns the status.
 */
int cpu_check_vmx(struct vmx_caps *caps);

#endif
