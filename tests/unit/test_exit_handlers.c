/*
 * Host unit tests of the exit handlers (vmm/exit/, vmm/exit/hypercall.c) and the vCPU's event queue
 * (vmm/core/vcpu.c), run through exit_dispatch() against the fake backend of fake_backend.c: each
 * test builds a decoded exit (struct vm_exit) as the backend would, dispatches it, and checks the
 * guest state the handler left in the register cache and the GPRs, the queued events, and the calls
 * into the backend.  Inputs are chosen so that no path reaches a privileged instruction (real MSRs,
 * XSETBV, debug registers, port I/O): EFER and PAT are "switched" (kept in guest registers), DR7 has
 * no breakpoint enabled, and no port reaches hardware (vmm/exit/io.c emulates all of them).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arch/apic.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/debug.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/segment.h>
#include <arch/vmx_state.h>
#include "vmm/backend.h"
#include "vmm/events.h"
#include "vmm/guest_cpuid.h"
#include "vmm/exits.h"
#include "vmm/host_apic.h"
#include "vmm/hypercall.h"
#include "vmm/ipi.h"
#include "vmm/status.h"
#include "vmm/vuart.h"
#include "vmm/mmu_ops.h"
#include "fake_backend.h"

static struct vcpu vcpu;

static int setup(void **state)
{
	fake_vcpu_init(&vcpu);
	*state = &vcpu;
	return 0;
}

#define T(name) cmocka_unit_test_setup(name, setup)

/* ---- assertions shared by the tests ---- */

#define assert_rip(v, value) assert_int_equal(fake_guest_reg((v), VCPU_RIP), (value))
/* The instruction completed: RIP moved past it (and nothing was queued). */
#define assert_skipped(v, len)                                     \
	do {                                                       \
		assert_rip((v), fake.exit_rip + (len));            \
		assert_false((v)->events.exception.valid);         \
	} while (0)
/* The instruction faulted: RIP stays on it, the exception is queued. */
#define assert_faulted(v, vec, code)                                              \
	do {                                                                      \
		assert_rip((v), fake.exit_rip);                                   \
		assert_false(fake_dirty((v), VCPU_RIP));                          \
		assert_true((v)->events.exception.valid);                         \
		assert_int_equal((v)->events.exception.type, EVENT_HARD_EXCEPTION); \
		assert_int_equal((v)->events.exception.vector, (vec));            \
		assert_true((v)->events.exception.has_error_code);                \
		assert_int_equal((v)->events.exception.error_code, (code));       \
	} while (0)
#define assert_ud(v)                                                  \
	do {                                                          \
		assert_rip((v), fake.exit_rip);                       \
		assert_true((v)->events.exception.valid);             \
		assert_int_equal((v)->events.exception.vector, VECTOR_UD); \
		assert_false((v)->events.exception.has_error_code);   \
	} while (0)
/* Every register the exit needed came from the backend at most once (the register cache's promise). */
#define assert_reads_once() assert_in_range(fake_max_reads(), 0, 1)

/* Dispatch the prepared exit and expect the guest to resume. */
static void resume(struct vcpu *v, const struct vm_exit *e)
{
	assert_int_equal(exit_dispatch(v, e), EXIT_RESUME);
	assert_reads_once();
}

/* ======================================================================== CPUID */

static void cpuid_exit(struct vcpu *v, uint64_t rax, uint64_t rcx)
{
	struct vm_exit *e = fake_exit(v, EXIT_CPUID, 2);
	v->regs.rax = rax;
	v->regs.rcx = rcx;
	v->regs.rbx = v->regs.rdx = ~0ull; /* stale upper halves: CPUID clears them */
	resume(v, e);
	assert_skipped(v, 2);
}

static void test_cpuid_signature_leaf(void **s)
{
	struct vcpu *v = *s;
	char sig[13] = { 0 };
	cpuid_exit(v, 0xffffffff00000000ull | CPUID_LEAF_HYPERVISOR, 0); /* only EAX selects the leaf */
	assert_int_equal(v->regs.rax, 0x40000001);
	memcpy(sig + 0, &v->regs.rbx, 4);
	memcpy(sig + 4, &v->regs.rcx, 4);
	memcpy(sig + 8, &v->regs.rdx, 4);
	assert_string_equal(sig, HV_CPUID_SIGNATURE);
	assert_int_equal(v->regs.rbx >> 32, 0);
	assert_int_equal(v->regs.rdx >> 32, 0);

	cpuid_exit(v, HV_CPUID_INTERFACE, 0); /* the interface leaf: version, where the hypercalls are */
	assert_int_equal(fake_guest_reg(v, VCPU_RIP), FAKE_RIP + 2 * 2);
	assert_int_equal(v->regs.rax, HV_INTERFACE_VERSION);
	assert_int_equal(v->regs.rbx, HC_BASE);
	assert_int_equal(v->regs.rbx, 0x48560000u); /* the ABI's number, spelled out: it may not drift */
	assert_int_equal(v->regs.rcx, HC_COUNT);
	assert_int_equal(v->regs.rdx, 0);

	cpuid_exit(v, 0x400000ff, 0); /* the rest of the monitor's range: zeros, never the host's */
	assert_int_equal(v->regs.rax | v->regs.rbx | v->regs.rcx | v->regs.rdx, 0);
}

static void test_cpuid_features_leaf(void **s)
{
	struct vcpu *v = *s;
	vlapic_reset(&v->lapic, 5, true);
	v->preemption_timer = true;
	cpuid_exit(v, CPUID_LEAF_FEATURES, 0);
	const uint32_t ebx = (uint32_t)v->regs.rbx, ecx = (uint32_t)v->regs.rcx, edx = (uint32_t)v->regs.rdx;
	assert_true(ecx & CPUID_1_ECX_HYPERVISOR);
	assert_false(ecx & CPUID_1_ECX_VMX);
	assert_false(ecx & CPUID_1_ECX_SMX);
	assert_false(ecx & (1u << 3));                /* MONITOR/MWAIT */
	assert_false(ecx & CPUID_1_ECX_PDCM);
	assert_false(ecx & CPUID_1_ECX_OSXSAVE);      /* the guest's CR4.OSXSAVE is clear */
	assert_true(ecx & CPUID_1_ECX_X2APIC);        /* the vLAPIC, with its timer on the preemption timer */
	assert_true(ecx & CPUID_1_ECX_TSC_DEADLINE);
	assert_true(edx & CPUID_1_EDX_APIC);
	assert_int_equal(ebx >> CPUID_1_EBX_APIC_ID_SHIFT, 5);
	assert_int_equal(v->regs.rax >> 32, 0);

	/* OSXSAVE mirrors the guest's CR4; without the preemption timer there is no APIC at all. */
	v->guest_cr4 |= CR4_OSXSAVE;
	v->preemption_timer = false;
	fake_exit(v, EXIT_CPUID, 2);
	v->regs.rax = CPUID_LEAF_FEATURES;
	v->regs.rcx = 0;
	resume(v, &v->exit);
	assert_true(v->regs.rcx & CPUID_1_ECX_OSXSAVE);
	assert_false(v->regs.rcx & (CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE));
	assert_false(v->regs.rdx & CPUID_1_EDX_APIC);
}

/*
 * The host answers a vCPU keeps (guest_cpuid_cache_host) serve the monitor's own questions
 * (guest_cpuid_has, at each MSR exit) with the answers the CPUID instruction gives; the guest's
 * CPUID exit keeps asking the CPU.
 */
static void test_cpuid_host_cache_same_answers(void **s)
{
	struct vcpu *v = *s;
	static const struct cpuid_feature features[] = {
		{ CPUID_LEAF_FEATURES, 0, CPUID_EDX, CPUID_1_EDX_SEP },
		{ CPUID_LEAF_FEATURES, 0, CPUID_EDX, CPUID_1_EDX_PAT },
		{ CPUID_LEAF_FEATURES, 0, CPUID_EDX, CPUID_1_EDX_APIC },
		{ CPUID_LEAF_FEATURES, 0, CPUID_ECX, CPUID_1_ECX_X2APIC },
		{ CPUID_LEAF_FEATURES, 0, CPUID_ECX, CPUID_1_ECX_TSC_DEADLINE },
		{ CPUID_LEAF_FEATURES, 0, CPUID_ECX, CPUID_1_ECX_HYPERVISOR },
		{ CPUID_LEAF_EXT_FEATURES, 0, CPUID_EBX, CPUID_7_EBX_TSC_ADJUST },
		{ CPUID_LEAF_EXT_FEATURES_8001, 0, CPUID_EDX, CPUID_80000001_EDX_LM },
		{ CPUID_LEAF_EXT_FEATURES_8001, 0, CPUID_EDX, CPUID_80000001_EDX_NX },
	};
	const unsigned n = sizeof(features) / sizeof(features[0]);
	vlapic_reset(&v->lapic, 3, false);
	v->preemption_timer = true;
	v->tsc_offsetting = v->rdtscp_enabled = true;
	assert_false(v->host_cpuid_cached);
	bool before[sizeof(features) / sizeof(features[0])];
	for (unsigned i = 0; i < n; i++)
		before[i] = guest_cpuid_has(v, features[i]);
	assert_true(before[5]); /* the hypervisor bit: always */
	guest_cpuid_cache_host(v);
	assert_true(v->host_cpuid_cached);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(guest_cpuid_has(v, features[i]), before[i]);
	/* The copy is what guest_cpuid_has reads: with leaf 0 saying "no leaf 1", leaf 1's bits are gone... */
	const uint32_t max_leaf = guest_cpuid(v, CPUID_LEAF_VENDOR, 0).eax;
	v->host_cpuid[0].eax = CPUID_LEAF_VENDOR;
	assert_false(guest_cpuid_has(v, features[5]));
	/* ...while the guest's own CPUID still asks the CPU. */
	assert_int_equal(guest_cpuid(v, CPUID_LEAF_VENDOR, 0).eax, max_leaf);
}

static void test_cpuid_hidden_features(void **s)
{
	struct vcpu *v = *s;
	v->rdtscp_enabled = false;
	cpuid_exit(v, CPUID_LEAF_EXT_FEATURES_8001, 0);
	assert_false(v->regs.rdx & CPUID_80000001_EDX_RDTSCP);
	cpuid_exit(v, CPUID_LEAF_EXT_FEATURES, 0);
	assert_false(v->regs.rbx & (1u << 10)); /* INVPCID */
	assert_false(v->regs.rcx & (CPUID_7_ECX_PKU | CPUID_7_ECX_LA57 | CPUID_7_ECX_CET_SS | CPUID_7_ECX_RDPID));
	assert_false(v->regs.rdx & CPUID_7_EDX_CET_IBT);
	cpuid_exit(v, CPUID_LEAF_PERFMON, 0); /* no PMU */
	assert_int_equal(v->regs.rax | v->regs.rbx | v->regs.rcx | v->regs.rdx, 0);
}

/* Completing an instruction: RF and STI blocking cleared, NMI blocking kept, TF makes a single-step trap pending. */
static void test_skip_instruction_side_effects(void **s)
{
	struct vcpu *v = *s;
	fake.reg[VCPU_RFLAGS] = RFLAGS_RESERVED1 | RFLAGS_TF | RFLAGS_RF;
	fake.reg[VCPU_INTERRUPTIBILITY_INFO] = INTERRUPTIBILITY_STI | INTERRUPTIBILITY_NMI;
	cpuid_exit(v, 0, 0);
	assert_int_equal(fake_guest_reg(v, VCPU_RFLAGS), RFLAGS_RESERVED1 | RFLAGS_TF);
	assert_int_equal(fake_guest_reg(v, VCPU_INTERRUPTIBILITY_INFO), INTERRUPTIBILITY_NMI);
	assert_int_equal(fake_guest_reg(v, VCPU_PENDING_DBG_EXCEPTIONS), PENDING_DBG_BS);

	/* IA32_DEBUGCTL.BTF: TF traps on branches only, CPUID is none. */
	fake_exit(v, EXIT_CPUID, 2);
	fake.reg[VCPU_IA32_DEBUGCTL] = DEBUGCTL_BTF;
	fake.reg[VCPU_PENDING_DBG_EXCEPTIONS] = 0;
	assert_true(fake.reg[VCPU_RFLAGS] & RFLAGS_TF);
	v->regs.rax = 0;
	resume(v, &v->exit);
	assert_false(fake_dirty(v, VCPU_PENDING_DBG_EXCEPTIONS));
	assert_skipped(v, 2);
}

/* ======================================================================== RDMSR / WRMSR */

static int rdmsr_exit(struct vcpu *v, uint32_t index)
{
	struct vm_exit *e = fake_exit(v, EXIT_RDMSR, 2);
	v->regs.rcx = index;
	e->msr = index; /* what the backend decodes (ECX) */
	v->regs.rax = 0xaaaaaaaaaaaaaaaaull;
	v->regs.rdx = 0xddddddddddddddddull;
	const int r = exit_dispatch(v, e);
	assert_reads_once();
	return r;
}

static int wrmsr_exit(struct vcpu *v, uint32_t index, uint64_t value)
{
	struct vm_exit *e = fake_exit(v, EXIT_WRMSR, 2);
	v->regs.rcx = index;
	e->msr = index; /* what the backend decodes (ECX) */
	v->regs.rax = 0xffffffff00000000ull | (uint32_t)value; /* WRMSR ignores the upper halves */
	v->regs.rdx = 0xffffffff00000000ull | (value >> 32);
	const int r = exit_dispatch(v, e);
	assert_reads_once();
	return r;
}

#define MSR_VALUE(v) (((v)->regs.rdx << 32) | (uint32_t)(v)->regs.rax)

