/*
 * CPUID (exit reason 10; CPUID always exits, SDM Vol. 3C 26.1.2).
 * The guest sees the real CPU, minus what the monitor does not virtualize
 * (VMX, SMX, MONITOR/MWAIT, and every feature whose MSRs exit/msr.c does not
 * offer: vmm/guest_cpuid.h), plus the hypervisor bit and the monitor's own
 * leaves 0x40000000-0x400000ff (the hypercall ABI, vmm/hypercall.h).  The local APIC is the monitor's virtual one
 * (vmm/dev/vlapic.c): x2APIC and the TSC-deadline timer.
 */
#include <string.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include "vmm/exits.h"
#include "vmm/guest_cpuid.h"
#include "vmm/hypercall.h"
#include "vmm/mmu_ops.h"
#include "vmm/vlapic.h"

#define CPUID_1_ECX_MONITOR  (1u << 3)
#define CPUID_1_ECX_PCID     (1u << 17)
#define CPUID_7_EBX_INVPCID  (1u << 10)
#define CPUID_D1_EAX_XSAVES  (1u << 3)
#define CPUID_XSAVE_SUBLEAF_1 1u
#define CPUID_HV_LEAF_MAX    0x40000001u
#define CPUID_HV_LEAF_LAST   0x400000ffu

/*
 * The bits of one register of one leaf whose MSRs the monitor does not offer (vmm/guest_cpuid.h).
 * Called with constants only: it folds to one constant mask, so that hiding them costs an AND (the
 * MSR exits ask guest_cpuid_has, hence guest_cpuid, at each access).
 */
static inline __attribute__((always_inline)) uint32_t hidden_msr_features(uint32_t leaf, uint32_t subleaf,
									  unsigned reg)
{
	uint32_t mask = 0;
#define X(name, l, s, rg, bit, msr) mask |= ((l) == leaf && (s) == subleaf && (rg) == reg) ? (uint32_t)(bit) : 0u;
	CPUID_HIDDEN_MSR_FEATURES(X)
#undef X
	return mask;
}

/* Clear those features in a leaf (a constant leaf and subleaf: four ANDs). */
#define HIDE_MSR_FEATURES(leaf, subleaf, r)                                        \
	do {                                                                       \
		(r)->eax &= ~hidden_msr_features((leaf), (subleaf), CPUID_EAX);    \
		(r)->ebx &= ~hidden_msr_features((leaf), (subleaf), CPUID_EBX);    \
		(r)->ecx &= ~hidden_msr_features((leaf), (subleaf), CPUID_ECX);    \
		(r)->edx &= ~hidden_msr_features((leaf), (subleaf), CPUID_EDX);    \
	} while (0)

/* The slot of struct vcpu's host_cpuid that holds (leaf, subleaf), or -1 (a switch: a few compares). */
static inline int host_cpuid_slot(uint32_t leaf, uint32_t subleaf)
{
	switch (leaf) {
	case CPUID_LEAF_VENDOR: return 0;
	case CPUID_LEAF_FEATURES: return 1;
	case CPUID_LEAF_EXT_FEATURES: return subleaf == 0 ? 2 : -1;
	case CPUID_LEAF_EXT_MAX: return 3;
	case CPUID_LEAF_EXT_FEATURES_8001: return 4;
	default: return -1;
	}
}

void guest_cpuid_cache_host(struct vcpu *v)
{
	static const uint32_t leaves[HOST_CPUID_CACHED] = { CPUID_LEAF_VENDOR, CPUID_LEAF_FEATURES, CPUID_LEAF_EXT_FEATURES,
							    CPUID_LEAF_EXT_MAX, CPUID_LEAF_EXT_FEATURES_8001 };
	for (unsigned i = 0; i < HOST_CPUID_CACHED; i++)
		v->host_cpuid[host_cpuid_slot(leaves[i], 0)] = cpuid(leaves[i], 0);
	v->host_cpuid_cached = true;
}

/*
 * The host's answer: from v's copy for the leaves it keeps (leaf 1's initial APIC ID and OSXSAVE are
 * the host CPU's, and guest_cpuid replaces both), else the CPUID instruction.
 */
