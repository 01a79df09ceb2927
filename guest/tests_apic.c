/*
 * Interrupt tests (issue 10): the monitor's virtual local APIC in x2APIC mode, its timer in each
 * mode, interrupt injection (priorities, TPR, nested EOI, the STI shadow, HLT), and the preemptive
 * scheduler.  Times are guest-measured with RDTSC against a bound each test states.
 */
#include <arch/cpuid.h>
#include <arch/msr.h>
#include <arch/segment.h>
#include <vmm/format.h>
#include "guest/abi.h"
#include "guest/apic.h"
#include "guest/hv.h"
#include "guest/kernel.h"
#include "guest/priv.h"
#include "guest/proc.h"
#include "guest/tests.h"

/* Test vectors: three priority classes (SDM 11.8.3: class = vector >> 4). */
#define VEC_CLASS3   0x31u
#define VEC_CLASS4   0x41u
#define VEC_CLASS5   0x51u
#define VEC_CLASS8   0x81u
#define VEC_TIMER_T  0x42u
#define TPR_CLASS4   0x40u
#define TPR_CLASS5   0x50u

/*
 * Timer figures, in TSC cycles.  TIMER_COUNT: how far ahead a timer is set.  LATENCY_BOUND: how late
 * its interrupt may reach the handler (the preemption-timer exit, the monitor, the injection; under
 * Bochs one exit alone costs thousands of TSC cycles).  WAIT_LIMIT: how long a test waits at most.
 */
#define TIMER_COUNT    200000u
#define LATENCY_BOUND  200000u
#define WAIT_LIMIT     (20ull * TIMER_COUNT)
#define PERIODIC_TICKS 3u
#define QUANTUM        300000u  /* the scheduler's tick in the preemption tests */
#define SLEEP_CYCLES   1000000u
#define SLEEP_ROUNDS   2u
#define HELLO_ROUNDS   2u

static volatile uint64_t handled_tsc[IDT_VECTORS];
static volatile uint64_t handled_rcx, handled_rsi;
static volatile uint32_t isr_seen_class4, isr_seen_class8; /* ISR words read inside the nested handler */

static bool apic_available(const char *name)
{
	if (!hv_present) {
		test_skip(name, "no hypervisor");
		return false;
	}
	if (!apic_ready()) {
		test_skip(name, "no x2APIC");
		return false;
	}
	return true;
}

static void record_handler(struct trap_frame *f)
{
	handled_tsc[f->vector & APIC_VECTOR_MASK] = tsc_now();
	handled_rcx = f->rcx;
	handled_rsi = f->rsi;
	apic_eoi();
}

/* Interrupts on until `vector` has been taken `count` times or WAIT_LIMIT passed; true if it was. */
static bool wait_for(unsigned vector, uint64_t count)
{
	const uint64_t start = tsc_now();
	irq_enable();
	while (irq_count[vector] < count && tsc_now() - start < WAIT_LIMIT)
		__asm__ volatile("pause");
	irq_disable();
	return irq_count[vector] >= count;
}

/* One instruction with interrupts on: whatever is deliverable is taken. */
static void open_window(void) { __asm__ volatile("sti; nop; cli" ::: "memory"); }

static bool isr_has(unsigned vector)
{
	return (apic_read(APIC_REG_ISR0 + (vector >> 5) * APIC_REG_STRIDE) >> (vector & 31)) & 1;
}

static bool irr_has(unsigned vector)
{
	return (apic_read(APIC_REG_IRR0 + (vector >> 5) * APIC_REG_STRIDE) >> (vector & 31)) & 1;
}

/* ---- registers ---- */

