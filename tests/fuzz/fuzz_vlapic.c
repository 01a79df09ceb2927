/*
 * libFuzzer harness: the virtual local APIC model (vmm/dev/vlapic.c), driven by a guest's
 * register accesses and time: every input byte sequence is a list of operations (xAPIC MMIO and
 * x2APIC MSR reads and writes at any offset with any value, IA32_APIC_BASE and IA32_TSC_DEADLINE
 * writes, time advancing by any amount, interrupts arriving, the CPU taking the pending one, EOI).
 * Properties (SDM Vol. 3A 11.8): PPR is TPR when TPR's class is at least the highest in-service
 * class, else that class (SDM 11.8.3.1); the pending vector, if any, is the highest IRR vector and
 * its class is above PPR's, and with the APIC enabled there is one whenever such a vector exists; taking it moves it from IRR to ISR; EOI clears the highest ISR bit
 * only; the next timer deadline never lies in the past after an advance; with the timer up to date,
 * a read changes IRR only by the error interrupt; a software-disabled APIC accepts no fixed
 * interrupt; CR8 is TPR[7:4] and refuses bits 63:4; and every operation that changes what may be
 * delivered (IRR, ISR, TPR, a pending NMI, the mode or SVR) sets events_changed, which the monitor
 * relies on to skip looking at injection before most VM entries.
 */
#include <stdbool.h>
#include <string.h>
#include "fuzz.h"
#include "vmm/vlapic.h"

#define CLASS(v)        ((uint32_t)(v) >> 4)
#define MSR_X2APIC_BASE 0x800u
#define MSR_X2APIC_SPAN 0x100u
#define APIC_OFFSET_SPAN 0x1000u
#define PHYS_MASK       ((1ull << 46) - 1)
#define MAX_OPS         256
#define APIC_VECTORS    256u
#define LVT_ERROR_SLOT  (APIC_LVT_COUNT - 1) /* struct vlapic's LVTs: CMCI, timer, thermal, perf, LINT0, LINT1, error */

enum op { OP_MMIO_READ, OP_MMIO_WRITE, OP_MSR_READ, OP_MSR_WRITE, OP_BASE, OP_TSC_DEADLINE, OP_TIME,
	  OP_IRQ, OP_TAKE, OP_EOI, OP_CR8, OP_TSC_OFFSET, OP_COUNT };

/* What decides delivery: any change of it must set events_changed. */
struct delivery_state {
	uint32_t irr[APIC_VECTOR_REGS], isr[APIC_VECTOR_REGS], tpr, svr;
	uint64_t apic_base;
	bool nmi_pending;
};

static void snapshot(const struct vlapic *a, struct delivery_state *d)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->irr, a->irr, sizeof(d->irr));
	memcpy(d->isr, a->isr, sizeof(d->isr));
	d->tpr = a->tpr, d->svr = a->svr, d->apic_base = a->apic_base, d->nmi_pending = a->nmi_pending;
}

