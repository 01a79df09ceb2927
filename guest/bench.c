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
#include "guest/smp.h"
#include "guest/tests.h"

#define BENCH_MIN_ITERATIONS 16
#define BENCH_MAX_ITERATIONS (1ull << 26)
#define COM1_LSR 0x3fd
#define POST_PORT 0x80
#define HC_NUMBER_INVALID (HC_BASE + HC_COUNT) /* just past the monitor's range */
#define BENCH_TIMER_VECTOR 0x43u
#define BENCH_TPR_RAISED   0x20u /* class 2: below every vector the guest uses */
#define BENCH_TIMER_AHEAD  20000u /* TSC cycles from arming the deadline to the deadline */
#define BENCH_IPI_TIMEOUT_MS 1000u /* an AP that answers no IPI within this fails the benchmark */
#define BENCH_COMPUTE_ROUNDS 64u   /* xorshift rounds in one unit of native work */

struct bench {
	const char *name;
	const char *what;
	bool needs_monitor;
	bool smp;       /* a benchmark of several CPUs: run by bench=smp too; its exits are every vCPU's;
			 * a split workload also prints each vCPU's share (BENCH_CPU lines) */
	unsigned min_cpus; /* CPUs it needs online (0 or 1: runs on any machine) */
	uint64_t (*run)(uint64_t iterations); /* TSC cycles for that many iterations */
};

static uint64_t sysenter_cs;
static bool bench_failed; /* an AP did not answer: the figures are void and the run fails */

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

/* ---- several CPUs (guest/smp.c): the IPI round trip, and one workload split across every CPU ---- */

/* The first AP that serves IPIs (0: none). */
static unsigned first_usable_ap(void)
{
	for (unsigned i = 1; i < cpu_count; i++)
		if (smp_cpu_usable(i))
			return i;
	return 0;
}

/*
 * IPI round trip: a fixed IPI to the first AP, whose handler answers with a fixed IPI back (ping,
 * pong; guest/smp.c).  One iteration: the ICR write here, the interrupt's delivery there (the AP
 * idles in HLT), its EOI and ICR write, the delivery here.
 */
static uint64_t bench_ipi_round_trip(uint64_t n)
{
	const unsigned ap = first_usable_ap();
	const uint64_t limit = tsc_cycles_ms(BENCH_IPI_TIMEOUT_MS);
	uint64_t t0 = rdtsc();
	irq_enable();
	for (uint64_t i = 0; i < n && !bench_failed; i++) {
		const uint64_t want = smp_pongs + 1, sent = rdtsc();
		if (!smp_send_ipi(ap, VECTOR_IPI_PING))
			bench_failed = true;
		while (smp_pongs < want && !bench_failed)
			if (rdtsc() - sent >= limit)
				bench_failed = true;
			else
				__asm__ volatile("pause");
	}
	irq_disable();
	uint64_t t = rdtsc() - t0;
	if (bench_failed)
		kprintf("BENCH: ipi_round_trip: CPU %u answered no ping within %u ms\n", ap, BENCH_IPI_TIMEOUT_MS);
	return t;
}

/* One share of a split workload: what each CPU runs (in its VECTOR_IPI_CALL handler on an AP). */
struct par_share {
	uint64_t units;
	volatile uint64_t sink; /* the native work's result, so that the compiler keeps it */
	uint64_t cycles;        /* its own TSC cycles for its units (guest and monitor on its CPU) */
	uint64_t exits;         /* its vCPU's exits meanwhile, by HC_GET_STATS before and after */
};

static struct par_share par_shares[GUEST_MAX_CPUS];
static unsigned par_cpus[GUEST_MAX_CPUS], par_count; /* the CPUs of the last split */
static void (*par_unit_fn)(struct par_share *s);

static void par_cpuid_units(struct par_share *s)
{
	for (uint64_t i = 0; i < s->units; i++)
		cpuid(CPUID_LEAF_VENDOR, 0);
	ledger_add(EXIT_REASON_CPUID, s->units);
}