static void test_x2apic_registers(void)
{
	const char *name = "apic_x2apic_registers";
	if (!apic_available(name))
		return;
	const struct cpuid_regs f = priv_cpuid(CPUID_LEAF_FEATURES, 0);
	const uint64_t base = priv_rdmsr(MSR_IA32_APIC_BASE);
	uint64_t v;
	if (!(f.edx & CPUID_1_EDX_APIC) || !(f.ecx & CPUID_1_ECX_X2APIC) || !(f.ecx & CPUID_1_ECX_TSC_DEADLINE)) {
		test_report(name, false, "CPUID.1 ECX %#x EDX %#x: APIC, x2APIC or TSC-deadline missing", f.ecx, f.edx);
		return;
	}
	if ((base & APIC_BASE_ADDR_MASK) != APIC_BASE_DEFAULT ||
	    (base & (APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP)) != (APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP)) {
		test_report(name, false, "IA32_APIC_BASE %#llx", (unsigned long long)base);
		return;
	}
	const uint64_t id = apic_read(APIC_REG_ID), ver = apic_read(APIC_REG_VERSION), ldr = apic_read(APIC_REG_LDR);
	const uint64_t svr = apic_read(APIC_REG_SVR);
	if (id != 0 || ver != (APIC_VERSION_INTEGRATED | ((APIC_LVT_COUNT - 1) << APIC_VERSION_MAX_LVT_SHIFT)) ||
	    ldr != 1 || svr != (APIC_SVR_ENABLE | VECTOR_SPURIOUS)) {
		test_report(name, false, "ID %#llx version %#llx LDR %#llx SVR %#llx", (unsigned long long)id,
			    (unsigned long long)ver, (unsigned long long)ldr, (unsigned long long)svr);
		return;
	}
	apic_write(APIC_REG_TPR, TPR_CLASS5 | 3);
	const uint64_t tpr = apic_read(APIC_REG_TPR), ppr = apic_read(APIC_REG_PPR);
	apic_write(APIC_REG_TPR, 0);
	if (tpr != (TPR_CLASS5 | 3) || ppr != (TPR_CLASS5 | 3)) {
		test_report(name, false, "TPR %#llx PPR %#llx after writing %#x", (unsigned long long)tpr,
			    (unsigned long long)ppr, TPR_CLASS5 | 3);
		return;
	}
	/* x2APIC rules (SDM 11.12.1.2): each is a #GP. */
	static const struct { const char *what; bool write; uint32_t msr; uint64_t value; } gp[] = {
		{ "write VERSION (read-only)", true, X2APIC_MSR(APIC_REG_VERSION), 0 },
		{ "write ID (read-only in x2APIC mode)", true, X2APIC_MSR(APIC_REG_ID), 1 },
		{ "read EOI (write-only)", false, X2APIC_MSR(APIC_REG_EOI), 0 },
		{ "read SELF IPI (write-only)", false, X2APIC_MSR(APIC_REG_SELF_IPI), 0 },
		{ "read DFR (no x2APIC register)", false, X2APIC_MSR(APIC_REG_DFR), 0 },
		{ "write TPR reserved bit 8", true, X2APIC_MSR(APIC_REG_TPR), 0x100 },
		{ "write EOI non-zero", true, X2APIC_MSR(APIC_REG_EOI), 1 },
		{ "IA32_APIC_BASE reserved bit 9", true, MSR_IA32_APIC_BASE, APIC_BASE_DEFAULT | APIC_BASE_EN |
										    APIC_BASE_EXTD | APIC_BASE_BSP | (1ull << 9) },
		{ "IA32_APIC_BASE x2APIC -> xAPIC", true, MSR_IA32_APIC_BASE, APIC_BASE_DEFAULT | APIC_BASE_EN |
										      APIC_BASE_BSP },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(gp); i++) {
		const int r = gp[i].write ? priv_wrmsr_safe(gp[i].msr, gp[i].value) : priv_rdmsr_safe(gp[i].msr, &v);
		if (r == 0 || kernel_fault.vector != VECTOR_GP) {
			test_report(name, false, "%s (MSR %#x): no #GP", gp[i].what, gp[i].msr);
			return;
		}
	}
	test_pass(name);
}

/*
 * xAPIC mode: the same registers through the memory-mapped page, each access emulated by the
 * monitor (an EPT violation or a #PF exit, decoded MOV); then back to x2APIC.
 */
static void test_xapic_mmio(void)
{
	const char *name = "apic_xapic_mmio_registers";
	if (!apic_available(name))
		return;
	char d[DETAIL_MAX] = "";
	bool ok = apic_set_xapic_mode(true);
	if (!ok)
		hv_snprintf(d, sizeof(d), "IA32_APIC_BASE did not leave x2APIC mode");
	irq_set_handler(VEC_CLASS4, record_handler);
	const uint64_t n = irq_count[VEC_CLASS4];
	if (ok) {
		/* After the trip through "disabled": the reset state (SDM 11.4.7.1), ID in bits 31:24. */
		const uint32_t id = (uint32_t)apic_read(APIC_REG_ID), ver = (uint32_t)apic_read(APIC_REG_VERSION);
		const uint32_t svr = (uint32_t)apic_read(APIC_REG_SVR), dfr = (uint32_t)apic_read(APIC_REG_DFR);
		apic_write(APIC_REG_SVR, APIC_SVR_ENABLE | VECTOR_SPURIOUS);
		apic_write(APIC_REG_TPR, TPR_CLASS4 | 1);
		const uint32_t tpr = (uint32_t)apic_read(APIC_REG_TPR);
		apic_write(APIC_REG_TPR, 0);
		apic_write(APIC_REG_VERSION, 0); /* read-only: ignored */
		const uint32_t ver2 = (uint32_t)apic_read(APIC_REG_VERSION);
		(void)apic_read(APIC_REG_SELF_IPI); /* x2APIC only: "illegal register address" in ESR */
		apic_write(APIC_REG_ESR, 0);
		const uint32_t esr = (uint32_t)apic_read(APIC_REG_ESR);
		apic_write(APIC_REG_ICR_HI, 0);
		apic_write(APIC_REG_ICR_LO, ((uint64_t)APIC_ICR_DEST_SELF << 18) | VEC_CLASS4);
		open_window(); /* the handler's EOI goes through the page too */
		ok = id == 0 && ver == ver2 && ver == (APIC_VERSION_INTEGRATED | ((APIC_LVT_COUNT - 1) << APIC_VERSION_MAX_LVT_SHIFT)) &&
		     svr == APIC_SVR_RESET && dfr == APIC_DFR_FLAT && tpr == (TPR_CLASS4 | 1) &&
		     esr == APIC_ESR_ILLEGAL_REGISTER && irq_count[VEC_CLASS4] == n + 1 && !isr_has(VEC_CLASS4);
		if (!ok)
			hv_snprintf(d, sizeof(d), "ID %#x version %#x/%#x SVR %#x DFR %#x TPR %#x ESR %#x, %llu interrupts",
				    id, ver, ver2, svr, dfr, tpr, esr, (unsigned long long)(irq_count[VEC_CLASS4] - n));
	}
	if (!apic_set_xapic_mode(false) || !apic_init()) {
		test_report(name, false, "could not return to x2APIC mode");
		return;
	}
	test_report(name, ok, "%s", d);
}

/* ---- timers ---- */

