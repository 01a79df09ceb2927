/*
 * Several CPUs: see guest/include/guest/smp.h.
 *
 * Start-up (SDM Vol. 3A 9.4.4.1, one AP at a time): the bootstrap processor copies the trampoline
 * (guest/trampoline.asm) to a free page below 1 MiB, fills its parameter block (the AP's struct
 * cpu, the kernel's CR3, the BSP's CR0/CR4/EFER, a small GDT), then sends INIT, waits 10 ms, sends
 * STARTUP, waits 200 us, sends STARTUP again, and waits up to AP_ONLINE_TIMEOUT_MS for the AP to
 * say it is online.  An AP that does not is reported, sent INIT again (back to wait-for-SIPI) and
 * left out; its claim on the parameter block is withdrawn first, so a late start finds nothing.
 *
 * Memory: the trampoline page is the first of 0x8000, 0x9000 .. 0x9f000, 0x7000 .. 0x1000 that
 * lies in available RAM and holds neither the Multiboot2 information nor an ACPI table the kernel
 * read (the monitor puts its boot information at 0x8000).  The frame allocator never hands out
 * memory below 1 MiB, so nothing else of the kernel's lives there.  Each AP's stack (16 KiB) and
 * #DF stack (8 KiB) are frames taken in a row from the allocator; they are never freed.
 */
#include <string.h>
#include <arch/apic.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/io.h>
#include <arch/msr.h>
#include <arch/pit.h>
#include <vmm/format.h>
#include "guest/acpi.h"
#include "guest/apic.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/mm.h"
#include "guest/priv.h"
#include "guest/proc.h"
#include "guest/smp.h"

#define AP_STACK_PAGES        4
#define AP_IST_PAGES          2
#define AP_ONLINE_TIMEOUT_MS  500 /* silent meanwhile: well within the monitor's watchdog (4000 M cycles) */
#define INIT_DELAY_US         10000 /* SDM 9.4.4.1: INIT, 10 ms, STARTUP, 200 us, STARTUP */
#define STARTUP_DELAY_US      200
#define LOW_MEMORY_END        0xa0000ull /* conventional memory (STARTUP vectors 0x01-0x9f) */
#define TRAMP_PREFERRED       0x8000ull
#define TRAMP_PARAMS          0xf00u     /* guest/trampoline.asm: the parameter block's offset */
#define TRAMP_SEL_CODE64      0x08u
#define TRAMP_SEL_DATA        0x10u
#define TRAMP_SEL_CODE32      0x18u
#define TRAMP_GDT_ENTRIES     4
#define TSC_HZ_ASSUMED        4000000000ull /* too fast a guess only makes the delays longer */
#define HZ_PER_MHZ            1000000ull
#define US_PER_S              1000000ull
#define MS_PER_S              1000ull
#define CPUID_16_EAX_MHZ      0xffffu
#define PIT_CALIBRATE_MS      10u
#define PIT_POLLS_MAX         50000000u
#define PIT_TRIES             3
#define XAPIC_MAX_ID          0xfeu      /* 0xff is the broadcast destination */
#define WHY_MAX               160

