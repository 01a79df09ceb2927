/*
 * SMP tests (guest/smp.c): every CPU of the MADT online, fixed and NMI IPIs both ways, a spinlock
 * under contention, a TLB shootdown, each CPU's own APIC timer, and a CPU that spins forever
 * without blocking the others.  They need a second CPU online and SKIP otherwise; the last one
 * leaves its AP spinning, so it runs last.  Timeouts are generous (emulators are slow) and only
 * matter when something is broken.
 */
#include <string.h>
#include <arch/apic.h>
#include <vmm/format.h>
#include "guest/abi.h"
#include "guest/apic.h"
#include "guest/hv.h"
#include "guest/kernel.h"
#include "guest/mm.h"
#include "guest/priv.h"
#include "guest/smp.h"
#include "guest/spinlock.h"
#include "guest/tests.h"

/*
 * How long a test waits for another CPU, silent: within the monitor's watchdog (no console output
 * for 4000 M TSC cycles stops the guest), so that a failure is a FAIL line, not a stop.
 */
#define IPI_TIMEOUT_MS      500
#define PING_ROUNDS         64
/*
 * Few enough rounds that a host running more vCPUs than it has cores (each lock hand-off may then
 * wait for the host to schedule the next ticket's vCPU) still finishes in seconds.
 */
#define SPINLOCK_ROUNDS     2000
#define SPINLOCK_TIMEOUT_MS (hv_present ? IPI_TIMEOUT_MS : 60000) /* the monitor: one vCPU per core */
#define RACY_ROUNDS         100000 /* unlocked: cheap, and long enough for the CPUs to overlap */
#define SHOOTDOWN_TEST_VA   (USER_BASE + 12 * PAGE_SIZE_1G) /* the kernel address space's empty user half */
#define SHOOTDOWN_PATTERN   0xa7u
#define TIMER_TICKS_WANTED  3
#define TIMER_PERIOD_US     1000
#define SPINNER_PINGS       8
#define US_PER_MS           1000
#define INIT_DELAY_US_ABSENT 10000 /* SDM Vol. 3A 9.4.4.1: INIT, 10 ms, STARTUP */
#define XAPIC_DEST_MAX      (XAPIC_BROADCAST - 1) /* xAPIC physical destinations end below the broadcast */

static const char *state_name(int state)
{
	static const char *const names[] = {
		[CPU_ABSENT] = "not started", [CPU_STARTING] = "starting", [CPU_ONLINE] = "online",
		[CPU_FAILED] = "failed", [CPU_BUSY] = "busy",
	};
	return state >= 0 && (unsigned)state < ARRAY_SIZE(names) && names[state] ? names[state] : "unknown";
}

static bool need_two_cpus(const char *name)
{
	if (smp_online_count() >= 2)
		return true;
	test_skip(name, smp_madt_count() > 1 ? "only one CPU online" : "one CPU");
	return false;
}

/* Waits (interrupts on: the answers are interrupts) until *counter passes `want`, at most timeout_ms. */
static bool wait_counter(volatile uint64_t *counter, uint64_t want, uint64_t timeout_ms)
{
	const uint64_t start = tsc_now(), limit = tsc_cycles_ms(timeout_ms);
	irq_enable();
	while (*counter < want && tsc_now() - start < limit)
		__asm__ volatile("pause");
	irq_disable();
	return *counter >= want;
}

/* ---- every CPU of the MADT came up ---- */

static void test_all_online(void)
{
	const char *name = "smp_all_online";
	const unsigned listed = smp_madt_count();
	if (listed <= 1) {
		test_skip(name, listed ? "one CPU in the MADT" : "no usable MADT");
		return;
	}
	const unsigned want = boot_config.cpus_max && boot_config.cpus_max < listed ? boot_config.cpus_max : listed;
	char d[DETAIL_MAX] = "";
	bool ok = smp_started_count() == want;
	if (!ok)
		hv_snprintf(d, sizeof(d), "%u CPUs set up, %u wanted", smp_started_count(), want);
	for (unsigned i = 1; ok && i < smp_started_count(); i++) {
		const struct cpu *c = cpu_table[i];
		if (c->state != CPU_ONLINE && c->state != CPU_BUSY)
			ok = false, hv_snprintf(d, sizeof(d), "CPU %u (APIC ID %u) is not online: %s", i, c->apic_id,
						state_name(c->state));
	}
	test_report(name, ok, "%s", d);
}

