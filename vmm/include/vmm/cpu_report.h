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

/*
 * The same checks on an application processor, quietly: VMX present, IA32_FEATURE_CONTROL
 * (locked with VMX on, as above), and capability MSRs equal to the bootstrap processor's
 * (vmx_caps_compare).  Logs one line naming the CPU when it fails.  break_caps (test only:
 * break=ap_vmx) makes this core's IA32_VMX_MISC differ.
 */
int cpu_check_vmx_ap(const struct vmx_caps *bsp, bool break_caps);

#endif