static void test_msr_efer(void **s)
{
	struct vcpu *v = *s;
	assert_int_equal(rdmsr_exit(v, MSR_IA32_EFER), EXIT_RESUME);
	assert_skipped(v, 2);
	assert_int_equal(MSR_VALUE(v), EFER_SCE | EFER_LME | EFER_LMA);
	assert_int_equal(v->regs.rdx, 0); /* EDX:EAX, upper halves cleared */

	/* Clearing SCE: LMA is the CPU's and stays; the hardware's EFER (switched) follows. */
	assert_int_equal(wrmsr_exit(v, MSR_IA32_EFER, EFER_LME), EXIT_RESUME);
	assert_skipped(v, 2);
	assert_int_equal(v->guest_efer, EFER_LME | EFER_LMA);
	assert_true(fake_dirty(v, VCPU_IA32_EFER));
	assert_int_equal(fake_guest_reg(v, VCPU_IA32_EFER), EFER_LME | EFER_LMA);
}

static void test_msr_efer_invalid(void **s)
{
	struct vcpu *v = *s;
	static const uint64_t bad[] = {
		EFER_SCE | EFER_LME | (1ull << 1), /* a reserved bit */
		EFER_SCE | EFER_LME | (1ull << 63),
		EFER_SCE,                          /* LME cleared while paging is on (SDM 10.8.5) */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_vcpu_init(v);
		assert_int_equal(wrmsr_exit(v, MSR_IA32_EFER, bad[i]), EXIT_RESUME);
		assert_faulted(v, VECTOR_GP, 0);
		assert_int_equal(v->guest_efer, EFER_SCE | EFER_LME | EFER_LMA);
		assert_false(fake_dirty(v, VCPU_IA32_EFER));
	}
}

/* EFER.NXE: allowed when the CPU has NX; under shadow paging a change drops every shadow table. */
static void test_msr_efer_nxe_shadow(void **s)
{
	struct vcpu *v = *s;
	const bool nx = (cpuid(CPUID_LEAF_EXT_FEATURES_8001, 0).edx & CPUID_80000001_EDX_NX) != 0;
	v->mem_mode = HV_MEM_SHADOW;
	v->mmu = &shadow_mmu;
	assert_int_equal(wrmsr_exit(v, MSR_IA32_EFER, EFER_SCE | EFER_LME | EFER_NXE), EXIT_RESUME);
	if (nx) {
		assert_skipped(v, 2);
		assert_int_equal(v->guest_efer, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
		assert_int_equal(fake.shadow_flush_all_calls, 1);
	} else {
		assert_faulted(v, VECTOR_GP, 0);
		assert_int_equal(fake.shadow_flush_all_calls, 0);
	}
}

static void test_msr_sysenter(void **s)
{
	struct vcpu *v = *s;
	assert_int_equal(rdmsr_exit(v, MSR_IA32_SYSENTER_ESP), EXIT_RESUME);
	assert_skipped(v, 2);
	assert_int_equal(MSR_VALUE(v), 0xffff800000100000ull);
	assert_int_equal(fake.reads[VCPU_SYSENTER_ESP], 1);

	assert_int_equal(wrmsr_exit(v, MSR_IA32_SYSENTER_EIP, 0xffff800000abc000ull), EXIT_RESUME);
	assert_skipped(v, 2);
	assert_true(fake_dirty(v, VCPU_SYSENTER_EIP));
	assert_int_equal(fake_guest_reg(v, VCPU_SYSENTER_EIP), 0xffff800000abc000ull);

	/* SYSENTER_CS is a 32-bit guest register: the cache keeps what the backend can hold. */
	assert_int_equal(wrmsr_exit(v, MSR_IA32_SYSENTER_CS, 0x100000023ull), EXIT_RESUME);
	assert_int_equal(fake_guest_reg(v, VCPU_SYSENTER_CS), 0x23);

	/* A non-canonical SYSENTER_ESP/EIP is #GP(0), nothing written. */
	assert_int_equal(wrmsr_exit(v, MSR_IA32_SYSENTER_ESP, 0x0000800000000000ull), EXIT_RESUME);
	assert_faulted(v, VECTOR_GP, 0);
	assert_false(fake_dirty(v, VCPU_SYSENTER_ESP));
	assert_int_equal(fake_guest_reg(v, VCPU_SYSENTER_ESP), 0xffff800000100000ull);
}

static void test_msr_unknown(void **s)
{
	struct vcpu *v = *s;
	static const uint32_t unknown[] = { 0x1234, MSR_IA32_VMX_BASIC, MSR_IA32_PERF_GLOBAL_CTRL, 0xc0010000u };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		fake_vcpu_init(v);
		assert_int_equal(rdmsr_exit(v, unknown[i]), EXIT_RESUME);
		assert_faulted(v, VECTOR_GP, 0);
		assert_int_equal(v->regs.rax, 0xaaaaaaaaaaaaaaaaull); /* untouched */
		assert_int_equal(v->regs.rdx, 0xddddddddddddddddull);
		fake_vcpu_init(v);
		assert_int_equal(wrmsr_exit(v, unknown[i], 0), EXIT_RESUME);
		assert_faulted(v, VECTOR_GP, 0);
	}
}

static void test_msr_pat(void **s)
{
	struct vcpu *v = *s;
	assert_true(v->pat_switched);
	assert_int_equal(rdmsr_exit(v, MSR_IA32_PAT), EXIT_RESUME);
	assert_skipped(v, 2);
	assert_int_equal(MSR_VALUE(v), FAKE_PAT);

	const uint64_t pat = 0x0001050406070100ull; /* types 0, 1, 4, 5, 6, 7 only */
	assert_int_equal(wrmsr_exit(v, MSR_IA32_PAT, pat), EXIT_RESUME);
	assert_skipped(v, 2);
	assert_int_equal(fake_guest_reg(v, VCPU_IA32_PAT), pat);

	/* Types 2, 3 and 8+ are reserved (SDM 13.12.2): #GP(0), PAT unchanged. */
	static const uint64_t bad[] = { 0x0000000000000002ull, 0x0300000000000000ull, 0x0000000800000000ull };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_vcpu_init(v);
		assert_int_equal(wrmsr_exit(v, MSR_IA32_PAT, bad[i]), EXIT_RESUME);
		assert_faulted(v, VECTOR_GP, 0);
		assert_false(fake_dirty(v, VCPU_IA32_PAT));
	}
}

static void test_msr_fixed_and_refused(void **s)
{
	struct vcpu *v = *s;
	/* VMX hidden: IA32_FEATURE_CONTROL locked with VMX off; read-only MSRs refuse writes. */
	assert_int_equal(rdmsr_exit(v, MSR_IA32_FEATURE_CONTROL), EXIT_RESUME);
	assert_skipped(v, 2);
	assert_int_equal(MSR_VALUE(v), FEATURE_CONTROL_LOCKED);
	fake_vcpu_init(v);
	assert_int_equal(rdmsr_exit(v, MSR_IA32_MISC_ENABLE), EXIT_RESUME);
	assert_int_equal(MSR_VALUE(v),
			 MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_BTS_UNAVAILABLE | MISC_ENABLE_PEBS_UNAVAILABLE);
	static const uint32_t read_only[] = { MSR_IA32_FEATURE_CONTROL, MSR_IA32_MISC_ENABLE };
	for (size_t i = 0; i < 2; i++) {
		fake_vcpu_init(v);
		assert_int_equal(wrmsr_exit(v, read_only[i], 0), EXIT_RESUME);
		assert_faulted(v, VECTOR_GP, 0);
	}
	/* Writes refused before any real MSR is touched: TSC without TSC offsetting, non-canonical LSTAR, FMASK[63:32]. */
	fake_vcpu_init(v);
	v->tsc_offsetting = false;
	assert_int_equal(wrmsr_exit(v, MSR_IA32_TIME_STAMP_COUNTER, 0), EXIT_RESUME);
	assert_faulted(v, VECTOR_GP, 0);
	assert_int_equal(fake.set_tsc_offset_calls, 0);
	fake_vcpu_init(v);
	assert_int_equal(wrmsr_exit(v, MSR_IA32_LSTAR, 0x0000800000000000ull), EXIT_RESUME);
	assert_faulted(v, VECTOR_GP, 0);
	fake_vcpu_init(v);
	assert_int_equal(wrmsr_exit(v, MSR_IA32_FMASK, 1ull << 32), EXIT_RESUME);
	assert_faulted(v, VECTOR_GP, 0);
}

/* Cycles the unit test may take between two steps (the host's TSC runs on meanwhile). */
#define TSC_SLACK (1ull << 32)
#define TSC_FAR   (1ull << 60)

/*
 * IA32_TSC (SDM Vol. 3B 18.17): a write sets the TSC offset (SDM Vol. 3C 26.6.5) so that the guest's
 * TSC reads the value written plus the time since; IA32_TSC_ADJUST moves by the same amount
 * (SDM 18.17.3), and a write to it moves the TSC.  Both need TSC offsetting.
 */
static void test_msr_tsc_write(void **s)
{
	struct vcpu *v = *s;
	uint64_t before = rdtsc();
	assert_int_equal(rdmsr_exit(v, MSR_IA32_TIME_STAMP_COUNTER), EXIT_RESUME);
	assert_skipped(v, 2);
	assert_in_range(MSR_VALUE(v), before, before + TSC_SLACK); /* no offset yet */

	/* Forward, far: the offset is the difference, the guest reads what it wrote plus a little. */
	fake_vcpu_init(v);
	before = rdtsc();
	assert_int_equal(wrmsr_exit(v, MSR_IA32_TIME_STAMP_COUNTER, before + TSC_FAR), EXIT_RESUME);
	assert_skipped(v, 2);
	assert_int_equal(fake.set_tsc_offset_calls, 1);
	assert_int_equal(fake.tsc_offset, v->tsc_offset);
	assert_in_range(v->tsc_offset, TSC_FAR - TSC_SLACK, TSC_FAR);
	assert_int_equal(v->tsc_adjust, v->tsc_offset); /* TSC_ADJUST moved by as much */
	assert_int_equal(rdmsr_exit(v, MSR_IA32_TIME_STAMP_COUNTER), EXIT_RESUME);
	assert_in_range(MSR_VALUE(v), before + TSC_FAR, before + TSC_FAR + TSC_SLACK);

	/* Back to 0: the offset wraps (negative), the guest counts up from 0. */
	assert_int_equal(wrmsr_exit(v, MSR_IA32_TIME_STAMP_COUNTER, 0), EXIT_RESUME);
	assert_int_equal(rdmsr_exit(v, MSR_IA32_TIME_STAMP_COUNTER), EXIT_RESUME);
	assert_in_range(MSR_VALUE(v), 0, TSC_SLACK);
	assert_int_equal(fake.set_tsc_offset_calls, 2);

	/* IA32_TSC_ADJUST: advertised with TSC offsetting, reads what the TSC writes added up to... */
	assert_int_equal(rdmsr_exit(v, MSR_IA32_TSC_ADJUST), EXIT_RESUME);
	assert_int_equal(MSR_VALUE(v), v->tsc_adjust);
	assert_int_equal(v->tsc_adjust, v->tsc_offset);
	/* ...and a write to it moves the TSC by the difference (SDM 18.17.3). */
	const uint64_t offset = v->tsc_offset;
	assert_int_equal(wrmsr_exit(v, MSR_IA32_TSC_ADJUST, v->tsc_adjust + TSC_FAR), EXIT_RESUME);
	assert_skipped(v, 2);
	assert_int_equal(v->tsc_offset, offset + TSC_FAR);
	assert_int_equal(fake.tsc_offset, offset + TSC_FAR);
	assert_int_equal(rdmsr_exit(v, MSR_IA32_TSC_ADJUST), EXIT_RESUME);
	assert_int_equal(MSR_VALUE(v), offset + TSC_FAR);

	/* Without TSC offsetting neither is writable, and TSC_ADJUST does not exist. */
	fake_vcpu_init(v);
	v->tsc_offsetting = false;
	assert_int_equal(wrmsr_exit(v, MSR_IA32_TSC_ADJUST, 0), EXIT_RESUME);
	assert_faulted(v, VECTOR_GP, 0);
	fake_vcpu_init(v);
	v->tsc_offsetting = false;
	assert_int_equal(rdmsr_exit(v, MSR_IA32_TSC_ADJUST), EXIT_RESUME);
	assert_faulted(v, VECTOR_GP, 0);
}

/* A TSC deadline is a value of the guest's TSC: moving the TSC moves the host deadline with it. */
static void test_msr_tsc_write_moves_deadline(void **s)
{
	struct vcpu *v = *s;
	v->preemption_timer = true;
	vlapic_reset(&v->lapic, 0, true);
	assert_true(vlapic_set_base(&v->lapic, APIC_BASE_DEFAULT | APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP,
				    (1ull << 46) - 1, 0));
	const uint64_t now = rdtsc();
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_SVR), APIC_SVR_ENABLE | 0xff), EXIT_RESUME);
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_LVT_TIMER), APIC_LVT_TIMER_TSC_DEADLINE | 0x40), EXIT_RESUME);
	/* The guest's TSC set TSC_FAR ahead, then a deadline TSC_SLACK after that: due in host time soon. */
	assert_int_equal(wrmsr_exit(v, MSR_IA32_TIME_STAMP_COUNTER, now + TSC_FAR), EXIT_RESUME);
	assert_int_equal(wrmsr_exit(v, MSR_IA32_TSC_DEADLINE, now + TSC_FAR + TSC_SLACK), EXIT_RESUME);
	assert_skipped(v, 2);
	assert_in_range(vlapic_next_deadline(&v->lapic), now, now + 2 * TSC_SLACK);
	/* Setting the guest's TSC back by TSC_FAR puts the deadline TSC_FAR later in host time. */
	assert_int_equal(wrmsr_exit(v, MSR_IA32_TIME_STAMP_COUNTER, now), EXIT_RESUME);
	assert_in_range(vlapic_next_deadline(&v->lapic), now + TSC_FAR, now + TSC_FAR + 2 * TSC_SLACK);
	assert_int_equal(vlapic_pending_vector(&v->lapic), VLAPIC_NO_VECTOR);
	/* And forward past it: it fires at once. */
	assert_int_equal(wrmsr_exit(v, MSR_IA32_TIME_STAMP_COUNTER, now + 2 * TSC_FAR), EXIT_RESUME);
	assert_int_equal(vlapic_pending_vector(&v->lapic), 0x40);
	assert_int_equal(rdmsr_exit(v, MSR_IA32_TSC_DEADLINE), EXIT_RESUME);
	assert_int_equal(MSR_VALUE(v), 0); /* SDM 11.5.4.1: reads 0 once it fired */
}