/*
 * ---- each AP's exits, as its own ledger says ----
 *
 * The exit ledger is per CPU, and so must the monitor's counters be: HC_GET_STATS called on an AP
 * returns that vCPU's exits, which must be exactly what its ledger says (the start-up signals
 * INIT and STARTUP, which are no instruction of the guest, and the usual noise left out).
 */
static struct {
	int64_t rc;
	struct hv_stats stats;
	uint64_t ledger[HV_STATS_REASONS];
} ap_stats;

static void ap_read_stats(void *arg)
{
	(void)arg;
	ap_stats.rc = hv_get_stats(&ap_stats.stats);
	memcpy(ap_stats.ledger, this_cpu_ledger(), sizeof(ap_stats.ledger)); /* before anything else exits */
}

static void test_ap_exits_accounted(void)
{
	const char *name = "smp_ap_exits_accounted";
	if (!hv_present) {
		test_skip(name, "no hypervisor");
		return;
	}
	if (!need_two_cpus(name))
		return;
	char d[DETAIL_MAX] = "";
	bool ok = true;
	for (unsigned i = 1; ok && i < smp_started_count(); i++) {
		if (!smp_cpu_usable(i))
			continue;
		memset(&ap_stats, 0, sizeof(ap_stats));
		if (!smp_call(i, ap_read_stats, NULL, IPI_TIMEOUT_MS) || ap_stats.rc < (int64_t)sizeof(ap_stats.stats)) {
			ok = false, hv_snprintf(d, sizeof(d), "CPU %u: HC_GET_STATS returned %lld", i, (long long)ap_stats.rc);
			break;
		}
		for (unsigned r = 0; ok && r < HV_STATS_REASONS; r++) {
			if (exit_reason_is_noise(r) || r == EXIT_REASON_INIT_SIGNAL || r == EXIT_REASON_STARTUP_IPI)
				continue;
			if (ap_stats.stats.count[r] != ap_stats.ledger[r])
				ok = false, hv_snprintf(d, sizeof(d), "CPU %u, %s: the monitor counted %llu exits, the CPU caused %llu",
							i, exit_reason_name(r), (unsigned long long)ap_stats.stats.count[r],
							(unsigned long long)ap_stats.ledger[r]);
		}
	}
	test_report(name, ok, "%s", d);
}

/* ---- fixed IPIs: BSP -> AP ping, AP -> BSP pong ---- */

/* `rounds` ping-pongs with CPU i; the average and the least round trip in TSC cycles. */
static bool ping_pong(unsigned i, unsigned rounds, uint64_t *avg, uint64_t *min)
{
	uint64_t sum = 0;
	*min = ~0ull;
	for (unsigned r = 0; r < rounds; r++) {
		const uint64_t want = smp_pongs + 1, t0 = tsc_now();
		if (!smp_send_ipi(i, VECTOR_IPI_PING) || !wait_counter(&smp_pongs, want, IPI_TIMEOUT_MS))
			return false;
		const uint64_t rt = tsc_now() - t0;
		sum += rt;
		if (rt < *min)
			*min = rt;
	}
	*avg = rounds ? sum / rounds : 0;
	return true;
}

static void test_ping_pong(void)
{
	const char *name = "smp_ipi_ping_pong";
	if (!need_two_cpus(name))
		return;
	char d[DETAIL_MAX] = "";
	bool ok = true;
	for (unsigned i = 1; ok && i < smp_started_count(); i++) {
		if (!smp_cpu_usable(i))
			continue;
		struct cpu *c = cpu_table[i];
		const uint64_t pings = c->pings;
		uint64_t avg = 0, min = 0;
		if (!ping_pong(i, PING_ROUNDS, &avg, &min)) {
			ok = false, hv_snprintf(d, sizeof(d), "CPU %u (APIC ID %u): no pong within %u ms after %llu", i,
						c->apic_id, IPI_TIMEOUT_MS, (unsigned long long)(c->pings - pings));
			break;
		}
		kprintf("%s: CPU %u (APIC ID %u): %u round trips, %llu TSC cycles on average, %llu at least\n", name, i,
			c->apic_id, PING_ROUNDS, (unsigned long long)avg, (unsigned long long)min);
		if (c->pings - pings != PING_ROUNDS)
			ok = false, hv_snprintf(d, sizeof(d), "CPU %u took %llu pings, %u sent", i,
						(unsigned long long)(c->pings - pings), PING_ROUNDS);
	}
	test_report(name, ok, "%s", d);
}

