/*
 * RDMSR / WRMSR (exit reasons 31, 32).  The MSR bitmap makes every MSR exit
 * except the few passed through in vmcs_setup.c.  Here one table lists the
 * MSRs the guest may use and how; anything else gets #GP, as on a CPU
 * without that MSR.  An MSR that exists only with a CPUID feature is offered
 * only when the guest's CPUID (exit/cpuid.c) announces that feature, so the
 * monitor never touches a host MSR the CPU may not have (SDM Vol. 4 Table 2-2
 * gives each MSR's CPUID condition).
 */
#include <arch/apic.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/vmx_controls.h>
#include "vmm/backend.h"
#include "vmm/exits.h"
#include "vmm/guest_cpuid.h"
#include "vmm/ipi.h"
#include "vmm/log.h"
#include "vmm/mmu_ops.h"
#include "vmm/vlapic.h"

enum msr_kind {
	MSR_KIND_REGISTER,      /* kept in a guest-state field of the VMCS */
	MSR_KIND_HARDWARE,  /* the guest's value lives in the real MSR: the monitor never uses it */
	MSR_KIND_READ_ONLY, /* reads return a fixed value; writes #GP */
	MSR_KIND_SPECIAL,   /* EFER, PAT, TSC, TSC_ADJUST: handled in code below */
	MSR_KIND_APIC,      /* the virtual local APIC (vmm/dev/vlapic.c) */
};

/* The CPUID condition under which an MSR exists (SDM Vol. 4 Table 2-2, "Architectural MSRs"). */
enum msr_needs {
	MSR_NEEDS_NOTHING,
	MSR_NEEDS_LONG_MODE,       /* CPUID.80000001H:EDX.LM[29] */
	MSR_NEEDS_SEP,             /* CPUID.1:EDX.SEP[11] */
	MSR_NEEDS_PAT,             /* CPUID.1:EDX.PAT[16] */
	MSR_NEEDS_MTRR,            /* CPUID.1:EDX.MTRR[12] */
	MSR_NEEDS_RDTSCP_OR_RDPID, /* CPUID.80000001H:EDX.RDTSCP[27] or CPUID.(7,0):ECX.RDPID[22] */
	MSR_NEEDS_APIC,            /* CPUID.1:EDX.APIC[9] (clear while IA32_APIC_BASE.EN = 0: the MSR stays) */
	MSR_NEEDS_X2APIC,          /* CPUID.1:ECX.x2APIC[21] */
	MSR_NEEDS_TSC_DEADLINE,    /* CPUID.1:ECX.TSC_Deadline[24] */
	MSR_NEEDS_TSC_ADJUST,      /* CPUID.(7,0):EBX.IA32_TSC_ADJUST[1] */
};

struct msr_rule {
	uint32_t index;
	enum msr_kind kind;
	enum vcpu_reg reg;    /* MSR_KIND_REGISTER: the guest register that holds it */
	uint64_t value;       /* MSR_KIND_READ_ONLY */
	bool canonical;       /* writes must be canonical addresses */
	uint64_t reserved;    /* bits a write must leave 0 (else #GP, before the real MSR could fault) */
	enum msr_needs needs; /* else the MSR does not exist for this guest: #GP */
};

#define HIGH_DWORD (~0ull << 32)
#define APIC_MODE_LOG_INFO 8 /* APIC mode changes logged at info level, then at debug */

#define MTRR_DEF_TYPE_WB 6u
#define EFER_GUEST_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE)
#define PAT_ENTRY_COUNT 8
#define PAT_ENTRY_BITS 8
#define PAT_TYPE_MASK 0xffu

/*
 * IA32_MISC_ENABLE as the guest sees it: a fixed value, never the host's (whose
 * bits describe the host's thermal control, prefetchers and performance
 * monitoring, none of which the guest controls): fast strings on, no branch
 * trace store, no PEBS.  Limit-CPUID-maxval and XD-disable read 0.
 */
#define GUEST_MISC_ENABLE (MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_BTS_UNAVAILABLE | MISC_ENABLE_PEBS_UNAVAILABLE)

