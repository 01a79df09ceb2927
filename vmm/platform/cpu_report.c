#include <stdint.h>
#include <string.h>
#include <arch/cpuid.h>
#include <arch/msr.h>
#include "vmm/cpu_report.h"
#include "vmm/pcpu.h"
#include "vmm/log.h"
#include "vmm/status.h"
#include "vmm/vmx_support.h"

#define VENDOR_INTEL "GenuineIntel"
#define VENDOR_AMD   "AuthenticAMD"
#define BRAND_LEAVES 3
#define MAXPHYADDR_MASK 0xffu
#define MAXPHYADDR_DEFAULT 36u /* without CPUID.80000008h (SDM Vol. 3A 4.1.4) */

static void vendor_string(char out[13])
{
	struct cpuid_regs r = cpuid(CPUID_LEAF_VENDOR, 0);
	memcpy(out + 0, &r.ebx, 4);
	memcpy(out + 4, &r.edx, 4);
	memcpy(out + 8, &r.ecx, 4);
	out[12] = 0;
}

static void brand_string(char out[49])
{
	out[0] = 0;
	if (cpuid(CPUID_LEAF_EXT_MAX, 0).eax < CPUID_LEAF_BRAND_0 + BRAND_LEAVES - 1)
		return;
	for (unsigned i = 0; i < BRAND_LEAVES; i++) {
		struct cpuid_regs r = cpuid(CPUID_LEAF_BRAND_0 + i, 0);
		memcpy(out + 16 * i, &r, 16);
	}
	out[48] = 0;
}

static void report_line(void *ctx, const char *text)
{
	(void)ctx;
	log_info("%s", text);
}

int cpu_check_vmx(struct vmx_caps *caps)
{
	char vendor[13], brand[49];
	struct cpuid_regs f = cpuid(CPUID_LEAF_FEATURES, 0);
	unsigned family = CPUID_1_EAX_FAMILY(f.eax), model = CPUID_1_EAX_MODEL(f.eax);
	struct vmx_cap_msrs raw;

	/* SDM Vol. 2A CPUID: display family/model include the extended fields for families 6 and 15. */
	if (family == 0xf)
		family += CPUID_1_EAX_EXT_FAMILY(f.eax);
	if (family == 0x6 || family >= 0xf)
		model |= CPUID_1_EAX_EXT_MODEL(f.eax) << 4;
	vendor_string(vendor);
	brand_string(brand);
	log_info("CPU: %s family %#x model %#x stepping %u \"%s\"", vendor, family, model,
		 CPUID_1_EAX_STEPPING(f.eax), brand);

	if (!(f.ecx & CPUID_1_ECX_VMX)) {
		char hv[CPUID_HV_SIGNATURE_LEN + 1];
		if (cpuid_hypervisor_signature(hv)) {
			const char *name = vmx_hypervisor_name(hv);
			log_error("no VT-x: running under a hypervisor without nested VT-x (%s, CPUID.40000000h "
				  "signature \"%s\"; CPUID.1:ECX.VMX[5]=0): %s",
				  name ? name : "an unknown hypervisor", hv, vmx_nested_hint(name));
		} else if (strcmp(vendor, VENDOR_INTEL) != 0) {
			log_error("no VT-x: this %s CPU does not implement Intel VMX (CPUID.1:ECX.VMX[5]=0); "
				  "run the monitor on an Intel CPU, under QEMU/KVM with nested VT-x, or in Bochs",
				  vendor);
		} else {
			log_error("no VT-x: CPUID.1:ECX.VMX[5]=0 on this Intel CPU: it has no VT-x; "
				  "run the monitor on a CPU with VT-x, or in Bochs");
		}
		return HV_ERR_NO_VMX;
	}

	/* SDM Vol. 3C 24.7: VMXON needs IA32_FEATURE_CONTROL locked with VMX-outside-SMX enabled. */
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	switch (vmx_feature_control_verdict(fc, &fc)) {
	case FC_READY:
		break;
	case FC_LOCK_AND_ENABLE:
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
		log_info("IA32_FEATURE_CONTROL was unlocked: enabled VMX outside SMX and locked it");
		break;
	case FC_DISABLED_IN_FIRMWARE:
		log_error("VT-x is disabled in the firmware setup (IA32_FEATURE_CONTROL=%#llx is locked "
			  "with VMX-outside-SMX off): enable \"Intel Virtualization Technology\" in the "
			  "firmware (BIOS/UEFI) setup and boot again", (unsigned long long)fc);
		return HV_ERR_VMX_DISABLED;
	}
	log_info("VT-x available: IA32_FEATURE_CONTROL=%#llx (locked, VMX outside SMX on)",
		 (unsigned long long)fc);

	vmx_caps_read(&raw);
	vmx_caps_decode(&raw, caps);
	caps->maxphyaddr = cpuid(CPUID_LEAF_EXT_MAX, 0).eax >= CPUID_LEAF_ADDR_SIZES
				   ? cpuid(CPUID_LEAF_ADDR_SIZES, 0).eax & MAXPHYADDR_MASK
				   : MAXPHYADDR_DEFAULT;
	caps->page_1g = cpuid(CPUID_LEAF_EXT_MAX, 0).eax >= CPUID_LEAF_EXT_FEATURES_8001 &&
			(cpuid(CPUID_LEAF_EXT_FEATURES_8001, 0).edx & CPUID_80000001_EDX_PAGE1GB);
	vmx_caps_report(caps, report_line, 0);
	return HV_OK;
}

int cpu_check_vmx_ap(const struct vmx_caps *bsp, bool break_caps)
{
	const struct pcpu *c = this_pcpu();
	struct vmx_cap_msrs raw;
	char why[160];

	if (!(cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID_1_ECX_VMX)) {
		log_error("CPU %u (APIC ID %u): no VT-x (CPUID.1:ECX.VMX[5]=0) where the bootstrap processor has it: "
			  "left out", c->index, c->apic_id);
		return HV_ERR_NO_VMX;
	}
	/* SDM Vol. 3C 24.7: IA32_FEATURE_CONTROL is each core's own; the firmware may have locked it on some only. */
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	switch (vmx_feature_control_verdict(fc, &fc)) {
	case FC_READY:
		break;
	case FC_LOCK_AND_ENABLE:
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
		break;
	case FC_DISABLED_IN_FIRMWARE:
		log_error("CPU %u (APIC ID %u): VT-x is disabled on this core (IA32_FEATURE_CONTROL=%#llx, locked with "
			  "VMX-outside-SMX off) while the bootstrap processor has it: left out; enable \"Intel "
			  "Virtualization Technology\" in the firmware setup", c->index, c->apic_id, (unsigned long long)fc);
		return HV_ERR_VMX_DISABLED;
	}
	vmx_caps_read(&raw);
	if (break_caps)
		raw.misc ^= 1; /* break=ap_vmx (test only): this core reports a different IA32_VMX_MISC */
	if (vmx_caps_compare(&bsp->raw, &raw, why, sizeof(why)) != 0) {
		log_error("CPU %u (APIC ID %u): its VMX capabilities differ from the bootstrap processor's: %s; the monitor "
			  "runs one VMCS configuration on every core, so this one is left out", c->index, c->apic_id, why);
		return HV_ERR_VMX_FEATURE;
	}
	return HV_OK;
}