static inline struct cpuid_regs host_cpuid(const struct vcpu *v, uint32_t leaf, uint32_t subleaf)
{
	const int slot = host_cpuid_slot(leaf, subleaf);
	if (slot >= 0 && v->host_cpuid_cached)
		return v->host_cpuid[slot];
	return cpuid(leaf, subleaf);
}

/*
 * What the guest's CPUID answers.  from_copy: the host's answer from v's copy where it has one (the
 * monitor's own questions: guest_cpuid_has, at each MSR exit); else the CPUID instruction (the guest's
 * CPUID exit: one instruction there, where Bochs counts a copy's loads as more).
 */
static inline __attribute__((always_inline)) struct cpuid_regs guest_cpuid_answer(const struct vcpu *v, uint32_t leaf,
										     uint32_t subleaf, bool from_copy)
{
	struct cpuid_regs r = { 0, 0, 0, 0 };

	if (leaf >= CPUID_LEAF_HYPERVISOR && leaf <= CPUID_HV_LEAF_LAST) {
		if (leaf == CPUID_LEAF_HYPERVISOR) {
			r.eax = CPUID_HV_LEAF_MAX;
			memcpy(&r.ebx, HV_CPUID_SIGNATURE + 0, 4);
			memcpy(&r.ecx, HV_CPUID_SIGNATURE + 4, 4);
			memcpy(&r.edx, HV_CPUID_SIGNATURE + 8, 4);
		} else if (leaf == HV_CPUID_INTERFACE) {
			/* Where the monitor's hypercalls are (vmm/include/vmm/hypercall.h). */
			r.eax = HV_INTERFACE_VERSION;
			r.ebx = HC_BASE;
			r.ecx = HC_COUNT;
		}
	} else {
		r = from_copy ? host_cpuid(v, leaf, subleaf) : cpuid(leaf, subleaf);
		/* A switch: most leaves pass unchanged after a few compares (the CPUID exit's fast path). */
		switch (leaf) {
		case CPUID_LEAF_FEATURES:
			/* PDCM: IA32_PERF_CAPABILITIES is not offered (exit/msr.c), like the rest of the PMU. */
			r.ecx &= ~(CPUID_1_ECX_VMX | CPUID_1_ECX_SMX | CPUID_1_ECX_MONITOR | CPUID_1_ECX_OSXSAVE |
				   CPUID_1_ECX_PDCM);
			/*
			 * The virtual APIC: x2APIC mode and the TSC-deadline timer are emulated (SDM 11.12.1,
			 * 11.5.4.1).  Its timer runs on the VMX-preemption timer: a CPU without one (Core 2)
			 * gets no APIC at all rather than a timer that never fires.
			 */
			r.ecx &= ~(CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE);
			if (v->preemption_timer)
				r.ecx |= CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE;
			r.ebx = (r.ebx & ~CPUID_1_EBX_APIC_ID_MASK) | (v->lapic.id << CPUID_1_EBX_APIC_ID_SHIFT);
			r.ecx |= CPUID_1_ECX_HYPERVISOR;
			/* OSXSAVE mirrors the guest's CR4, not the monitor's (SDM Vol. 2A CPUID). */
			if (v->guest_cr4 & CR4_OSXSAVE)
				r.ecx |= CPUID_1_ECX_OSXSAVE;
			/* CPUID.1:EDX.APIC follows IA32_APIC_BASE.EN (SDM Vol. 3A 11.4.3). */
			r.edx &= ~CPUID_1_EDX_APIC;
			if (v->preemption_timer && vlapic_mode(&v->lapic) != VLAPIC_DISABLED)
				r.edx |= CPUID_1_EDX_APIC;
			if (!v->mmu->guest_pcid)
				r.ecx &= ~CPUID_1_ECX_PCID; /* shadow roots are not PCID-tagged */
			HIDE_MSR_FEATURES(CPUID_LEAF_FEATURES, 0, &r);
			break;
		case CPUID_LEAF_THERMAL_POWER:
			/*
			 * No thermal or power MSRs (SDM Vol. 3B 15.8, 16): only ARAT, true of the vLAPIC,
			 * whose timer runs on the preemption timer, which counts in HLT too (SDM 26.5.1).
			 */
			r.eax &= CPUID_6_EAX_ARAT;
			r.ebx = r.ecx = r.edx = 0;
			HIDE_MSR_FEATURES(CPUID_LEAF_THERMAL_POWER, 0, &r);
			break;
		case CPUID_LEAF_PT:
			r.eax = r.ebx = r.ecx = r.edx = 0; /* no Intel PT: its MSRs are not offered */
			break;
		case CPUID_LEAF_EXT_FEATURES:
			if (subleaf == CPUID_7_SUBLEAF_1) {
				r.eax &= ~CPUID_7_1_EAX_LAM; /* LAM's CR3/CR4 bits are refused like any reserved bit */
				break;
			}
			if (subleaf != 0)
				break;
			r.ebx &= ~CPUID_7_EBX_INVPCID; /* not enabled in the VMCS: #UD */
			/* Their CR4 bits (PKE, CET, LA57) are refused (exit/cr.c CR4_GUEST_VALID): hide them. */
			r.ecx &= ~(CPUID_7_ECX_PKU | CPUID_7_ECX_CET_SS | CPUID_7_ECX_LA57);
			r.edx &= ~CPUID_7_EDX_CET_IBT;
			HIDE_MSR_FEATURES(CPUID_LEAF_EXT_FEATURES, 0, &r);
			/* IA32_TSC_ADJUST is the monitor's own, on TSC offsetting (exit/msr.c; SDM Vol. 3B 18.17.3). */
			r.ebx &= ~CPUID_7_EBX_TSC_ADJUST;
			if (v->tsc_offsetting)
				r.ebx |= CPUID_7_EBX_TSC_ADJUST;
			/* RDPID is #UD while "enable RDTSCP" is 0 (SDM Vol. 3C 26.3; Vol. 2B RDPID). */
			if (!v->rdtscp_enabled)
				r.ecx &= ~CPUID_7_ECX_RDPID;
			break;
		case CPUID_LEAF_PERFMON:
			/*
			 * No architectural performance monitoring (version 0, no counters, SDM Vol. 3B
			 * 20.2.1): RDPMC exits and is #GP(0) (exit/misc.c) and the PMU MSRs are not offered.
			 */
			r.eax = r.ebx = r.ecx = r.edx = 0;
			break;
		case CPUID_LEAF_XSAVE:
			if (subleaf == CPUID_XSAVE_SUBLEAF_1)
				r.eax &= ~CPUID_D1_EAX_XSAVES; /* not enabled in the VMCS: #UD */
			break;
		case CPUID_LEAF_EXT_FEATURES_8001:
			if (!v->rdtscp_enabled)
				r.edx &= ~CPUID_80000001_EDX_RDTSCP; /* #UD while "enable RDTSCP" is 0 (SDM 26.3) */
			break;
		default:
			break;
		}
	}
	return r;
}

struct cpuid_regs guest_cpuid(const struct vcpu *v, uint32_t leaf, uint32_t subleaf)
{
	return guest_cpuid_answer(v, leaf, subleaf, false);
}

bool guest_cpuid_has(const struct vcpu *v, struct cpuid_feature f)
{
	const uint32_t base = f.leaf & CPUID_LEAF_RANGE_MASK;
	if (f.leaf > guest_cpuid_answer(v, base, 0, true).eax)
		return false;
	const struct cpuid_regs r = guest_cpuid_answer(v, f.leaf, f.subleaf, true);
	const uint32_t regs[] = { [CPUID_EAX] = r.eax, [CPUID_EBX] = r.ebx, [CPUID_ECX] = r.ecx, [CPUID_EDX] = r.edx };
	return (regs[f.reg] & f.bit) != 0;
}

int handle_cpuid(struct vcpu *v, const struct vm_exit *e)
{
	(void)e;
	const struct cpuid_regs r = guest_cpuid_answer(v, (uint32_t)v->regs.rax, (uint32_t)v->regs.rcx, false);
	v->regs.rax = r.eax;
	v->regs.rbx = r.ebx;
	v->regs.rcx = r.ecx;
	v->regs.rdx = r.edx;
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}