/* guest/trampoline.asm's parameter block (its P_* offsets). */
struct __attribute__((packed)) ap_tramp_params {
	uint16_t gdt_limit;
	uint32_t gdt_base;
	uint16_t pad0;
	uint32_t pm32_offset;
	uint16_t pm32_sel, pad1;
	uint32_t lm64_offset;
	uint16_t lm64_sel, pad2;
	uint32_t cr0, cr4, cr3, efer;
	uint64_t entry;
	uint64_t cpu;
	uint64_t gdt[TRAMP_GDT_ENTRIES];
	uint32_t starts; /* the trampoline's first instruction after CLI/CLD: one more per processor that ran it */
};
_Static_assert(__builtin_offsetof(struct ap_tramp_params, pm32_offset) == 0x08, "P_PM32");
_Static_assert(__builtin_offsetof(struct ap_tramp_params, lm64_offset) == 0x10, "P_LM64");
_Static_assert(__builtin_offsetof(struct ap_tramp_params, cr0) == 0x18, "P_CR0");
_Static_assert(__builtin_offsetof(struct ap_tramp_params, efer) == 0x24, "P_EFER");
_Static_assert(__builtin_offsetof(struct ap_tramp_params, entry) == 0x28, "P_ENTRY");
_Static_assert(__builtin_offsetof(struct ap_tramp_params, cpu) == 0x30, "P_CPU");
_Static_assert(__builtin_offsetof(struct ap_tramp_params, starts) == 0x58, "P_STARTS");
_Static_assert(TRAMP_PARAMS + sizeof(struct ap_tramp_params) <= PAGE_SIZE, "the block fits the page");

extern const char ap_trampoline[], ap_trampoline_pm32[], ap_trampoline_lm64[], ap_trampoline_end[];
extern char ap_entry64[];
extern uint64_t gdt[GDT_ENTRIES]; /* guest/cpu.c: the kernel's GDT, the template of every CPU's */

struct cpu cpu_boot = {
	.self = &cpu_boot,
	.ledger = exit_ledger,
	.fault = &boot_cpu_fault,
	.index = 0,
	.state = CPU_ONLINE,
};
static struct cpu ap_cpus[GUEST_MAX_CPUS - 1];
struct cpu *cpu_table[GUEST_MAX_CPUS] = { &cpu_boot };
unsigned cpu_count = 1;

static struct acpi_cpu_list madt;
static bool madt_ok;
static uint64_t tramp_page;
static struct ap_tramp_params *tramp;

volatile uint64_t smp_pongs;
static volatile uint64_t shootdown_va;
static volatile bool shootdown_probe;
static volatile uint32_t shootdown_acks;

uint64_t tsc_hz;
static const char *tsc_source = "not measured";

/* ---- the TSC as a clock ---- */

/* Channel 2 of the PIT counts PIT_CALIBRATE_MS down while the TSC runs (no monitor: a real PIT). */
static bool pit_measure(void)
{
	const uint32_t count = PIT_HZ / (MS_PER_S / PIT_CALIBRATE_MS);
	const uint8_t port_b = priv_inb(PC_PORT_B);
	priv_outb(PC_PORT_B, (uint8_t)((port_b & ~PC_PORT_B_SPEAKER) | PC_PORT_B_GATE2));
	priv_outb(PIT_PORT_COMMAND, PIT_CMD_CHANNEL2 | PIT_CMD_LOHI | PIT_CMD_MODE0);
	priv_outb(PIT_PORT_CHANNEL2, (uint8_t)count);
	priv_outb(PIT_PORT_CHANNEL2, (uint8_t)(count >> 8));
	const uint64_t t0 = rdtsc();
	bool done = false;
	for (uint32_t i = 0; i < PIT_POLLS_MAX && !done; i++)
		done = priv_inb(PC_PORT_B) & PC_PORT_B_OUT2;
	const uint64_t t1 = rdtsc();
	priv_outb(PC_PORT_B, port_b);
	if (!done || t1 <= t0)
		return false;
	const uint64_t hz = (t1 - t0) * PIT_HZ / count;
	if (!tsc_hz || hz < tsc_hz) /* the least of the tries: a try is only ever too long (the vCPU was not running) */
		tsc_hz = hz;
	return true;
}

static bool pit_calibrate(void)
{
	for (unsigned i = 0; i < PIT_TRIES; i++)
		if (!pit_measure())
			return false;
	tsc_source = "measured against the PIT";
	return tsc_hz != 0;
}