/*
 * CPUID and the MSRs agree: each feature vmm/guest_cpuid.h hides, whatever the host has, and its MSR
 * #GP; the architectural PMU (leaf 0AH zeros) and its counters too; the features the monitor
 * offers (TSC deadline, TSC_ADJUST, x2APIC) advertised with their MSRs readable.
 */
struct cpuid_msr_pair {
	const char *name;
	struct cpuid_feature feature;
	uint32_t msr;
};

static void test_cpuid_msr_agree(void **s)
{
	struct vcpu *v = *s;
	static const struct cpuid_msr_pair hidden[] = {
#define X(name, leaf, subleaf, reg, bit, msr) { #name, { leaf, subleaf, reg, bit }, msr },
		CPUID_HIDDEN_MSR_FEATURES(X)
#undef X
	};
	static const uint32_t pmu[] = { MSR_IA32_PMC0, MSR_IA32_PERFEVTSEL0, MSR_IA32_FIXED_CTR_CTRL,
					MSR_IA32_PERF_GLOBAL_STATUS, MSR_IA32_PERF_GLOBAL_CTRL };
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		fake_vcpu_init(v);
		if (guest_cpuid_has(v, hidden[i].feature))
			fail_msg("CPUID advertises %s, whose MSR %#x the monitor does not offer", hidden[i].name,
				 hidden[i].msr);
		assert_int_equal(rdmsr_exit(v, hidden[i].msr), EXIT_RESUME);
		assert_faulted(v, VECTOR_GP, 0);
	}
	fake_vcpu_init(v);
	cpuid_exit(v, CPUID_LEAF_PERFMON, 0);
	assert_int_equal(v->regs.rax | v->regs.rbx | v->regs.rcx | v->regs.rdx, 0);
	for (size_t i = 0; i < sizeof(pmu) / sizeof(pmu[0]); i++) {
		fake_vcpu_init(v);
		assert_int_equal(rdmsr_exit(v, pmu[i]), EXIT_RESUME);
		assert_faulted(v, VECTOR_GP, 0);
	}
	/* Offered: bit set and MSR readable, as long as the vLAPIC runs on the preemption timer / TSC offsetting. */
	const struct cpuid_msr_pair offered[] = {
		{ "TSC_DEADLINE", { CPUID_LEAF_FEATURES, 0, CPUID_ECX, CPUID_1_ECX_TSC_DEADLINE }, MSR_IA32_TSC_DEADLINE },
		{ "TSC_ADJUST", { CPUID_LEAF_EXT_FEATURES, 0, CPUID_EBX, CPUID_7_EBX_TSC_ADJUST }, MSR_IA32_TSC_ADJUST },
		{ "APIC", { CPUID_LEAF_FEATURES, 0, CPUID_EDX, CPUID_1_EDX_APIC }, MSR_IA32_APIC_BASE },
	};
	for (size_t i = 0; i < sizeof(offered) / sizeof(offered[0]); i++) {
		for (int on = 0; on <= 1; on++) {
			fake_vcpu_init(v);
			v->preemption_timer = v->tsc_offsetting = on;
			vlapic_reset(&v->lapic, 0, true);
			const bool has = guest_cpuid_has(v, offered[i].feature);
			assert_int_equal(rdmsr_exit(v, offered[i].msr), EXIT_RESUME);
			const bool readable = !v->events.exception.valid;
			if (offered[i].msr == MSR_IA32_APIC_BASE) {
				assert_true(readable); /* exists whatever CPUID.1:EDX.APIC says (SDM 11.4.3) */
				continue;
			}
			if (has != on || readable != on)
				fail_msg("%s: CPUID %s, its MSR %#x %s (with the monitor's support %s)", offered[i].name,
					 has ? "advertised" : "hidden", offered[i].msr, readable ? "readable" : "#GP",
					 on ? "on" : "off");
		}
	}
}

static void test_msr_apic_base(void **s)
{
	struct vcpu *v = *s;
	v->preemption_timer = true;
	vlapic_reset(&v->lapic, 3, true);
	assert_int_equal(rdmsr_exit(v, MSR_IA32_APIC_BASE), EXIT_RESUME);
	assert_int_equal(MSR_VALUE(v), APIC_BASE_DEFAULT | APIC_BASE_EN | APIC_BASE_BSP);

	/* x2APIC MSRs exist only in x2APIC mode... */
	fake_vcpu_init(v);
	v->preemption_timer = true;
	vlapic_reset(&v->lapic, 3, true);
	assert_int_equal(rdmsr_exit(v, X2APIC_MSR(APIC_REG_ID)), EXIT_RESUME);
	assert_faulted(v, VECTOR_GP, 0);

	/* ...which IA32_APIC_BASE.EXTD turns on; hardware APIC virtualization is told. */
	fake_vcpu_init(v);
	v->preemption_timer = true;
	vlapic_reset(&v->lapic, 3, true);
	assert_int_equal(wrmsr_exit(v, MSR_IA32_APIC_BASE, APIC_BASE_DEFAULT | APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP),
			 EXIT_RESUME);
	assert_skipped(v, 2);
	assert_int_equal(vlapic_mode(&v->lapic), VLAPIC_X2APIC);
	assert_int_equal(fake.apic_mode_changed_calls, 1);
	assert_int_equal(rdmsr_exit(v, X2APIC_MSR(APIC_REG_ID)), EXIT_RESUME);
	assert_false(v->events.exception.valid);
	assert_int_equal(MSR_VALUE(v), 3); /* the 32-bit x2APIC ID */

	/* A base above MAXPHYADDR: #GP(0), the mode and the backend left alone. */
	fake_vcpu_init(v);
	vlapic_reset(&v->lapic, 3, true);
	assert_int_equal(wrmsr_exit(v, MSR_IA32_APIC_BASE, (1ull << 46) | APIC_BASE_EN | APIC_BASE_BSP), EXIT_RESUME);
	assert_faulted(v, VECTOR_GP, 0);
	assert_int_equal(vlapic_mode(&v->lapic), VLAPIC_XAPIC);
	assert_int_equal(fake.apic_mode_changed_calls, 0);

	/*
	 * Without the preemption timer the guest's CPUID has no x2APIC: the x2APIC MSRs do not exist,
	 * even with the vLAPIC in x2APIC mode (where the same read succeeds above).
	 */
	fake_vcpu_init(v);
	v->preemption_timer = false;
	vlapic_reset(&v->lapic, 3, true);
	assert_true(vlapic_set_base(&v->lapic, APIC_BASE_DEFAULT | APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP,
				    (1ull << 46) - 1, 0));
	assert_int_equal(rdmsr_exit(v, X2APIC_MSR(APIC_REG_ID)), EXIT_RESUME);
	assert_faulted(v, VECTOR_GP, 0);
}

/* ======================================================================== control registers */

static struct vm_exit *cr_exit(struct vcpu *v, enum cr_access_type type, unsigned cr, unsigned gpr)
{
	struct vm_exit *e = fake_exit(v, EXIT_CR_ACCESS, 3);
	e->cr.type = type;
	e->cr.cr = (uint8_t)cr;
	e->cr.gpr = (uint8_t)gpr;
	return e;
}

static void mov_to_cr(struct vcpu *v, unsigned cr, uint64_t value)
{
	struct vm_exit *e = cr_exit(v, CR_MOV_TO, cr, GPR_RAX);
	v->regs.rax = value;
	resume(v, e);
}

static void test_cr4_reserved_bits(void **s)
{
	struct vcpu *v = *s;
	const uint64_t cr4 = v->guest_cr4;
	static const uint64_t bad[] = { CR4_LA57, CR4_VMXE, CR4_SMXE, 1ull << 23, 1ull << 32, 1ull << 63 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_vcpu_init(v);
		mov_to_cr(v, 4, cr4 | bad[i]);
		assert_faulted(v, VECTOR_GP, 0);
		assert_int_equal(v->guest_cr4, cr4);
		assert_false(fake_dirty(v, VCPU_CR4) || fake_dirty(v, VCPU_CR4_READ_SHADOW));
	}
	/* Clearing PAE in IA-32e mode is #GP too (SDM 2.5). */
	fake_vcpu_init(v);
	mov_to_cr(v, 4, cr4 & ~CR4_PAE);
	assert_faulted(v, VECTOR_GP, 0);
	/* PCIDE needs CR3[11:0] = 0. */
	fake_vcpu_init(v);
	fake.reg[VCPU_CR3] = FAKE_CR3 | 0x18;
	mov_to_cr(v, 4, cr4 | CR4_PCIDE);
	assert_faulted(v, VECTOR_GP, 0);
}

static void test_cr4_write(void **s)
{
	struct vcpu *v = *s;
	const uint64_t value = v->guest_cr4 | CR4_OSXSAVE;
	mov_to_cr(v, 4, value);
	assert_skipped(v, 3);
	assert_int_equal(v->guest_cr4, value);
	assert_int_equal(fake_guest_reg(v, VCPU_CR4_READ_SHADOW), value); /* what the guest reads back */
	assert_int_equal(fake_guest_reg(v, VCPU_CR4), value | CR4_VMXE);  /* what the CPU runs with */
	assert_false(v->events.requests & VCPU_REQ_TLB_FLUSH);            /* OSXSAVE changes no translation */
	/* PGE changes translations: the guest's TLB is flushed before the next entry. */
	mov_to_cr(v, 4, value & ~CR4_PGE);
	assert_true(v->events.requests & VCPU_REQ_TLB_FLUSH);
	assert_int_equal(v->guest_cr4, value & ~CR4_PGE);
}

/* Setting CR0.PG with EFER.LME enters IA-32e mode: the backend's entry control follows. */
static void test_cr0_enter_long_mode(void **s)
{
	struct vcpu *v = *s;
	fake_guest_protected32(v);
	v->guest_efer = EFER_LME;
	v->guest_cr4 = CR4_PAE;
	mov_to_cr(v, 0, 0xffffffff00000000ull | CR0_PG | CR0_PE); /* outside 64-bit mode: a 32-bit operand */
	assert_skipped(v, 3);
	assert_int_equal(fake.set_long_mode_calls, 1);
	assert_true(fake.long_mode);
	assert_int_equal(v->guest_efer, EFER_LME | EFER_LMA);
	assert_int_equal(fake_guest_reg(v, VCPU_IA32_EFER), EFER_LME | EFER_LMA);
	assert_int_equal(v->guest_cr0, CR0_PG | CR0_ET | CR0_PE);
	assert_int_equal(fake_guest_reg(v, VCPU_CR0_READ_SHADOW), CR0_PG | CR0_ET | CR0_PE);
	assert_int_equal(fake_guest_reg(v, VCPU_CR0), CR0_PG | CR0_NE | CR0_ET | CR0_PE);
	assert_true(v->events.requests & VCPU_REQ_TLB_FLUSH);
	assert_int_equal(fake.phys_reads, 0); /* IA-32e paging: no PDPTEs to load */
}

/* Leaving IA-32e mode from compatibility mode; from 64-bit mode clearing PG is #GP. */
static void test_cr0_leave_long_mode(void **s)
{
	struct vcpu *v = *s;
	fake.reg[VCPU_CS_AR_BYTES] = FAKE_CS_AR_32; /* compatibility mode */
	mov_to_cr(v, 0, CR0_PE);
	assert_skipped(v, 3);
	assert_int_equal(fake.set_long_mode_calls, 1);
	assert_false(fake.long_mode);
	assert_int_equal(v->guest_efer, EFER_SCE | EFER_LME);
	assert_int_equal(fake_guest_reg(v, VCPU_IA32_EFER), EFER_SCE | EFER_LME);

	fake_vcpu_init(v);
	mov_to_cr(v, 0, CR0_PE);
	assert_faulted(v, VECTOR_GP, 0);
	assert_int_equal(fake.set_long_mode_calls, 0);
	assert_true(v->guest_cr0 & CR0_PG);
	/* PG without PE, and NW without CD, are #GP too. */
	fake_vcpu_init(v);
	mov_to_cr(v, 0, CR0_PG | CR0_ET);
	assert_faulted(v, VECTOR_GP, 0);
	fake_vcpu_init(v);
	mov_to_cr(v, 0, v->guest_cr0 | CR0_NW);
	assert_faulted(v, VECTOR_GP, 0);
}

/* PAE paging outside long mode: the PDPTEs are loaded from guest memory, as the CPU does (SDM 4.4.1). */
static void test_cr0_pae_pdptes(void **s)
{
	struct vcpu *v = *s;
	const uint64_t pdpte[4] = { 0x5001, 0, 0x6001, 0x7001 };
	fake_guest_protected32(v);
	v->guest_cr4 = CR4_PAE;
	memcpy(fake_ram + FAKE_CR3, pdpte, sizeof(pdpte));
	mov_to_cr(v, 0, CR0_PG | CR0_PE);
	assert_skipped(v, 3);
	assert_int_equal(fake.set_long_mode_calls, 0); /* EFER.LME clear: 32-bit PAE paging */
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(v->pae_pdpte[i], pdpte[i]);
		assert_int_equal(fake_guest_reg(v, (enum vcpu_reg)(VCPU_PDPTE0 + i)), pdpte[i]);
	}
	/* A present PDPTE with a reserved bit (bit 1): #GP(0), CR0 unchanged. */
	fake_vcpu_init(v);
	fake_guest_protected32(v);
	v->guest_cr4 = CR4_PAE;
	const uint64_t bad = 0x6003;
	memcpy(fake_ram + FAKE_CR3 + 16, &bad, sizeof(bad));
	mov_to_cr(v, 0, CR0_PG | CR0_PE);
	assert_faulted(v, VECTOR_GP, 0);
	assert_int_equal(v->guest_cr0, CR0_PE | CR0_ET);
	assert_false(fake_dirty(v, VCPU_PDPTE0));
}