/* ---- NMI IPIs ---- */

static void test_nmi_ipi(void)
{
	const char *name = "smp_nmi_ipi";
	if (!need_two_cpus(name))
		return;
	char d[DETAIL_MAX] = "";
	bool ok = true;
	unsigned n = 0;
	for (unsigned i = 1; ok && i < smp_started_count(); i++) {
		if (!smp_cpu_usable(i))
			continue;
		struct cpu *c = cpu_table[i];
		const uint64_t before = c->nmis;
		ok = smp_send_nmi(i) && wait_counter(&c->nmis, before + 1, IPI_TIMEOUT_MS);
		if (!ok)
			hv_snprintf(d, sizeof(d), "CPU %u (APIC ID %u) took no NMI within %u ms", i, c->apic_id, IPI_TIMEOUT_MS);
		n++;
	}
	if (ok)
		kprintf("%s: each of the %u APs took the NMI sent to it\n", name, n);
	test_report(name, ok, "%s", d);
}

/* ---- a spinlock under contention ---- */

static struct spinlock counter_lock = SPINLOCK_INIT;
static volatile uint64_t locked_counter, racy_counter;
static volatile uint32_t counter_go, counter_phase_done, counter_workers;
static volatile uint64_t counter_deadline;

/* Every CPU: SPINLOCK_ROUNDS locked increments, then (once all are done) RACY_ROUNDS unlocked ones. */
static void counter_worker(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&counter_go, __ATOMIC_ACQUIRE) && tsc_now() < counter_deadline)
		__asm__ volatile("pause");
	for (unsigned k = 0; k < SPINLOCK_ROUNDS; k++) {
		spin_lock(&counter_lock);
		locked_counter = locked_counter + 1;
		spin_unlock(&counter_lock);
	}
	__atomic_fetch_add(&counter_phase_done, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&counter_phase_done, __ATOMIC_ACQUIRE) < counter_workers && tsc_now() < counter_deadline)
		__asm__ volatile("pause");
	for (unsigned k = 0; k < RACY_ROUNDS; k++) {
		const uint64_t v = racy_counter; /* a plain read-modify-write: updates may be lost */
		racy_counter = v + 1;
	}
}

static void test_spinlock_counter(void)
{
	const char *name = "smp_spinlock_counter";
	if (!need_two_cpus(name))
		return;
	locked_counter = racy_counter = 0;
	counter_go = counter_phase_done = 0;
	const uint64_t start = tsc_now();
	counter_deadline = start + tsc_cycles_ms(SPINLOCK_TIMEOUT_MS);
	unsigned workers = 1; /* this CPU */
	for (unsigned i = 1; i < smp_started_count(); i++)
		workers += smp_cpu_usable(i);
	counter_workers = workers;
	bool posted = true;
	for (unsigned i = 1; i < smp_started_count(); i++)
		if (smp_cpu_usable(i))
			posted = smp_call_async(i, counter_worker, NULL) && posted;
	__atomic_store_n(&counter_go, 1, __ATOMIC_RELEASE);
	counter_worker(NULL);
	bool done = true;
	for (unsigned i = 1; i < smp_started_count(); i++)
		if (smp_cpu_usable(i))
			done = smp_call_wait(i, SPINLOCK_TIMEOUT_MS) && done;
	const uint64_t took_ms = (tsc_now() - start) / tsc_cycles_ms(1);
	const uint64_t want = (uint64_t)workers * SPINLOCK_ROUNDS, racy_want = (uint64_t)workers * RACY_ROUNDS;
	kprintf("%s: %u CPUs x %u increments with the lock: %llu (exact: %llu); x %u without it: %llu (%llu lost); "
		"%llu ms\n", name, workers, SPINLOCK_ROUNDS, (unsigned long long)locked_counter, (unsigned long long)want,
		RACY_ROUNDS, (unsigned long long)racy_counter, (unsigned long long)(racy_want - racy_counter),
		(unsigned long long)took_ms);
	test_report(name, posted && done && locked_counter == want && !spin_is_locked(&counter_lock),
		    "posted %d, all done %d, locked sum %llu, want %llu", posted, done, (unsigned long long)locked_counter,
		    (unsigned long long)want);
}

