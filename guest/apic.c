/*
 * The local APIC, in x2APIC mode: every register is an MSR (SDM Vol. 3A 11.12.1.2), so each
 * access is an RDMSR/WRMSR exit to the monitor's virtual APIC, counted in the exit ledger.
 * Interrupts land in irq_dispatch (from trap.c), which counts them and calls the vector's handler.
 */
#include <arch/cpuid.h>
#include <arch/msr.h>
#include "guest/apic.h"
#include "guest/kernel.h"
#include "guest/priv.h"

uint64_t irq_count[IDT_VECTORS];
uint8_t irq_trace[IRQ_TRACE_MAX];
unsigned irq_trace_len;

static irq_handler_fn handlers[IDT_VECTORS];
static bool ready;

bool apic_ready(void) { return ready; }

uint64_t apic_read(uint32_t offset) { return priv_rdmsr(X2APIC_MSR(offset)); }
void apic_write(uint32_t offset, uint64_t value) { priv_wrmsr(X2APIC_MSR(offset), value); }
void apic_eoi(void) { apic_write(APIC_REG_EOI, 0); }
void apic_self_ipi(unsigned vector) { apic_write(APIC_REG_SELF_IPI, vector); }

bool apic_init(void)
{
	const struct cpuid_regs f = priv_cpuid(CPUID_LEAF_FEATURES, 0);
	if (!(f.edx & CPUID_1_EDX_APIC) || !(f.ecx & CPUID_1_ECX_X2APIC))
		return false;
	/* xAPIC -> x2APIC: set EXTD with EN (SDM 11.12.5). */
	const uint64_t base = priv_rdmsr(MSR_IA32_APIC_BASE);
	if (!(base & APIC_BASE_EXTD))
		priv_wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	apic_write(APIC_REG_SVR, APIC_SVR_ENABLE | VECTOR_SPURIOUS);
	apic_write(APIC_REG_TPR, 0);
	apic_write(APIC_REG_TIMER_DCR, APIC_DCR_DIVIDE_BY_1);
	apic_timer_stop();
	ready = true;
	return true;
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
	irq_count[vector]++;
	if (irq_trace_len < IRQ_TRACE_MAX)
		irq_trace[irq_trace_len++] = (uint8_t)vector;
	if (handlers[vector])
		handlers[vector](f);
	else if (vector != VECTOR_SPURIOUS)
		apic_eoi(); /* a spurious interrupt sets no ISR bit: no EOI (SDM 11.9) */
}