void tsc_calibrate(void)
{
	if (tsc_hz)
		return;
	const uint32_t max = priv_cpuid(CPUID_LEAF_VENDOR, 0).eax;
	if (max >= CPUID_LEAF_TSC) {
		const struct cpuid_regs r = priv_cpuid(CPUID_LEAF_TSC, 0); /* TSC = crystal * EBX / EAX */
		if (r.eax && r.ebx && r.ecx) {
			tsc_hz = (uint64_t)r.ecx * r.ebx / r.eax;
			tsc_source = "CPUID.15h";
			return;
		}
	}
	if (max >= CPUID_LEAF_FREQUENCY) {
		const uint32_t mhz = priv_cpuid(CPUID_LEAF_FREQUENCY, 0).eax & CPUID_16_EAX_MHZ;
		if (mhz) {
			tsc_hz = mhz * HZ_PER_MHZ;
			tsc_source = "CPUID.16h base frequency";
			return;
		}
	}
	if (!hv_present && pit_calibrate())
		return;
	tsc_hz = TSC_HZ_ASSUMED;
	tsc_source = "assumed: no CPUID.15h/16h, no PIT";
}

uint64_t tsc_cycles_ms(uint64_t ms)
{
	return ms * (tsc_hz / MS_PER_S);
}

void tsc_delay_us(uint64_t us)
{
	const uint64_t end = rdtsc() + us * (tsc_hz / US_PER_S);
	while (rdtsc() < end)
		__asm__ volatile("pause");
}

/* ---- the MADT ---- */

void smp_discover(void)
{
	char why[WHY_MAX];
	if (!boot_config.acpi_tag) {
		kprintf("CPUs: no ACPI tag in the boot information: one CPU\n");
		return;
	}
	if (acpi_find_cpus(&madt, why, sizeof(why)) != 0) {
		kprintf("ACPI: %s: tables refused, one CPU\n", why);
		return;
	}
	madt_ok = true;
	kprintf("ACPI: RSDP revision %u (Multiboot2 tag %u), %s at %#llx, MADT at %#llx (%u bytes)\n",
		madt.rsdp_revision, boot_config.acpi_tag, madt.used_xsdt ? "XSDT" : "RSDT", (unsigned long long)madt.root_pa,
		(unsigned long long)madt.madt_pa, madt.madt_len);
	console_lock();
	kprintf("CPUs: %u in the MADT, APIC IDs", madt.count + madt.dropped);
	for (unsigned i = 0; i < madt.count; i++)
		kprintf(" %u", madt.apic_id[i]);
	if (madt.dropped)
		kprintf(" (and %u more: the kernel keeps %u)", madt.dropped, GUEST_MAX_CPUS);
	if (madt.disabled)
		kprintf("; %u disabled", madt.disabled);
	kprintf("\n");
	console_unlock();
}

unsigned smp_madt_count(void) { return madt_ok ? madt.count : 0; }
unsigned smp_started_count(void) { return cpu_count; }

unsigned smp_online_count(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < cpu_count; i++)
		n += cpu_table[i]->state == CPU_ONLINE || cpu_table[i]->state == CPU_BUSY;
	return n;
}

bool smp_cpu_usable(unsigned cpu)
{
	return cpu > 0 && cpu < cpu_count && cpu_table[cpu]->state == CPU_ONLINE;
}

/* ---- the trampoline ---- */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return blen && a < b + blen && b < a + alen;
}

static bool trampoline_page_free(uint64_t pa)
{
	bool ram = false;
	for (unsigned i = 0; i < boot_config.nr_ram; i++)
		ram |= boot_config.ram[i].base <= pa && pa + PAGE_SIZE <= boot_config.ram[i].base + boot_config.ram[i].length;
	return ram && pa + PAGE_SIZE <= boot_config.guest_mem &&
	       !overlaps(pa, PAGE_SIZE, boot_config.info_base, boot_config.info_size) &&
	       !overlaps(pa, PAGE_SIZE, madt.root_pa, madt.root_len) && !overlaps(pa, PAGE_SIZE, madt.madt_pa, madt.madt_len);
}