static const struct msr_rule msr_rules[] = {
	{ MSR_IA32_EFER, MSR_KIND_SPECIAL, 0, 0, false, 0, MSR_NEEDS_NOTHING },
	{ MSR_IA32_PAT, MSR_KIND_SPECIAL, 0, 0, false, 0, MSR_NEEDS_PAT },
	{ MSR_IA32_TIME_STAMP_COUNTER, MSR_KIND_SPECIAL, 0, 0, false, 0, MSR_NEEDS_NOTHING },
	{ MSR_IA32_TSC_ADJUST, MSR_KIND_SPECIAL, 0, 0, false, 0, MSR_NEEDS_TSC_ADJUST },
	{ MSR_IA32_STAR, MSR_KIND_HARDWARE, 0, 0, false, 0, MSR_NEEDS_LONG_MODE },
	{ MSR_IA32_LSTAR, MSR_KIND_HARDWARE, 0, 0, true, 0, MSR_NEEDS_LONG_MODE },
	{ MSR_IA32_CSTAR, MSR_KIND_HARDWARE, 0, 0, true, 0, MSR_NEEDS_LONG_MODE },
	{ MSR_IA32_FMASK, MSR_KIND_HARDWARE, 0, 0, false, HIGH_DWORD, MSR_NEEDS_LONG_MODE }, /* SDM Vol. 4 Table 2-2 */
	{ MSR_IA32_TSC_AUX, MSR_KIND_HARDWARE, 0, 0, false, HIGH_DWORD, MSR_NEEDS_RDTSCP_OR_RDPID }, /* idem */
	{ MSR_IA32_SYSENTER_CS, MSR_KIND_REGISTER, VCPU_SYSENTER_CS, 0, false, 0, MSR_NEEDS_SEP },
	{ MSR_IA32_SYSENTER_ESP, MSR_KIND_REGISTER, VCPU_SYSENTER_ESP, 0, true, 0, MSR_NEEDS_SEP },
	{ MSR_IA32_SYSENTER_EIP, MSR_KIND_REGISTER, VCPU_SYSENTER_EIP, 0, true, 0, MSR_NEEDS_SEP },
	/* No MTRRs are offered to the guest: write-back by default, no ranges. */
	{ MSR_IA32_MTRRCAP, MSR_KIND_READ_ONLY, 0, 0, false, 0, MSR_NEEDS_MTRR },
	{ MSR_IA32_MTRR_DEF_TYPE, MSR_KIND_READ_ONLY, 0, MTRR_DEF_E | MTRR_DEF_TYPE_WB, false, 0, MSR_NEEDS_MTRR },
	/* VMX is hidden: the feature-control MSR says locked with VMX off. */
	{ MSR_IA32_FEATURE_CONTROL, MSR_KIND_READ_ONLY, 0, FEATURE_CONTROL_LOCKED, false, 0, MSR_NEEDS_NOTHING },
	{ MSR_IA32_MISC_ENABLE, MSR_KIND_READ_ONLY, 0, GUEST_MISC_ENABLE, false, 0, MSR_NEEDS_NOTHING },
	/* The virtual local APIC: its base and mode, the TSC deadline (SDM Vol. 3A 11.4.4, 11.5.4.1). */
	{ MSR_IA32_APIC_BASE, MSR_KIND_APIC, 0, 0, false, 0, MSR_NEEDS_NOTHING },
	{ MSR_IA32_TSC_DEADLINE, MSR_KIND_APIC, 0, 0, false, 0, MSR_NEEDS_TSC_DEADLINE },
};

/* The x2APIC registers, MSRs 0x800-0x8ff: the vLAPIC applies the x2APIC access rules (SDM 11.12.1.2). */
static const struct msr_rule x2apic_rule = { X2APIC_MSR_BASE, MSR_KIND_APIC, 0, 0, false, 0, MSR_NEEDS_X2APIC };