static void test_cr3_read_write(void **s)
{
	struct vcpu *v = *s;
	resume(v, cr_exit(v, CR_MOV_FROM, 3, GPR_R12));
	assert_skipped(v, 3);
	assert_int_equal(v->regs.r12, FAKE_CR3);
	/* RSP lives in the backend: MOV RSP, CR3 goes through the register cache. */
	fake_vcpu_init(v);
	resume(v, cr_exit(v, CR_MOV_FROM, 3, GPR_RSP));
	assert_true(fake_dirty(v, VCPU_RSP));
	assert_int_equal(fake_guest_reg(v, VCPU_RSP), FAKE_CR3);

	fake_vcpu_init(v);
	mov_to_cr(v, 3, 0x9000);
	assert_skipped(v, 3);
	assert_int_equal(fake_guest_reg(v, VCPU_CR3), 0x9000);
	assert_true(v->events.requests & VCPU_REQ_TLB_FLUSH);
	/* In IA-32e mode, bits at and above MAXPHYADDR (46 here) are reserved. */
	fake_vcpu_init(v);
	mov_to_cr(v, 3, 1ull << 50);
	assert_faulted(v, VECTOR_GP, 0);
	assert_false(fake_dirty(v, VCPU_CR3));
	/* With PCIDE, bit 63 asks for no flush and is not kept. */
	fake_vcpu_init(v);
	v->guest_cr4 |= CR4_PCIDE;
	mov_to_cr(v, 3, (1ull << 63) | 0x9005);
	assert_int_equal(fake_guest_reg(v, VCPU_CR3), 0x9005);
	assert_false(v->events.requests & VCPU_REQ_TLB_FLUSH);
	/* Shadow paging: the guest's CR3 is kept aside and the shadow root switched. */
	fake_vcpu_init(v);
	v->mem_mode = HV_MEM_SHADOW;
	v->mmu = &shadow_mmu;
	mov_to_cr(v, 3, 0xa000);
	assert_int_equal(v->guest_cr3, 0xa000);
	assert_int_equal(fake.shadow_switch_calls, 1);
	assert_false(fake_dirty(v, VCPU_CR3));
}

static void test_cr3_32bit_operand(void **s)
{
	struct vcpu *v = *s;
	fake_guest_protected32(v);
	mov_to_cr(v, 3, 0xdead00000000b000ull);
	assert_skipped(v, 3);
	assert_int_equal(fake_guest_reg(v, VCPU_CR3), 0xb000);
}

static void test_clts(void **s)
{
	struct vcpu *v = *s;
	const uint64_t cr0 = v->guest_cr0;
	v->guest_cr0 |= CR0_TS;
	resume(v, cr_exit(v, CR_CLTS, 0, 0));
	assert_skipped(v, 3);
	assert_int_equal(v->guest_cr0, cr0);
	assert_int_equal(fake_guest_reg(v, VCPU_CR0_READ_SHADOW), cr0);
	assert_false(fake_guest_reg(v, VCPU_CR0) & CR0_TS);
	assert_false(v->events.requests & VCPU_REQ_TLB_FLUSH);
	assert_int_equal(fake.set_long_mode_calls, 0);
}

static void lmsw(struct vcpu *v, uint16_t source)
{
	struct vm_exit *e = cr_exit(v, CR_LMSW, 0, 0);
	e->cr.lmsw_source = source;
	resume(v, e);
}

static void test_lmsw(void **s)
{
	struct vcpu *v = *s;
	/* LMSW 0 clears MP, EM, TS but never PE. */
	v->guest_cr0 |= CR0_TS;
	lmsw(v, 0);
	assert_skipped(v, 3);
	assert_true(v->guest_cr0 & CR0_PE);
	assert_false(v->guest_cr0 & (CR0_MP | CR0_EM | CR0_TS));
	assert_true(v->guest_cr0 & CR0_PG); /* bits above 3 untouched */
	assert_int_equal(fake_guest_reg(v, VCPU_CR0_READ_SHADOW), v->guest_cr0);
	/* Only bits 3:0 of the source count. */
	lmsw(v, 0xfff0 | CR0_TS | CR0_MP);
	assert_int_equal(v->guest_cr0 & 0xffff, CR0_PE | CR0_MP | CR0_TS | CR0_ET | CR0_NE);
	/* In real mode LMSW can set PE (the way into protected mode). */
	fake_vcpu_init(v);
	fake_guest_protected32(v);
	v->guest_cr0 = CR0_ET;
	lmsw(v, CR0_PE);
	assert_skipped(v, 3);
	assert_int_equal(v->guest_cr0, CR0_ET | CR0_PE);
}

static void test_cr8(void **s)
{
	struct vcpu *v = *s;
	mov_to_cr(v, 8, 5);
	assert_skipped(v, 3);
	assert_int_equal(v->lapic.tpr, 0x50);
	resume(v, cr_exit(v, CR_MOV_FROM, 8, GPR_R9));
	assert_int_equal(v->regs.r9, 5);
	fake_vcpu_init(v);
	mov_to_cr(v, 8, 16); /* CR8[63:4] reserved */
	assert_faulted(v, VECTOR_GP, 0);
	assert_int_equal(v->lapic.tpr, 0);
}

/* Shadow paging needs protected mode: a guest clearing PE is stopped, not run. */
static void test_cr0_shadow_real_mode_refused(void **s)
{
	struct vcpu *v = *s;
	v->mem_mode = HV_MEM_SHADOW;
	v->mmu = &shadow_mmu;
	fake.reg[VCPU_CS_AR_BYTES] = FAKE_CS_AR_32;
	v->guest_efer = 0;
	v->guest_cr0 = CR0_PE | CR0_ET;
	struct vm_exit *e = cr_exit(v, CR_MOV_TO, 0, GPR_RAX);
	v->regs.rax = CR0_ET;
	assert_int_equal(exit_dispatch(v, e), HV_ERR_GUEST_FAULT);
	assert_rip(v, FAKE_RIP);
	assert_int_equal(v->guest_cr0, CR0_PE | CR0_ET);
}

/* ======================================================================== port I/O */

static struct vm_exit *io_exit(struct vcpu *v, uint16_t port, unsigned size, bool in)
{
	struct vm_exit *e = fake_exit(v, EXIT_IO, 1);
	e->io.port = port;
	e->io.size = (uint8_t)size;
	e->io.in = in;
	return e;
}

static void test_io_in_unclaimed(void **s)
{
	struct vcpu *v = *s;
	/* An unclaimed port reads as all ones: AL, AX merged into RAX; EAX zero-extended. */
	v->regs.rax = 0x1122334455667788ull;
	resume(v, io_exit(v, 0x1234, 1, true));
	assert_skipped(v, 1);
	assert_int_equal(v->regs.rax, 0x11223344556677ffull);
	v->regs.rax = 0x1122334455667788ull;
	resume(v, io_exit(v, 0x1234, 2, true));
	assert_int_equal(v->regs.rax, 0x112233445566ffffull);
	v->regs.rax = 0x1122334455667788ull;
	resume(v, io_exit(v, 0x1234, 4, true));
	assert_int_equal(v->regs.rax, 0xffffffffull);
	assert_int_equal(fake_guest_reg(v, VCPU_RIP), FAKE_RIP + 3);
}

static void test_io_in_claimed(void **s)
{
	struct vcpu *v = *s;
	/* The absent PIC reads 0; a word across its last port and an unclaimed one is read byte by byte. */
	v->regs.rax = 0x1122334455667788ull;
	resume(v, io_exit(v, 0x20, 1, true));
	assert_int_equal(v->regs.rax, 0x1122334455667700ull);
	resume(v, io_exit(v, 0x21, 2, true));
	assert_int_equal(v->regs.rax & 0xffff, 0xff00);
	/* The virtual UART's line status: transmitter empty, holding register empty. */
	resume(v, io_exit(v, VUART_BASE + 5, 1, true));
	assert_int_equal(v->regs.rax & 0xff, 0x60);
	assert_int_equal(fake_guest_reg(v, VCPU_RIP), FAKE_RIP + 3);
}

static void test_io_out(void **s)
{
	struct vcpu *v = *s;
	const uint64_t sent = vuart_bytes_sent(v->uart);
	v->regs.rax = 0xabcd;
	resume(v, io_exit(v, 0x1234, 2, false)); /* unclaimed: dropped */
	assert_skipped(v, 1);
	assert_int_equal(v->regs.rax, 0xabcd);
	resume(v, io_exit(v, 0x80, 1, false)); /* POST code: dropped */
	/* The virtual UART collects a line and prints it with the guest's prefix. */
	static const char text[] = "hi\n";
	for (const char *c = text; *c; c++) {
		v->regs.rax = 0xffffff00u | (uint8_t)*c;
		resume(v, io_exit(v, VUART_BASE, 1, false));
	}
	assert_int_equal(vuart_bytes_sent(v->uart) - sent, 3);
	assert_string_equal(fake.last_print, VUART_LINE_PREFIX "hi\n");
	assert_int_equal(fake_guest_reg(v, VCPU_RIP), FAKE_RIP + 5);
}

static struct vm_exit *string_io_exit(struct vcpu *v, uint16_t port, unsigned size, bool in, bool rep)
{
	struct vm_exit *e = io_exit(v, port, size, in);
	e->insn_len = 2;
	e->io.string = true;
	e->io.rep = rep;
	e->string_info_valid = true;
	e->string_addr_bytes = 8;
	e->string_seg = in ? SEG_ES : SEG_DS;
	return e;
}

/* Accesses that reach an unclaimed port are counted per port, at the first unclaimed byte port. */
static void test_io_unclaimed_ledger(void **s)
{
	struct vcpu *v = *s;
	resume(v, io_exit(v, 0x300, 1, true));
	resume(v, io_exit(v, 0x300, 4, true));
	resume(v, io_exit(v, 0x300, 2, false));
	resume(v, io_exit(v, 0x21, 2, true));  /* PIC data port + unclaimed 0x22: counted at 0x22 */
	resume(v, io_exit(v, 0x20, 2, false)); /* both bytes claimed: not counted */
	resume(v, io_exit(v, VUART_BASE + 5, 1, true));
	assert_int_equal(fake_io_ledger.used, 2);
	assert_int_equal(io_ledger_find(&fake_io_ledger, 0x300)->reads, 2);
	assert_int_equal(io_ledger_find(&fake_io_ledger, 0x300)->writes, 1);
	assert_int_equal(io_ledger_find(&fake_io_ledger, 0x22)->reads, 1);
	assert_null(io_ledger_find(&fake_io_ledger, 0x20));
	/* Each element of a string instruction is an access. */
	v->regs.rsi = 0x8000;
	v->regs.rcx = 5;
	resume(v, string_io_exit(v, 0xe9, 1, false, true));
	assert_int_equal(io_ledger_find(&fake_io_ledger, 0xe9)->writes, 5);
	assert_int_equal(io_ledger_total(&fake_io_ledger), 9);
}

/* strict_io=1: the first unclaimed access stops the guest before it happens; claimed ports still work. */
static void test_io_strict_stops_at_unclaimed(void **s)
{
	struct vcpu *v = *s;
	struct hv_config cfg = *v->cfg;
	cfg.strict_io = 1;
	v->cfg = &cfg;
	resume(v, io_exit(v, 0x80, 1, false));
	resume(v, io_exit(v, VUART_BASE + 5, 1, true));
	assert_int_equal(fake_io_ledger.used, 0);
	v->regs.rax = 0x1122334455667788ull;
	const uint64_t rip = fake_guest_reg(v, VCPU_RIP);
	assert_int_equal(exit_dispatch(v, io_exit(v, 0x21, 2, true)), HV_ERR_UNCLAIMED_IO);
	assert_int_equal(v->regs.rax, 0x1122334455667788ull); /* nothing read */
	assert_int_equal(fake_guest_reg(v, VCPU_RIP), rip);   /* not completed */
	assert_int_equal(io_ledger_find(&fake_io_ledger, 0x22)->reads, 1);
	/* A string OUTS too, before its first element moves. */
	v->regs.rsi = 0x8000;
	v->regs.rcx = 3;
	assert_int_equal(exit_dispatch(v, string_io_exit(v, 0xe9, 1, false, true)), HV_ERR_UNCLAIMED_IO);
	assert_int_equal(v->regs.rsi, 0x8000);
	assert_int_equal(v->regs.rcx, 3);
	assert_int_equal(io_ledger_find(&fake_io_ledger, 0xe9)->writes, 1);
}

static void test_io_string(void **s)
{
	struct vcpu *v = *s;
	/* REP OUTSB of "ok\n" to the UART: RSI and RCX move, the line is printed. */
	memcpy(fake_ram + 0x6000, "ok\n", 3);
	v->regs.rsi = 0x6000;
	v->regs.rcx = 3;
	resume(v, string_io_exit(v, VUART_BASE, 1, false, true));
	assert_skipped(v, 2);
	assert_int_equal(v->regs.rsi, 0x6003);
	assert_int_equal(v->regs.rcx, 0);
	assert_string_equal(fake.last_print, VUART_LINE_PREFIX "ok\n");

	/* REP INSW from an unclaimed port with RFLAGS.DF: all ones stored downwards from RDI. */
	fake_vcpu_init(v);
	fake.reg[VCPU_RFLAGS] |= RFLAGS_DF;
	v->regs.rdi = 0x6010;
	v->regs.rcx = 2;
	resume(v, string_io_exit(v, 0x1234, 2, true, true));
	assert_skipped(v, 2);
	assert_int_equal(v->regs.rdi, 0x600c);
	assert_int_equal(v->regs.rcx, 0);
	static const uint8_t ones[4] = { 0xff, 0xff, 0xff, 0xff };
	assert_memory_equal(fake_ram + 0x600e, ones, 4);
	assert_int_equal(fake_ram[0x600d], 0);
}