static uint64_t pick_trampoline_page(void)
{
	if (trampoline_page_free(TRAMP_PREFERRED))
		return TRAMP_PREFERRED;
	for (uint64_t pa = TRAMP_PREFERRED + PAGE_SIZE; pa < LOW_MEMORY_END; pa += PAGE_SIZE)
		if (trampoline_page_free(pa))
			return pa;
	for (uint64_t pa = TRAMP_PREFERRED - PAGE_SIZE; pa >= PAGE_SIZE; pa -= PAGE_SIZE)
		if (trampoline_page_free(pa))
			return pa;
	return 0;
}

static void install_trampoline(uint64_t page)
{
	const size_t code = (size_t)(ap_trampoline_end - ap_trampoline);
	uint8_t *p = phys_to_virt(page);
	memcpy(p, ap_trampoline, code);
	tramp = (struct ap_tramp_params *)(p + TRAMP_PARAMS);
	memset(tramp, 0, sizeof(*tramp));
	tramp->gdt[1] = gdt[GDT_KERNEL_CODE];                              /* 0x08: 64-bit code */
	tramp->gdt[2] = gdt[GDT_KERNEL_DATA];                              /* 0x10: flat data */
	tramp->gdt[3] = (gdt[GDT_KERNEL_CODE] & ~DESC_L) | DESC_DB;         /* 0x18: 32-bit code */
	tramp->gdt_limit = sizeof(tramp->gdt) - 1;
	tramp->gdt_base = (uint32_t)(page + TRAMP_PARAMS + __builtin_offsetof(struct ap_tramp_params, gdt));
	tramp->pm32_offset = (uint32_t)(page + (uint64_t)(ap_trampoline_pm32 - ap_trampoline));
	tramp->pm32_sel = TRAMP_SEL_CODE32;
	tramp->lm64_offset = (uint32_t)(page + (uint64_t)(ap_trampoline_lm64 - ap_trampoline));
	tramp->lm64_sel = TRAMP_SEL_CODE64;
	/* The BSP's control registers: the same paging, write protection, NX and SYSCALL. */
	tramp->cr0 = (uint32_t)(read_cr0() & ~(CR0_CD | CR0_NW));
	tramp->cr4 = (uint32_t)((read_cr4() & ~CR4_PCIDE) | CR4_PAE); /* PCIDE cannot be set outside IA-32e mode */
	tramp->cr3 = (uint32_t)kernel_aspace.cr3;
	tramp->efer = (uint32_t)(EFER_LME | EFER_SCE | (nx_enabled ? EFER_NXE : 0));
	tramp->entry = (uint64_t)(uintptr_t)ap_entry64;
	tramp->cpu = 0;
}

/* ---- starting one AP ---- */

/* INIT (level assert; SDM Vol. 3A 11.6.1): the target processor goes to wait-for-SIPI. */
bool smp_send_init(uint32_t apic_id)
{
	return apic_send_ipi(apic_id, APIC_ICR_LEVEL_ASSERT | (APIC_ICR_DELIVERY_INIT << APIC_ICR_DELIVERY_SHIFT));
}

/* STARTUP: a processor in wait-for-SIPI starts in real mode at vector:0000 << 8 (SDM Vol. 3A 11.6.1). */
bool smp_send_startup(uint32_t apic_id, unsigned vector)
{
	return apic_send_ipi(apic_id, APIC_ICR_LEVEL_ASSERT | (APIC_ICR_DELIVERY_STARTUP << APIC_ICR_DELIVERY_SHIFT) | vector);
}

unsigned smp_startup_vector(void)
{
	return (unsigned)((tramp_page ? tramp_page : TRAMP_PREFERRED) >> APIC_SIPI_PAGE_SHIFT);
}

unsigned smp_trampoline_starts(void)
{
	return tramp ? __atomic_load_n(&tramp->starts, __ATOMIC_ACQUIRE) : 0;
}

