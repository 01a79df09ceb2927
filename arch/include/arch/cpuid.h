/* CPUID (SDM Vol. 2A, CPUID; Vol. 3C 23.6 "Discovering support for VMX"). */
#ifndef ARCH_CPUID_H
#define ARCH_CPUID_H

#include <stdbool.h>
#include <stdint.h>

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
	return r;
}

#define CPUID_LEAF_VENDOR            0x00000000u
#define CPUID_LEAF_FEATURES          0x00000001u
#define CPUID_LEAF_EXT_FEATURES      0x00000007u
#define CPUID_LEAF_PERFMON           0x0000000au
#define CPUID_LEAF_XSAVE             0x0000000du
#define CPUID_LEAF_TSC               0x00000015u /* TSC/crystal ratio and crystal frequency (SDM Vol. 2A CPUID) */
#define CPUID_LEAF_FREQUENCY         0x00000016u /* processor base frequency in MHz */
#define CPUID_LEAF_HYPERVISOR        0x40000000u
#define CPUID_LEAF_EXT_MAX           0x80000000u
#define CPUID_LEAF_EXT_FEATURES_8001 0x80000001u
#define CPUID_LEAF_BRAND_0           0x80000002u
#define CPUID_LEAF_ADDR_SIZES        0x80000008u
/* Leaves 0-, 0x40000000- and 0x80000000- each start with their own maximum leaf in EAX. */
#define CPUID_LEAF_RANGE_MASK        0xf0000000u

/* CPUID.1:ECX */
#define CPUID_1_ECX_VMX        (1u << 5)
#define CPUID_1_ECX_SMX        (1u << 6)
#define CPUID_1_ECX_DTES64     (1u << 2)
#define CPUID_1_ECX_EST        (1u << 7)
#define CPUID_1_ECX_PDCM       (1u << 15)
#define CPUID_1_ECX_X2APIC     (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_XSAVE      (1u << 26)
#define CPUID_1_ECX_OSXSAVE    (1u << 27)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
/* CPUID.(EAX=7,ECX=0):EBX */
#define CPUID_7_EBX_TSC_ADJUST (1u << 1)
#define CPUID_7_EBX_SMEP       (1u << 7)
#define CPUID_7_EBX_MPX        (1u << 14)
#define CPUID_7_EBX_PT         (1u << 25)
#define CPUID_7_EBX_SMAP       (1u << 20)
/* CPUID.(EAX=7,ECX=0):ECX and EDX */
#define CPUID_7_ECX_PKU        (1u << 3)
#define CPUID_7_ECX_WAITPKG    (1u << 5)
#define CPUID_7_ECX_RDPID      (1u << 22)
#define CPUID_7_ECX_CET_SS     (1u << 7)
#define CPUID_7_ECX_LA57       (1u << 16)
#define CPUID_7_EDX_CET_IBT    (1u << 20)
#define CPUID_7_EDX_IBRS_IBPB  (1u << 26)
#define CPUID_7_EDX_STIBP      (1u << 27)
#define CPUID_7_EDX_L1D_FLUSH  (1u << 28)
#define CPUID_7_EDX_ARCH_CAPABILITIES (1u << 29)
#define CPUID_7_EDX_CORE_CAPABILITIES (1u << 30)
#define CPUID_7_EDX_SSBD       (1u << 31)
/* CPUID.6 (thermal and power management) */
#define CPUID_LEAF_THERMAL_POWER 0x00000006u
#define CPUID_6_EAX_ARAT       (1u << 2)  /* the APIC timer runs in every C-state */
#define CPUID_6_EAX_HWP        (1u << 7)
#define CPUID_6_ECX_APERFMPERF (1u << 0)
#define CPUID_6_ECX_EPB        (1u << 3)  /* energy performance bias */
#define CPUID_LEAF_PT          0x00000014u  /* Intel Processor Trace */
/* CPUID.(EAX=7,ECX=1):EAX */
#define CPUID_7_1_EAX_LAM      (1u << 26)
#define CPUID_7_SUBLEAF_1      1u
/* CPUID.1:EDX */
#define CPUID_1_EDX_MSR        (1u << 5)
#define CPUID_1_EDX_PAE        (1u << 6)
#define CPUID_1_EDX_APIC       (1u << 9)
#define CPUID_1_EDX_SEP        (1u << 11)
#define CPUID_1_EDX_MTRR       (1u << 12)
#define CPUID_1_EDX_MCA        (1u << 14)
#define CPUID_1_EDX_DS         (1u << 21)
#define CPUID_1_EDX_ACPI       (1u << 22) /* thermal monitor and clock control MSRs */
#define CPUID_1_EDX_PAT        (1u << 16)
/* CPUID.80000001:EDX */
#define CPUID_80000001_EDX_SYSCALL (1u << 11)
#define CPUID_80000001_EDX_NX      (1u << 20)
#define CPUID_80000001_EDX_PAGE1GB (1u << 26)
#define CPUID_80000001_EDX_RDTSCP  (1u << 27)
#define CPUID_80000001_EDX_LM      (1u << 29)

/* CPUID.1:EBX[31:24]: the initial APIC ID. */
#define CPUID_1_EBX_APIC_ID_SHIFT 24
#define CPUID_1_EBX_APIC_ID_MASK  (0xffu << CPUID_1_EBX_APIC_ID_SHIFT)

/* CPUID.1:EAX signature fields. */
#define CPUID_1_EAX_STEPPING(a)  ((a) & 0xfu)
#define CPUID_1_EAX_MODEL(a)     (((a) >> 4) & 0xfu)
#define CPUID_1_EAX_FAMILY(a)    (((a) >> 8) & 0xfu)
#define CPUID_1_EAX_EXT_MODEL(a) (((a) >> 16) & 0xfu)
#define CPUID_1_EAX_EXT_FAMILY(a) (((a) >> 20) & 0xffu)

/* Hypervisor vendor signatures in CPUID.40000000h:EBX,ECX,EDX (12 characters). */
#define CPUID_HV_SIGNATURE_LEN 12
#define CPUID_HV_SIGNATURE_QEMU_TCG "TCGTCGTCGTCG"
#define CPUID_HV_SIGNATURE_KVM      "KVMKVMKVM"

/*
 * The signature of the hypervisor below us, NUL-terminated, when CPUID.1:ECX.hypervisor[31] says
 * there is one; false (and an empty string) on bare metal.
 */
static inline bool cpuid_hypervisor_signature(char sig[CPUID_HV_SIGNATURE_LEN + 1])
{
	sig[0] = 0;
	if (!(cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID_1_ECX_HYPERVISOR))
		return false;
	struct cpuid_regs r = cpuid(CPUID_LEAF_HYPERVISOR, 0);
	const uint32_t words[3] = { r.ebx, r.ecx, r.edx };
	for (unsigned i = 0; i < CPUID_HV_SIGNATURE_LEN; i++)
		sig[i] = (char)(words[i / 4] >> (8 * (i % 4)));
	sig[CPUID_HV_SIGNATURE_LEN] = 0;
	return true;
}

#endif
