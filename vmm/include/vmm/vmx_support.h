/*
 * Can this CPU run the monitor?  Pure verdicts, shared by the monitor
 * (vmm/platform/cpu_report.c) and the UEFI loader (boot/efi/vmx_check.c), which asks
 * the same questions while the firmware console still works.
 * Unit-tested on the host (tests/unit/test_vmx_caps.c).
 */
#ifndef VMM_VMX_SUPPORT_H
#define VMM_VMX_SUPPORT_H

#include <stdint.h>

/*
 * What IA32_FEATURE_CONTROL allows before VMXON (SDM Vol. 3C 24.7 "Enabling and entering VMX
 * operation"): an unlocked MSR is ours to set (VMX outside SMX on, then lock: *to_write); a
 * locked one with VMX outside SMX off can only be changed in the firmware setup.
 */
enum feature_control_verdict { FC_READY, FC_LOCK_AND_ENABLE, FC_DISABLED_IN_FIRMWARE };
enum feature_control_verdict vmx_feature_control_verdict(uint64_t fc, uint64_t *to_write);

/*
 * The product behind a hypervisor signature (CPUID.40000000h:EBX,ECX,EDX, 12 characters, as
 * cpuid_hypervisor_signature() gives it), e.g. "KVM" for "KVMKVMKVM"; NULL when unknown.
 */
const char *vmx_hypervisor_name(const char *signature);

/*
 * How to get nested VT-x from that hypervisor (one sentence, no final period), or a general
 * hint for an unknown one.  name may be NULL.
 */
const char *vmx_nested_hint(const char *name);

#endif