uint32_t smp_apic_id_max(void)
{
	uint32_t max = apic_ready() ? apic_id() : cpu_boot.apic_id;
	for (unsigned i = 0; madt_ok && i < madt.count; i++)
		if (madt.apic_id[i] > max)
			max = madt.apic_id[i];
	return max;
}

/*
 * What ap_main starts from, the same at boot and at a restart: no process, no call pending, an empty
 * scheduler and TSS (cpu_tables_init_ap fills it), CPU_STARTING.  Kept: the CPU's number, APIC ID,
 * stacks, exit ledger, fault record and the counters of what its handlers saw.
 */
static void ap_reset(struct cpu *c)
{
	c->cur_proc = NULL;
	c->syscall_rsp = 0;
	c->user_rsp = 0;
	c->online_tsc = 0;
	c->call_fn = NULL;
	c->call_arg = NULL;
	__atomic_store_n(&c->call_done, c->call_posted, __ATOMIC_RELEASE); /* a call it was in never returns */
	memset(&c->tss, 0, sizeof(c->tss));
	memset(&c->sched, 0, sizeof(c->sched));
	__atomic_store_n(&c->state, CPU_STARTING, __ATOMIC_RELEASE);
}

/*
 * INIT, 10 ms, STARTUP, 200 us, STARTUP (SDM Vol. 3A 9.4.4.1), then up to AP_ONLINE_TIMEOUT_MS for
 * the AP to report online from ap_main.  After INIT a processor waits for a STARTUP IPI (SDM Vol. 3A
 * 11.4.7.3): one that runs the trampoline in those 10 ms started on something else (a STARTUP left
 * over from before its INIT), and *early says so.  `what` names the start in the failure line.
 */
static bool ap_start(struct cpu *c, const char *what, bool *early)
{
	__atomic_store_n(&tramp->cpu, (uint64_t)(uintptr_t)c, __ATOMIC_RELEASE);
	const unsigned vector = smp_startup_vector(), starts = smp_trampoline_starts();
	bool sent = smp_send_init(c->apic_id);
	tsc_delay_us(INIT_DELAY_US);
	*early = smp_trampoline_starts() != starts;
	if (*early)
		kprintf("CPU %u (APIC ID %u) ran the trampoline after INIT, before any STARTUP IPI of its %s\n", c->index,
			c->apic_id, what);
	sent = smp_send_startup(c->apic_id, vector) && sent;
	tsc_delay_us(STARTUP_DELAY_US);
	sent = smp_send_startup(c->apic_id, vector) && sent;

	const uint64_t start = rdtsc(), limit = tsc_cycles_ms(AP_ONLINE_TIMEOUT_MS);
	while (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CPU_ONLINE && rdtsc() - start < limit)
		__asm__ volatile("pause");
	if (c->state == CPU_ONLINE)
		return true;
	/* Withdraw the block (a late start halts), and put the AP back to wait-for-SIPI. */
	const uint64_t unclaimed = __atomic_exchange_n(&tramp->cpu, 0, __ATOMIC_ACQ_REL);
	smp_send_init(c->apic_id);
	c->state = CPU_FAILED;
	kprintf("CPU %u (APIC ID %u) did not come up within %u ms of its %s (%s%s); sent INIT, left out\n", c->index,
		c->apic_id, AP_ONLINE_TIMEOUT_MS, what,
		unclaimed ? "it never reached the trampoline's long mode" : "it started but never reported",
		sent ? "" : "; an IPI stayed pending in the ICR");
	return false;
}

