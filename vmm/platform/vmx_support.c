/* Pure VT-x availability verdicts (see vmm/include/vmm/vmx_support.h). */
#include <stddef.h>
#include <string.h>
#include <arch/msr.h>
#include "vmm/vmx_support.h"

enum feature_control_verdict vmx_feature_control_verdict(uint64_t fc, uint64_t *to_write)
{
	*to_write = fc;
	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		*to_write = fc | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCKED;
		return FC_LOCK_AND_ENABLE;
	}
	return (fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX) ? FC_READY : FC_DISABLED_IN_FIRMWARE;
}

/* Signatures as the hypervisors document them; shorter ones are NUL-padded in the registers. */
static const struct {
	const char *signature, *name, *nested_hint;
} hypervisors[] = {
	{ "TCGTCGTCGTCG", "QEMU TCG",
	  "QEMU's TCG emulator has no Intel VMX at all: run under QEMU/KVM with nested VT-x (-accel kvm "
	  "-cpu host, kvm_intel nested=1) or in Bochs" },
	{ "KVMKVMKVM", "KVM",
	  "load kvm_intel with nested=1 on the host and give this VM the host's CPU (QEMU -cpu host, "
	  "libvirt <cpu mode='host-passthrough'/>)" },
	{ "Microsoft Hv", "Microsoft Hyper-V",
	  "on the host: Set-VMProcessor -VMName <vm> -ExposeVirtualizationExtensions $true, with the VM off" },
	{ "VMwareVMware", "VMware",
	  "tick \"Virtualize Intel VT-x/EPT\" in the VM's processor settings (vhv.enable = \"TRUE\")" },
	{ "VBoxVBoxVBox", "VirtualBox",
	  "VBoxManage modifyvm <vm> --nested-hw-virt on, with the VM off" },
	{ "XenVMMXenVMM", "Xen", "set nestedhvm=1 in the guest's xl configuration" },
	{ "bhyve bhyve ", "bhyve", "bhyve offers no nested VT-x: boot this machine on bare metal" },
	{ " lrpepyh  vr", "Parallels", "enable nested virtualization in the VM's CPU settings" },
	{ "ACRNACRNACRN", "ACRN", "ACRN offers no nested VT-x to this VM: boot it on bare metal" },
};

#define HYPERVISOR_COUNT (sizeof(hypervisors) / sizeof(hypervisors[0]))

const char *vmx_hypervisor_name(const char *signature)
{
	for (size_t i = 0; i < HYPERVISOR_COUNT; i++)
		if (strcmp(signature, hypervisors[i].signature) == 0)
			return hypervisors[i].name;
	return NULL;
}

const char *vmx_nested_hint(const char *name)
{
	for (size_t i = 0; name != NULL && i < HYPERVISOR_COUNT; i++)
		if (strcmp(name, hypervisors[i].name) == 0)
			return hypervisors[i].nested_hint;
	return "enable nested virtualization (VT-x) for this VM in its hypervisor, or boot on bare metal";
}