/* A long REP string: one exit moves a bounded batch (4096 elements), RIP stays and the CPU executes it again. */
static void test_io_string_rep_batch(void **s)
{
	struct vcpu *v = *s;
	v->regs.rsi = 0x8000;
	v->regs.rcx = 5000;
	resume(v, string_io_exit(v, 0x1234, 1, false, true)); /* REP OUTSB to an unclaimed port */
	assert_rip(v, FAKE_RIP);
	assert_false(fake_dirty(v, VCPU_RIP));
	assert_false(v->events.exception.valid);
	assert_int_equal(v->regs.rcx, 5000 - 4096);
	assert_int_equal(v->regs.rsi, 0x8000 + 4096);
	/* The rest at the next exit, which completes the instruction. */
	resume(v, string_io_exit(v, 0x1234, 1, false, true));
	assert_skipped(v, 2);
	assert_int_equal(v->regs.rcx, 0);
	assert_int_equal(v->regs.rsi, 0x8000 + 5000);
	/* With a 32-bit address size only ECX counts and ESI addresses; the upper halves are kept. */
	fake_vcpu_init(v);
	v->regs.rsi = 0xabcd000000008000ull;
	v->regs.rcx = 0x1234567800000002ull;
	struct vm_exit *e = string_io_exit(v, 0x1234, 1, false, true);
	e->string_addr_bytes = 4;
	resume(v, e);
	assert_skipped(v, 2);
	assert_int_equal(v->regs.rcx, 0x1234567800000000ull);
	assert_int_equal(v->regs.rsi, 0xabcd000000008002ull);
	assert_int_equal(fake.virt_reads, 2);
	/* ESI wraps within 32 bits: the element at 0xfffffffe faults there, registers left at it. */
	fake_vcpu_init(v);
	v->regs.rsi = 0xabcd0000fffffffeull;
	v->regs.rcx = 0x1234567800000002ull;
	e = string_io_exit(v, 0x1234, 1, false, true);
	e->string_addr_bytes = 4;
	fake.pf_armed = true;
	fake.pf_gva = 0xfffff000;
	resume(v, e);
	assert_faulted(v, VECTOR_PF, 0);
	assert_int_equal(v->regs.cr2, 0xfffffffeull);
	assert_int_equal(v->regs.rcx, 0x1234567800000002ull);
	assert_int_equal(v->regs.rsi, 0xabcd0000fffffffeull);
}

static void test_io_string_faults(void **s)
{
	struct vcpu *v = *s;
	/* INSB into a page the guest's tables do not map writable: #PF with CR2, RIP and RDI unchanged. */
	fake.pf_armed = true;
	fake.pf_gva = 0x6000;
	fake.pf_error = PTE_P;
	v->regs.rdi = 0x6004;
	v->regs.rcx = 1;
	resume(v, string_io_exit(v, 0x1234, 1, true, false));
	assert_faulted(v, VECTOR_PF, PTE_P | PTE_W);
	assert_int_equal(v->regs.cr2, 0x6004);
	assert_int_equal(v->regs.rdi, 0x6004);
	/* A non-canonical source: #GP(0), or #SS(0) through SS. */
	fake_vcpu_init(v);
	v->regs.rsi = 0x0000800000000000ull;
	resume(v, string_io_exit(v, VUART_BASE, 1, false, false));
	assert_faulted(v, VECTOR_GP, 0);
	fake_vcpu_init(v);
	v->regs.rsi = 0x0000800000000000ull;
	struct vm_exit *e = string_io_exit(v, VUART_BASE, 1, false, false);
	e->string_seg = SEG_SS;
	resume(v, e);
	assert_faulted(v, VECTOR_SS, 0);
	/* Outside guest RAM altogether: the guest is stopped. */
	fake_vcpu_init(v);
	v->regs.rsi = 0x100000;
	assert_int_equal(exit_dispatch(v, string_io_exit(v, VUART_BASE, 1, false, false)), HV_ERR_EPT_VIOLATION);
}

/* ======================================================================== descriptor tables */

enum { ID_SGDT = 0, ID_SIDT = 1, ID_LGDT = 2, ID_LIDT = 3 };
enum { ID_SLDT = 0, ID_STR = 1, ID_LLDT = 2, ID_LTR = 3 };

/* [RBX + disp] through `seg`, 64-bit addressing. */
static struct vm_exit *dt_mem_exit(struct vcpu *v, bool ldtr_tr, unsigned identity, unsigned seg, uint64_t disp)
{
	struct vm_exit *e = fake_exit(v, EXIT_DESCRIPTOR_TABLE, 3);
	e->dt.displacement = disp; /* what the backend decodes from the qualification */
	e->dt.ldtr_tr = ldtr_tr;
	e->dt.decoded = true;
	e->dt.op.identity = (uint8_t)identity;
	e->dt.op.addr_bytes = 8;
	e->dt.op.seg = (uint8_t)seg;
	e->dt.op.base_valid = true;
	e->dt.op.base = GPR_RBX;
	e->dt.op.scale = 1;
	return e;
}

static struct vm_exit *dt_reg_exit(struct vcpu *v, unsigned identity, unsigned reg)
{
	struct vm_exit *e = fake_exit(v, EXIT_DESCRIPTOR_TABLE, 3);
	e->dt.ldtr_tr = true;
	e->dt.decoded = true;
	e->dt.op.identity = (uint8_t)identity;
	e->dt.op.is_register = true;
	e->dt.op.reg = (uint8_t)reg;
	return e;
}

static void test_sgdt_sidt(void **s)
{
	struct vcpu *v = *s;
	fake.reg[VCPU_GDTR_BASE] = 0xffff800000003000ull;
	v->regs.rbx = 0x5000;
	resume(v, dt_mem_exit(v, false, ID_SGDT, SEG_DS, 0x10));
	assert_skipped(v, 3);
	static const uint8_t gdtr[10] = { 0x7f, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x80, 0xff, 0xff };
	assert_memory_equal(fake_ram + 0x5010, gdtr, sizeof(gdtr));
	assert_int_equal(fake_ram[0x501a], 0);

	/* SIDT: a 64-bit base too; FS has a base in 64-bit mode, DS does not. */
	fake_vcpu_init(v);
	fake.reg[VCPU_FS_BASE] = 0x100;
	fake.reg[VCPU_DS_BASE] = 0x200;
	v->regs.rbx = 0x5000;
	resume(v, dt_mem_exit(v, false, ID_SIDT, SEG_FS, 0));
	static const uint8_t idtr[10] = { 0xff, 0x0f, 0x00, 0x40 };
	assert_memory_equal(fake_ram + 0x5100, idtr, sizeof(idtr));
}

static void test_sgdt_faults(void **s)
{
	struct vcpu *v = *s;
	/* The store page-faults: #PF with CR2 and a write error code, RIP unchanged. */
	fake.pf_armed = true;
	fake.pf_gva = 0x5000;
	v->regs.rbx = 0x5008;
	resume(v, dt_mem_exit(v, false, ID_SGDT, SEG_DS, 0));
	assert_faulted(v, VECTOR_PF, PTE_W);
	assert_int_equal(v->regs.cr2, 0x5008);
	/* Non-canonical: #GP(0), or #SS(0) through SS. */
	fake_vcpu_init(v);
	v->regs.rbx = 0x0000800000000000ull;
	resume(v, dt_mem_exit(v, false, ID_SIDT, SEG_DS, 0));
	assert_faulted(v, VECTOR_GP, 0);
	fake_vcpu_init(v);
	v->regs.rbx = 0x0000800000000000ull;
	resume(v, dt_mem_exit(v, false, ID_SIDT, SEG_SS, 0));
	assert_faulted(v, VECTOR_SS, 0);
	/* 10 bytes ending past the canonical boundary. */
	fake_vcpu_init(v);
	v->regs.rbx = 0x00007ffffffffff8ull;
	resume(v, dt_mem_exit(v, false, ID_SGDT, SEG_DS, 0));
	assert_faulted(v, VECTOR_GP, 0);
}

static void test_lgdt_lidt(void **s)
{
	struct vcpu *v = *s;
	static const uint8_t gdtr[10] = { 0xff, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x80, 0xff, 0xff };
	memcpy(fake_ram + 0x5020, gdtr, sizeof(gdtr));
	v->regs.rbx = 0x5000;
	resume(v, dt_mem_exit(v, false, ID_LGDT, SEG_DS, 0x20));
	assert_skipped(v, 3);
	assert_int_equal(fake_guest_reg(v, VCPU_GDTR_BASE), 0xffff800000010000ull);
	assert_int_equal(fake_guest_reg(v, VCPU_GDTR_LIMIT), 0x1ff);

	/* The first LIDT is logged at info level. */
	fake_vcpu_init(v);
	memcpy(fake_ram + 0x5020, gdtr, sizeof(gdtr));
	v->regs.rbx = 0x5000;
	resume(v, dt_mem_exit(v, false, ID_LIDT, SEG_DS, 0x20));
	assert_int_equal(fake_guest_reg(v, VCPU_IDTR_BASE), 0xffff800000010000ull);
	assert_int_equal(v->guest_idt_logged, 1);
	assert_int_equal(fake.log_lines[HV_LOG_INFO], 1);

	/* A non-canonical base: #GP(0), IDTR unchanged. */
	fake_vcpu_init(v);
	static const uint8_t bad[10] = { 0xff, 0x0f, 0, 0, 0, 0, 0, 0x80, 0, 0 };
	memcpy(fake_ram + 0x5020, bad, sizeof(bad));
	v->regs.rbx = 0x5020;
	resume(v, dt_mem_exit(v, false, ID_LIDT, SEG_DS, 0));
	assert_faulted(v, VECTOR_GP, 0);
	assert_false(fake_dirty(v, VCPU_IDTR_BASE) || fake_dirty(v, VCPU_IDTR_LIMIT));
}

static void test_lldt_ltr_null(void **s)
{
	struct vcpu *v = *s;
	/* LLDT with a null selector (any RPL) leaves LDTR unusable. */
	fake.reg[VCPU_LDTR_SELECTOR] = 0x28;
	fake.reg[VCPU_LDTR_AR_BYTES] = 0x82;
	v->regs.rax = 0x3;
	resume(v, dt_reg_exit(v, ID_LLDT, GPR_RAX));
	assert_skipped(v, 3);
	assert_int_equal(fake_guest_reg(v, VCPU_LDTR_SELECTOR), 3);
	assert_int_equal(fake_guest_reg(v, VCPU_LDTR_AR_BYTES), VMX_AR_UNUSABLE);
	assert_int_equal(fake.virt_reads, 0); /* no descriptor read */
	/* LTR with a null selector is #GP(0). */
	fake_vcpu_init(v);
	v->regs.rax = 0;
	resume(v, dt_reg_exit(v, ID_LTR, GPR_RAX));
	assert_faulted(v, VECTOR_GP, 0);
	assert_false(fake_dirty(v, VCPU_TR_SELECTOR));
	/* A selector into the LDT, or past the GDT limit: #GP(selector with RPL cleared). */
	fake_vcpu_init(v);
	v->regs.rax = 0x2f;
	resume(v, dt_reg_exit(v, ID_LTR, GPR_RAX));
	assert_faulted(v, VECTOR_GP, 0x2c);
	fake_vcpu_init(v);
	v->regs.rax = 0x78; /* 16 bytes at 0x78 end past the limit 0x7f */
	resume(v, dt_reg_exit(v, ID_LLDT, GPR_RAX));
	assert_faulted(v, VECTOR_GP, 0x78);
}

static void put_tss_descriptor(uint16_t sel, uint64_t base, bool present)
{
	uint64_t d[2];
	d[0] = 0x67 | (base & 0xffffffull) << 16 | (uint64_t)SEG_TYPE_TSS_AVAILABLE << 40 |
	       (present ? DESC_PRESENT : 0) | ((base >> 24) & 0xff) << 56;
	d[1] = base >> 32;
	memcpy(fake_ram + FAKE_GDTR_BASE + sel, d, sizeof(d));
}

static void test_ltr(void **s)
{
	struct vcpu *v = *s;
	put_tss_descriptor(0x20, 0xffff800012345678ull, true);
	v->regs.rax = 0x20;
	resume(v, dt_reg_exit(v, ID_LTR, GPR_RAX));
	assert_skipped(v, 3);
	assert_int_equal(fake_guest_reg(v, VCPU_TR_SELECTOR), 0x20);
	assert_int_equal(fake_guest_reg(v, VCPU_TR_BASE), 0xffff800012345678ull);
	assert_int_equal(fake_guest_reg(v, VCPU_TR_LIMIT), 0x67);
	assert_int_equal(fake_guest_reg(v, VCPU_TR_AR_BYTES), VMX_AR_P | SEG_TYPE_TSS_BUSY);
	/* The descriptor in the guest's GDT is marked busy, as the CPU does. */
	uint64_t d0;
	memcpy(&d0, fake_ram + FAKE_GDTR_BASE + 0x20, sizeof(d0));
	assert_int_equal((d0 >> 40) & 0xf, SEG_TYPE_TSS_BUSY);
	/* Not present: #NP(selector); a busy TSS (already loaded): #GP(selector). */
	fake_vcpu_init(v);
	put_tss_descriptor(0x20, 0x1000, false);
	v->regs.rax = 0x20;
	resume(v, dt_reg_exit(v, ID_LTR, GPR_RAX));
	assert_faulted(v, VECTOR_NP, 0x20);
	fake_vcpu_init(v);
	put_tss_descriptor(0x20, 0x1000, true);
	fake_ram[FAKE_GDTR_BASE + 0x20 + 5] |= SEG_TYPE_TSS_BUSY_FLAG;
	v->regs.rax = 0x20;
	resume(v, dt_reg_exit(v, ID_LTR, GPR_RAX));
	assert_faulted(v, VECTOR_GP, 0x20);
}

static void test_sldt_str(void **s)
{
	struct vcpu *v = *s;
	fake.reg[VCPU_LDTR_SELECTOR] = 0x28;
	v->regs.r9 = ~0ull;
	resume(v, dt_reg_exit(v, ID_SLDT, GPR_R9));
	assert_skipped(v, 3);
	assert_int_equal(v->regs.r9, 0x28);
	/* STR to memory: two bytes. */
	fake_vcpu_init(v);
	v->regs.rbx = 0x5000;
	memset(fake_ram + 0x5000, 0xee, 4);
	resume(v, dt_mem_exit(v, true, ID_STR, SEG_DS, 0));
	assert_skipped(v, 3);
	static const uint8_t want[4] = { 0x18, 0x00, 0xee, 0xee };
	assert_memory_equal(fake_ram + 0x5000, want, sizeof(want));
}