static void start_ap(uint32_t apic_id)
{
	const unsigned idx = cpu_count;
	struct cpu *c = &ap_cpus[idx - 1];
	memset(c, 0, sizeof(*c));
	c->self = c;
	c->ledger = c->own_ledger;
	c->fault = &c->own_fault;
	c->index = idx;
	c->apic_id = apic_id;
	const uint64_t stack = frames_alloc_contiguous(AP_STACK_PAGES), ist = frames_alloc_contiguous(AP_IST_PAGES);
	cpu_table[idx] = c;
	cpu_count++;
	if (!stack || !ist) {
		c->state = CPU_FAILED;
		kprintf("CPU %u (APIC ID %u): no frames for its stacks: not started\n", idx, apic_id);
		return;
	}
	c->stack_top = stack + AP_STACK_PAGES * PAGE_SIZE;
	c->ist_top = ist + AP_IST_PAGES * PAGE_SIZE;
	ap_reset(c);
	bool early;
	ap_start(c, "INIT-SIPI-SIPI", &early);
}

bool smp_restart_ap(unsigned cpu, char *why, size_t len)
{
	if (cpu == 0 || cpu >= cpu_count || !tramp) {
		hv_snprintf(why, len, "CPU %u is no AP the kernel started", cpu);
		return false;
	}
	struct cpu *c = cpu_table[cpu];
	if (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CPU_BUSY) {
		hv_snprintf(why, len, "CPU %u is not parked (state %d)", cpu, c->state);
		return false;
	}
	if (__atomic_load_n(&c->sched.load, __ATOMIC_ACQUIRE)) {
		hv_snprintf(why, len, "CPU %u still has %u processes", cpu, c->sched.load);
		return false;
	}
	ap_reset(c);
	bool early;
	const bool online = ap_start(c, "restart", &early);
	if (online && !early)
		return true;
	if (early)
		hv_snprintf(why, len, "CPU %u (APIC ID %u) ran the trampoline after INIT, before its STARTUP IPI", cpu,
			    c->apic_id);
	else
		hv_snprintf(why, len, "CPU %u (APIC ID %u) did not come back online within %u ms", cpu, c->apic_id,
			    AP_ONLINE_TIMEOUT_MS);
	return false;
}

void smp_boot(void)
{
	if (!madt_ok || madt.count <= 1)
		return;
	if (!apic_ready()) {
		kprintf("SMP: no local APIC: the other %u CPUs stay off\n", madt.count - 1);
		return;
	}
	cpu_boot.apic_id = apic_id();
	cpu_boot.online_tsc = rdtsc();
	if (boot_config.cpus_max == 1) {
		kprintf("SMP: 1 of %u CPUs online (cpus=1)\n", madt.count);
		return;
	}
	tsc_calibrate();
	kprintf("TSC: %llu MHz (%s)\n", (unsigned long long)(tsc_hz / HZ_PER_MHZ), tsc_source);
	bool bsp_listed = false;
	for (unsigned i = 0; i < madt.count; i++)
		bsp_listed |= madt.apic_id[i] == cpu_boot.apic_id;
	if (!bsp_listed)
		kprintf("SMP: the bootstrap processor's APIC ID %u is not in the MADT\n", cpu_boot.apic_id);
	tramp_page = pick_trampoline_page();
	if (!tramp_page || kernel_aspace.cr3 >= (1ull << 32)) {
		kprintf("SMP: %s: the other %u CPUs stay off\n",
			tramp_page ? "the kernel's page tables lie above 4 GiB" : "no free page below 640 KiB for the AP trampoline",
			madt.count - 1);
		return;
	}
	install_trampoline(tramp_page);
	kprintf("SMP: AP trampoline at %#llx (STARTUP vector %#llx), %u KiB stack per CPU, %s mode IPIs\n",
		(unsigned long long)tramp_page, (unsigned long long)(tramp_page >> APIC_SIPI_PAGE_SHIFT),
		(unsigned)(AP_STACK_PAGES * PAGE_SIZE / 1024), apic_x2apic_mode() ? "x2APIC" : "xAPIC");

	const unsigned limit = boot_config.cpus_max ? boot_config.cpus_max : GUEST_MAX_CPUS;
	unsigned skipped = 0;
	for (unsigned i = 0; i < madt.count; i++) {
		const uint32_t id = madt.apic_id[i];
		if (id == cpu_boot.apic_id)
			continue;
		if (cpu_count >= limit) {
			skipped++;
			continue;
		}
		if (!apic_x2apic_mode() && id > XAPIC_MAX_ID) {
			kprintf("SMP: APIC ID %u is beyond xAPIC destinations: not started\n", id);
			skipped++;
			continue;
		}
		start_ap(id);
	}
	if (skipped && boot_config.cpus_max)
		kprintf("SMP: %u of %u CPUs online (cpus=%u)\n", smp_online_count(), madt.count, boot_config.cpus_max);
	else
		kprintf("SMP: %u of %u CPUs online\n", smp_online_count(), madt.count);
}