static bool msr_exists(const struct vcpu *v, enum msr_needs needs)
{
	static const struct cpuid_feature lm = { CPUID_LEAF_EXT_FEATURES_8001, 0, CPUID_EDX, CPUID_80000001_EDX_LM };
	static const struct cpuid_feature sep = { CPUID_LEAF_FEATURES, 0, CPUID_EDX, CPUID_1_EDX_SEP };
	static const struct cpuid_feature pat = { CPUID_LEAF_FEATURES, 0, CPUID_EDX, CPUID_1_EDX_PAT };
	static const struct cpuid_feature mtrr = { CPUID_LEAF_FEATURES, 0, CPUID_EDX, CPUID_1_EDX_MTRR };
	static const struct cpuid_feature rdtscp = { CPUID_LEAF_EXT_FEATURES_8001, 0, CPUID_EDX,
						     CPUID_80000001_EDX_RDTSCP };
	static const struct cpuid_feature rdpid = { CPUID_LEAF_EXT_FEATURES, 0, CPUID_ECX, CPUID_7_ECX_RDPID };
	static const struct cpuid_feature x2apic = { CPUID_LEAF_FEATURES, 0, CPUID_ECX, CPUID_1_ECX_X2APIC };
	static const struct cpuid_feature deadline = { CPUID_LEAF_FEATURES, 0, CPUID_ECX, CPUID_1_ECX_TSC_DEADLINE };
	static const struct cpuid_feature apic = { CPUID_LEAF_FEATURES, 0, CPUID_EDX, CPUID_1_EDX_APIC };
	static const struct cpuid_feature tsc_adjust = { CPUID_LEAF_EXT_FEATURES, 0, CPUID_EBX, CPUID_7_EBX_TSC_ADJUST };
	switch (needs) {
	case MSR_NEEDS_NOTHING: return true;
	case MSR_NEEDS_LONG_MODE: return guest_cpuid_has(v, lm);
	case MSR_NEEDS_SEP: return guest_cpuid_has(v, sep);
	case MSR_NEEDS_PAT: return guest_cpuid_has(v, pat);
	case MSR_NEEDS_MTRR: return guest_cpuid_has(v, mtrr);
	case MSR_NEEDS_RDTSCP_OR_RDPID: return guest_cpuid_has(v, rdtscp) || guest_cpuid_has(v, rdpid);
	case MSR_NEEDS_APIC: return guest_cpuid_has(v, apic);
	case MSR_NEEDS_X2APIC: return guest_cpuid_has(v, x2apic);
	case MSR_NEEDS_TSC_DEADLINE: return guest_cpuid_has(v, deadline);
	case MSR_NEEDS_TSC_ADJUST: return guest_cpuid_has(v, tsc_adjust);
	}
	return false;
}

/* The rule for an MSR this guest has, or 0 (then RDMSR/WRMSR are #GP, SDM Vol. 2B RDMSR). */
static const struct msr_rule *find_rule(const struct vcpu *v, uint32_t index)
{
	if (index >= X2APIC_MSR_BASE && index <= X2APIC_MSR_LAST)
		return msr_exists(v, x2apic_rule.needs) ? &x2apic_rule : 0;
	for (unsigned i = 0; i < sizeof(msr_rules) / sizeof(msr_rules[0]); i++)
		if (msr_rules[i].index == index)
			return msr_exists(v, msr_rules[i].needs) ? &msr_rules[i] : 0;
	return 0;
}