static void test_masked_lvt(void)
{
	const char *name = "apic_masked_lvt_delivers_nothing";
	if (!apic_available(name))
		return;
	const uint64_t before = irq_count[VEC_TIMER_T];
	apic_write(APIC_REG_LVT_TIMER, APIC_LVT_MASKED | APIC_LVT_TIMER_ONESHOT | VEC_TIMER_T);
	apic_write(APIC_REG_TIMER_ICR, TIMER_COUNT);
	const uint64_t start = tsc_now();
	irq_enable();
	while (tsc_now() - start < 2 * TIMER_COUNT)
		__asm__ volatile("pause");
	irq_disable();
	const uint64_t ccr = apic_read(APIC_REG_TIMER_CCR);
	apic_timer_stop();
	test_report(name, irq_count[VEC_TIMER_T] == before && ccr == 0 && !irr_has(VEC_TIMER_T),
		    "%llu interrupts, current count %llu", (unsigned long long)(irq_count[VEC_TIMER_T] - before),
		    (unsigned long long)ccr);
}

static void report_latency(const char *name, bool fired, uint64_t deadline, uint64_t got)
{
	if (!fired) {
		test_report(name, false, "no interrupt within %llu cycles", (unsigned long long)WAIT_LIMIT);
		return;
	}
	if (got < deadline) {
		test_report(name, false, "fired %llu cycles before its deadline", (unsigned long long)(deadline - got));
		return;
	}
	kprintf("%s: handler %llu TSC cycles after the deadline (bound %u)\n", name,
		(unsigned long long)(got - deadline), LATENCY_BOUND);
	test_report(name, got - deadline <= LATENCY_BOUND, "%llu cycles late, bound %u",
		    (unsigned long long)(got - deadline), LATENCY_BOUND);
}

static void test_oneshot(void)
{
	const char *name = "apic_timer_oneshot";
	if (!apic_available(name))
		return;
	irq_set_handler(VEC_TIMER_T, record_handler);
	const uint64_t n = irq_count[VEC_TIMER_T];
	const uint64_t start = tsc_now(); /* before the write: the real deadline is a little later */
	apic_timer_oneshot(VEC_TIMER_T, TIMER_COUNT);
	const bool fired = wait_for(VEC_TIMER_T, n + 1);
	const uint64_t got = handled_tsc[VEC_TIMER_T];
	wait_for(VEC_TIMER_T, n + 2); /* a one-shot timer fires once */
	if (fired && irq_count[VEC_TIMER_T] != n + 1) {
		test_report(name, false, "fired %llu times", (unsigned long long)(irq_count[VEC_TIMER_T] - n));
		return;
	}
	report_latency(name, fired, start + TIMER_COUNT, got);
}

static void test_periodic(void)
{
	const char *name = "apic_timer_periodic";
	if (!apic_available(name))
		return;
	irq_set_handler(VEC_TIMER_T, record_handler);
	const uint64_t n = irq_count[VEC_TIMER_T];
	const uint64_t start = tsc_now();
	uint64_t tick[PERIODIC_TICKS];
	bool fired = true;
	apic_timer_periodic(VEC_TIMER_T, TIMER_COUNT);
	for (unsigned k = 0; k < PERIODIC_TICKS && fired; k++) {
		fired = wait_for(VEC_TIMER_T, n + k + 1);
		tick[k] = handled_tsc[VEC_TIMER_T];
	}
	apic_timer_stop();
	for (unsigned k = 0; fired && k < PERIODIC_TICKS; k++)
		if (tick[k] < start + (k + 1) * (uint64_t)TIMER_COUNT) {
			test_report(name, false, "tick %u came %llu cycles early", k + 1,
				    (unsigned long long)(start + (k + 1) * (uint64_t)TIMER_COUNT - tick[k]));
			return;
		}
	report_latency(name, fired, start + PERIODIC_TICKS * (uint64_t)TIMER_COUNT, tick[PERIODIC_TICKS - 1]);
}

static void test_tsc_deadline(void)
{
	const char *name = "apic_timer_tsc_deadline";
	if (!apic_available(name))
		return;
	irq_set_handler(VEC_TIMER_T, record_handler);
	const uint64_t n = irq_count[VEC_TIMER_T];
	const uint64_t deadline = tsc_now() + TIMER_COUNT;
	apic_timer_deadline(VEC_TIMER_T, deadline);
	const uint64_t armed = priv_rdmsr(MSR_IA32_TSC_DEADLINE);
	const bool fired = wait_for(VEC_TIMER_T, n + 1);
	const uint64_t after = priv_rdmsr(MSR_IA32_TSC_DEADLINE);
	apic_timer_stop();
	if (armed != deadline || after != 0) {
		test_report(name, false, "IA32_TSC_DEADLINE read %#llx armed, %#llx after (want %#llx, 0)",
			    (unsigned long long)armed, (unsigned long long)after, (unsigned long long)deadline);
		return;
	}
	report_latency(name, fired, deadline, handled_tsc[VEC_TIMER_T]);
}

/*
 * IA32_TSC writes (SDM Vol. 3B 18.17): the monitor moves the guest's TSC (TSC offsetting, SDM Vol. 3C
 * 26.6.5); RDTSC and RDMSR then read the value written plus the time since, and a TSC deadline is a
 * value of the new TSC, so the timer still fires when due, the TSC set far ahead or back.  The TSC is
 * put back at the end with IA32_TSC_ADJUST where CPUID has it (exactly: it moved by as much as the
 * TSC), else with IA32_TSC.
 */
#define TSC_JUMP        (1ull << 40) /* minutes at any clock rate: no value the suite has read */
#define TSC_WRITE_BOUND 2000000u     /* cycles from a WRMSR to the RDTSC after it: one exit and back */

