/*
 * The CPU as the guest sees it through CPUID (exit/cpuid.c).  Every other
 * handler that offers or refuses a feature (MSRs, instructions) asks this one
 * function, so what CPUID advertises and what the monitor accepts never drift
 * apart: a guest never reaches a host MSR its CPUID does not announce.
 */
#ifndef VMM_GUEST_CPUID_H
#define VMM_GUEST_CPUID_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/cpuid.h>

struct vcpu;

/* What CPUID(leaf, subleaf) returns to this guest. */
struct cpuid_regs guest_cpuid(const struct vcpu *v, uint32_t leaf, uint32_t subleaf);
/* Reads the host CPU's answers for the leaves guest_cpuid asks most into v (once, at creation). */
void guest_cpuid_cache_host(struct vcpu *v);

/* One feature bit of the guest's CPUID. */
enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };
struct cpuid_feature {
	uint32_t leaf, subleaf;
	enum cpuid_reg reg;
	uint32_t bit;
};

/*
 * Features the guest's CPUID hides because the monitor does not offer their MSRs (exit/msr.c gives
 * #GP for them): a guest that saw the bit would use the MSR (SDM Vol. 4 Table 2-2 gives each MSR's
 * CPUID condition).  One MSR per feature stands for its family in the unit test that checks the
 * two agree (tests/unit/test_exit_handlers.c).  The architectural PMU (leaf 0AH, IA32_PMCx,
 * IA32_PERFEVTSELx, IA32_PERF_GLOBAL_*) is hidden whole: leaf 0AH reads zeros (exit/cpuid.c).
 * X(name, leaf, subleaf, register, bit, MSR)
 */
#define CPUID_HIDDEN_MSR_FEATURES(X)                                                                          \
	X(DTES64,            CPUID_LEAF_FEATURES,      0, CPUID_ECX, CPUID_1_ECX_DTES64,     MSR_IA32_DS_AREA)        \
	X(EST,               CPUID_LEAF_FEATURES,      0, CPUID_ECX, CPUID_1_ECX_EST,        MSR_IA32_PERF_CTL)       \
	X(PDCM,              CPUID_LEAF_FEATURES,      0, CPUID_ECX, CPUID_1_ECX_PDCM,       MSR_IA32_PERF_CAPABILITIES) \
	X(MCA,               CPUID_LEAF_FEATURES,      0, CPUID_EDX, CPUID_1_EDX_MCA,        MSR_IA32_MCG_CAP)        \
	X(DS,                CPUID_LEAF_FEATURES,      0, CPUID_EDX, CPUID_1_EDX_DS,         MSR_IA32_DS_AREA)        \
	X(ACPI,              CPUID_LEAF_FEATURES,      0, CPUID_EDX, CPUID_1_EDX_ACPI,       MSR_IA32_CLOCK_MODULATION) \
	X(HWP,               CPUID_LEAF_THERMAL_POWER, 0, CPUID_EAX, CPUID_6_EAX_HWP,        MSR_IA32_PM_ENABLE)      \
	X(APERFMPERF,        CPUID_LEAF_THERMAL_POWER, 0, CPUID_ECX, CPUID_6_ECX_APERFMPERF, MSR_IA32_MPERF)          \
	X(EPB,               CPUID_LEAF_THERMAL_POWER, 0, CPUID_ECX, CPUID_6_ECX_EPB,        MSR_IA32_ENERGY_PERF_BIAS) \
	X(MPX,               CPUID_LEAF_EXT_FEATURES,  0, CPUID_EBX, CPUID_7_EBX_MPX,        MSR_IA32_BNDCFGS)        \
	X(PT,                CPUID_LEAF_EXT_FEATURES,  0, CPUID_EBX, CPUID_7_EBX_PT,         MSR_IA32_RTIT_CTL)       \
	X(WAITPKG,           CPUID_LEAF_EXT_FEATURES,  0, CPUID_ECX, CPUID_7_ECX_WAITPKG,    MSR_IA32_UMWAIT_CONTROL) \
	X(IBRS_IBPB,         CPUID_LEAF_EXT_FEATURES,  0, CPUID_EDX, CPUID_7_EDX_IBRS_IBPB,  MSR_IA32_PRED_CMD)       \
	X(STIBP,             CPUID_LEAF_EXT_FEATURES,  0, CPUID_EDX, CPUID_7_EDX_STIBP,      MSR_IA32_SPEC_CTRL)      \
	X(L1D_FLUSH,         CPUID_LEAF_EXT_FEATURES,  0, CPUID_EDX, CPUID_7_EDX_L1D_FLUSH,  MSR_IA32_FLUSH_CMD)      \
	X(ARCH_CAPABILITIES, CPUID_LEAF_EXT_FEATURES,  0, CPUID_EDX, CPUID_7_EDX_ARCH_CAPABILITIES, MSR_IA32_ARCH_CAPABILITIES) \
	X(CORE_CAPABILITIES, CPUID_LEAF_EXT_FEATURES,  0, CPUID_EDX, CPUID_7_EDX_CORE_CAPABILITIES, MSR_IA32_CORE_CAPABILITIES) \
	X(SSBD,              CPUID_LEAF_EXT_FEATURES,  0, CPUID_EDX, CPUID_7_EDX_SSBD,       MSR_IA32_SPEC_CTRL)

/* True when the guest's CPUID has the feature (and its leaf is within the advertised range). */
bool guest_cpuid_has(const struct vcpu *v, struct cpuid_feature f);

#endif
