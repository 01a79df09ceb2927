/* Model-specific registers used by the monitor (SDM Vol. 4, chapter 2). One table. */
#ifndef ARCH_MSR_H
#define ARCH_MSR_H

#include <stdint.h>

/* X(name, index) */
#define MSR_TABLE(X)                                   \
	X(IA32_TIME_STAMP_COUNTER,      0x010)         \
	X(IA32_APIC_BASE,               0x01b)         \
	X(IA32_FEATURE_CONTROL,         0x03a)         \
	X(IA32_TSC_ADJUST,              0x03b)         \
	X(IA32_SPEC_CTRL,               0x048)         \
	X(IA32_PRED_CMD,                0x049)         \
	X(IA32_PMC0,                    0x0c1)         \
	X(IA32_CORE_CAPABILITIES,       0x0cf)         \
	X(IA32_UMWAIT_CONTROL,          0x0e1)         \
	X(IA32_MPERF,                   0x0e7)         \
	X(IA32_ARCH_CAPABILITIES,       0x10a)         \
	X(IA32_FLUSH_CMD,               0x10b)         \
	X(IA32_MCG_CAP,                 0x179)         \
	X(IA32_PERFEVTSEL0,             0x186)         \
	X(IA32_PERF_CTL,                0x199)         \
	X(IA32_CLOCK_MODULATION,        0x19a)         \
	X(IA32_ENERGY_PERF_BIAS,        0x1b0)         \
	X(IA32_PERF_CAPABILITIES,       0x345)         \
	X(IA32_FIXED_CTR_CTRL,          0x38d)         \
	X(IA32_PERF_GLOBAL_STATUS,      0x38e)         \
	X(IA32_RTIT_CTL,                0x570)         \
	X(IA32_DS_AREA,                 0x600)         \
	X(IA32_PM_ENABLE,               0x770)         \
	X(IA32_BNDCFGS,                 0xd90)         \
	X(IA32_BIOS_SIGN_ID,            0x08b)         \
	X(IA32_MTRRCAP,                 0x0fe)         \
	X(IA32_SYSENTER_CS,             0x174)         \
	X(IA32_SYSENTER_ESP,            0x175)         \
	X(IA32_SYSENTER_EIP,            0x176)         \
	X(IA32_MISC_ENABLE,             0x1a0)         \
	X(IA32_DEBUGCTL,                0x1d9)         \
	X(IA32_MTRR_PHYSBASE0,          0x200)         \
	X(IA32_MTRR_PHYSMASK0,          0x201)         \
	X(IA32_MTRR_FIX64K_00000,       0x250)         \
	X(IA32_MTRR_FIX16K_80000,       0x258)         \
	X(IA32_MTRR_FIX16K_A0000,       0x259)         \
	X(IA32_MTRR_FIX4K_C0000,        0x268)         \
	X(IA32_PAT,                     0x277)         \
	X(IA32_MTRR_DEF_TYPE,           0x2ff)         \
	X(IA32_PERF_GLOBAL_CTRL,        0x38f)         \
	X(IA32_TSC_DEADLINE,            0x6e0)         \
	X(IA32_VMX_BASIC,               0x480)         \
	X(IA32_VMX_PINBASED_CTLS,       0x481)         \
	X(IA32_VMX_PROCBASED_CTLS,      0x482)         \
	X(IA32_VMX_EXIT_CTLS,           0x483)         \
	X(IA32_VMX_ENTRY_CTLS,          0x484)         \
	X(IA32_VMX_MISC,                0x485)         \
	X(IA32_VMX_CR0_FIXED0,          0x486)         \
	X(IA32_VMX_CR0_FIXED1,          0x487)         \
	X(IA32_VMX_CR4_FIXED0,          0x488)         \
	X(IA32_VMX_CR4_FIXED1,          0x489)         \
	X(IA32_VMX_VMCS_ENUM,           0x48a)         \
	X(IA32_VMX_PROCBASED_CTLS2,     0x48b)         \
	X(IA32_VMX_EPT_VPID_CAP,        0x48c)         \
	X(IA32_VMX_TRUE_PINBASED_CTLS,  0x48d)         \
	X(IA32_VMX_TRUE_PROCBASED_CTLS, 0x48e)         \
	X(IA32_VMX_TRUE_EXIT_CTLS,      0x48f)         \
	X(IA32_VMX_TRUE_ENTRY_CTLS,     0x490)         \
	X(IA32_VMX_VMFUNC,              0x491)         \
	X(IA32_XSS,                     0xda0)         \
	X(IA32_EFER,                    0xc0000080)    \
	X(IA32_STAR,                    0xc0000081)    \
	X(IA32_LSTAR,                   0xc0000082)    \
	X(IA32_CSTAR,                   0xc0000083)    \
	X(IA32_FMASK,                   0xc0000084)    \
	X(IA32_FS_BASE,                 0xc0000100)    \
	X(IA32_GS_BASE,                 0xc0000101)    \
	X(IA32_KERNEL_GS_BASE,          0xc0000102)    \
	X(IA32_TSC_AUX,                 0xc0000103)

enum msr_index {
#define X(name, index) MSR_##name = index,
	MSR_TABLE(X)
#undef X
};

/* Name of an MSR from the table, or NULL. */
const char *msr_name(uint32_t index);

/* IA32_FEATURE_CONTROL bits (SDM Vol. 3C 23.7 "Enabling and entering VMX operation"). */
#define FEATURE_CONTROL_LOCKED              (1ull << 0)
#define FEATURE_CONTROL_VMX_INSIDE_SMX      (1ull << 1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX     (1ull << 2)

/* IA32_EFER bits (SDM Vol. 3A 2.2.1). */
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* IA32_MTRRCAP / IA32_MTRR_DEF_TYPE (SDM Vol. 3A 12.11.2.1, 12.11.1). */
#define MTRRCAP_VCNT_MASK   0xffull
#define MTRRCAP_FIX         (1ull << 8)
#define MTRR_DEF_TYPE_MASK  0xffull
#define MTRR_DEF_FE         (1ull << 10)
#define MTRR_DEF_E          (1ull << 11)

/* IA32_MISC_ENABLE bits (SDM Vol. 4 Table 2-2). */
#define MISC_ENABLE_FAST_STRINGS        (1ull << 0)
#define MISC_ENABLE_BTS_UNAVAILABLE     (1ull << 11)
#define MISC_ENABLE_PEBS_UNAVAILABLE    (1ull << 12)
#define MTRR_PHYSMASK_VALID (1ull << 11)

static inline uint64_t rdmsr(uint32_t index)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(index));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t index, uint64_t value)
{
	__asm__ volatile("wrmsr" ::"c"(index), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#endif