/* ---- TLB shootdown ---- */

static volatile uint8_t shootdown_seen[GUEST_MAX_CPUS];

static void touch_shootdown_page(void *arg)
{
	(void)arg;
	shootdown_seen[this_cpu_index()] = *(volatile uint8_t *)(uintptr_t)SHOOTDOWN_TEST_VA; /* fills its TLB */
}

static void test_tlb_shootdown(void)
{
	const char *name = "smp_tlb_shootdown";
	if (!need_two_cpus(name))
		return;
	char d[DETAIL_MAX] = "";
	const uint64_t va = SHOOTDOWN_TEST_VA, frame = frame_alloc();
	if (!frame || pt_map(kernel_aspace.cr3, va, frame, PTE_W)) { /* supervisor page, the kernel's tables */
		if (frame)
			frame_free(frame);
		test_report(name, false, "cannot map the test page");
		return;
	}
	*(volatile uint8_t *)phys_to_virt(frame) = SHOOTDOWN_PATTERN;
	memset((void *)shootdown_seen, 0, sizeof(shootdown_seen));
	bool ok = true;
	unsigned aps = 0;
	for (unsigned i = 1; ok && i < smp_started_count(); i++) {
		if (!smp_cpu_usable(i))
			continue;
		aps++;
		ok = smp_call(i, touch_shootdown_page, NULL, IPI_TIMEOUT_MS) && shootdown_seen[i] == SHOOTDOWN_PATTERN;
		if (!ok)
			hv_snprintf(d, sizeof(d), "CPU %u read %#x through the mapping (want %#x)", i, shootdown_seen[i],
				    SHOOTDOWN_PATTERN);
	}
	const bool bsp_read = *(volatile uint8_t *)(uintptr_t)va == SHOOTDOWN_PATTERN;
	uint64_t probes[GUEST_MAX_CPUS] = { 0 };
	for (unsigned i = 1; i < smp_started_count(); i++)
		probes[i] = cpu_table[i]->probe_faults;

	const uint64_t pa = pt_unmap(kernel_aspace.cr3, va); /* INVLPG here too */
	const uint64_t before = kernel_fault.count;
	uint64_t v = 0;
	__asm__ volatile("1: movzbq (%1), %0\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") : "+r"(v) : "r"(va) : "memory");
	const bool bsp_faults = kernel_fault.count == before + 1 && kernel_fault.vector == VECTOR_PF && kernel_fault.cr2 == va;
	const unsigned acks = ok ? smp_tlb_shootdown(va, true, IPI_TIMEOUT_MS) : 0;
	unsigned faulted = 0;
	for (unsigned i = 1; ok && i < smp_started_count(); i++) {
		if (!smp_cpu_usable(i))
			continue;
		const struct cpu *c = cpu_table[i];
		if (c->probe_faults == probes[i] + 1 && c->probe_vector == VECTOR_PF && c->probe_cr2 == va)
			faulted++;
		else
			ok = false, hv_snprintf(d, sizeof(d), "CPU %u after INVLPG: %llu faults, vector %llu, CR2 %#llx", i,
						(unsigned long long)(c->probe_faults - probes[i]),
						(unsigned long long)c->probe_vector, (unsigned long long)c->probe_cr2);
	}
	if (ok && (!bsp_read || !bsp_faults || acks != aps))
		ok = false, hv_snprintf(d, sizeof(d), "BSP read %d, BSP faulted after the unmap %d, %u of %u APs acknowledged",
					bsp_read, bsp_faults, acks, aps);
	if (pa)
		frame_free(pa);
	aspace_clear_user_half(&kernel_aspace); /* the tables that mapped it */
	smp_tlb_shootdown(SHOOTDOWN_ALL, false, IPI_TIMEOUT_MS); /* and no CPU keeps them cached */
	if (ok)
		kprintf("%s: %u APs read the page, then each took #PF at %#llx after the shootdown\n", name, faulted,
			(unsigned long long)va);
	test_report(name, ok, "%s", d);
}