/* ---- an AP ---- */

void ap_main(struct cpu *c)
{
	cpu_tables_init_ap(c);
	/*
	 * The trampoline's exits.  With EPT (unrestricted guest): LGDT, MOV CR0 (PE), MOV CR4, MOV CR0 (PG),
	 * WRMSR EFER.  With shadow paging the real-mode part runs in virtual-8086 mode, where LGDT,
	 * MOV EAX,CR0 and MOV CR0 (PE) fault (#GP exits, noise like its #PF exits) and the monitor
	 * emulates them; then MOV CR4, MOV CR3 and MOV CR0 (PG) exit as CR accesses.
	 */
	if (boot_config.mem_shadow) {
		ledger_add(EXIT_REASON_CR_ACCESS, 3);
	} else {
		ledger_add(EXIT_REASON_CR_ACCESS, 3);
		ledger_dt(EXIT_REASON_GDTR_IDTR_ACCESS);
	}
	ledger_add(EXIT_REASON_WRMSR, 1);
	syscall_init();
	const uint32_t id = apic_init_ap();
	c->online_tsc = rdtsc();
	if (id == c->apic_id)
		kprintf("CPU %u online (APIC ID %u)\n", c->index, id);
	else
		kprintf("CPU %u online (APIC ID %u, but the MADT says %u)\n", c->index, id, c->apic_id);
	__atomic_store_n(&c->state, CPU_ONLINE, __ATOMIC_RELEASE);
	sched_cpu_loop(); /* its processes (guest/proc.c); idle, STI; HLT: every IPI wakes it, its handler runs */
}

/* ---- IPIs ---- */

static uint32_t icr_fixed(unsigned vector)
{
	return APIC_ICR_LEVEL_ASSERT | (APIC_ICR_DELIVERY_FIXED << APIC_ICR_DELIVERY_SHIFT) | (vector & APIC_ICR_VECTOR_MASK);
}

bool smp_send_ipi(unsigned cpu, unsigned vector)
{
	return cpu < cpu_count && apic_send_ipi(cpu_table[cpu]->apic_id, icr_fixed(vector));
}

bool smp_send_nmi(unsigned cpu)
{
	return cpu < cpu_count &&
	       apic_send_ipi(cpu_table[cpu]->apic_id, APIC_ICR_LEVEL_ASSERT | (APIC_ICR_DELIVERY_NMI << APIC_ICR_DELIVERY_SHIFT));
}

bool smp_broadcast_ipi(unsigned vector)
{
	return apic_send_ipi(0, icr_fixed(vector) | (APIC_ICR_DEST_ALL_EXCL << APIC_ICR_SHORTHAND_SHIFT));
}

bool smp_call_async(unsigned cpu, void (*fn)(void *), void *arg)
{
	if (!smp_cpu_usable(cpu))
		return false;
	struct cpu *c = cpu_table[cpu];
	if (__atomic_load_n(&c->call_done, __ATOMIC_ACQUIRE) != c->call_posted)
		return false;
	c->call_fn = fn;
	c->call_arg = arg;
	__atomic_store_n(&c->call_posted, c->call_posted + 1, __ATOMIC_RELEASE);
	return smp_send_ipi(cpu, VECTOR_IPI_CALL);
}

