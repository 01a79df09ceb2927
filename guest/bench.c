/*
 * Benchmarks (bench=1): the cost of each kind of exit, and of the guest's own
 * system call and page fault that need none.  The method of kvm-unit-tests'
 * vmexit test: run the operation in a loop, doubling the iteration count
 * until the loop takes at least the cycle budget, and report TSC cycles per
 * iteration.  Under Bochs with "clock: sync=none" the TSC counts
 * instructions, so these are exact instruction counts there.
 */
#include <string.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/msr.h>
#include "guest/abi.h"
#include "guest/apic.h"
#include "guest/hv.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/mm.h"
#include "guest/priv.h"
#include "guest/proc.h"
#include "guest/tests.h"

#define BENCH_MIN_ITERATIONS 16
#define BENCH_MAX_ITERATIONS (1ull << 26)
#define COM1_LSR 0x3fd
#define POST_PORT 0x80
#define HC_NUMBER_INVALID 0x7fffu
#define BENCH_TIMER_VECTOR 0x43u
#define BENCH_TPR_RAISED   0x20u /* class 2: below every vector the guest uses */
#define BENCH_TIMER_AHEAD  20000u /* TSC cycles from arming the deadline to the deadline */

struct bench {
	const char *name;
	const char *what;
	bool needs_monitor;
	uint64_t (*run)(uint64_t iterations); /* TSC cycles for that many iterations */
};

static uint64_t sysenter_cs;

static uint64_t bench_cpuid(uint64_t n)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		cpuid(CPUID_LEAF_VENDOR, 0);
	uint64_t t = rdtsc() - t0;
	ledger_add(EXIT_REASON_CPUID, n);
	return t;
}

static uint64_t bench_vmcall(uint64_t n)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		hv_call_raw(HC_NUMBER_INVALID, 0, 0, 0);
	uint64_t t = rdtsc() - t0;
	ledger_add(EXIT_REASON_VMCALL, n);
	return t;
}

static uint64_t bench_in(uint64_t n)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		inb(COM1_LSR);
	uint64_t t = rdtsc() - t0;
	ledger_add(EXIT_REASON_IO_INSTRUCTION, n);
	return t;
}

static uint64_t bench_out(uint64_t n)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		outb(POST_PORT, 0);
	uint64_t t = rdtsc() - t0;
	ledger_add(EXIT_REASON_IO_INSTRUCTION, n);
	return t;
}

static uint64_t bench_rdmsr(uint64_t n)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		rdmsr(MSR_IA32_SYSENTER_CS);
	uint64_t t = rdtsc() - t0;
	ledger_add(EXIT_REASON_RDMSR, n);
	return t;
}

static uint64_t bench_wrmsr(uint64_t n)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		wrmsr(MSR_IA32_SYSENTER_CS, sysenter_cs);
	uint64_t t = rdtsc() - t0;
	ledger_add(EXIT_REASON_WRMSR, n);
	return t;
}

/* Toggles CR4.PCE (RDPMC allowed in ring 3: nothing here uses it); every write changes a bit, so every write exits. */
static uint64_t bench_cr4(uint64_t n)
{
	const uint64_t cr4 = read_cr4();
	uint64_t v = cr4;
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++) {
		v ^= CR4_PCE;
		write_cr4(v);
	}
	uint64_t t = rdtsc() - t0;
	ledger_add(EXIT_REASON_CR_ACCESS, n);
	priv_write_cr4(cr4);
	return t;
}

/* Reloads CR3 with its own value: an exit only in shadow-paging mode. */
static uint64_t bench_cr3(uint64_t n)
{
	const uint64_t cr3 = kernel_aspace.cr3;
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		write_cr3(cr3);
	uint64_t t = rdtsc() - t0;
	if (boot_config.mem_shadow)
		ledger_add(EXIT_REASON_CR_ACCESS, n);
	return t;
}

static uint64_t bench_hlt(uint64_t n)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		__asm__ volatile("hlt");
	uint64_t t = rdtsc() - t0;
	ledger_add(EXIT_REASON_HLT, n);
	return t;
}