/* ---- every CPU's own local APIC timer ---- */

static void timer_start(void *arg)
{
	apic_timer_periodic(VECTOR_CPU_TIMER, (uint32_t)(uintptr_t)arg);
}

static void timer_stop(void *arg)
{
	(void)arg;
	apic_timer_stop();
}

static void test_apic_timer_every_cpu(void)
{
	const char *name = "smp_apic_timer_every_cpu";
	if (!need_two_cpus(name))
		return;
	/* The timer counts at the TSC rate under the monitor, at the bus clock (1 GHz in QEMU) without: about 1 ms. */
	const uint64_t count = tsc_cycles_ms(1) ? tsc_cycles_ms(1) : 1000000;
	void *arg = (void *)(uintptr_t)(count > 0xffffffffull ? 0xffffffffull : count);
	char d[DETAIL_MAX] = "";
	bool ok = true;
	uint64_t before[GUEST_MAX_CPUS] = { 0 };
	for (unsigned i = 0; i < smp_started_count(); i++)
		before[i] = cpu_table[i]->timer_ticks;
	timer_start(arg);
	for (unsigned i = 1; ok && i < smp_started_count(); i++)
		if (smp_cpu_usable(i) && !smp_call(i, timer_start, arg, IPI_TIMEOUT_MS))
			ok = false, hv_snprintf(d, sizeof(d), "CPU %u did not start its timer", i);
	for (unsigned i = 0; ok && i < smp_started_count(); i++) {
		if (i && !smp_cpu_usable(i))
			continue;
		if (!wait_counter(&cpu_table[i]->timer_ticks, before[i] + TIMER_TICKS_WANTED, IPI_TIMEOUT_MS))
			ok = false, hv_snprintf(d, sizeof(d), "CPU %u: %llu ticks within %u ms", i,
						(unsigned long long)(cpu_table[i]->timer_ticks - before[i]), IPI_TIMEOUT_MS);
	}
	timer_stop(NULL);
	for (unsigned i = 1; i < smp_started_count(); i++)
		if (smp_cpu_usable(i))
			smp_call(i, timer_stop, NULL, IPI_TIMEOUT_MS);
	if (ok) {
		console_lock();
		kprintf("%s: ticks of a %llu-count periodic timer:", name, (unsigned long long)(uintptr_t)arg);
		for (unsigned i = 0; i < smp_started_count(); i++)
			if (!i || smp_cpu_usable(i))
				kprintf(" CPU %u %llu", i, (unsigned long long)(cpu_table[i]->timer_ticks - before[i]));
		kprintf("\n");
		console_unlock();
	}
	test_report(name, ok, "%s", d);
}

/*
 * ---- INIT and STARTUP again: an AP restarted while it runs ----
 *
 * The last usable AP is parked where it holds nothing (an smp_call function that spins with
 * interrupts off: no lock, no process), then restarted as at boot (smp_restart_ap: INIT, STARTUP,
 * STARTUP; SDM Vol. 3A 9.4.4.1).  INIT is not maskable (SDM Vol. 3A 11.6.1): the spin ends there.
 * The AP must run the trampoline once more (real mode -> long mode), report online from ap_main,
 * run its scheduler again, and serve IPIs: ping-pong and an smp_call on it, with its own struct cpu;
 * under the monitor, its exits since boot (the second trampoline included) must still be what its
 * ledger says.
 */
static volatile uint32_t park_started;
static struct cpu *volatile restart_seen_cpu;