/* ======================================================================== XSETBV (refusals only) */

static void xsetbv_refused(struct vcpu *v, uint32_t index, uint64_t value)
{
	fake_vcpu_init(v);
	struct vm_exit *e = fake_exit(v, EXIT_XSETBV, 3);
	v->regs.rcx = index;
	v->regs.rax = (uint32_t)value;
	v->regs.rdx = value >> 32;
	resume(v, e);
	assert_faulted(v, VECTOR_GP, 0);
}

static void test_xsetbv_refused(void **s)
{
	struct vcpu *v = *s;
	xsetbv_refused(v, 1, 0x3);          /* only XCR0 exists here */
	xsetbv_refused(v, 0xffffffffu, 0x3);
	xsetbv_refused(v, 0, 0x2);          /* x87 state cannot be disabled */
	xsetbv_refused(v, 0, 0);
	xsetbv_refused(v, 0, 0x5);          /* AVX without SSE */
	xsetbv_refused(v, 0, 0x9);          /* BNDREGS without BNDCSR */
	xsetbv_refused(v, 0, 0x1ull << 63); /* no CPU supports bit 63 */
}

/* ======================================================================== hypercalls */

static int vmcall(struct vcpu *v, uint64_t rax, uint64_t rbx, uint64_t rcx)
{
	struct vm_exit *e = fake_exit(v, EXIT_HYPERCALL, 3);
	v->regs.rax = rax;
	v->regs.rbx = rbx;
	v->regs.rcx = rcx;
	const int r = exit_dispatch(v, e);
	assert_reads_once();
	return r;
}

static void test_hypercall_user_mode(void **s)
{
	struct vcpu *v = *s;
	fake.reg[VCPU_SS_AR_BYTES] = FAKE_DATA_AR_CPL3;
	assert_int_equal(vmcall(v, HC_EXIT, 0, 0), EXIT_RESUME);
	assert_ud(v);
	assert_int_equal(v->hypercalls_done, 0);
	assert_int_equal(v->regs.rax, HC_EXIT);
}

static void test_hypercall_exit(void **s)
{
	struct vcpu *v = *s;
	assert_int_equal(vmcall(v, HC_EXIT, 7, 0), 7);
	assert_int_equal(v->hypercalls_done, 1);
	assert_rip(v, FAKE_RIP); /* the guest stops there */
	/* Out of range: capped at the guest's largest status. */
	fake_vcpu_init(v);
	assert_int_equal(vmcall(v, HC_EXIT, 1000, 0), HV_GUEST_STATUS_MAX);
	/* Outside 64-bit mode stale upper halves are ignored: RAX 0xffffffff00000000 is HC_EXIT. */
	fake_vcpu_init(v);
	fake_guest_protected32(v);
	assert_int_equal(vmcall(v, 0xffffffff00000000ull | HC_EXIT, 0x100000005ull, 0), 5);
	/* ...but in 64-bit mode they count. */
	fake_vcpu_init(v);
	assert_int_equal(vmcall(v, 0xffffffff00000000ull | HC_EXIT, 5, 0), EXIT_RESUME);
	assert_int_equal((int64_t)v->regs.rax, HC_ERR_UNKNOWN_CALL);
	assert_skipped(v, 3);
}

/*
 * Numbers outside the monitor's range, as a guest written for another hypervisor makes them: RAX = 0
 * (once HC_EXIT), KVM's small numbers, the neighbours of the range.  KVM's answer, -1000
 * (-KVM_ENOSYS), the instruction completes, the VM goes on, and it is no sign of life.
 */
static void test_hypercall_foreign_numbers(void **s)
{
	struct vcpu *v = *s;
	static const uint64_t foreign[] = { 0, 1, 5, 12, HC_BASE - 1, HC_BASE + HC_COUNT, 0xffffffffu,
					    (1ull << 32) | HC_EXIT, ~0ull };
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		fake_vcpu_init(v);
		assert_int_equal(vmcall(v, foreign[i], 7, 0), EXIT_RESUME);
		assert_skipped(v, 3);
		assert_int_equal((int64_t)v->regs.rax, -1000);
		assert_int_equal(v->hypercalls_done, 0);
	}
	/* From ring 3 every number is still #UD, RAX = 0 included. */
	fake_vcpu_init(v);
	fake.reg[VCPU_SS_AR_BYTES] = FAKE_DATA_AR_CPL3;
	assert_int_equal(vmcall(v, 0, 0, 0), EXIT_RESUME);
	assert_ud(v);
	assert_int_equal(v->regs.rax, 0);
}

static void test_hypercall_stats_translate(void **s)
{
	struct vcpu *v = *s;
	v->stats.total_exits = 42;
	assert_int_equal(vmcall(v, HC_GET_STATS, 0x7000, sizeof(struct hv_stats)), EXIT_RESUME);
	assert_skipped(v, 3);
	assert_int_equal(v->regs.rax, sizeof(struct hv_stats));
	struct hv_stats st;
	memcpy(&st, fake_ram + 0x7000, sizeof(st));
	assert_int_equal(st.version, HV_STATS_VERSION);
	assert_int_equal(st.nr_reasons, HV_STATS_REASONS);
	assert_int_equal(st.total_exits, 42);
	assert_int_equal(v->hypercalls_done, 1);
	/* Too small a buffer, a buffer outside guest RAM: errors, the latter counted as refused. */
	assert_int_equal(vmcall(v, HC_GET_STATS, 0x7000, 8), EXIT_RESUME);
	assert_int_equal((int64_t)v->regs.rax, HC_ERR_BAD_ARGUMENT);
	assert_int_equal(vmcall(v, HC_GET_STATS, 0xfff000, sizeof(struct hv_stats)), EXIT_RESUME);
	assert_int_equal((int64_t)v->regs.rax, HC_ERR_BAD_POINTER);
	assert_int_equal(v->hypercalls_refused, 1);
	assert_int_equal(v->hypercalls_done, 1);

	assert_int_equal(vmcall(v, HC_TRANSLATE, 0x1234, 0x7800), EXIT_RESUME);
	assert_int_equal(v->regs.rax, 0);
	struct hv_translation t;
	memcpy(&t, fake_ram + 0x7800, sizeof(t));
	assert_int_equal(t.gva, 0x1234);
	assert_int_equal(t.gpa, 0x1234);
	assert_int_equal(vmcall(v, HC_TRANSLATE, 0x200000, 0x7800), EXIT_RESUME);
	assert_int_equal((int64_t)v->regs.rax, HC_ERR_NOT_MAPPED);
	assert_int_equal(vmcall(v, HC_BASE + HC_COUNT, 0, 0), EXIT_RESUME);
	assert_int_equal((int64_t)v->regs.rax, HC_ERR_UNKNOWN_CALL);
	assert_int_equal(fake_guest_reg(v, VCPU_RIP), FAKE_RIP + 6 * 3);
}

/* ======================================================================== dispatch and small exits */

static void test_dispatch_undecodable(void **s)
{
	struct vcpu *v = *s;
	struct vm_exit *e = fake_exit(v, EXIT_UNDECODABLE, 2); /* as the backend marks an undefined encoding */
	e->undecodable = "test: undecodable";
	v->regs.rax = 0x40000000;
	assert_int_equal(exit_dispatch(v, e), HV_ERR_UNEXPECTED_EXIT);
	assert_int_equal(v->regs.rax, 0x40000000); /* the handler did not run */
	assert_rip(v, FAKE_RIP);
	assert_false(fake_dirty(v, VCPU_RIP));
	assert_int_equal(fake.dump_calls, 0);
	assert_int_equal(fake.exit_reason_name_calls, 1); /* the report names the reason */
	assert_reads_once();
}

static void test_dispatch_unknown(void **s)
{
	struct vcpu *v = *s;
	assert_int_equal(exit_dispatch(v, fake_exit(v, EXIT_UNKNOWN, 0)), HV_ERR_UNEXPECTED_EXIT);
	assert_int_equal(fake.dump_calls, 1);
	assert_true(fake.log_lines[HV_LOG_ERROR] > 0);
	assert_reads_once();
	assert_string_equal(exit_kind_name(EXIT_CPUID), "CPUID");
	assert_string_equal(exit_kind_name(EXIT_UNKNOWN), "UNKNOWN");
	assert_string_equal(exit_kind_name(EXIT_KIND_COUNT), "?");
}

static void test_dispatch_stops(void **s)
{
	struct vcpu *v = *s;
	assert_int_equal(exit_dispatch(v, fake_exit(v, EXIT_TRIPLE_FAULT, 0)), HV_ERR_TRIPLE_FAULT);
	assert_int_equal(exit_dispatch(v, fake_exit(v, EXIT_SINGLE_STEP_TRAP, 0)), HV_ERR_UNEXPECTED_EXIT);
	struct vm_exit *e = fake_exit(v, EXIT_NESTED_PAGE_FAULT, 0);
	e->npf.gpa = 0x80000000ull;
	e->npf.write = true;
	assert_int_equal(exit_dispatch(v, e), HV_ERR_EPT_VIOLATION);
	assert_int_equal(exit_dispatch(v, fake_exit(v, EXIT_NESTED_PAGE_MISCONFIG, 0)), HV_ERR_GENERIC);
	/* An exception exit is unexpected with EPT; shadow paging takes #PF and #DB. */
	e = fake_exit(v, EXIT_EXCEPTION, 0);
	e->intr.event = event_exception(VECTOR_PF, true, 0);
	assert_int_equal(exit_dispatch(v, e), HV_ERR_UNEXPECTED_EXIT);
	v->mem_mode = HV_MEM_SHADOW;
	v->mmu = &shadow_mmu;
	assert_int_equal(exit_dispatch(v, e), EXIT_RESUME);
	assert_int_equal(fake.shadow_page_fault_calls, 1);
	e->intr.event.vector = VECTOR_DB;
	assert_int_equal(exit_dispatch(v, e), EXIT_RESUME);
	assert_int_equal(fake.shadow_debug_calls, 1);
	e->intr.event.vector = VECTOR_GP;
	assert_int_equal(exit_dispatch(v, e), HV_ERR_UNEXPECTED_EXIT);
	assert_reads_once();
}

static void test_small_exits(void **s)
{
	struct vcpu *v = *s;
	/* RDPMC: #GP(0); VMX and MONITOR/MWAIT instructions: #UD. */
	resume(v, fake_exit(v, EXIT_RDPMC, 2));
	assert_faulted(v, VECTOR_GP, 0);
	fake_vcpu_init(v);
	resume(v, fake_exit(v, EXIT_VIRT_INSTRUCTION, 3));
	assert_ud(v);
	fake_vcpu_init(v);
	resume(v, fake_exit(v, EXIT_MONITOR_MWAIT, 3));
	assert_ud(v);
	/* WBINVD: nothing to do but complete it. */
	fake_vcpu_init(v);
	resume(v, fake_exit(v, EXIT_CACHE_FLUSH, 2));
	assert_skipped(v, 2);
	/* Host interrupts and NMIs, windows: resume with nothing changed. */
	static const enum exit_kind quiet[] = { EXIT_EXTERNAL_INTERRUPT, EXIT_NMI, EXIT_INTERRUPT_WINDOW, EXIT_NMI_WINDOW };
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		fake_vcpu_init(v);
		resume(v, fake_exit(v, quiet[i], 0));
		assert_int_equal(v->rc.dirty, 0);
		assert_false(v->events.exception.valid);
	}
}

static void test_hlt(void **s)
{
	struct vcpu *v = *s;
	/* RFLAGS.IF = 1, no interrupt pending: the vCPU waits in the HLT state. */
	resume(v, fake_exit(v, EXIT_HLT, 1));
	assert_skipped(v, 1);
	assert_int_equal(fake_guest_reg(v, VCPU_ACTIVITY_STATE), VCPU_ACTIVITY_HLT);
	/* RFLAGS.IF = 0: nothing could wake it; it resumes at once. */
	fake_vcpu_init(v);
	fake.reg[VCPU_RFLAGS] = RFLAGS_RESERVED1;
	resume(v, fake_exit(v, EXIT_HLT, 1));
	assert_skipped(v, 1);
	assert_false(fake_dirty(v, VCPU_ACTIVITY_STATE));
}

static void test_invlpg(void **s)
{
	struct vcpu *v = *s;
	struct vm_exit *e = fake_exit(v, EXIT_INVLPG, 3);
	e->linear = 0xffff800000042000ull;
	resume(v, e);
	assert_skipped(v, 3);
	assert_int_equal(fake.flush_guest_addr_calls, 1);
	assert_int_equal(fake.flush_guest_addr, 0xffff800000042000ull);
	assert_int_equal(fake.shadow_invlpg_calls, 0);
	fake_vcpu_init(v);
	v->mem_mode = HV_MEM_SHADOW;
	v->mmu = &shadow_mmu;
	e = fake_exit(v, EXIT_INVLPG, 3);
	e->linear = 0x42000;
	resume(v, e);
	assert_int_equal(fake.shadow_invlpg_calls, 1);
	assert_int_equal(fake.shadow_invlpg_gva, 0x42000);
	assert_int_equal(fake.flush_guest_addr_calls, 0);
}

static void test_timer(void **s)
{
	struct vcpu *v = *s;
	v->timer_is_watchdog = false; /* the vLAPIC timer's deadline: the entry path delivers it */
	resume(v, fake_exit(v, EXIT_TIMER, 0));
	/* The watchdog's timer, before its TSC deadline (the 32-bit timer ran out first): armed again. */
	v->timer_is_watchdog = true;
	v->watchdog_deadline = UINT64_MAX;
	resume(v, fake_exit(v, EXIT_TIMER, 0));
	/* Past the deadline: the guest is stopped. */
	v->watchdog_deadline = 0;
	assert_int_equal(exit_dispatch(v, fake_exit(v, EXIT_TIMER, 0)), HV_ERR_WATCHDOG);
	assert_true(fake.log_lines[HV_LOG_ERROR] > 0);
	assert_reads_once();
}

/* ======================================================================== the event queue */

