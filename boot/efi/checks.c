/*
 * What the loader checks before it leaves the firmware, while the firmware's
 * console still shows text: does this CPU offer VT-x and is it enabled
 * (the same verdict the monitor reaches later, vmm/platform/vmx_support.c), and is
 * Secure Boot on.  Every finding goes to the screen (ConOut) and to COM1.
 */
#include <arch/cpuid.h>
#include <arch/msr.h>
#include <vmm/status.h>
#include <vmm/vmx_support.h>

#include "loader.h"

#define VENDOR_INTEL "GenuineIntel"
#define VENDOR_LEN   12

/* UEFI spec 2.10, 3.3 "Globally defined variables": SecureBoot is one byte, 1 when enforcing. */
#define SECURE_BOOT_VARIABLE L"SecureBoot"
#define SECURE_BOOT_ENABLED  1

static void cpu_vendor(char vendor[VENDOR_LEN + 1])
{
	struct cpuid_regs r = cpuid(CPUID_LEAF_VENDOR, 0);
	const UINT32 words[3] = { r.ebx, r.edx, r.ecx }; /* "Genu" "ineI" "ntel" */
	for (UINTN i = 0; i < VENDOR_LEN; i++)
		vendor[i] = (char)(words[i / 4] >> (8 * (i % 4)));
	vendor[VENDOR_LEN] = '\0';
}

static BOOLEAN same_ascii(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b)
		a++, b++;
	return *a == *b;
}

BOOLEAN check_vmx(void)
{
	char vendor[VENDOR_LEN + 1], signature[CPUID_HV_SIGNATURE_LEN + 1];
	UINT64 fc, to_write;

	cpu_vendor(vendor);
	/* SDM Vol. 3C 24.6 "Discovering support for VMX": CPUID.1:ECX.VMX[bit 5]. */
	if (!(cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID_1_ECX_VMX)) {
		if (cpuid_hypervisor_signature(signature)) {
			const char *name = vmx_hypervisor_name(signature);
			log_error(L"VT-x is missing: running under a hypervisor without nested VT-x (%a, CPUID "
				  L"signature \"%a\"; CPUID.1:ECX.VMX[5]=0)",
				  name != NULL ? name : "an unknown hypervisor", signature);
			log_line(L"  what to do: %a", vmx_nested_hint(name));
		} else if (!same_ascii(vendor, VENDOR_INTEL)) {
			log_error(L"VT-x is missing: this %a CPU has no Intel VMX (CPUID.1:ECX.VMX[5]=0); hv "
				  L"needs an Intel CPU with VT-x",
				  vendor);
		} else {
			log_error(L"VT-x is missing: this Intel CPU has no VMX (CPUID.1:ECX.VMX[5]=0); hv needs a "
				  L"CPU with VT-x");
		}
		log_line(L"  the monitor will stop at once with status %d (no VT-x)", HV_ERR_NO_VMX);
		return TRUE;
	}
	/* SDM Vol. 3C 24.7 "Enabling and entering VMX operation": IA32_FEATURE_CONTROL (MSR 0x3a). */
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	switch (vmx_feature_control_verdict(fc, &to_write)) {
	case FC_READY:
		log_line(L"VT-x: present and enabled (IA32_FEATURE_CONTROL=0x%lx: locked, VMX outside SMX on)", fc);
		return FALSE;
	case FC_LOCK_AND_ENABLE:
		log_line(L"VT-x: present; IA32_FEATURE_CONTROL=0x%lx is unlocked: the monitor will enable VMX "
			 L"outside SMX and lock it",
			 fc);
		return FALSE;
	case FC_DISABLED_IN_FIRMWARE:
		break;
	}
	log_error(L"VT-x is disabled in the firmware setup: IA32_FEATURE_CONTROL=0x%lx is locked with "
		  L"VMX outside SMX off",
		  fc);
	log_line(L"  what to do: enable \"Intel Virtualization Technology\" (VT-x, VMX) in the BIOS/UEFI "
		 L"setup, save, and power the machine off and on");
	log_line(L"  the monitor will stop at once with status %d (VT-x disabled in firmware)", HV_ERR_VMX_DISABLED);
	return TRUE;
}

void check_secure_boot(void)
{
	UINT8 *value = LibGetVariable(SECURE_BOOT_VARIABLE, &EfiGlobalVariable);

	if (value == NULL) {
		log_line(L"Secure Boot: not offered by this firmware (no SecureBoot variable)");
		return;
	}
	if (*value == SECURE_BOOT_ENABLED)
		log_line(L"Secure Boot: on; the firmware accepted this loader's signature. The monitor and "
			 L"guest are part of this signed image and are started without LoadImage, so nothing "
			 L"further is checked or refused");
	else
		log_line(L"Secure Boot: off");
	FreePool(value);
}
