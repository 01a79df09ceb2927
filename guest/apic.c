/*
 * The local APIC, in x2APIC mode: every register is an MSR (SDM Vol. 3A 11.12.1.2), so each
 * access is an RDMSR/WRMSR exit to the monitor's virtual APIC, counted in the exit ledger.  The
 * xAPIC page is mapped too (uncached, SDM 11.4.1) for the tests of xAPIC mode, where each access
 * is an EPT-violation exit (mem=ept) or a #PF exit (mem=shadow) that the monitor emulates.
 * Interrupts land in irq_dispatch (from trap.c), which counts them and calls the vector's handler.
 *
 * Booted without the monitor on a machine without x2APIC (QEMU TCG), the kernel runs the local
 * APIC in xAPIC mode through the page instead.  Every CPU uses the mode the bootstrap processor
 * chose (apic_init_ap); IPIs go through apic_send_ipi in either mode.
 */
#include <arch/cpuid.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/segment.h>
#include "guest/apic.h"
#include "guest/kernel.h"
#include "guest/mm.h"
#include "guest/percpu.h"
#include "guest/priv.h"
#include "guest/smp.h"

uint64_t irq_count[IDT_VECTORS];
uint8_t irq_trace[IRQ_TRACE_MAX];
unsigned irq_trace_len;

static irq_handler_fn handlers[IDT_VECTORS];
static bool ready, xapic_mode;
bool apic_msrs_virtualized, apic_msrs_tpr_only;
static volatile uint32_t *const xapic_page = (volatile uint32_t *)(uintptr_t)APIC_BASE_DEFAULT;

bool apic_ready(void) { return ready; }

/* An xAPIC register access exits: an EPT violation, or with shadow paging a #PF (not in the ledger). */
static void ledger_xapic(void)
{
	if (!boot_config.mem_shadow)
		ledger_add(EXIT_REASON_EPT_VIOLATION, 1);
}

uint64_t apic_read(uint32_t offset)
{
	if (!xapic_mode)
		return priv_rdmsr(X2APIC_MSR(offset));
	ledger_xapic();
	return xapic_page[offset / sizeof(uint32_t)];
}

/* The monitor virtualizes x2APIC MSRs only while the APIC is in x2APIC mode and software-enabled. */
static bool software_enabled;
static void follow_virtualization(void)
{
	apic_msrs_virtualized = boot_config.apicv && !xapic_mode && software_enabled;
	apic_msrs_tpr_only = boot_config.apicv_tpr;
}

void apic_write(uint32_t offset, uint64_t value)
{
	if (!xapic_mode)
		priv_wrmsr(X2APIC_MSR(offset), value);
	else {
		ledger_xapic();
		xapic_page[offset / sizeof(uint32_t)] = (uint32_t)value;
	}
	if (offset == APIC_REG_SVR) {
		software_enabled = (value & APIC_SVR_ENABLE) != 0;
		follow_virtualization();
	}
}

bool apic_set_xapic_mode(bool xapic)
{
	const uint64_t base = priv_rdmsr(MSR_IA32_APIC_BASE);
	/* x2APIC -> xAPIC only through disabled (SDM 11.12.5, Figure 11-27), which resets the APIC. */
	if (xapic) {
		priv_wrmsr(MSR_IA32_APIC_BASE, base & ~(APIC_BASE_EN | APIC_BASE_EXTD));
		priv_wrmsr(MSR_IA32_APIC_BASE, (base & ~APIC_BASE_EXTD) | APIC_BASE_EN);
		software_enabled = false; /* the reset state: SVR 0xff (SDM 11.4.7.1) */
	} else {
		priv_wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	}
	xapic_mode = xapic;
	follow_virtualization();
	return (priv_rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD) == (xapic ? 0 : APIC_BASE_EXTD);
}
void apic_eoi(void) { apic_write(APIC_REG_EOI, 0); }
void apic_self_ipi(unsigned vector) { apic_write(APIC_REG_SELF_IPI, vector); }

/* The xAPIC page, uncached (PCD, PWT: SDM 11.4.1), mapped once in the shared kernel half. */
static void map_xapic_page(void)
{
	if (!ready && pt_map(kernel_aspace.cr3, APIC_BASE_DEFAULT, APIC_BASE_DEFAULT, PTE_P | PTE_W | PTE_PCD | PTE_PWT))
		kprintf("kernel: cannot map the xAPIC page\n");
}

/* The LVT and timer state every CPU starts from: software-enabled, TPR 0, timer stopped. */
static void apic_common_init(void)
{
	apic_write(APIC_REG_SVR, APIC_SVR_ENABLE | VECTOR_SPURIOUS);
	apic_write(APIC_REG_TPR, 0);
	apic_write(APIC_REG_TIMER_DCR, APIC_DCR_DIVIDE_BY_1);
	apic_timer_stop();
}

/* Without the monitor and without x2APIC: xAPIC mode, the registers in the page. */
static bool apic_init_xapic(void)
{
	map_xapic_page();
	const uint64_t base = priv_rdmsr(MSR_IA32_APIC_BASE);
	if ((base & APIC_BASE_ADDR_MASK) != APIC_BASE_DEFAULT) {
		kprintf("kernel: the local APIC is at %#llx, not at %#llx: not used\n",
			(unsigned long long)(base & APIC_BASE_ADDR_MASK), (unsigned long long)APIC_BASE_DEFAULT);
		return false;
	}
	if (!(base & APIC_BASE_EN))
		priv_wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EN);
	xapic_mode = true;
	software_enabled = (apic_read(APIC_REG_SVR) & APIC_SVR_ENABLE) != 0;
	follow_virtualization();
	apic_common_init();
	ready = true;
	return true;
}