bool smp_call_wait(unsigned cpu, uint64_t timeout_ms)
{
	if (cpu == 0 || cpu >= cpu_count)
		return false;
	struct cpu *c = cpu_table[cpu];
	const uint64_t start = rdtsc(), limit = tsc_cycles_ms(timeout_ms);
	while (__atomic_load_n(&c->call_done, __ATOMIC_ACQUIRE) != c->call_posted)
		if (rdtsc() - start >= limit)
			return false;
		else
			__asm__ volatile("pause");
	return true;
}

bool smp_call(unsigned cpu, void (*fn)(void *), void *arg, uint64_t timeout_ms)
{
	return smp_call_async(cpu, fn, arg) && smp_call_wait(cpu, timeout_ms);
}

unsigned smp_tlb_shootdown(uint64_t va, bool probe, uint64_t timeout_ms)
{
	unsigned want = 0;
	for (unsigned i = 1; i < cpu_count; i++)
		want += smp_cpu_usable(i);
	if (!want)
		return 0;
	shootdown_va = va;
	shootdown_probe = probe;
	__atomic_store_n(&shootdown_acks, 0, __ATOMIC_RELEASE);
	smp_broadcast_ipi(VECTOR_TLB_SHOOTDOWN);
	const uint64_t start = rdtsc(), limit = tsc_cycles_ms(timeout_ms);
	while (__atomic_load_n(&shootdown_acks, __ATOMIC_ACQUIRE) < want && rdtsc() - start < limit)
		__asm__ volatile("pause");
	return __atomic_load_n(&shootdown_acks, __ATOMIC_ACQUIRE);
}

/* A read of va that may fault: the fault is recorded in this CPU's kernel_fault. */
static void probe_read(uint64_t va)
{
	uint64_t value = 0;
	__asm__ volatile("1: movzbq (%1), %0\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") : "+r"(value) : "r"(va) : "memory");
}

static void shootdown_handler(struct cpu *c)
{
	const uint64_t va = shootdown_va;
	if (va == SHOOTDOWN_ALL)
		priv_write_cr3(priv_read_cr3());
	else
		invlpg(va);
	if (shootdown_probe && va != SHOOTDOWN_ALL) {
		const uint64_t before = kernel_fault.count;
		probe_read(va);
		if (kernel_fault.count != before) {
			c->probe_vector = kernel_fault.vector;
			c->probe_cr2 = kernel_fault.cr2;
			c->probe_faults++;
		}
	}
	c->shootdowns++;
	apic_eoi();
	__atomic_fetch_add(&shootdown_acks, 1, __ATOMIC_ACQ_REL);
}

void smp_ipi_dispatch(struct trap_frame *f, unsigned vector)
{
	(void)f;
	struct cpu *c = this_cpu();
	switch (vector) {
	case VECTOR_IPI_CALL:
		apic_eoi(); /* first: the function may never return */
		while (__atomic_load_n(&c->call_posted, __ATOMIC_ACQUIRE) != c->call_done) {
			const uint32_t seq = c->call_posted;
			c->call_fn(c->call_arg);
			__atomic_store_n(&c->call_done, seq, __ATOMIC_RELEASE);
		}
		break;
	case VECTOR_IPI_PING:
		c->pings++;
		apic_eoi();
		apic_send_ipi(cpu_boot.apic_id, icr_fixed(VECTOR_IPI_PONG));
		break;
	case VECTOR_IPI_PONG:
		smp_pongs++;
		apic_eoi();
		break;
	case VECTOR_TLB_SHOOTDOWN:
		shootdown_handler(c);
		break;
	case VECTOR_CPU_TIMER:
		c->timer_ticks++;
		apic_eoi();
		break;
	default:
		apic_eoi();
		break;
	}
}