/* Set the TSC to `value`; false (and why in d) unless RDTSC and RDMSR then read it plus a little. */
static bool tsc_set_and_check(uint64_t value, char *d, size_t n)
{
	if (priv_wrmsr_safe(MSR_IA32_TIME_STAMP_COUNTER, value)) {
		hv_snprintf(d, n, "WRMSR IA32_TSC <- %#llx faulted", (unsigned long long)value);
		return false;
	}
	const uint64_t read = rdtsc(), msr = priv_rdmsr(MSR_IA32_TIME_STAMP_COUNTER);
	if (read - value > TSC_WRITE_BOUND || msr - read > TSC_WRITE_BOUND) {
		hv_snprintf(d, n, "wrote %#llx to IA32_TSC, then RDTSC read %#llx and RDMSR %#llx (bound %u cycles)",
			    (unsigned long long)value, (unsigned long long)read, (unsigned long long)msr, TSC_WRITE_BOUND);
		return false;
	}
	return true;
}

/* A TSC deadline TIMER_COUNT cycles on fires, not early; false (and why in d) if not. */
static bool deadline_fires(const char *where, char *d, size_t n)
{
	irq_set_handler(VEC_TIMER_T, record_handler);
	const uint64_t count = irq_count[VEC_TIMER_T];
	const uint64_t deadline = tsc_now() + TIMER_COUNT;
	apic_timer_deadline(VEC_TIMER_T, deadline);
	const bool fired = wait_for(VEC_TIMER_T, count + 1);
	apic_timer_stop();
	if (!fired)
		hv_snprintf(d, n, "TSC set %s: a deadline %u cycles on never fired", where, TIMER_COUNT);
	else if (handled_tsc[VEC_TIMER_T] < deadline)
		hv_snprintf(d, n, "TSC set %s: the deadline fired %llu cycles early", where,
			    (unsigned long long)(deadline - handled_tsc[VEC_TIMER_T]));
	return fired && handled_tsc[VEC_TIMER_T] >= deadline;
}

static void test_tsc_write(void)
{
	char d[DETAIL_MAX] = "", td[DETAIL_MAX] = "";
	const bool timer = apic_available("apic_timer_after_tsc_write");
	const bool has_adjust = (priv_cpuid(CPUID_LEAF_EXT_FEATURES, 0).ebx & CPUID_7_EBX_TSC_ADJUST) != 0;
	uint64_t adjust = 0;
	if (has_adjust && priv_rdmsr_safe(MSR_IA32_TSC_ADJUST, &adjust)) {
		test_report("msr_tsc_write_reads_back", false, "CPUID has IA32_TSC_ADJUST, RDMSR of it faulted");
		if (timer)
			test_skip("apic_timer_after_tsc_write", "IA32_TSC_ADJUST faulted");
		return;
	}
	const uint64_t start = rdtsc();
	bool ok = tsc_set_and_check(start + TSC_JUMP, d, sizeof(d)); /* far ahead */
	bool timer_ok = !timer || !ok || deadline_fires("far ahead", td, sizeof(td));
	const uint64_t behind = start / 2; /* behind every value read so far */
	ok = ok && tsc_set_and_check(behind, d, sizeof(d));
	timer_ok = timer_ok && (!timer || !ok || deadline_fires("back", td, sizeof(td)));
	/* Put it back: TSC_ADJUST moved with every write, so its old value undoes them all. */
	if (has_adjust)
		priv_wrmsr(MSR_IA32_TSC_ADJUST, adjust);
	else
		priv_wrmsr_safe(MSR_IA32_TIME_STAMP_COUNTER, start + (rdtsc() - behind));
	const uint64_t end = rdtsc();
	if (ok && end < start)
		ok = false, hv_snprintf(d, sizeof(d), "put back (%s), the TSC reads %#llx, before the test's start %#llx",
					has_adjust ? "IA32_TSC_ADJUST" : "IA32_TSC", (unsigned long long)end,
					(unsigned long long)start);
	test_report("msr_tsc_write_reads_back", ok, "%s", d);
	if (timer)
		test_report("apic_timer_after_tsc_write", ok && timer_ok, "%s", ok ? td : "the TSC writes failed");
}

/* HLT with interrupts on: the vCPU sleeps until the timer, and the halt is the guest's one HLT exit. */
static void test_hlt_wakes(void)
{
	const char *name = "apic_hlt_wakes_on_timer";
	if (!apic_available(name))
		return;
	char d[DETAIL_MAX] = "";
	struct exit_window w;
	irq_set_handler(VEC_TIMER_T, record_handler);
	const uint64_t n = irq_count[VEC_TIMER_T];
	window_open(&w);
	const uint64_t start = tsc_now();
	apic_timer_oneshot(VEC_TIMER_T, TIMER_COUNT);
	ledger_add(EXIT_REASON_HLT, 1);
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	const uint64_t woke = tsc_now();
	apic_timer_stop();
	window_close(&w);
	if (irq_count[VEC_TIMER_T] != n + 1 || woke < start + TIMER_COUNT) {
		test_report(name, false, "HLT returned after %llu cycles with %llu interrupts",
			    (unsigned long long)(woke - start), (unsigned long long)(irq_count[VEC_TIMER_T] - n));
		return;
	}
	test_report(name, window_matches_ledger(&w, d, sizeof(d)), "%s", d);
}

/* ---- priorities ---- */