/* A null system call from ring 3: the program times its own getpid loop (RDTSC does not exit). */
static uint64_t bench_syscall(uint64_t n)
{
	struct proc *p = proc_spawn("syscalls", SYSCALLS_BENCH, n);
	if (!p)
		panic("cannot load the syscalls program");
	sched_run();
	uint64_t t = p->killed ? 0 : (uint64_t)p->exit_status;
	proc_reap(p);
	return t;
}

/* A page fault the guest resolves itself: touch a fresh page of the kernel demand region, then unmap it. */
static uint64_t bench_page_fault(uint64_t n)
{
	volatile uint8_t *page = (volatile uint8_t *)(uintptr_t)KERNEL_DEMAND_BASE;
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++) {
		*page = 1;
		frame_free(pt_unmap(kernel_aspace.cr3, KERNEL_DEMAND_BASE));
	}
	return rdtsc() - t0;
}

/* An EOI with nothing in service: a WRMSR exit, or none with APIC virtualization (EOI virtualization). */
static uint64_t bench_eoi(uint64_t n)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		apic_eoi();
	return rdtsc() - t0;
}

/* A TPR raise and lower through the x2APIC MSR: two WRMSR exits, or none with a TPR shadow. */
static uint64_t bench_tpr(uint64_t n)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++) {
		apic_write(APIC_REG_TPR, BENCH_TPR_RAISED);
		apic_write(APIC_REG_TPR, 0);
	}
	return rdtsc() - t0;
}

/* The same through CR8 (TPR[7:4]): two CR-access exits, or none with a TPR shadow. */
static uint64_t bench_cr8(uint64_t n)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++) {
		__asm__ volatile("mov %0, %%cr8" ::"r"((uint64_t)BENCH_TPR_RAISED >> 4) : "memory");
		__asm__ volatile("mov %0, %%cr8" ::"r"(0ull) : "memory");
	}
	return rdtsc() - t0;
}

static volatile uint64_t bench_irq_tsc;

static void bench_timer_handler(struct trap_frame *f)
{
	(void)f;
	bench_irq_tsc = rdtsc(); /* the handler's first act */
	apic_eoi();
}

/*
 * Timer-interrupt latency: arm IA32_TSC_DEADLINE BENCH_TIMER_AHEAD cycles ahead, spin with interrupts
 * on; "cycles per iteration" is the mean delay from the deadline to the handler, and the exits per
 * iteration are those of one tick (arming WRMSR, the timer's exit, the EOI).
 */
static uint64_t bench_timer_irq(uint64_t n)
{
	uint64_t late = 0;
	irq_set_handler(BENCH_TIMER_VECTOR, bench_timer_handler);
	apic_write(APIC_REG_LVT_TIMER, APIC_LVT_TIMER_TSC_DEADLINE | BENCH_TIMER_VECTOR);
	for (uint64_t i = 0; i < n; i++) {
		const uint64_t seen = irq_count[BENCH_TIMER_VECTOR];
		const uint64_t deadline = rdtsc() + BENCH_TIMER_AHEAD;
		priv_wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
		__asm__ volatile("sti" ::: "memory");
		while (irq_count[BENCH_TIMER_VECTOR] == seen)
			__asm__ volatile("pause");
		__asm__ volatile("cli" ::: "memory");
		late += bench_irq_tsc - deadline;
	}
	apic_timer_stop();
	irq_set_handler(BENCH_TIMER_VECTOR, 0);
	return late;
}