static void check_priorities(const struct vlapic *a)
{
	const uint32_t ppr = vlapic_ppr(a);
	const int isr = vlapic_highest_isr(a);
	const uint32_t isrv_class = isr == VLAPIC_NO_VECTOR ? 0 : CLASS(isr);
	if (CLASS(a->tpr & 0xff) >= isrv_class)
		FUZZ_CHECK(ppr == (a->tpr & 0xff));
	else
		FUZZ_CHECK(ppr == isrv_class << 4);
	const int pending = vlapic_pending_vector(a);
	if (pending != VLAPIC_NO_VECTOR) {
		FUZZ_CHECK(pending == vlapic_highest_irr(a));
		FUZZ_CHECK(CLASS(pending) > CLASS(ppr));
	} else if (vlapic_mode(a) != VLAPIC_DISABLED) { /* a globally disabled APIC delivers nothing */
		const int irr = vlapic_highest_irr(a);
		FUZZ_CHECK(irr == VLAPIC_NO_VECTOR || CLASS(irr) <= CLASS(ppr));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	struct vlapic a;
	uint64_t now = fuzz_u32(&in);
	uint64_t tsc_offset = 0; /* guest TSC = host TSC + tsc_offset (a WRMSR IA32_TSC moves it) */
	vlapic_reset(&a, fuzz_u8(&in), true);
	for (unsigned i = 0; i < MAX_OPS && in.size; i++) {
		const enum op op = (enum op)(fuzz_u8(&in) % OP_COUNT);
		uint64_t value;
		struct delivery_state before, after;
		snapshot(&a, &before);
		a.events_changed = false;
		switch (op) {
		case OP_MMIO_READ: {
			uint32_t irr[APIC_VECTOR_REGS];
			vlapic_advance(&a, now); /* a read may bring the timer up to date: do it first */
			memcpy(irr, a.irr, sizeof(irr));
			(void)vlapic_mmio_read(&a, fuzz_u16(&in) % APIC_OFFSET_SPAN, now);
			/* Only the error interrupt may arrive: a read of an absent register sets ESR (SDM 11.5.3). */
			const unsigned err_vector = a.lvt[LVT_ERROR_SLOT] & APIC_LVT_VECTOR_MASK;
			for (unsigned v = 0; v < APIC_VECTORS; v++)
				FUZZ_CHECK(v == err_vector || vlapic_vector_in(irr, v) == vlapic_vector_in(a.irr, v));
			break;
		}
		case OP_MMIO_WRITE: vlapic_mmio_write(&a, fuzz_u16(&in) % APIC_OFFSET_SPAN, fuzz_u32(&in), now); break;
		case OP_MSR_READ: (void)vlapic_msr_read(&a, MSR_X2APIC_BASE + fuzz_u8(&in) % MSR_X2APIC_SPAN, now, &value); break;
		case OP_MSR_WRITE: {
			const uint32_t msr = MSR_X2APIC_BASE + fuzz_u8(&in) % MSR_X2APIC_SPAN;
			(void)vlapic_msr_write(&a, msr, fuzz_u64(&in), now);
			break;
		}
		case OP_BASE: (void)vlapic_set_base(&a, fuzz_u64(&in), PHYS_MASK, now); break;
		case OP_TSC_DEADLINE: vlapic_tsc_deadline_write(&a, now + tsc_offset + fuzz_u32(&in), tsc_offset, now); break;
		case OP_TSC_OFFSET:
			tsc_offset = fuzz_u64(&in);
			vlapic_tsc_offset_changed(&a, tsc_offset, now);
			FUZZ_CHECK(vlapic_next_deadline(&a) == VLAPIC_NO_DEADLINE || vlapic_next_deadline(&a) > now);
			break;
		case OP_TIME:
			now += fuzz_u32(&in);
			vlapic_advance(&a, now);
			FUZZ_CHECK(vlapic_next_deadline(&a) == VLAPIC_NO_DEADLINE || vlapic_next_deadline(&a) > now);
			break;
		case OP_IRQ: {
			const bool enabled = vlapic_software_enabled(&a);
			vlapic_set_irr(&a, fuzz_u8(&in));
			if (!enabled) /* SDM 11.4.7.2: refused, the IRR kept as it was */
				FUZZ_CHECK(memcmp(before.irr, a.irr, sizeof(a.irr)) == 0);
			break;
		}
		case OP_CR8: {
			const uint64_t cr8 = fuzz_u8(&in) & 1 ? fuzz_u64(&in) : fuzz_u8(&in) & APIC_CR8_MASK;
			const bool ok = vlapic_write_cr8(&a, cr8);
			FUZZ_CHECK(ok == !(cr8 & ~APIC_CR8_MASK));
			FUZZ_CHECK(a.tpr == (ok ? (uint32_t)cr8 << APIC_CR8_TPR_SHIFT : before.tpr));
			FUZZ_CHECK(vlapic_read_cr8(&a) == ((a.tpr & APIC_TPR_MASK) >> APIC_CR8_TPR_SHIFT));
			break;
		}
		case OP_TAKE: {
			const int v = vlapic_pending_vector(&a);
			if (v != VLAPIC_NO_VECTOR) {
				vlapic_accept_interrupt(&a, (unsigned)v);
				FUZZ_CHECK(vlapic_vector_in(a.isr, (unsigned)v));
				FUZZ_CHECK(!vlapic_vector_in(a.irr, (unsigned)v));
			}
			break;
		}
		case OP_EOI: {
			const int top = vlapic_highest_isr(&a);
			uint32_t isr[APIC_VECTOR_REGS];
			memcpy(isr, a.isr, sizeof(isr));
			vlapic_eoi(&a);
			if (top != VLAPIC_NO_VECTOR) {
				FUZZ_CHECK(!vlapic_vector_in(a.isr, (unsigned)top));
				for (unsigned v = 0; v < (unsigned)top; v++)
					FUZZ_CHECK(vlapic_vector_in(a.isr, v) == vlapic_vector_in(isr, v));
			}
			break;
		}
		case OP_COUNT: break;
		}
		snapshot(&a, &after);
		if (memcmp(&before, &after, sizeof(before)) != 0)
			FUZZ_CHECK(a.events_changed);
		check_priorities(&a);
	}
	return 0;
}