static void test_tpr_blocks(void)
{
	const char *name = "apic_tpr_blocks_lower_priority";
	if (!apic_available(name))
		return;
	irq_set_handler(VEC_CLASS5, record_handler);
	const uint64_t n = irq_count[VEC_CLASS5];
	apic_write(APIC_REG_TPR, TPR_CLASS5);
	apic_self_ipi(VEC_CLASS5); /* class 5 is not above TPR class 5 (SDM 11.8.3.1) */
	open_window();
	const bool blocked = irq_count[VEC_CLASS5] == n && irr_has(VEC_CLASS5);
	apic_write(APIC_REG_TPR, TPR_CLASS4);
	open_window();
	const bool taken = irq_count[VEC_CLASS5] == n + 1 && !irr_has(VEC_CLASS5);
	apic_write(APIC_REG_TPR, 0);
	test_report(name, blocked && taken, "blocked %d, taken after lowering TPR %d", blocked, taken);
}

/* A self-IPI through the ICR (destination shorthand "self", SDM 11.6.1). */
static void test_icr_self_ipi(void)
{
	const char *name = "apic_icr_self_ipi";
	if (!apic_available(name))
		return;
	irq_set_handler(VEC_CLASS4, record_handler);
	irq_set_handler(VEC_CLASS5, record_handler);
	const uint64_t n4 = irq_count[VEC_CLASS4], n5 = irq_count[VEC_CLASS5];
	/* Each reads back as written (x2APIC: no delivery-status bit, SDM 11.12.9), also from the virtual-APIC page. */
	const uint64_t icr4 = ((uint64_t)APIC_ICR_DEST_SELF << 18) | VEC_CLASS4;
	const uint64_t icr5 = ((uint64_t)APIC_ICR_DEST_SELF << 18) | VEC_CLASS5;
	apic_write(APIC_REG_ICR_LO, icr4);
	const uint64_t back4 = apic_read(APIC_REG_ICR_LO);
	open_window();
	apic_write(APIC_REG_ICR_LO, icr5);
	const uint64_t back5 = apic_read(APIC_REG_ICR_LO);
	open_window();
	test_report(name, irq_count[VEC_CLASS4] == n4 + 1 && irq_count[VEC_CLASS5] == n5 + 1 && !isr_has(VEC_CLASS4) &&
				  !isr_has(VEC_CLASS5) && back4 == icr4 && back5 == icr5,
		    "%llu + %llu interrupts, ICR read back %#llx, %#llx (wrote %#llx, %#llx)",
		    (unsigned long long)(irq_count[VEC_CLASS4] - n4), (unsigned long long)(irq_count[VEC_CLASS5] - n5),
		    (unsigned long long)back4, (unsigned long long)back5, (unsigned long long)icr4,
		    (unsigned long long)icr5);
}

/*
 * SVR (SDM 11.9, 11.4.7.2): software-disabled, the APIC masks every LVT and ignores an unmask,
 * refuses new fixed interrupts (a self-IPI is lost) but holds what its IRR had; enabled again, it
 * delivers the held interrupt, and the spurious vector reads back as written.
 */
static void test_svr_software_disable(void)
{
	const char *name = "apic_svr_software_disable";
	if (!apic_available(name))
		return;
	irq_set_handler(VEC_CLASS4, record_handler);
	irq_set_handler(VEC_CLASS8, record_handler);
	const uint64_t n4 = irq_count[VEC_CLASS4], n8 = irq_count[VEC_CLASS8];
	apic_write(APIC_REG_TPR, TPR_CLASS5);
	apic_self_ipi(VEC_CLASS4); /* held by TPR */
	apic_write(APIC_REG_SVR, VECTOR_SPURIOUS);
	const bool masked = apic_read(APIC_REG_LVT_TIMER) & APIC_LVT_MASKED;
	apic_write(APIC_REG_LVT_TIMER, APIC_LVT_TIMER_ONESHOT | VEC_TIMER_T);
	const bool still_masked = apic_read(APIC_REG_LVT_TIMER) & APIC_LVT_MASKED;
	apic_self_ipi(VEC_CLASS8); /* above TPR, but refused */
	const bool irr8 = irr_has(VEC_CLASS8), irr4 = irr_has(VEC_CLASS4);
	open_window();
	const uint64_t while_disabled = irq_count[VEC_CLASS4] + irq_count[VEC_CLASS8] - n4 - n8;
	apic_write(APIC_REG_SVR, APIC_SVR_ENABLE | VECTOR_SPURIOUS);
	const uint32_t svr = (uint32_t)apic_read(APIC_REG_SVR);
	apic_write(APIC_REG_TPR, 0);
	open_window();
	apic_timer_stop();
	test_report(name, masked && still_masked && !irr8 && irr4 && while_disabled == 0 &&
				  irq_count[VEC_CLASS4] == n4 + 1 && irq_count[VEC_CLASS8] == n8 &&
				  svr == (APIC_SVR_ENABLE | VECTOR_SPURIOUS),
		    "disabled: LVT timer masked %d, after an unmask %d, IRR class 8 %d class 4 %d, %llu interrupts; "
		    "enabled: SVR %#x, %llu class-4 and %llu class-8 interrupts", masked, still_masked, irr8, irr4,
		    (unsigned long long)while_disabled, svr, (unsigned long long)(irq_count[VEC_CLASS4] - n4),
		    (unsigned long long)(irq_count[VEC_CLASS8] - n8));
}