static const struct bench benches[] = {
	{ "cpuid", "CPUID leaf 0", false, bench_cpuid },
	{ "vmcall", "VMCALL, unknown hypercall", true, bench_vmcall },
	{ "inb", "IN from COM1 LSR", false, bench_in },
	{ "outb", "OUT to port 0x80", false, bench_out },
	{ "rdmsr", "RDMSR IA32_SYSENTER_CS", false, bench_rdmsr },
	{ "wrmsr", "WRMSR IA32_SYSENTER_CS", false, bench_wrmsr },
	{ "mov_cr4", "MOV to CR4 (toggle PCE)", false, bench_cr4 },
	{ "mov_cr3", "MOV to CR3 (same value)", false, bench_cr3 },
	{ "hlt", "HLT", true, bench_hlt },
	{ "syscall", "ring-3 getpid (SYSCALL/SYSRET)", false, bench_syscall },
	{ "page_fault", "demand page fault + unmap", false, bench_page_fault },
	{ "apic_eoi", "x2APIC EOI (WRMSR 0x80b)", true, bench_eoi },
	{ "apic_tpr", "x2APIC TPR raise + lower (2 WRMSR 0x808)", true, bench_tpr },
	{ "mov_cr8", "TPR raise + lower by MOV CR8 (2 MOVs)", true, bench_cr8 },
	{ "timer_irq", "timer deadline -> handler (latency)", true, bench_timer_irq },
};

struct bench_result {
	uint64_t per_iteration, iterations, exits;
	bool skipped;
};

int bench_run(void)
{
	const uint64_t budget = 1ull << boot_config.bench_budget_log2;
	struct bench_result res[ARRAY_SIZE(benches)];
	sysenter_cs = priv_rdmsr(MSR_IA32_SYSENTER_CS);
	kprintf("benchmarks: cycles per iteration, doubling the iterations until a run takes %llu TSC cycles\n",
		(unsigned long long)budget);
	for (size_t b = 0; b < ARRAY_SIZE(benches); b++) {
		struct bench_result *r = &res[b];
		memset(r, 0, sizeof(*r));
		if (benches[b].needs_monitor && !hv_present) {
			r->skipped = true;
			kprintf("BENCH: %s skipped (no hypervisor)\n", benches[b].name);
			continue;
		}
		struct hv_stats before, after;
		uint64_t cycles = 0, n = BENCH_MIN_ITERATIONS;
		benches[b].run(BENCH_MIN_ITERATIONS); /* warm up: caches, TLB, first-touch page faults */
		for (;; n *= 2) {
			if (hv_present)
				hv_get_stats(&before);
			cycles = benches[b].run(n);
			if (hv_present)
				hv_get_stats(&after);
			if (cycles >= budget || n >= BENCH_MAX_ITERATIONS)
				break;
		}
		r->iterations = n;
		r->per_iteration = cycles / n;
		/* Exits per iteration, less the reading VMCALL. */
		r->exits = hv_present ? (after.total_exits - before.total_exits - 1) : 0;
		/* BENCH: name cycles-per-iteration iterations exits-in-the-measured-run (parsed by scripts/bench.py) */
		kprintf("BENCH: %s %llu %llu %llu\n", benches[b].name, (unsigned long long)r->per_iteration,
			(unsigned long long)n, (unsigned long long)r->exits);
	}
	kprintf("  %-12s %-34s %14s %12s %12s\n", "benchmark", "operation", "cycles/iter", "iterations",
		hv_present ? "exits/iter" : "");
	for (size_t b = 0; b < ARRAY_SIZE(benches); b++) {
		const struct bench_result *r = &res[b];
		if (r->skipped) {
			kprintf("  %-12s %-34s %14s\n", benches[b].name, benches[b].what, "skipped");
			continue;
		}
		kprintf("  %-12s %-34s %14llu %12llu", benches[b].name, benches[b].what,
			(unsigned long long)r->per_iteration, (unsigned long long)r->iterations);
		if (hv_present)
			kprintf(" %8llu.%02llu", (unsigned long long)(r->exits / r->iterations),
				(unsigned long long)(r->exits % r->iterations * 100 / r->iterations));
		kprintf("\n");
	}
	kprintf("(mem=%s, APIC virtualization %s; under Bochs with clock sync=none a cycle is an instruction)\n",
		boot_config.mem_shadow ? "shadow" : "ept", boot_config.apicv ? "on" : "off");
	return 0;
}