/* Native work: xorshift64 rounds (Marsaglia 2003), no memory traffic, no exit. */
static void par_compute_units(struct par_share *s)
{
	uint64_t x = this_cpu_index() + 1;
	for (uint64_t i = 0; i < s->units; i++)
		for (unsigned r = 0; r < BENCH_COMPUTE_ROUNDS; r++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
	s->sink = x;
}

static void par_share_run(void *arg)
{
	struct par_share *s = arg;
	struct hv_stats before, after;
	const bool counted = hv_present && hv_get_stats(&before) >= (int64_t)sizeof(before);
	const uint64_t t0 = rdtsc();
	par_unit_fn(s);
	s->cycles = rdtsc() - t0;
	/* Its exits, less the VMCALL that read them at the start (it counts itself in `before`, not after). */
	s->exits = counted && hv_get_stats(&after) >= (int64_t)sizeof(after) ? after.total_exits - before.total_exits - 1 : 0;
}

/* Each vCPU's share of the measured run: units, its own cycles, its exits (scripts/bench.py's per-vCPU rows). */
static void par_report(const char *name)
{
	for (unsigned k = 0; k < par_count; k++) {
		const struct par_share *s = &par_shares[par_cpus[k]];
		/* BENCH_CPU: name cpu units cycles exits */
		kprintf("BENCH_CPU: %s %u %llu %llu %llu\n", name, par_cpus[k], (unsigned long long)s->units,
			(unsigned long long)s->cycles, (unsigned long long)s->exits);
	}
}

/*
 * n units split evenly across every CPU that serves IPIs (this one included): the TSC cycles from
 * posting the shares to the last one's end, as this CPU sees them.  With one CPU it is the serial
 * cost, so the ratio of the figures of vcpus=1 and vcpus=N is the speed-up.
 */
static uint64_t par_run(uint64_t n, void (*unit_fn)(struct par_share *))
{
	unsigned *cpus = par_cpus, count = 0;
	cpus[count++] = 0;
	for (unsigned i = 1; i < cpu_count; i++)
		if (smp_cpu_usable(i))
			cpus[count++] = i;
	par_count = count;
	par_unit_fn = unit_fn;
	for (unsigned k = 0; k < count; k++)
		par_shares[cpus[k]].units = n / count + (k < n % count);
	const uint64_t t0 = rdtsc();
	for (unsigned k = 1; k < count; k++)
		if (!smp_call_async(cpus[k], par_share_run, &par_shares[cpus[k]]))
			bench_failed = true;
	par_share_run(&par_shares[0]);
	for (unsigned k = 1; k < count; k++)
		if (!smp_call_wait(cpus[k], BENCH_IPI_TIMEOUT_MS)) {
			kprintf("BENCH: CPU %u did not finish its share within %u ms\n", cpus[k], BENCH_IPI_TIMEOUT_MS);
			bench_failed = true;
		}
	return rdtsc() - t0;
}

static uint64_t bench_par_cpuid(uint64_t n) { return par_run(n, par_cpuid_units); }
static uint64_t bench_par_compute(uint64_t n) { return par_run(n, par_compute_units); }

/* This vCPU's exits so far, by HC_GET_STATS (an AP's: in its VECTOR_IPI_CALL handler). */
static void read_total_exits(void *arg)
{
	struct hv_stats s;
	*(uint64_t *)arg = hv_get_stats(&s) >= (int64_t)sizeof(s) ? s.total_exits : 0;
}

/* Every usable vCPU's exits so far, and how many reads that took (each read is one VMCALL more). */
static uint64_t vm_total_exits(bool every_cpu, unsigned *reads)
{
	uint64_t sum = 0, one = 0;
	read_total_exits(&one);
	sum += one, *reads = 1;
	for (unsigned i = 1; every_cpu && i < cpu_count; i++) {
		if (!smp_cpu_usable(i))
			continue;
		one = 0;
		if (!smp_call(i, read_total_exits, &one, BENCH_IPI_TIMEOUT_MS))
			bench_failed = true;
		sum += one, (*reads)++;
	}
	return sum;
}

static const struct bench benches[] = {
	{ "cpuid", "CPUID leaf 0", false, false, 0, bench_cpuid },
	{ "vmcall", "VMCALL, unknown hypercall", true, false, 0, bench_vmcall },
	{ "inb", "IN from COM1 LSR", false, false, 0, bench_in },
	{ "outb", "OUT to port 0x80", false, false, 0, bench_out },
	{ "rdmsr", "RDMSR IA32_SYSENTER_CS", false, false, 0, bench_rdmsr },
	{ "wrmsr", "WRMSR IA32_SYSENTER_CS", false, false, 0, bench_wrmsr },
	{ "mov_cr4", "MOV to CR4 (toggle PCE)", false, false, 0, bench_cr4 },
	{ "mov_cr3", "MOV to CR3 (same value)", false, false, 0, bench_cr3 },
	{ "hlt", "HLT", true, false, 0, bench_hlt },
	{ "syscall", "ring-3 getpid (SYSCALL/SYSRET)", false, false, 0, bench_syscall },
	{ "page_fault", "demand page fault + unmap", false, false, 0, bench_page_fault },
	{ "apic_eoi", "x2APIC EOI (WRMSR 0x80b)", true, false, 0, bench_eoi },
	{ "apic_tpr", "x2APIC TPR raise + lower (2 WRMSR 0x808)", true, false, 0, bench_tpr },
	{ "mov_cr8", "TPR raise + lower by MOV CR8 (2 MOVs)", true, false, 0, bench_cr8 },
	{ "timer_irq", "timer deadline -> handler (latency)", true, false, 0, bench_timer_irq },
	{ "ipi_round_trip", "fixed IPI to an AP and one back", false, true, 2, bench_ipi_round_trip },
	{ "par_cpuid", "CPUIDs split across every CPU", false, true, 1, bench_par_cpuid },
	{ "par_compute", "native work split across every CPU", false, true, 1, bench_par_compute },
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
		if (boot_config.bench_smp_only && !benches[b].smp) {
			r->skipped = true;
			continue;
		}
		if (benches[b].needs_monitor && !hv_present) {
			r->skipped = true;
			kprintf("BENCH: %s skipped (no hypervisor)\n", benches[b].name);
			continue;
		}
		if (smp_online_count() < benches[b].min_cpus) {
			r->skipped = true;
			kprintf("BENCH: %s skipped (%u CPU online, it needs %u)\n", benches[b].name, smp_online_count(),
				benches[b].min_cpus);
			continue;
		}
		uint64_t before = 0, after = 0;
		unsigned reads = 0;
		uint64_t cycles = 0, n = BENCH_MIN_ITERATIONS;
		benches[b].run(BENCH_MIN_ITERATIONS); /* warm up: caches, TLB, first-touch page faults */
		for (;; n *= 2) {
			if (hv_present)
				before = vm_total_exits(benches[b].smp, &reads);
			cycles = benches[b].run(n);
			if (hv_present)
				after = vm_total_exits(benches[b].smp, &reads);
			if (cycles >= budget || n >= BENCH_MAX_ITERATIONS || bench_failed)
				break;
		}
		if (bench_failed)
			break;
		if (benches[b].run == bench_par_cpuid || benches[b].run == bench_par_compute)
			par_report(benches[b].name);
		r->iterations = n;
		r->per_iteration = cycles / n;
		/*
		 * Exits per iteration, less the reading VMCALLs (one per vCPU read).  A benchmark of several
		 * CPUs also counts the other vCPUs' exits, among them those of the calls that read them (their
		 * share is below 1 in 10^4 of an iteration's at the smallest measured run).
		 */
		r->exits = hv_present ? (after - before - reads) : 0;
		/* BENCH: name cycles-per-iteration iterations exits-in-the-measured-run (parsed by scripts/bench.py) */
		kprintf("BENCH: %s %llu %llu %llu\n", benches[b].name, (unsigned long long)r->per_iteration,
			(unsigned long long)n, (unsigned long long)r->exits);
	}
	kprintf("  %-12s %-34s %14s %12s %12s\n", "benchmark", "operation", "cycles/iter", "iterations",
		hv_present ? "exits/iter" : "");
	if (bench_failed) {
		kprintf("benchmarks: an AP did not answer: no figures (see above)\n");
		return 1;
	}
	for (size_t b = 0; b < ARRAY_SIZE(benches); b++) {
		const struct bench_result *r = &res[b];
		if (r->skipped && boot_config.bench_smp_only && !benches[b].smp)
			continue;
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
	kprintf("(mem=%s, APIC virtualization %s, %u CPUs online; under Bochs with clock sync=none a cycle is an "
		"instruction)\n", boot_config.mem_shadow ? "shadow" : "ept", boot_config.apicv ? "on" : "off",
		smp_online_count());
	return 0;
}