static uint64_t cr8_read(void)
{
	uint64_t v;
	if (!apic_msrs_virtualized)
		ledger_add(EXIT_REASON_CR_ACCESS, 1);
	__asm__ volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static void cr8_write(uint64_t v)
{
	if (!apic_msrs_virtualized)
		ledger_add(EXIT_REASON_CR_ACCESS, 1);
	__asm__ volatile("mov %0, %%cr8" ::"r"(v) : "memory");
}

/*
 * CR8 is TPR[7:4] (SDM 11.8.6.1): it reads the TPR's class, a write sets the class (TPR[3:0]
 * cleared) and holds back interrupts as the TPR does; lowering it lets them in at once (with the
 * TPR shadow alone that takes the TPR-below-threshold exit).  The physical APIC's TPR is not the
 * guest's: without a TPR shadow MOV CR8 exits.
 */
static void test_cr8_is_the_tpr(void)
{
	const char *name = "apic_cr8_is_the_tpr";
	if (!apic_available(name))
		return;
	irq_set_handler(VEC_CLASS4, record_handler);
	const uint64_t n = irq_count[VEC_CLASS4];
	apic_write(APIC_REG_TPR, 0x5a);
	const uint64_t class = cr8_read();
	cr8_write(3);
	const uint32_t tpr = (uint32_t)apic_read(APIC_REG_TPR);
	cr8_write(4);
	apic_self_ipi(VEC_CLASS4); /* class 4: held back by CR8 = 4 */
	open_window();
	const uint64_t held = irq_count[VEC_CLASS4] - n;
	cr8_write(0);
	open_window();
	const uint64_t taken = irq_count[VEC_CLASS4] - n;
	apic_write(APIC_REG_TPR, 0);
	test_report(name, class == 5 && tpr == 0x30 && held == 0 && taken == 1,
		    "TPR 0x5a reads CR8 %llu; CR8 3 reads TPR %#x; %llu interrupts under CR8 4, %llu after CR8 0",
		    (unsigned long long)class, tpr, (unsigned long long)held, (unsigned long long)taken);
}

static void nested_high(struct trap_frame *f)
{
	(void)f;
	isr_seen_class4 = isr_has(VEC_CLASS4);
	isr_seen_class8 = isr_has(VEC_CLASS8);
	apic_eoi();
}

/* In the class-4 handler: a class-8 interrupt nests, a class-3 one waits for the EOI (SDM 11.8.3-11.8.5). */
static void nested_low(struct trap_frame *f)
{
	(void)f;
	apic_self_ipi(VEC_CLASS3);
	apic_self_ipi(VEC_CLASS8);
	open_window();
	apic_eoi();
}

static void test_nested_eoi(void)
{
	const char *name = "apic_nested_interrupts_eoi_order";
	if (!apic_available(name))
		return;
	irq_set_handler(VEC_CLASS4, nested_low);
	irq_set_handler(VEC_CLASS8, nested_high);
	irq_set_handler(VEC_CLASS3, record_handler);
	irq_trace_len = 0;
	isr_seen_class4 = isr_seen_class8 = 0;
	apic_self_ipi(VEC_CLASS4);
	open_window(); /* class 4; inside it class 8; after its EOI, class 3 */
	open_window();
	irq_set_handler(VEC_CLASS4, record_handler);
	const bool order = irq_trace_len == 3 && irq_trace[0] == VEC_CLASS4 && irq_trace[1] == VEC_CLASS8 &&
			   irq_trace[2] == VEC_CLASS3;
	test_report(name, order && isr_seen_class4 && isr_seen_class8 && apic_read(APIC_REG_PPR) == 0,
		    "%u interrupts: %#x %#x %#x; ISR in the nested handler: class 4 %u, class 8 %u", irq_trace_len,
		    irq_trace[0], irq_trace[1], irq_trace[2], isr_seen_class4, isr_seen_class8);
}

/* An interrupt pending at STI waits one more instruction (blocking by STI, SDM Vol. 2B STI, 3C 25.4.2). */
static void test_sti_shadow(void)
{
	const char *name = "apic_sti_shadow_delays_one_instruction";
	if (!apic_available(name))
		return;
	irq_set_handler(VEC_CLASS4, record_handler);
	const uint64_t n = irq_count[VEC_CLASS4];
	handled_rcx = ~0ull;
	apic_self_ipi(VEC_CLASS4); /* pending, interrupts off */
	__asm__ volatile("xor %%ecx, %%ecx\n\t"
			 "sti\n\t"
			 "inc %%rcx\n\t" /* in the STI shadow: runs before the interrupt */
			 "inc %%rcx\n\t"
			 "cli" ::: "rcx", "memory");
	test_report(name, irq_count[VEC_CLASS4] == n + 1 && handled_rcx == 1,
		    "%llu interrupts, taken with RCX=%lld (1: after the one instruction in the shadow)",
		    (unsigned long long)(irq_count[VEC_CLASS4] - n), (long long)handled_rcx);
}

/*
 * MOV SS blocks interrupts until the next instruction is done (SDM Vol. 3A 6.8.3).  Here that
 * instruction is a WRMSR that sends the interrupt itself: it arrives inside the shadow, and must be
 * taken right after the WRMSR (RSI = 0), neither before it nor one instruction late (RSI = 1).
 * Through the ICR the WRMSR exits, so the monitor must end the blocking when it completes the
 * instruction (SDM Vol. 3C 25.4.2); through the SELF IPI register it is virtualized with
 * virtual-interrupt delivery, and exits without.
 */
static bool mov_ss_shadow_case(uint32_t reg, uint64_t value, long long *rsi)
{
	const uint32_t msr = X2APIC_MSR(reg);
	uint16_t ss;
	__asm__ volatile("mov %%ss, %0" : "=r"(ss));
	if (!x2apic_msr_virtualized(msr, true))
		ledger_add(EXIT_REASON_WRMSR, 1);
	const uint64_t n = irq_count[VEC_CLASS4];
	handled_rsi = ~0ull;
	__asm__ volatile("xor %%esi, %%esi\n\t"
			 "sti\n\t"
			 "nop\n\t"              /* out of the STI shadow */
			 "mov %w[ss], %%ss\n\t" /* the MOV SS shadow begins */
			 "wrmsr\n\t"            /* the one instruction in it: raises the interrupt */
			 "inc %%rsi\n\t"
			 "inc %%rsi\n\t"
			 "cli"
			 :
			 : [ss] "b"((uint32_t)ss), "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
			 : "rsi", "memory");
	*rsi = (long long)handled_rsi;
	return irq_count[VEC_CLASS4] == n + 1 && handled_rsi == 0;
}

static void test_mov_ss_shadow(void)
{
	const char *name = "apic_mov_ss_shadow_ends_after_one_instruction";
	if (!apic_available(name))
		return;
	irq_set_handler(VEC_CLASS4, record_handler);
	long long icr_rsi, self_rsi;
	const bool icr = mov_ss_shadow_case(APIC_REG_ICR_LO, ((uint64_t)APIC_ICR_DEST_SELF << 18) | VEC_CLASS4, &icr_rsi);
	const bool self = mov_ss_shadow_case(APIC_REG_SELF_IPI, VEC_CLASS4, &self_rsi);
	test_report(name, icr && self,
		    "taken with RSI=%lld after an ICR self-IPI, RSI=%lld after a SELF IPI write (0: right after the "
		    "instruction in the shadow)", icr_rsi, self_rsi);
}

static volatile unsigned nmi_depth, nmi_max_depth;
static volatile bool nmi_resend;

/* An NMI handler that sends itself a second NMI: it must wait for this handler's IRET (NMI blocking). */
static void nmi_handler(struct trap_frame *f)
{
	(void)f;
	if (++nmi_depth > nmi_max_depth)
		nmi_max_depth = nmi_depth;
	if (nmi_resend) {
		nmi_resend = false;
		apic_write(APIC_REG_ICR_LO, ((uint64_t)APIC_ICR_DEST_SELF << 18) | (APIC_ICR_DELIVERY_NMI << 8));
		(void)apic_read(APIC_REG_TIMER_CCR); /* one more exit and entry: still blocked */
	}
	nmi_depth--;
}

/* NMIs through the ICR (delivery mode NMI, SDM 11.6.1): taken with interrupts off, never nested (SDM 6.7.1). */
static void test_nmi(void)
{
	const char *name = "apic_nmi_self_ipi_blocked_until_iret";
	if (!apic_available(name))
		return;
	irq_set_handler(VECTOR_NMI, nmi_handler);
	const uint64_t n = irq_count[VECTOR_NMI];
	nmi_depth = nmi_max_depth = 0;
	nmi_resend = true;
	apic_write(APIC_REG_ICR_LO, ((uint64_t)APIC_ICR_DEST_SELF << 18) | (APIC_ICR_DELIVERY_NMI << 8));
	(void)apic_read(APIC_REG_TIMER_CCR); /* an exit: the second NMI's window has opened by now */
	irq_set_handler(VECTOR_NMI, 0);
	test_report(name, irq_count[VECTOR_NMI] == n + 2 && nmi_max_depth == 1,
		    "%llu NMIs taken with interrupts off, %u deep at most",
		    (unsigned long long)(irq_count[VECTOR_NMI] - n), nmi_max_depth);
}

/* ---- the scheduler ---- */

static void test_preempt_spinner(void)
{
	const char *name = "sched_preempts_never_yielding_loop";
	if (!apic_available(name))
		return;
	/* On this CPU, all three: its timer must take the CPU from the spinner for the others to run. */
	const unsigned cpu = this_cpu_index();
	struct proc *spin = proc_spawn_on(cpu, "spin", 0, 0);
	struct proc *h1 = proc_spawn_on(cpu, "hello", HELLO_ROUNDS, 0);
	struct proc *h2 = proc_spawn_on(cpu, "hello", HELLO_ROUNDS, 0);
	if (!spin || !h1 || !h2) {
		proc_reap(spin), proc_reap(h1), proc_reap(h2);
		test_report(name, false, "cannot load the programs");
		return;
	}
	spin->daemon = true;
	struct exit_window w;
	const uint64_t ticks = irq_count[VECTOR_TIMER];
	window_open(&w);
	sched_quantum = QUANTUM;
	sched_run();
	sched_quantum = 0;
	window_close(&w);
	/* What the timer costs: exits per tick (the EOI's WRMSR is one more, counted with the ledger's). */
	kprintf("%s: %llu ticks, %llu preemption-timer exits, %llu interrupt-window exits\n", name,
		(unsigned long long)(irq_count[VECTOR_TIMER] - ticks),
		(unsigned long long)window_delta(&w, EXIT_REASON_PREEMPTION_TIMER),
		(unsigned long long)window_delta(&w, EXIT_REASON_INTERRUPT_WINDOW));
	const bool ok = h1->state == PROC_ZOMBIE && !h1->killed && h1->exit_status == UTEST_OK &&
			h2->state == PROC_ZOMBIE && !h2->killed && h2->exit_status == UTEST_OK && spin->preemptions > 0 &&
			spin->killed;
	test_report(name, ok, "hello statuses %lld %lld, spin preempted %llu times, killed %d",
		    (long long)h1->exit_status, (long long)h2->exit_status, (unsigned long long)spin->preemptions,
		    spin->killed);
	proc_reap(spin), proc_reap(h1), proc_reap(h2);
}

static void test_sleep_idle(void)
{
	const char *name = "sched_sleep_blocks_idle_halts";
	if (!apic_available(name))
		return;
	struct proc *p = proc_spawn_on(this_cpu_index(), "sleeper", SLEEP_CYCLES, SLEEP_ROUNDS);
	if (!p) {
		test_report(name, false, "cannot load the program");
		return;
	}
	volatile uint64_t *const idle_halts = &this_cpu()->sched.idle_halts; /* this CPU's: the sleeper's */
	const uint64_t halts = *idle_halts;
	const uint64_t start = tsc_now();
	sched_quantum = QUANTUM;
	sched_run();
	sched_quantum = 0;
	const uint64_t took = tsc_now() - start;
	test_report(name, !p->killed && p->exit_status == UTEST_OK && *idle_halts > halts &&
				  took >= SLEEP_ROUNDS * (uint64_t)SLEEP_CYCLES,
		    "status %lld, %llu idle halts, %llu cycles", (long long)p->exit_status,
		    (unsigned long long)(*idle_halts - halts), (unsigned long long)took);
	proc_reap(p);
}

/*
 * An NMI and a fixed interrupt deliverable at the same VM entry: the NMI is sent from an STI shadow
 * (the ICR write exits; its completion ends the shadow) while the interrupt waits.  One entry
 * injects one event (SDM Vol. 3C 27.6): the NMI goes first (SDM Vol. 3A 6.9), the interrupt after
 * its handler's IRET, neither is lost.
 */
static void test_nmi_and_interrupt_together(void)
{
	const char *name = "apic_nmi_and_interrupt_both_delivered";
	if (!apic_available(name))
		return;
	irq_set_handler(VEC_CLASS4, record_handler);
	const uint64_t n = irq_count[VEC_CLASS4], m = irq_count[VECTOR_NMI];
	apic_self_ipi(VEC_CLASS4); /* pending, interrupts off */
	const uint32_t msr = X2APIC_MSR(APIC_REG_ICR_LO);
	const uint64_t icr = ((uint64_t)APIC_ICR_DEST_SELF << 18) | (APIC_ICR_DELIVERY_NMI << 8);
	if (!x2apic_msr_virtualized(msr, true))
		ledger_add(EXIT_REASON_WRMSR, 1);
	__asm__ volatile("sti\n\t"
			 "wrmsr\n\t" /* in the STI shadow: sends the NMI */
			 "nop\n\t"
			 "cli"
			 :
			 : "c"(msr), "a"((uint32_t)icr), "d"((uint32_t)(icr >> 32))
			 : "memory");
	test_report(name, irq_count[VECTOR_NMI] == m + 1 && irq_count[VEC_CLASS4] == n + 1,
		    "%llu NMIs and %llu interrupts taken (want one of each)",
		    (unsigned long long)(irq_count[VECTOR_NMI] - m), (unsigned long long)(irq_count[VEC_CLASS4] - n));
}

void tests_apic(void)
{
	test_x2apic_registers();
	test_xapic_mmio();
	test_masked_lvt();
	test_oneshot();
	test_periodic();
	test_tsc_deadline();
	test_tsc_write();
	test_hlt_wakes();
	test_tpr_blocks();
	test_icr_self_ipi();
	test_svr_software_disable();
	test_cr8_is_the_tpr();
	test_nested_eoi();
	test_sti_shadow();
	test_mov_ss_shadow();
	test_nmi();
	test_nmi_and_interrupt_together();
	test_preempt_spinner();
	test_sleep_idle();
	for (unsigned v = VECTOR_EXCEPTION_COUNT; v < IDT_VECTORS; v++)
		irq_set_handler(v, 0);
}

/* guest.test=xapic_unsupported: a MOVZX from the xAPIC page: the monitor must stop the guest naming its bytes. */
void run_xapic_unsupported(void)
{
	if (!apic_ready() || !apic_set_xapic_mode(true))
		panic("xapic_unsupported: no xAPIC mode");
	kprintf("xapic_unsupported: MOVZX from the xAPIC page's version register\n");
	uint32_t v;
	__asm__ volatile("movzbl (%1), %0" : "=r"(v) : "r"((uintptr_t)(APIC_BASE_DEFAULT + APIC_REG_VERSION)) : "memory");
	panic("xapic_unsupported: the access returned %#x", v);
}

/*
 * guest.test=xapic_idt: the IDT on the xAPIC page, then a breakpoint: the CPU reads the gate from the
 * page while delivering #BP; the monitor must stop the guest naming the event, not decode INT3.
 */
void run_xapic_idt(void)
{
	if (!apic_ready() || !apic_set_xapic_mode(true))
		panic("xapic_idt: no xAPIC mode");
	kprintf("xapic_idt: LIDT at the xAPIC page, then INT3\n");
	const struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr = { 0xfff, APIC_BASE_DEFAULT };
	ledger_add(EXIT_REASON_GDTR_IDTR_ACCESS, 1);
	__asm__ volatile("lidt %0; int3" ::"m"(idtr) : "memory");
	panic("xapic_idt: the breakpoint returned");
}

/* guest.test=hlt_forever: HLT with interrupts on and nothing armed: only the watchdog can end it. */
void run_hlt_forever(void)
{
	kprintf("hlt_forever: STI; HLT with no timer armed\n");
	for (;;) {
		ledger_add(EXIT_REASON_HLT, 1);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}