bool apic_init(void)
{
	const struct cpuid_regs f = priv_cpuid(CPUID_LEAF_FEATURES, 0);
	if (!(f.edx & CPUID_1_EDX_APIC))
		return false;
	if (!(f.ecx & CPUID_1_ECX_X2APIC))
		return !hv_present && apic_init_xapic(); /* the monitor's APIC is used in x2APIC mode only */
	/* xAPIC -> x2APIC: set EXTD with EN (SDM 11.12.5). */
	const uint64_t base = priv_rdmsr(MSR_IA32_APIC_BASE);
	if (!(base & APIC_BASE_EXTD))
		priv_wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	xapic_mode = false;
	software_enabled = (apic_read(APIC_REG_SVR) & APIC_SVR_ENABLE) != 0;
	follow_virtualization();
	apic_common_init();
	map_xapic_page(); /* for the tests of xAPIC mode */
	ready = true;
	return true;
}

bool apic_x2apic_mode(void) { return !xapic_mode; }

uint32_t apic_id(void)
{
	const uint32_t id = (uint32_t)apic_read(APIC_REG_ID);
	return xapic_mode ? id >> XAPIC_ID_SHIFT : id; /* xAPIC: bits 31:24 (SDM 11.4.6) */
}

uint32_t apic_init_ap(void)
{
	const uint64_t base = priv_rdmsr(MSR_IA32_APIC_BASE);
	if (!xapic_mode && !(base & APIC_BASE_EXTD))
		priv_wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	else if (xapic_mode && !(base & APIC_BASE_EN))
		priv_wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EN);
	apic_common_init();
	return apic_id();
}

/* xAPIC: the previous IPI has left the ICR (delivery status idle, SDM 11.6.1); x2APIC has no such bit. */
#define ICR_IDLE_POLLS 1000000u
static bool xapic_icr_wait_idle(void)
{
	for (unsigned i = 0; i < ICR_IDLE_POLLS; i++) {
		if (!(apic_read(APIC_REG_ICR_LO) & APIC_ICR_DELIVERY_STATUS))
			return true;
		__asm__ volatile("pause");
	}
	return false;
}

bool apic_send_ipi(uint32_t dest, uint32_t icr_low)
{
	if (!xapic_mode) {
		apic_write(APIC_REG_ICR_LO, ((uint64_t)dest << X2APIC_ICR_DEST_SHIFT) | icr_low); /* one WRMSR */
		return true;
	}
	/* Two writes: no interrupt handler of this CPU may send its own IPI in between. */
	uint64_t flags;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) :: "memory");
	bool ok = xapic_icr_wait_idle();
	apic_write(APIC_REG_ICR_HI, (uint64_t)dest << XAPIC_ICR_DEST_SHIFT);
	apic_write(APIC_REG_ICR_LO, icr_low);
	ok = xapic_icr_wait_idle() && ok;
	if (flags & (1ull << 9)) /* RFLAGS.IF */
		__asm__ volatile("sti" ::: "memory");
	return ok;
}

void apic_timer_stop(void)
{
	apic_write(APIC_REG_LVT_TIMER, APIC_LVT_MASKED);
	apic_write(APIC_REG_TIMER_ICR, 0);
}

void apic_timer_oneshot(unsigned vector, uint32_t count)
{
	apic_write(APIC_REG_LVT_TIMER, APIC_LVT_TIMER_ONESHOT | vector);
	apic_write(APIC_REG_TIMER_ICR, count);
}

void apic_timer_periodic(unsigned vector, uint32_t count)
{
	apic_write(APIC_REG_LVT_TIMER, APIC_LVT_TIMER_PERIODIC | vector);
	apic_write(APIC_REG_TIMER_ICR, count);
}

void apic_timer_deadline(unsigned vector, uint64_t tsc)
{
	apic_write(APIC_REG_LVT_TIMER, APIC_LVT_TIMER_TSC_DEADLINE | vector);
	priv_wrmsr(MSR_IA32_TSC_DEADLINE, tsc);
}

void irq_set_handler(unsigned vector, irq_handler_fn h) { handlers[vector & APIC_VECTOR_MASK] = h; }

void irq_dispatch(struct trap_frame *f)
{
	const unsigned vector = (unsigned)f->vector & APIC_VECTOR_MASK;
	struct cpu *c = this_cpu();
	if (vector == VECTOR_NMI)
		c->nmis++;
	else
		c->irqs++;
	if (c->index == 0) { /* the suite's counters and trace are the bootstrap processor's */
		irq_count[vector]++;
		if (irq_trace_len < IRQ_TRACE_MAX)
			irq_trace[irq_trace_len++] = (uint8_t)vector;
	}
	if (vector >= VECTOR_SMP_FIRST && vector <= VECTOR_SMP_LAST) {
		smp_ipi_dispatch(f, vector); /* the kernel's own IPIs (guest/smp.c), not in the handler table */
		return;
	}
	if (handlers[vector])
		handlers[vector](f);
	else if (vector != VECTOR_SPURIOUS && vector != VECTOR_NMI)
		apic_eoi(); /* a spurious interrupt or an NMI sets no ISR bit: no EOI (SDM 11.9, 11.8.4) */
}