/* Holds the CPU in its VECTOR_IPI_CALL handler, interrupts off, until INIT takes it away. */
static void park_until_init(void *arg)
{
	(void)arg;
	__atomic_store_n(&park_started, 1, __ATOMIC_RELEASE);
	for (;;)
		__asm__ volatile("pause");
}

static void note_this_cpu(void *arg)
{
	(void)arg;
	restart_seen_cpu = this_cpu();
}

/* Waits, silent, until *flag is set, at most timeout_ms. */
static bool wait_flag(volatile uint32_t *flag, uint64_t timeout_ms)
{
	const uint64_t start = tsc_now(), limit = tsc_cycles_ms(timeout_ms);
	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE) && tsc_now() - start < limit)
		__asm__ volatile("pause");
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

static bool sched_running_within(struct cpu *c, uint64_t timeout_ms)
{
	const uint64_t start = tsc_now(), limit = tsc_cycles_ms(timeout_ms);
	while (!__atomic_load_n(&c->sched.running, __ATOMIC_ACQUIRE) && tsc_now() - start < limit)
		__asm__ volatile("pause");
	return __atomic_load_n(&c->sched.running, __ATOMIC_ACQUIRE);
}

/* Under the monitor: CPU i's exits, as HC_GET_STATS counts them there, are what its ledger says. */
static bool ap_exits_match(unsigned i, char *d, size_t len)
{
	memset(&ap_stats, 0, sizeof(ap_stats));
	if (!smp_call(i, ap_read_stats, NULL, IPI_TIMEOUT_MS) || ap_stats.rc < (int64_t)sizeof(ap_stats.stats)) {
		hv_snprintf(d, len, "CPU %u: HC_GET_STATS returned %lld", i, (long long)ap_stats.rc);
		return false;
	}
	for (unsigned r = 0; r < HV_STATS_REASONS; r++) {
		if (exit_reason_is_noise(r) || r == EXIT_REASON_INIT_SIGNAL || r == EXIT_REASON_STARTUP_IPI)
			continue;
		if (ap_stats.stats.count[r] != ap_stats.ledger[r]) {
			hv_snprintf(d, len, "CPU %u, %s: the monitor counted %llu exits, the CPU caused %llu", i,
				    exit_reason_name(r), (unsigned long long)ap_stats.stats.count[r],
				    (unsigned long long)ap_stats.ledger[r]);
			return false;
		}
	}
	return true;
}

static void test_init_restarts_a_running_cpu(void)
{
	const char *name = "smp_init_restarts_a_running_cpu";
	if (!need_two_cpus(name))
		return;
	unsigned n = 0;
	for (unsigned i = 1; i < smp_started_count(); i++)
		if (smp_cpu_usable(i) && !cpu_table[i]->sched.load)
			n = i;
	if (!n) {
		test_skip(name, "no idle usable AP");
		return;
	}
	struct cpu *c = cpu_table[n];
	char d[DETAIL_MAX] = "";
	park_started = 0;
	if (!smp_call_async(n, park_until_init, NULL) || !wait_flag(&park_started, IPI_TIMEOUT_MS)) {
		test_report(name, false, "CPU %u did not park in its IPI handler", n);
		return;
	}
	c->state = CPU_BUSY; /* no work is sent to it, no process placed on it, until it is back */
	const unsigned starts = smp_trampoline_starts();
	const uint64_t pings = c->pings, t0 = tsc_now();
	bool ok = smp_restart_ap(n, d, sizeof(d));
	const uint64_t took_us = (tsc_now() - t0) / (tsc_cycles_ms(1) / US_PER_MS ? tsc_cycles_ms(1) / US_PER_MS : 1);
	const unsigned ran = smp_trampoline_starts() - starts;
	uint64_t avg = 0, min = 0;
	if (ok && ran != 1)
		ok = false, hv_snprintf(d, sizeof(d), "the trampoline ran %u times for one restart of CPU %u", ran, n);
	if (ok && !sched_running_within(c, IPI_TIMEOUT_MS))
		ok = false, hv_snprintf(d, sizeof(d), "CPU %u came online but its scheduler loop does not run", n);
	if (ok && !ping_pong(n, PING_ROUNDS, &avg, &min))
		ok = false, hv_snprintf(d, sizeof(d), "CPU %u answered %llu of %u pings after its restart", n,
					(unsigned long long)(c->pings - pings), PING_ROUNDS);
	restart_seen_cpu = NULL;
	if (ok && (!smp_call(n, note_this_cpu, NULL, IPI_TIMEOUT_MS) || restart_seen_cpu != c))
		ok = false, hv_snprintf(d, sizeof(d), "CPU %u: an smp_call after the restart %s", n,
					restart_seen_cpu ? "ran on another struct cpu" : "did not run");
	if (ok && hv_present)
		ok = ap_exits_match(n, d, sizeof(d));
	if (ok)
		kprintf("%s: CPU %u (APIC ID %u) parked, sent INIT and STARTUP: online again %llu us after the INIT "
			"(trampoline runs: %u), %u round trips, %llu TSC cycles on average\n", name, n, c->apic_id,
			(unsigned long long)took_us, ran, PING_ROUNDS, (unsigned long long)avg);
	test_report(name, ok, "%s", d);
}