static const struct event pf_in_delivery = { .valid = true, .type = EVENT_HARD_EXCEPTION, .vector = VECTOR_PF,
					     .has_error_code = true, .error_code = 2 };

/* A #GP while a #PF was being delivered (re-queued from IDT-vectoring) becomes #DF(0). */
static void test_inject_double_fault(void **s)
{
	struct vcpu *v = *s;
	fake_exit(v, EXIT_CPUID, 2);
	vcpu_requeue_event(v, &pf_in_delivery);
	vcpu_inject_exception(v, VECTOR_GP, true, 0x10);
	assert_true(v->events.exception.valid);
	assert_int_equal(v->events.exception.type, EVENT_HARD_EXCEPTION);
	assert_int_equal(v->events.exception.vector, VECTOR_DF);
	assert_true(v->events.exception.has_error_code);
	assert_int_equal(v->events.exception.error_code, 0);
	assert_false(v->events.requests & VCPU_REQ_TRIPLE_FAULT);
	/* The same through a handler: an unknown MSR's #GP during a #PF's delivery. */
	fake_vcpu_init(v);
	struct vm_exit *e = fake_exit(v, EXIT_RDMSR, 2);
	vcpu_requeue_event(v, &pf_in_delivery);
	v->regs.rcx = 0x1234;
	e->msr = 0x1234;
	resume(v, e);
	assert_faulted(v, VECTOR_DF, 0);
}

static void test_inject_triple_fault(void **s)
{
	struct vcpu *v = *s;
	fake_exit(v, EXIT_CPUID, 2);
	const struct event df = event_exception(VECTOR_DF, true, 0);
	vcpu_requeue_event(v, &df);
	vcpu_inject_pf(v, 0xdead000, 0);
	assert_true(v->events.requests & VCPU_REQ_TRIPLE_FAULT);
	assert_false(v->events.exception.valid);
	assert_int_equal(v->regs.cr2, 0xdead000); /* CR2 is the #PF's */
	/* A benign exception after a #DF is just delivered. */
	fake_vcpu_init(v);
	fake_exit(v, EXIT_CPUID, 2);
	vcpu_requeue_event(v, &df);
	vcpu_inject_ud(v);
	assert_false(v->events.requests & VCPU_REQ_TRIPLE_FAULT);
	assert_int_equal(v->events.exception.vector, VECTOR_UD);
}

/* Contributory then #PF, or benign then anything: serial, the new exception replaces the old. */
static void test_inject_serial(void **s)
{
	struct vcpu *v = *s;
	fake_exit(v, EXIT_CPUID, 2);
	const struct event gp = event_exception(VECTOR_GP, true, 0x8);
	vcpu_requeue_event(v, &gp);
	vcpu_inject_pf(v, 0x1000, 0x4);
	assert_int_equal(v->events.exception.vector, VECTOR_PF);
	assert_int_equal(v->events.exception.error_code, 0x4);
	const struct event bp = { .valid = true, .type = EVENT_SOFT_EXCEPTION, .vector = VECTOR_BP, .insn_len = 1 };
	vcpu_requeue_event(v, &bp);
	vcpu_inject_gp0(v);
	assert_int_equal(v->events.exception.vector, VECTOR_GP);
	assert_int_equal(v->events.exception.type, EVENT_HARD_EXCEPTION);
	assert_int_equal(v->events.exception.insn_len, 0);
	/* The faulting instruction's breakpoints never trigger. */
	v->pending_dbg = PENDING_DBG_B_ALL;
	vcpu_inject_gp0(v);
	assert_int_equal(v->pending_dbg, 0);
}

/* In real mode (CR0.PE = 0) exceptions deliver no error code, a #DF included. */
static void test_inject_real_mode(void **s)
{
	struct vcpu *v = *s;
	fake.reg[VCPU_CR0] = CR0_NE | CR0_ET;
	fake_exit(v, EXIT_CPUID, 2);
	vcpu_inject_gp0(v);
	assert_true(v->events.exception.valid);
	assert_false(v->events.exception.has_error_code);
	const struct event pf = event_exception(VECTOR_PF, false, 0);
	vcpu_requeue_event(v, &pf);
	vcpu_inject_exception(v, VECTOR_TS, true, 0x18);
	assert_int_equal(v->events.exception.vector, VECTOR_DF);
	assert_false(v->events.exception.has_error_code);
}

/* IDT-vectoring: each kind of interrupted event goes back to its own slot. */
static void test_requeue(void **s)
{
	struct vcpu *v = *s;
	const struct event irq = { .valid = true, .type = EVENT_EXTERNAL_INTERRUPT, .vector = 0x30 };
	vcpu_requeue_event(v, &irq);
	assert_true(v->events.interrupt.valid);
	assert_int_equal(v->events.interrupt.vector, 0x30);
	assert_int_equal(v->events.interrupt.type, EVENT_EXTERNAL_INTERRUPT);
	assert_false(v->events.exception.valid);
	assert_false(v->events.nmi_redeliver);
	/* An exception raised now goes first; the interrupt stays queued behind it. */
	vcpu_inject_gp0(v);
	assert_int_equal(v->events.exception.vector, VECTOR_GP);
	assert_true(v->events.interrupt.valid);

	fake_vcpu_init(v);
	const struct event nmi = { .valid = true, .type = EVENT_NMI, .vector = VECTOR_NMI };
	vcpu_requeue_event(v, &nmi);
	assert_true(v->events.nmi_redeliver);
	assert_false(v->events.exception.valid);
	assert_false(v->events.interrupt.valid);

	fake_vcpu_init(v);
	const struct event int80 = { .valid = true, .type = EVENT_SOFT_INTERRUPT, .vector = 0x80, .insn_len = 2 };
	vcpu_requeue_event(v, &int80);
	assert_true(v->events.exception.valid);
	assert_int_equal(v->events.exception.type, EVENT_SOFT_INTERRUPT);
	assert_int_equal(v->events.exception.vector, 0x80);
	assert_int_equal(v->events.exception.insn_len, 2);
	assert_false(v->events.interrupt.valid);
	/* INT n is no exception: a #GP during its delivery is delivered alone (INT n runs again). */
	vcpu_inject_gp0(v);
	assert_int_equal(v->events.exception.vector, VECTOR_GP);
	assert_int_equal(v->events.exception.type, EVENT_HARD_EXCEPTION);
}

/* ======================================================================== the register cache */

static void test_register_cache(void **s)
{
	struct vcpu *v = *s;
	fake_exit(v, EXIT_CPUID, 2);
	assert_int_equal(vcpu_read(v, VCPU_CR3), FAKE_CR3);
	assert_int_equal(vcpu_read(v, VCPU_CR3), FAKE_CR3);
	assert_int_equal(fake.reads[VCPU_CR3], 1);
	assert_false(fake_dirty(v, VCPU_CR3));

	/* A write is masked to the register's width, marked dirty, and read back without the backend. */
	vcpu_write(v, VCPU_CS_SELECTOR, 0x12345);
	assert_true(fake_dirty(v, VCPU_CS_SELECTOR));
	assert_int_equal(vcpu_read(v, VCPU_CS_SELECTOR), 0x2345);
	assert_int_equal(fake.reads[VCPU_CS_SELECTOR], 0);
	vcpu_write(v, VCPU_GDTR_LIMIT, 0x1ffffffffull);
	assert_int_equal(vcpu_read(v, VCPU_GDTR_LIMIT), 0xffffffffull);
	vcpu_write(v, VCPU_RIP, 0xffffffff80001000ull);
	assert_int_equal(vcpu_read(v, VCPU_RIP), 0xffffffff80001000ull);
	assert_int_equal(fake.reads[VCPU_RIP], 0);

	/* At the next exit the dirty ones have reached the backend, and are read from it again. */
	fake_exit(v, EXIT_CPUID, 2);
	assert_int_equal(v->rc.valid | v->rc.dirty, 0);
	assert_int_equal(fake.reg[VCPU_CS_SELECTOR], 0x2345);
	assert_int_equal(vcpu_read(v, VCPU_CS_SELECTOR), 0x2345);
	assert_int_equal(fake.reads[VCPU_CS_SELECTOR], 1);

	/* RSP is the backend's; the other GPRs live in v->regs. */
	assert_int_equal(vcpu_gpr_read(v, GPR_RSP), FAKE_RSP);
	vcpu_gpr_write(v, GPR_RSP, 0x7ff0);
	assert_true(fake_dirty(v, VCPU_RSP));
	assert_int_equal(fake_guest_reg(v, VCPU_RSP), 0x7ff0);
	vcpu_gpr_write(v, GPR_R15, 0x15);
	assert_int_equal(v->regs.r15, 0x15);
	assert_int_equal(vcpu_gpr_read(v, GPR_R15), 0x15);
	assert_int_equal(vcpu_gpr_read(v, GPR_RBP), v->regs.rbp);
}

static void test_privilege_and_mode(void **s)
{
	struct vcpu *v = *s;
	fake_exit(v, EXIT_CPUID, 2);
	assert_int_equal(vcpu_cpl(v), 0);
	assert_true(vcpu_long64(v));
	fake.reg[VCPU_SS_AR_BYTES] = FAKE_DATA_AR_CPL3;
	fake.reg[VCPU_CS_AR_BYTES] = FAKE_CS_AR_32;
	fake_exit(v, EXIT_CPUID, 2);
	assert_int_equal(vcpu_cpl(v), 3);
	assert_false(vcpu_long64(v)); /* compatibility mode */
	/* SMAP's view of RFLAGS.AC: only below CPL 3. */
	fake.reg[VCPU_RFLAGS] |= RFLAGS_AC;
	fake_exit(v, EXIT_CPUID, 2);
	assert_false(guest_rflags_ac_for_smap(v));
	fake.reg[VCPU_SS_AR_BYTES] = FAKE_DATA_AR;
	fake_exit(v, EXIT_CPUID, 2);
	assert_true(guest_rflags_ac_for_smap(v));
}

/* ======================================================================== IPIs between vCPUs (vmm/core/ipi.c) */

static struct vcpu peers[3];

/* vCPU 0 (the fixture's) and peers 1..n-1, each on its own host CPU (APIC ID 10 + id), all in x2APIC mode. */
static void add_peers(struct vcpu *v, unsigned n)
{
	v->preemption_timer = true;
	assert_true(vlapic_set_base(&v->lapic, APIC_BASE_DEFAULT | APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP, (1ull << 46) - 1, 0));
	v->lapic.svr |= APIC_SVR_ENABLE;
	v->host_apic_id = 10;
	for (unsigned i = 1; i < n; i++) {
		struct vcpu *p = &peers[i];
		memset(p, 0, sizeof(*p));
		p->id = i;
		p->group = &fake_group;
		p->host_apic_id = 10 + i;
		p->sipi_posted = VCPU_NO_SIPI;
		vlapic_reset(&p->lapic, i, false);
		assert_true(vlapic_set_base(&p->lapic, APIC_BASE_DEFAULT | APIC_BASE_EN | APIC_BASE_EXTD, (1ull << 46) - 1, 0));
		p->lapic.svr |= APIC_SVR_ENABLE;
		fake_group.vcpu[fake_group.count++] = p;
	}
}

static uint64_t icr(uint32_t dest, uint32_t lo) { return (uint64_t)dest << X2APIC_ICR_DEST_SHIFT | lo; }

#define ICR_FIXED(vec)  ((APIC_ICR_DELIVERY_FIXED << APIC_ICR_DELIVERY_SHIFT) | APIC_ICR_LEVEL_ASSERT | (vec))
#define ICR_MODE(m)     (((m) << APIC_ICR_DELIVERY_SHIFT) | APIC_ICR_LEVEL_ASSERT)
#define ICR_SHORT(sh)   ((sh) << APIC_ICR_SHORTHAND_SHIFT)

static void test_ipi_fixed_to_one_vcpu_posts_and_kicks(void **s)
{
	struct vcpu *v = *s;
	add_peers(v, 3);
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO), icr(2, ICR_FIXED(0x41))), EXIT_RESUME);
	assert_skipped(v, 2);
	/* Posted to vCPU 2 only, which is told to look and whose CPU is kicked. */
	assert_true(peers[2].attention);
	assert_false(peers[1].attention);
	assert_true(vlapic_take_posted(&peers[2].lapic));
	assert_int_equal(vlapic_highest_irr(&peers[2].lapic), 0x41);
	assert_false(vlapic_take_posted(&peers[1].lapic));
	assert_int_equal(vlapic_highest_irr(&v->lapic), -1); /* not to the sender */
	assert_int_equal(fake.host_ipis, 1);
	assert_int_equal(fake.host_ipi_apic_id, 12);
	assert_int_equal(fake.host_ipi_icr & APIC_ICR_VECTOR_MASK, HOST_KICK_VECTOR);
	assert_int_equal(v->ipis_sent, 1);
}

static void test_ipi_shorthands(void **s)
{
	struct vcpu *v = *s;
	add_peers(v, 3);
	/* All excluding self: both peers, not the sender. */
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO), ICR_FIXED(0x50) | ICR_SHORT(APIC_ICR_DEST_ALL_EXCL)),
			 EXIT_RESUME);
	assert_true(vlapic_take_posted(&peers[1].lapic) && vlapic_take_posted(&peers[2].lapic));
	assert_int_equal(vlapic_highest_irr(&v->lapic), -1);
	assert_int_equal(fake.host_ipis, 2);
	/* All including self: the sender's own IRR too (delivered by its vLAPIC, no kick to itself). */
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO), ICR_FIXED(0x51) | ICR_SHORT(APIC_ICR_DEST_ALL_INCL)),
			 EXIT_RESUME);
	assert_int_equal(vlapic_highest_irr(&v->lapic), 0x51);
	assert_true(vlapic_take_posted(&peers[1].lapic) && vlapic_take_posted(&peers[2].lapic));
	assert_int_equal(fake.host_ipis, 4);
	/* Self: nobody else. */
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO), ICR_FIXED(0x52) | ICR_SHORT(APIC_ICR_DEST_SELF)),
			 EXIT_RESUME);
	assert_false(vlapic_take_posted(&peers[1].lapic));
	assert_int_equal(fake.host_ipis, 4);
	/* The physical broadcast ID reaches everyone, the sender included. */
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO), icr(X2APIC_BROADCAST, ICR_FIXED(0x53))), EXIT_RESUME);
	assert_true(vlapic_take_posted(&peers[1].lapic) && vlapic_take_posted(&peers[2].lapic));
	assert_int_equal(vlapic_highest_irr(&v->lapic), 0x53);
}