/* SDM Vol. 3A 13.12.2: valid PAT types are 0, 1, 4, 5, 6, 7. */
static bool pat_valid(uint64_t pat)
{
	for (unsigned i = 0; i < PAT_ENTRY_COUNT; i++) {
		unsigned t = (pat >> (i * PAT_ENTRY_BITS)) & PAT_TYPE_MASK;
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* The guest's physical-address bits: IA32_APIC_BASE may not set any above them (SDM 11.4.4). */
static uint64_t guest_phys_mask(const struct vcpu *v)
{
	return (1ull << v->caps->maxphyaddr) - 1;
}

static bool read_apic_msr(struct vcpu *v, uint32_t index, uint64_t *value)
{
	struct vlapic *a = vcpu_lapic(v);
	if (index == MSR_IA32_APIC_BASE)
		*value = a->apic_base;
	else if (index == MSR_IA32_TSC_DEADLINE)
		*value = vlapic_tsc_deadline_read(a);
	else
		return vlapic_msr_read(a, index, rdtsc(), value) == VLAPIC_OK;
	return true;
}

static bool write_apic_msr(struct vcpu *v, uint32_t index, uint64_t value)
{
	const uint64_t now = rdtsc();
	struct vlapic *a = vcpu_lapic(v);
	if (index == MSR_IA32_APIC_BASE) {
		const enum vlapic_mode before = vlapic_mode(a);
		if (!vlapic_set_base(a, value, guest_phys_mask(v), now))
			return false; /* reserved bit or a forbidden mode switch: #GP (SDM 11.12.5) */
		backend_apic_mode_changed(v); /* hardware virtualization follows x2APIC mode */
		if (vlapic_mode(a) != before)
			hv_log(v->apic_mode_changes_logged++ < APIC_MODE_LOG_INFO ? HV_LOG_INFO : HV_LOG_DEBUG,"guest local APIC: %s mode (IA32_APIC_BASE %#llx)",
				 vlapic_mode(a) == VLAPIC_X2APIC ? "x2APIC"
				 : vlapic_mode(a) == VLAPIC_XAPIC ? "xAPIC" : "disabled",
				 (unsigned long long)value);
		return true;
	}
	if (index == MSR_IA32_TSC_DEADLINE) {
		vlapic_tsc_deadline_write(a, value, v->tsc_offset, now); /* a value of the guest's TSC */
		return true;
	}
	if (vlapic_msr_write(a, index, value, now) != VLAPIC_OK)
		return false;
	if (__builtin_expect(a->ipi_out_pending, 0))
		vcpu_route_ipi(v); /* an ICR write may name other vCPUs */
	backend_apic_mode_changed(v); /* an SVR write may switch APIC virtualization on or off */
	return true;
}

static bool read_msr(struct vcpu *v, const struct msr_rule *r, uint32_t index, uint64_t *value)
{
	switch (r->kind) {
	case MSR_KIND_REGISTER: *value = vcpu_read(v, r->reg); return true;
	case MSR_KIND_HARDWARE: *value = rdmsr(r->index); return true;
	case MSR_KIND_READ_ONLY: *value = r->value; return true;
	case MSR_KIND_APIC: return read_apic_msr(v, index, value);
	case MSR_KIND_SPECIAL:
		if (r->index == MSR_IA32_EFER)
			*value = v->guest_efer;
		else if (r->index == MSR_IA32_PAT)
			*value = v->pat_switched ? vcpu_read(v, VCPU_IA32_PAT) : rdmsr(MSR_IA32_PAT);
		else if (r->index == MSR_IA32_TSC_ADJUST)
			*value = v->tsc_adjust;
		else
			*value = rdtsc() + v->tsc_offset; /* what RDTSC reads in the guest (SDM Vol. 3C 26.3) */
		return true;
	}
	return false;
}

/*
 * The guest's TSC moves by `delta` (SDM Vol. 3B 18.17: a write to IA32_TSC or IA32_TSC_ADJUST): the
 * VMCS's TSC offset, so that RDTSC reads the new value plus the time since, and the vLAPIC's TSC
 * deadline, a value of the guest's TSC.  IA32_TSC_ADJUST follows by the same amount (SDM 18.17.3).
 */
static void move_guest_tsc(struct vcpu *v, uint64_t delta, uint64_t now)
{
	v->tsc_offset += delta;
	v->tsc_adjust += delta;
	backend_set_tsc_offset(v, v->tsc_offset);
	vlapic_tsc_offset_changed(vcpu_lapic(v), v->tsc_offset, now);
}

/* WRMSR IA32_TSC / IA32_TSC_ADJUST: needs TSC offsetting (else #GP, as before the monitor offered them). */
static int write_tsc(struct vcpu *v, uint32_t index, uint64_t value)
{
	if (!v->tsc_offsetting)
		return EMULATE_FAULT;
	const uint64_t now = rdtsc();
	if (index == MSR_IA32_TSC_ADJUST)
		move_guest_tsc(v, value - v->tsc_adjust, now);
	else
		move_guest_tsc(v, value - (now + v->tsc_offset), now);
	return EXIT_RESUME;
}

static int write_efer(struct vcpu *v, uint64_t value)
{
	const uint64_t old = v->guest_efer;
	if (value & ~(EFER_GUEST_WRITABLE | EFER_LMA))
		return EMULATE_FAULT;
	if ((value & EFER_NXE) && !(cpuid(CPUID_LEAF_EXT_FEATURES_8001, 0).edx & CPUID_80000001_EDX_NX))
		return EMULATE_FAULT;
	if (((old ^ value) & EFER_LME) && (v->guest_cr0 & CR0_PG))
		return EMULATE_FAULT; /* SDM Vol. 3A 10.8.5: LME cannot change while paging is on */
	/* LMA is the CPU's to set (on CR0.PG with LME): keep the current value. */
	v->guest_efer = (value & EFER_GUEST_WRITABLE) | (old & EFER_LMA);
	efer_apply(v);
	if ((value ^ old) & EFER_SCE)
		log_debug("guest %s SYSCALL (EFER.SCE)", value & EFER_SCE ? "enabled" : "disabled");
	if ((old ^ value) & EFER_NXE)
		return v->mmu->translation_changed(v, MMU_CHANGE_NXE);
	return EXIT_RESUME;
}

/* EXIT_RESUME, EMULATE_FAULT (#GP), or a status to stop with. */
static int write_msr(struct vcpu *v, const struct msr_rule *r, uint32_t index, uint64_t value)
{
	if ((r->canonical && !is_canonical(value)) || (value & r->reserved))
		return EMULATE_FAULT;
	switch (r->kind) {
	case MSR_KIND_REGISTER: vcpu_write(v, r->reg, value); return EXIT_RESUME;
	case MSR_KIND_HARDWARE:
		wrmsr(r->index, value);
		if (r->index == MSR_IA32_LSTAR)
			hv_log(v->lstar_logged++ ? HV_LOG_DEBUG : HV_LOG_INFO,
			       "guest installed its SYSCALL entry point at %#llx (IA32_LSTAR)", (unsigned long long)value);
		return EXIT_RESUME;
	case MSR_KIND_READ_ONLY: return EMULATE_FAULT;
	case MSR_KIND_APIC: return write_apic_msr(v, index, value) ? EXIT_RESUME : EMULATE_FAULT;
	case MSR_KIND_SPECIAL:
		if (r->index == MSR_IA32_EFER)
			return write_efer(v, value);
		if (r->index == MSR_IA32_PAT && pat_valid(value)) {
			if (v->pat_switched)
				vcpu_write(v, VCPU_IA32_PAT, value);
			else
				wrmsr(MSR_IA32_PAT, value);
			return EXIT_RESUME;
		}
		if (r->index == MSR_IA32_TIME_STAMP_COUNTER || r->index == MSR_IA32_TSC_ADJUST)
			return write_tsc(v, r->index, value);
		return EMULATE_FAULT; /* a reserved PAT type */
	}
	return EMULATE_FAULT;
}

int handle_rdmsr(struct vcpu *v, const struct vm_exit *e)
{
	const uint32_t index = e->msr;
	const struct msr_rule *r = find_rule(v, index);
	uint64_t value;
	if (!r || !read_msr(v, r, index, &value)) {
		log_debug("guest RDMSR %#x: not offered, #GP injected", index);
		vcpu_inject_gp0(v);
		return EXIT_RESUME;
	}
	v->regs.rax = (uint32_t)value;
	v->regs.rdx = value >> 32;
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}

int handle_wrmsr(struct vcpu *v, const struct vm_exit *e)
{
	const uint32_t index = e->msr;
	const uint64_t value = (v->regs.rdx << 32) | (uint32_t)v->regs.rax;
	const struct msr_rule *r = find_rule(v, index);
	const int result = r ? write_msr(v, r, index, value) : EMULATE_FAULT;
	if (result == EMULATE_FAULT) {
		log_debug("guest WRMSR %#x <- %#llx: refused, #GP injected", index, (unsigned long long)value);
		vcpu_inject_gp0(v);
		return EXIT_RESUME;
	}
	if (result != EXIT_RESUME)
		return result;
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}