/*
 * ---- INIT and STARTUP to a processor that is not there ----
 *
 * Sent to the physical APIC ID above the highest of the MADT (and this CPU's), they reach no
 * processor (SDM Vol. 3A 11.6.1: the destination field selects the processor): every CPU online
 * before stays online and answers, and nothing runs the AP trampoline.  Runs with one CPU too.
 */
#define ABSENT_SETTLE_MS 20 /* longer than INIT, 10 ms, STARTUP: a processor that took them would be starting */

static void test_sipi_to_absent_cpu(void)
{
	const char *name = "smp_sipi_to_absent_cpu";
	if (!apic_ready()) {
		test_skip(name, "no local APIC");
		return;
	}
	const uint32_t absent = smp_apic_id_max() + 1;
	if (!apic_x2apic_mode() && absent > XAPIC_DEST_MAX) {
		test_skip(name, "no free xAPIC destination above the MADT's APIC IDs");
		return;
	}
	char d[DETAIL_MAX] = "";
	const unsigned online = smp_online_count(), starts = smp_trampoline_starts(), vector = smp_startup_vector();
	bool ok = smp_send_init(absent);
	tsc_delay_us(INIT_DELAY_US_ABSENT);
	ok = smp_send_startup(absent, vector) && ok;
	if (!ok)
		hv_snprintf(d, sizeof(d), "an IPI to APIC ID %#x stayed pending in the ICR", absent);
	tsc_delay_us(ABSENT_SETTLE_MS * US_PER_MS);
	if (ok && (smp_online_count() != online || smp_trampoline_starts() != starts))
		ok = false, hv_snprintf(d, sizeof(d), "%u CPUs online (%u before), the trampoline ran %u times", smp_online_count(),
					online, smp_trampoline_starts() - starts);
	unsigned answered = 0;
	for (unsigned i = 1; ok && i < smp_started_count(); i++) {
		if (!smp_cpu_usable(i))
			continue;
		uint64_t avg, min;
		if (!ping_pong(i, 1, &avg, &min))
			ok = false, hv_snprintf(d, sizeof(d), "CPU %u answers no ping after INIT and STARTUP to APIC ID %#x", i,
						absent);
		answered++;
	}
	if (ok)
		kprintf("%s: INIT and STARTUP (vector %#x) to APIC ID %#x: %u CPUs online as before, %u APs answer, "
			"no processor started\n", name, vector, absent, online, answered);
	test_report(name, ok, "%s", d);
}

/* ---- a CPU that never gives up its time ---- */

static volatile uint32_t spinner_started;

/* Runs forever in the CPU's IPI handler, interrupts off, no privileged instruction: only a counter moves. */
static void spin_forever(void *arg)
{
	(void)arg;
	struct cpu *c = this_cpu();
	__atomic_store_n(&spinner_started, 1, __ATOMIC_RELEASE);
	for (;;)
		c->spin_turns = c->spin_turns + 1;
}

static void spinner_peer_work(void *arg)
{
	(void)arg;
	for (unsigned k = 0; k < SPINLOCK_ROUNDS / 10; k++) {
		spin_lock(&counter_lock);
		locked_counter = locked_counter + 1;
		spin_unlock(&counter_lock);
	}
}