static void test_ipi_logical_destination(void **s)
{
	struct vcpu *v = *s;
	add_peers(v, 3);
	/* x2APIC logical IDs (SDM 11.12.10.2): cluster = ID >> 4, member bit = 1 << (ID & 15). */
	const uint32_t ldr1 = peers[1].lapic.ldr, ldr2 = peers[2].lapic.ldr;
	assert_int_equal(ldr1, 1u << 1);
	assert_int_equal(ldr2, 1u << 2);
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO), icr(ldr1 | ldr2, ICR_FIXED(0x60) | APIC_ICR_DEST_LOGICAL)),
			 EXIT_RESUME);
	assert_true(vlapic_take_posted(&peers[1].lapic) && vlapic_take_posted(&peers[2].lapic));
	/* Another cluster: nobody. */
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO),
				    icr((1u << X2APIC_LDR_CLUSTER_SHIFT) | ldr1, ICR_FIXED(0x61) | APIC_ICR_DEST_LOGICAL)),
			 EXIT_RESUME);
	assert_false(vlapic_take_posted(&peers[1].lapic));
}

static void test_ipi_nmi_init_startup(void **s)
{
	struct vcpu *v = *s;
	add_peers(v, 2);
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO), icr(1, ICR_MODE(APIC_ICR_DELIVERY_NMI))), EXIT_RESUME);
	assert_true(vlapic_take_posted(&peers[1].lapic));
	assert_true(peers[1].lapic.nmi_pending);
	assert_false(v->lapic.nmi_pending);
	/* INIT (assert) is posted to the vCPU; INIT de-assert changes nothing (SDM 11.6.1). */
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO),
				    icr(1, (APIC_ICR_DELIVERY_INIT << APIC_ICR_DELIVERY_SHIFT) | APIC_ICR_TRIGGER_LEVEL)),
			 EXIT_RESUME);
	assert_false(peers[1].init_posted);
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO), icr(1, ICR_MODE(APIC_ICR_DELIVERY_INIT))), EXIT_RESUME);
	assert_true(peers[1].init_posted);
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO), icr(1, ICR_MODE(APIC_ICR_DELIVERY_STARTUP) | 0x08)),
			 EXIT_RESUME);
	assert_int_equal(peers[1].sipi_posted, 0x08);
	assert_int_equal(fake.host_ipis, 3);
	/* Neither INIT nor STARTUP touches the sender. */
	assert_false(v->init_posted);
	assert_int_equal(v->sipi_posted, VCPU_NO_SIPI);
}

static void test_ipi_to_absent_apic_is_dropped(void **s)
{
	struct vcpu *v = *s;
	add_peers(v, 2);
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO), icr(7, ICR_MODE(APIC_ICR_DELIVERY_STARTUP) | 0x08)),
			 EXIT_RESUME);
	assert_skipped(v, 2);
	assert_int_equal(peers[1].sipi_posted, VCPU_NO_SIPI);
	assert_int_equal(fake.host_ipis, 0);
	assert_int_equal(v->ipis_dropped_logged, 1);
}

static void test_ipi_same_host_cpu_needs_no_kick(void **s)
{
	struct vcpu *v = *s;
	add_peers(v, 2);
	peers[1].host_apic_id = v->host_apic_id;
	assert_int_equal(wrmsr_exit(v, X2APIC_MSR(APIC_REG_ICR_LO), icr(1, ICR_FIXED(0x70))), EXIT_RESUME);
	assert_true(vlapic_take_posted(&peers[1].lapic));
	assert_int_equal(fake.host_ipis, 0);
}

static void test_group_stop_first_status_wins(void **s)
{
	struct vcpu *v = *s;
	add_peers(v, 3);
	assert_int_equal(vcpu_group_stop(&peers[2], HV_ERR_TRIPLE_FAULT), HV_ERR_TRIPLE_FAULT);
	assert_true(vcpu_group_stopping(v));
	assert_true(v->attention && peers[1].attention);
	assert_int_equal(fake.host_ipis, 2); /* vCPUs 0 and 1 kicked */
	assert_int_equal(vcpu_group_stop(v, HV_OK), HV_ERR_TRIPLE_FAULT);
	assert_int_equal(fake_group.stopper, 2);
}

static void test_host_kick_exit_sends_eoi(void **s)
{
	struct vcpu *v = *s;
	struct vm_exit *e = fake_exit(v, EXIT_EXTERNAL_INTERRUPT, 0);
	e->intr.event.vector = HOST_KICK_VECTOR;
	assert_int_equal(exit_dispatch(v, e), EXIT_RESUME);
	assert_int_equal(fake.host_eois, 1);
	e = fake_exit(v, EXIT_EXTERNAL_INTERRUPT, 0);
	e->intr.event.vector = 0x30; /* a firmware's device interrupt: dropped as before, no EOI */
	assert_int_equal(exit_dispatch(v, e), EXIT_RESUME);
	assert_int_equal(fake.host_eois, 1);
}

/* ======================================================================== virtual-8086 real mode (vmm/exit/vm86.c) */

#define VM86_CS      0x0900u /* STARTUP vector 0x09 */
#define VM86_BASE    (VM86_CS << 4)

/* vCPU in virtual-8086 mode at 0900:ip, with `code` at that address (paging off: linear = physical). */
static void vm86_at(struct vcpu *v, uint16_t ip, const uint8_t *code, unsigned len)
{
	v->vm86 = true;
	v->mem_mode = HV_MEM_SHADOW;
	v->mmu = &shadow_mmu;
	v->guest_cr0 = CR0_CD | CR0_NW | CR0_ET;
	v->guest_cr4 = 0;
	v->guest_efer = 0;
	for (unsigned sreg = SEG_ES; sreg < SEG_COUNT; sreg++) {
		const uint16_t sel = sreg == SEG_CS ? VM86_CS : 0;
		fake.reg[vcpu_seg_reg(sreg, SEGF_SELECTOR)] = sel;
		fake.reg[vcpu_seg_reg(sreg, SEGF_BASE)] = (uint64_t)sel << 4;
		fake.reg[vcpu_seg_reg(sreg, SEGF_LIMIT)] = 0xffff;
		fake.reg[vcpu_seg_reg(sreg, SEGF_AR_BYTES)] = 0xf3;
	}
	fake.reg[VCPU_RIP] = ip;
	fake.reg[VCPU_RFLAGS] = RFLAGS_RESERVED1 | RFLAGS_VM | RFLAGS_IOPL3;
	memcpy(fake_ram + VM86_BASE + ip, code, len);
}

static int gp_exit(struct vcpu *v)
{
	struct vm_exit *e = fake_exit(v, EXIT_EXCEPTION, 0);
	e->intr.event.vector = VECTOR_GP;
	return exit_dispatch(v, e);
}

static void test_vm86_lgdt_then_cr0_pe_leaves_vm86(void **s)
{
	struct vcpu *v = *s;
	/* o32 lgdt [0x100] ; the pseudo-descriptor at 0900:0100 */
	static const uint8_t lgdt[] = { 0x66, 0x0f, 0x01, 0x16, 0x00, 0x01 };
	static const uint8_t desc[] = { 0x17, 0x00, 0x40, 0x90, 0x00, 0x00 }; /* limit 0x17, base 0x9040 */
	vm86_at(v, 0x10, lgdt, sizeof(lgdt));
	fake.reg[VCPU_DS_SELECTOR] = VM86_CS;
	fake.reg[VCPU_DS_BASE] = VM86_BASE;
	memcpy(fake_ram + VM86_BASE + 0x100, desc, sizeof(desc));
	assert_int_equal(gp_exit(v), EXIT_RESUME);
	assert_int_equal(fake_guest_reg(v, VCPU_GDTR_BASE), 0x9040);
	assert_int_equal(fake_guest_reg(v, VCPU_GDTR_LIMIT), 0x17);
	assert_int_equal(fake_guest_reg(v, VCPU_RIP), 0x16);
	assert_true(v->vm86);

	/* mov eax, cr0 reads the guest's CR0 (CD NW ET), not the hardware's. */
	static const uint8_t rd_cr0[] = { 0x0f, 0x20, 0xc0 };
	vm86_at(v, 0x16, rd_cr0, sizeof(rd_cr0));
	v->regs.rax = 0;
	assert_int_equal(gp_exit(v), EXIT_RESUME);
	assert_int_equal(v->regs.rax, CR0_CD | CR0_NW | CR0_ET);

	/* mov cr0, eax with PE: 16-bit protected mode with the same segments, out of virtual-8086 mode. */
	static const uint8_t wr_cr0[] = { 0x0f, 0x22, 0xc0 };
	vm86_at(v, 0x19, wr_cr0, sizeof(wr_cr0));
	v->regs.rax = CR0_ET | CR0_PE;
	assert_int_equal(gp_exit(v), EXIT_RESUME);
	assert_false(v->vm86);
	assert_int_equal(v->guest_cr0, CR0_ET | CR0_PE);
	assert_int_equal(fake_guest_reg(v, VCPU_RIP), 0x1c);
	assert_int_equal(fake_guest_reg(v, VCPU_RFLAGS) & (RFLAGS_VM | RFLAGS_IOPL3), 0);
	assert_int_equal(fake_guest_reg(v, VCPU_CS_AR_BYTES), 0x9b);
	assert_int_equal(fake_guest_reg(v, VCPU_CS_BASE), VM86_BASE);
	assert_int_equal(fake_guest_reg(v, VCPU_SS_AR_BYTES), 0x93);
	assert_int_equal(fake.vm86_done_calls, 1);
}

static void test_vm86_wrmsr_goes_through_the_msr_handler(void **s)
{
	struct vcpu *v = *s;
	static const uint8_t wrmsr[] = { 0x0f, 0x30 };
	vm86_at(v, 0x40, wrmsr, sizeof(wrmsr));
	v->regs.rcx = MSR_IA32_EFER;
	v->regs.rax = EFER_LME;
	v->regs.rdx = 0;
	assert_int_equal(gp_exit(v), EXIT_RESUME);
	assert_int_equal(v->guest_efer & EFER_LME, EFER_LME);
	assert_int_equal(fake_guest_reg(v, VCPU_RIP), 0x42);
}

static void test_vm86_other_exceptions_and_unknown_instructions_stop(void **s)
{
	struct vcpu *v = *s;
	static const uint8_t ud[] = { 0x0f, 0x0b };
	vm86_at(v, 0x50, ud, sizeof(ud));
	struct vm_exit *e = fake_exit(v, EXIT_EXCEPTION, 0);
	e->intr.event.vector = VECTOR_UD;
	assert_int_equal(exit_dispatch(v, e), HV_ERR_GUEST_FAULT);
	/* A #GP on an instruction the decoder does not know (UD2) stops with the decoder's reason. */
	vm86_at(v, 0x50, ud, sizeof(ud));
	assert_int_equal(gp_exit(v), HV_ERR_GUEST_FAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cpuid_signature_leaf),
		T(test_cpuid_features_leaf),
		T(test_cpuid_hidden_features),
		T(test_cpuid_msr_agree),
		T(test_cpuid_host_cache_same_answers),
		T(test_skip_instruction_side_effects),
		T(test_msr_efer),
		T(test_msr_efer_invalid),
		T(test_msr_efer_nxe_shadow),
		T(test_msr_sysenter),
		T(test_msr_unknown),
		T(test_msr_pat),
		T(test_msr_fixed_and_refused),
		T(test_msr_apic_base),
		T(test_msr_tsc_write),
		T(test_msr_tsc_write_moves_deadline),
		T(test_ipi_fixed_to_one_vcpu_posts_and_kicks),
		T(test_ipi_shorthands),
		T(test_ipi_logical_destination),
		T(test_ipi_nmi_init_startup),
		T(test_ipi_to_absent_apic_is_dropped),
		T(test_ipi_same_host_cpu_needs_no_kick),
		T(test_group_stop_first_status_wins),
		T(test_host_kick_exit_sends_eoi),
		T(test_vm86_lgdt_then_cr0_pe_leaves_vm86),
		T(test_vm86_wrmsr_goes_through_the_msr_handler),
		T(test_vm86_other_exceptions_and_unknown_instructions_stop),
		T(test_cr4_reserved_bits),
		T(test_cr4_write),
		T(test_cr0_enter_long_mode),
		T(test_cr0_leave_long_mode),
		T(test_cr0_pae_pdptes),
		T(test_cr3_read_write),
		T(test_cr3_32bit_operand),
		T(test_clts),
		T(test_lmsw),
		T(test_cr8),
		T(test_cr0_shadow_real_mode_refused),
		T(test_io_in_unclaimed),
		T(test_io_unclaimed_ledger),
		T(test_io_strict_stops_at_unclaimed),
		T(test_io_in_claimed),
		T(test_io_out),
		T(test_io_string),
		T(test_io_string_rep_batch),
		T(test_io_string_faults),
		T(test_sgdt_sidt),
		T(test_sgdt_faults),
		T(test_lgdt_lidt),
		T(test_lldt_ltr_null),
		T(test_ltr),
		T(test_sldt_str),
		T(test_xsetbv_refused),
		T(test_hypercall_user_mode),
		T(test_hypercall_exit),
		T(test_hypercall_stats_translate),
		T(test_hypercall_foreign_numbers),
		T(test_dispatch_undecodable),
		T(test_dispatch_unknown),
		T(test_dispatch_stops),
		T(test_small_exits),
		T(test_hlt),
		T(test_invlpg),
		T(test_timer),
		T(test_inject_double_fault),
		T(test_inject_triple_fault),
		T(test_inject_serial),
		T(test_inject_real_mode),
		T(test_requeue),
		T(test_register_cache),
		T(test_privilege_and_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
