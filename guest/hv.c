/* The monitor: detection and hypercalls (ABI: vmm/include/vmm/hypercall.h). */
#include <string.h>
#include <arch/cpuid.h>
#include "guest/hv.h"
#include "guest/kernel.h"

bool hv_detect(void)
{
	/* CPUID.1:ECX[31] says "a hypervisor is present"; its leaf 40000000h says which. */
	struct cpuid_regs r = priv_cpuid(CPUID_LEAF_FEATURES, 0);
	if (!(r.ecx & CPUID_1_ECX_HYPERVISOR))
		return false;
	r = priv_cpuid(CPUID_LEAF_HYPERVISOR, 0);
	char sig[HV_SIGNATURE_LEN];
	memcpy(sig, &r.ebx, sizeof(r.ebx));
	memcpy(sig + sizeof(r.ebx), &r.ecx, sizeof(r.ecx));
	memcpy(sig + sizeof(r.ebx) + sizeof(r.ecx), &r.edx, sizeof(r.edx));
	_Static_assert(sizeof(HV_CPUID_SIGNATURE) - 1 == HV_SIGNATURE_LEN, "signature is EBX:ECX:EDX");
	if (memcmp(sig, HV_CPUID_SIGNATURE, HV_SIGNATURE_LEN) != 0)
		return false;
	/* The interface leaf says where the hypercalls are: this guest knows only HC_BASE. */
	r = priv_cpuid(HV_CPUID_INTERFACE, 0);
	return r.eax >= HV_INTERFACE_VERSION && r.ebx == HC_BASE && r.ecx >= HC_COUNT;
}

int64_t hv_get_stats(struct hv_stats *s)
{
	return hv_call(HC_GET_STATS, (uint64_t)(uintptr_t)s, sizeof(*s), 0);
}

int64_t hv_translate(uint64_t gva, struct hv_translation *t)
{
	return hv_call(HC_TRANSLATE, gva, (uint64_t)(uintptr_t)t, 0);
}