static void test_spinner_does_not_block(void)
{
	const char *name = "smp_spinner_does_not_block";
	if (!need_two_cpus(name))
		return;
	unsigned spinner = 0;
	for (unsigned i = 1; i < smp_started_count(); i++)
		if (smp_cpu_usable(i))
			spinner = i;
	if (!spinner) {
		test_skip(name, "no usable AP left");
		return;
	}
	struct cpu *s = cpu_table[spinner];
	char d[DETAIL_MAX] = "";
	spinner_started = 0;
	bool ok = smp_call_async(spinner, spin_forever, NULL);
	const uint64_t start = tsc_now(), limit = tsc_cycles_ms(IPI_TIMEOUT_MS);
	while (ok && !__atomic_load_n(&spinner_started, __ATOMIC_ACQUIRE) && tsc_now() - start < limit)
		__asm__ volatile("pause");
	if (!ok || !spinner_started) {
		test_report(name, false, "CPU %u did not start spinning", spinner);
		return;
	}
	s->state = CPU_BUSY; /* from now on it is no AP to send work to */
	const uint64_t turns_before = s->spin_turns;

	/* The others: ping-pong, an NMI, and a share of locked increments each, while this CPU does its own. */
	locked_counter = 0;
	unsigned peers = 0;
	for (unsigned i = 1; ok && i < smp_started_count(); i++) {
		if (!smp_cpu_usable(i))
			continue;
		peers++;
		uint64_t avg, min;
		struct cpu *c = cpu_table[i];
		const uint64_t nmis = c->nmis;
		if (!ping_pong(i, SPINNER_PINGS, &avg, &min))
			ok = false, hv_snprintf(d, sizeof(d), "CPU %u answered no ping while CPU %u spins", i, spinner);
		else if (!smp_send_nmi(i) || !wait_counter(&c->nmis, nmis + 1, IPI_TIMEOUT_MS))
			ok = false, hv_snprintf(d, sizeof(d), "CPU %u took no NMI while CPU %u spins", i, spinner);
		else if (!smp_call_async(i, spinner_peer_work, NULL))
			ok = false, hv_snprintf(d, sizeof(d), "CPU %u took no work while CPU %u spins", i, spinner);
	}
	spinner_peer_work(NULL);
	for (unsigned i = 1; ok && i < smp_started_count(); i++)
		if (smp_cpu_usable(i) && !smp_call_wait(i, SPINLOCK_TIMEOUT_MS))
			ok = false, hv_snprintf(d, sizeof(d), "CPU %u did not finish its work while CPU %u spins", i, spinner);
	const uint64_t want = (uint64_t)(peers + 1) * (SPINLOCK_ROUNDS / 10);
	if (ok && locked_counter != want)
		ok = false, hv_snprintf(d, sizeof(d), "locked sum %llu, want %llu", (unsigned long long)locked_counter,
					(unsigned long long)want);
	/* Still spinning: its counter moves on (give a host that runs it on a shared core the time to). */
	const uint64_t t0 = tsc_now();
	while (s->spin_turns == turns_before && tsc_now() - t0 < tsc_cycles_ms(IPI_TIMEOUT_MS))
		__asm__ volatile("pause");
	const uint64_t turns_after = s->spin_turns;
	if (ok && turns_after == turns_before)
		ok = false, hv_snprintf(d, sizeof(d), "CPU %u stopped spinning", spinner);
	if (ok)
		kprintf("%s: CPU %u spins (%llu turns meanwhile); this CPU and %u others finished their work\n", name,
			spinner, (unsigned long long)(turns_after - turns_before), peers);
	test_report(name, ok, "%s", d);
}

void tests_smp(void)
{
	test_all_online();
	test_ap_exits_accounted();
	test_ping_pong();
	test_nmi_ipi();
	test_spinlock_counter();
	test_tlb_shootdown();
	test_apic_timer_every_cpu();
	test_init_restarts_a_running_cpu();
	test_sipi_to_absent_cpu();
	test_spinner_does_not_block(); /* last: it keeps its CPU */
}
