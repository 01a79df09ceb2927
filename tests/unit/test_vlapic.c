/* Host unit tests for vmm/dev/vlapic.c: the virtual local APIC (SDM Vol. 3A chapter 11). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm/vlapic.h"

#define PHYS_MASK ((1ull << 46) - 1)
#define T0 1000000ull
#define X2(reg) X2APIC_MSR(APIC_REG_##reg)

static struct vlapic apic;

/* An APIC in x2APIC mode, software-enabled, TPR 0. */
static void x2apic_up(struct vlapic *a)
{
	vlapic_reset(a, 0, true);
	assert_true(vlapic_set_base(a, APIC_BASE_DEFAULT | APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP, PHYS_MASK, T0));
	assert_int_equal(vlapic_msr_write(a, X2(SVR), APIC_SVR_ENABLE | 0xff, T0), VLAPIC_OK);
}

static uint64_t rd(struct vlapic *a, uint32_t msr, uint64_t now)
{
	uint64_t v = 0;
	assert_int_equal(vlapic_msr_read(a, msr, now, &v), VLAPIC_OK);
	return v;
}

static void wr(struct vlapic *a, uint32_t msr, uint64_t value, uint64_t now)
{
	assert_int_equal(vlapic_msr_write(a, msr, value, now), VLAPIC_OK);
}

/* Take the pending interrupt as the CPU would; returns its vector or -1. */
static int take(struct vlapic *a)
{
	int v = vlapic_pending_vector(a);
	if (v >= 0)
		vlapic_accept_interrupt(a, (unsigned)v);
	return v;
}

static void test_reset_state(void **s)
{
	(void)s;
	vlapic_reset(&apic, 3, true);
	assert_int_equal(vlapic_mode(&apic), VLAPIC_XAPIC);
	assert_int_equal(apic.apic_base, APIC_BASE_DEFAULT | APIC_BASE_EN | APIC_BASE_BSP);
	assert_int_equal(vlapic_mmio_read(&apic, APIC_REG_ID, T0), 3u << 24);
	assert_int_equal(vlapic_mmio_read(&apic, APIC_REG_VERSION, T0), 0x00060014u);
	assert_int_equal(vlapic_mmio_read(&apic, APIC_REG_SVR, T0), 0xffu);
	assert_int_equal(vlapic_mmio_read(&apic, APIC_REG_DFR, T0), 0xffffffffu);
	for (uint32_t off = APIC_REG_LVT_TIMER; off <= APIC_REG_LVT_ERROR; off += APIC_REG_STRIDE)
		assert_int_equal(vlapic_mmio_read(&apic, off, T0), APIC_LVT_MASKED);
	assert_int_equal(vlapic_next_deadline(&apic), VLAPIC_NO_DEADLINE);
}

/* SDM 11.12.5: the allowed IA32_APIC_BASE transitions, and reserved bits. */
static void test_apic_base_transitions(void **s)
{
	(void)s;
	const uint64_t en = APIC_BASE_DEFAULT | APIC_BASE_EN | APIC_BASE_BSP, x2 = en | APIC_BASE_EXTD;
	const uint64_t off = APIC_BASE_DEFAULT | APIC_BASE_BSP;
	vlapic_reset(&apic, 0, true);
	assert_false(vlapic_set_base(&apic, en | (1ull << 9), PHYS_MASK, T0));   /* reserved bit 9 */
	assert_false(vlapic_set_base(&apic, en | (1ull << 50), PHYS_MASK, T0));  /* above MAXPHYADDR */
	assert_false(vlapic_set_base(&apic, off | APIC_BASE_EXTD, PHYS_MASK, T0)); /* EXTD without EN */
	assert_false(vlapic_set_base(&apic, en & ~APIC_BASE_BSP, PHYS_MASK, T0)); /* BSP is read-only */
	assert_true(vlapic_set_base(&apic, x2, PHYS_MASK, T0));                  /* xAPIC -> x2APIC */
	assert_int_equal(vlapic_mode(&apic), VLAPIC_X2APIC);
	assert_false(vlapic_set_base(&apic, en, PHYS_MASK, T0));                 /* x2APIC -> xAPIC */
	assert_true(vlapic_set_base(&apic, off, PHYS_MASK, T0));                 /* x2APIC -> disabled */
	assert_false(vlapic_set_base(&apic, x2, PHYS_MASK, T0));                 /* disabled -> x2APIC */
	assert_true(vlapic_set_base(&apic, en, PHYS_MASK, T0));                  /* disabled -> xAPIC */
	assert_true(vlapic_set_base(&apic, x2, PHYS_MASK, T0));
}

/* x2APIC register rules (SDM 11.12.1.2): read-only, write-only, absent registers and reserved bits #GP. */
static void test_x2apic_access_rules(void **s)
{
	(void)s;
	uint64_t v;
	vlapic_reset(&apic, 5, true);
	assert_int_equal(vlapic_msr_read(&apic, X2(TPR), T0, &v), VLAPIC_GP); /* xAPIC mode: no MSRs */
	x2apic_up(&apic);
	vlapic_reset(&apic, 0x25, true);
	assert_true(vlapic_set_base(&apic, APIC_BASE_DEFAULT | APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP, PHYS_MASK, T0));
	assert_int_equal(rd(&apic, X2(ID), T0), 0x25);
	assert_int_equal(rd(&apic, X2(LDR), T0), (2u << 16) | (1u << 5));
	assert_int_equal(vlapic_msr_write(&apic, X2(ID), 1, T0), VLAPIC_GP);
	assert_int_equal(vlapic_msr_write(&apic, X2(LDR), 1, T0), VLAPIC_GP);
	assert_int_equal(vlapic_msr_write(&apic, X2(VERSION), 1, T0), VLAPIC_GP);
	assert_int_equal(vlapic_msr_write(&apic, X2(PPR), 1, T0), VLAPIC_GP);
	assert_int_equal(vlapic_msr_read(&apic, X2(EOI), T0, &v), VLAPIC_GP);
	assert_int_equal(vlapic_msr_read(&apic, X2(SELF_IPI), T0, &v), VLAPIC_GP);
	assert_int_equal(vlapic_msr_read(&apic, X2(DFR), T0, &v), VLAPIC_GP);
	assert_int_equal(vlapic_msr_read(&apic, X2(ICR_HI), T0, &v), VLAPIC_GP);
	assert_int_equal(vlapic_msr_read(&apic, X2APIC_MSR_BASE + 0x01, T0, &v), VLAPIC_GP); /* absent */
	assert_int_equal(vlapic_msr_write(&apic, X2(TPR), 0x100, T0), VLAPIC_GP);  /* reserved bits */
	assert_int_equal(vlapic_msr_write(&apic, X2(EOI), 1, T0), VLAPIC_GP);      /* EOI takes 0 only */
	assert_int_equal(vlapic_msr_write(&apic, X2(ESR), 1, T0), VLAPIC_GP);
	wr(&apic, X2(TPR), 0x40, T0);
	assert_int_equal(rd(&apic, X2(TPR), T0), 0x40);
	wr(&apic, X2(TIMER_DCR), APIC_DCR_DIVIDE_BY_1, T0);
	assert_int_equal(rd(&apic, X2(TIMER_DCR), T0), APIC_DCR_DIVIDE_BY_1);
	for (unsigned n = 0; n < 8; n++)
		assert_int_equal(rd(&apic, X2APIC_MSR(APIC_REG_IRR0) + n, T0), 0);
}

/* xAPIC MMIO: an absent register sets ESR bit 7, latched by the next ESR write (SDM 11.5.3). */
static void test_xapic_illegal_register(void **s)
{
	(void)s;
	vlapic_reset(&apic, 0, true);
	vlapic_mmio_write(&apic, APIC_REG_SVR, APIC_SVR_ENABLE | 0xff, T0);
	assert_int_equal(vlapic_mmio_read(&apic, 0x3f0 /* SELF_IPI: x2APIC only */, T0), 0);
	assert_int_equal(vlapic_mmio_read(&apic, APIC_REG_ESR, T0), 0);
	vlapic_mmio_write(&apic, APIC_REG_ESR, 0, T0);
	assert_int_equal(vlapic_mmio_read(&apic, APIC_REG_ESR, T0), APIC_ESR_ILLEGAL_REGISTER);
	vlapic_mmio_write(&apic, APIC_REG_ESR, 0, T0);
	assert_int_equal(vlapic_mmio_read(&apic, APIC_REG_ESR, T0), 0);
	/* Read-only registers ignore writes. */
	vlapic_mmio_write(&apic, APIC_REG_VERSION, 0, T0);
	assert_int_equal(vlapic_mmio_read(&apic, APIC_REG_VERSION, T0), 0x00060014u);
	vlapic_mmio_write(&apic, APIC_REG_ESR, 0, T0);
	assert_int_equal(vlapic_mmio_read(&apic, APIC_REG_ESR, T0), 0);
}

/* Priorities (SDM 11.8.3): highest vector first, only above the PPR class; TPR raises PPR. */
static void test_priorities_and_tpr(void **s)
{
	(void)s;
	x2apic_up(&apic);
	vlapic_set_irr(&apic, 0x41);
	vlapic_set_irr(&apic, 0x52);
	vlapic_set_irr(&apic, 0x35);
	wr(&apic, X2(TPR), 0x50, T0);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR); /* class 5 is not above TPR class 5 */
	assert_int_equal(rd(&apic, X2(PPR), T0), 0x50);
	wr(&apic, X2(TPR), 0x4f, T0);
	assert_int_equal(vlapic_pending_vector(&apic), 0x52);
	wr(&apic, X2(TPR), 0, T0);
	assert_int_equal(take(&apic), 0x52);
	/* In service at class 5: PPR = 0x50, so 0x41 and 0x35 wait. */
	assert_int_equal(rd(&apic, X2(PPR), T0), 0x50);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR);
	wr(&apic, X2(EOI), 0, T0);
	assert_int_equal(take(&apic), 0x41);
	wr(&apic, X2(EOI), 0, T0);
	assert_int_equal(take(&apic), 0x35);
	wr(&apic, X2(EOI), 0, T0);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR);
	assert_int_equal(rd(&apic, X2(PPR), T0), 0);
	/* Two vectors of the same class: the higher first, the lower waits until EOI. */
	vlapic_set_irr(&apic, 0x60);
	vlapic_set_irr(&apic, 0x6f);
	assert_int_equal(take(&apic), 0x6f);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR);
	wr(&apic, X2(EOI), 0, T0);
	assert_int_equal(take(&apic), 0x60);
	wr(&apic, X2(EOI), 0, T0);
}

/* Nested interrupts: a higher class preempts; EOIs retire the highest ISR bit first (SDM 11.8.5). */
static void test_nested_eoi_order(void **s)
{
	(void)s;
	x2apic_up(&apic);
	wr(&apic, X2(SELF_IPI), 0x40, T0);
	assert_int_equal(take(&apic), 0x40);
	wr(&apic, X2(ICR_LO), APIC_ICR_DEST_SELF << 18 | 0x80, T0); /* self-IPI through the ICR */
	assert_int_equal(take(&apic), 0x80);
	wr(&apic, X2(SELF_IPI), 0x60, T0);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR); /* below 0x80 in service */
	assert_int_equal(rd(&apic, X2APIC_MSR(APIC_REG_ISR0) + 2, T0), 1u << 0);
	assert_int_equal(rd(&apic, X2APIC_MSR(APIC_REG_ISR0) + 4, T0), 1u << 0);
	wr(&apic, X2(EOI), 0, T0); /* retires 0x80 */
	assert_int_equal(rd(&apic, X2APIC_MSR(APIC_REG_ISR0) + 4, T0), 0);
	assert_int_equal(take(&apic), 0x60); /* above 0x40 still in service */
	wr(&apic, X2(EOI), 0, T0); /* retires 0x60 */
	assert_int_equal(rd(&apic, X2APIC_MSR(APIC_REG_ISR0) + 2, T0), 1u << 0);
	wr(&apic, X2(EOI), 0, T0); /* retires 0x40 */
	assert_int_equal(rd(&apic, X2(PPR), T0), 0);
	assert_int_equal(rd(&apic, X2APIC_MSR(APIC_REG_ISR0) + 2, T0), 0);
}

/* Illegal vectors (SDM 11.5.3): a self-IPI of vector < 16 sets "send illegal vector", and the error LVT fires. */
static void test_illegal_vector_esr(void **s)
{
	(void)s;
	x2apic_up(&apic);
	wr(&apic, X2(LVT_ERROR), 0xfe, T0);
	wr(&apic, X2(ICR_LO), APIC_ICR_DEST_SELF << 18 | 0x05, T0);
	wr(&apic, X2(ESR), 0, T0);
	assert_int_equal(rd(&apic, X2(ESR), T0), APIC_ESR_SEND_ILLEGAL_VECTOR);
	assert_int_equal(take(&apic), 0xfe);
	wr(&apic, X2(EOI), 0, T0);
	/* An LVT with an illegal vector: received illegal vector. */
	wr(&apic, X2(LVT_TIMER), 0x03, T0);
	wr(&apic, X2(TIMER_DCR), APIC_DCR_DIVIDE_BY_1, T0);
	wr(&apic, X2(TIMER_ICR), 10, T0);
	vlapic_advance(&apic, T0 + 10);
	wr(&apic, X2(ESR), 0, T0 + 10);
	assert_int_equal(rd(&apic, X2(ESR), T0 + 10), APIC_ESR_RECEIVE_ILLEGAL_VECTOR);
}

/* LVT masks: a masked timer expires (and reloads) without an interrupt; software disable masks all. */
static void test_masked_lvt(void **s)
{
	(void)s;
	x2apic_up(&apic);
	wr(&apic, X2(TIMER_DCR), APIC_DCR_DIVIDE_BY_1, T0);
	wr(&apic, X2(LVT_TIMER), APIC_LVT_MASKED | APIC_LVT_TIMER_PERIODIC | 0x40, T0);
	wr(&apic, X2(TIMER_ICR), 100, T0);
	vlapic_advance(&apic, T0 + 250);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR);
	assert_int_equal(apic.timer_fired, 1); /* 100 and 200 merge: one expiry seen late */
	assert_int_equal(vlapic_next_deadline(&apic), T0 + 300);
	wr(&apic, X2(LVT_TIMER), APIC_LVT_TIMER_PERIODIC | 0x40, T0 + 250);
	vlapic_advance(&apic, T0 + 300);
	assert_int_equal(take(&apic), 0x40);
	/* Software disable sets every mask, and they cannot be cleared while disabled (SDM 11.4.7.2). */
	wr(&apic, X2(SVR), 0xff, T0);
	assert_true(rd(&apic, X2(LVT_TIMER), T0) & APIC_LVT_MASKED);
	wr(&apic, X2(LVT_LINT0), 0x30, T0);
	assert_true(rd(&apic, X2(LVT_LINT0), T0) & APIC_LVT_MASKED);
}

static void test_divide_configuration(void **s)
{
	(void)s;
	static const struct { uint32_t dcr; unsigned div; } t[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 }, { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(vlapic_timer_divisor(t[i].dcr), t[i].div);
}

/* One-shot (SDM 11.5.4): expires once at initial count * divisor; the current count counts down to 0. */
static void test_timer_oneshot(void **s)
{
	(void)s;
	x2apic_up(&apic);
	wr(&apic, X2(TIMER_DCR), 0x3 /* divide by 16 */, T0);
	wr(&apic, X2(LVT_TIMER), APIC_LVT_TIMER_ONESHOT | 0x31, T0);
	wr(&apic, X2(TIMER_ICR), 1000, T0);
	assert_int_equal(vlapic_next_deadline(&apic), T0 + 16000);
	assert_int_equal(rd(&apic, X2(TIMER_CCR), T0 + 8000), 500);
	vlapic_advance(&apic, T0 + 15999);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR);
	vlapic_advance(&apic, T0 + 16000);
	assert_int_equal(take(&apic), 0x31);
	assert_int_equal(rd(&apic, X2(TIMER_CCR), T0 + 16001), 0);
	assert_int_equal(vlapic_next_deadline(&apic), VLAPIC_NO_DEADLINE);
	vlapic_advance(&apic, T0 + 100000);
	assert_int_equal(apic.timer_fired, 1);
	/* Writing 0 stops an armed timer. */
	wr(&apic, X2(TIMER_ICR), 50, T0 + 100000);
	wr(&apic, X2(TIMER_ICR), 0, T0 + 100010);
	assert_int_equal(vlapic_next_deadline(&apic), VLAPIC_NO_DEADLINE);
}

/* Periodic: reloads every initial count * divisor, on the original grid. */
static void test_timer_periodic(void **s)
{
	(void)s;
	x2apic_up(&apic);
	wr(&apic, X2(TIMER_DCR), 0x0 /* divide by 2 */, T0);
	wr(&apic, X2(LVT_TIMER), APIC_LVT_TIMER_PERIODIC | 0x32, T0);
	wr(&apic, X2(TIMER_ICR), 500, T0);
	for (unsigned n = 1; n <= 3; n++) {
		assert_int_equal(vlapic_next_deadline(&apic), T0 + n * 1000);
		vlapic_advance(&apic, T0 + n * 1000 + 7); /* seen a little late: the grid does not drift */
		assert_int_equal(take(&apic), 0x32);
		wr(&apic, X2(EOI), 0, T0 + n * 1000 + 7);
	}
	assert_int_equal(rd(&apic, X2(TIMER_CCR), T0 + 3500), 250);
}

/* TSC-deadline (SDM 11.5.4.1): fires at the deadline, the MSR then reads 0; mode switches disarm. */
static void test_timer_tsc_deadline(void **s)
{
	(void)s;
	x2apic_up(&apic);
	vlapic_tsc_deadline_write(&apic, T0 + 10, 0, T0); /* not in deadline mode: ignored */
	assert_int_equal(vlapic_tsc_deadline_read(&apic), 0);
	wr(&apic, X2(LVT_TIMER), APIC_LVT_TIMER_TSC_DEADLINE | 0x33, T0);
	wr(&apic, X2(TIMER_ICR), 100, T0); /* ignored in deadline mode */
	assert_int_equal(rd(&apic, X2(TIMER_ICR), T0), 0);
	vlapic_tsc_deadline_write(&apic, T0 + 5000, 0, T0);
	assert_int_equal(vlapic_tsc_deadline_read(&apic), T0 + 5000);
	assert_int_equal(vlapic_next_deadline(&apic), T0 + 5000);
	vlapic_advance(&apic, T0 + 4999);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR);
	vlapic_advance(&apic, T0 + 5000);
	assert_int_equal(take(&apic), 0x33);
	assert_int_equal(vlapic_tsc_deadline_read(&apic), 0);
	wr(&apic, X2(EOI), 0, T0 + 5000);
	/* A deadline in the past fires at once. */
	vlapic_tsc_deadline_write(&apic, T0, 0, T0 + 6000);
	assert_int_equal(take(&apic), 0x33);
	wr(&apic, X2(EOI), 0, T0 + 6000);
	/* Leaving deadline mode disarms. */
	vlapic_tsc_deadline_write(&apic, T0 + 9000, 0, T0 + 6000);
	wr(&apic, X2(LVT_TIMER), APIC_LVT_TIMER_ONESHOT | 0x33, T0 + 6000);
	assert_int_equal(vlapic_next_deadline(&apic), VLAPIC_NO_DEADLINE);
}

/*
 * The guest's TSC is the host's + an offset (its IA32_TSC writes): the deadline is a guest-TSC value,
 * the timer a host one; moving the guest's TSC keeps the deadline's guest value (SDM 11.5.4.1).
 */
#define GUEST_AHEAD (1ull << 40)

static void test_timer_tsc_deadline_offset(void **s)
{
	(void)s;
	x2apic_up(&apic);
	wr(&apic, X2(LVT_TIMER), APIC_LVT_TIMER_TSC_DEADLINE | 0x33, T0);
	/* The guest's TSC runs GUEST_AHEAD ahead: its deadline 5000 cycles on is host T0 + 5000. */
	vlapic_tsc_deadline_write(&apic, T0 + GUEST_AHEAD + 5000, GUEST_AHEAD, T0);
	assert_int_equal(vlapic_tsc_deadline_read(&apic), T0 + GUEST_AHEAD + 5000);
	assert_int_equal(vlapic_next_deadline(&apic), T0 + 5000);
	/* The guest sets its TSC back by GUEST_AHEAD at T0 + 1000: the deadline is GUEST_AHEAD further. */
	vlapic_tsc_offset_changed(&apic, 0, T0 + 1000);
	assert_int_equal(vlapic_next_deadline(&apic), T0 + GUEST_AHEAD + 5000);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR);
	/* ...and forward past it: fires at once, the MSR reads 0. */
	vlapic_tsc_offset_changed(&apic, GUEST_AHEAD + 4000, T0 + 2000);
	assert_int_equal(take(&apic), 0x33);
	assert_int_equal(vlapic_tsc_deadline_read(&apic), 0);
	wr(&apic, X2(EOI), 0, T0 + 2000);
	/* An offset that wraps the host's value (the guest far behind): compared in guest time. */
	const uint64_t behind = -(T0 + 100); /* the guest's TSC reads 0 at host T0 + 100 */
	vlapic_tsc_deadline_write(&apic, 300, behind, T0 + 100);
	assert_int_equal(vlapic_next_deadline(&apic), T0 + 400);
	vlapic_advance(&apic, T0 + 399);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR);
	vlapic_advance(&apic, T0 + 400);
	assert_int_equal(take(&apic), 0x33);
	wr(&apic, X2(EOI), 0, T0 + 400);
	/* A deadline beyond what the host's TSC can reach: armed, never due. */
	vlapic_tsc_deadline_write(&apic, ~0ull, GUEST_AHEAD, T0);
	assert_true(vlapic_next_deadline(&apic) > T0 + GUEST_AHEAD);
	vlapic_advance(&apic, ~0ull - GUEST_AHEAD - 1);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR);
	/* Outside TSC-deadline mode an offset change touches nothing. */
	wr(&apic, X2(LVT_TIMER), APIC_LVT_TIMER_ONESHOT | 0x33, T0);
	wr(&apic, X2(TIMER_ICR), 100, T0);
	const uint64_t oneshot = vlapic_next_deadline(&apic);
	vlapic_tsc_offset_changed(&apic, GUEST_AHEAD, T0 + 10);
	assert_int_equal(vlapic_next_deadline(&apic), oneshot);
}

/* The virtual-APIC page (SDM 30.1): registers at their offsets out; TPR, ISR, IRR back in. */
static void test_virtual_apic_page(void **s)
{
	(void)s;
	static uint32_t page[VLAPIC_PAGE_WORDS];
	x2apic_up(&apic);
	wr(&apic, X2(TPR), 0x20, T0);
	wr(&apic, X2(LVT_TIMER), APIC_LVT_TIMER_PERIODIC | 0x40, T0);
	vlapic_set_irr(&apic, 0x81);
	vlapic_page_store(&apic, page, T0);
	assert_int_equal(page[APIC_REG_TPR / 4], 0x20);
	assert_int_equal(page[APIC_REG_VERSION / 4], 0x00060014u);
	assert_int_equal(page[APIC_REG_SVR / 4], APIC_SVR_ENABLE | 0xff);
	assert_int_equal(page[APIC_REG_LVT_TIMER / 4], APIC_LVT_TIMER_PERIODIC | 0x40);
	assert_int_equal(page[(APIC_REG_IRR0 + 4 * APIC_REG_STRIDE) / 4], 1u << 1);
	assert_int_equal(page[APIC_REG_EOI / 4], 0);
	assert_int_equal(vlapic_highest_irr(&apic), 0x81);
	assert_int_equal(vlapic_highest_isr(&apic), VLAPIC_NO_VECTOR);
	/* The CPU delivered 0x81 (IRR -> ISR) and the guest wrote TPR 0x30. */
	page[(APIC_REG_IRR0 + 4 * APIC_REG_STRIDE) / 4] = 0;
	page[(APIC_REG_ISR0 + 4 * APIC_REG_STRIDE) / 4] = 1u << 1;
	page[APIC_REG_TPR / 4] = 0x30;
	vlapic_page_load(&apic, page);
	assert_int_equal(vlapic_highest_isr(&apic), 0x81);
	assert_int_equal(vlapic_highest_irr(&apic), VLAPIC_NO_VECTOR);
	assert_int_equal(rd(&apic, X2(PPR), T0), 0x80);
	assert_int_equal(rd(&apic, X2(TPR), T0), 0x30);
	/* A timer expiry changes only the vectors: the store rewrites them, not the other registers. */
	assert_false(apic.changed || apic.regs_changed);
	wr(&apic, X2(TIMER_DCR), APIC_DCR_DIVIDE_BY_1, T0);
	wr(&apic, X2(TIMER_ICR), 10, T0);
	vlapic_page_store(&apic, page, T0);
	page[APIC_REG_SVR / 4] = 0xdead;
	vlapic_advance(&apic, T0 + 10);
	assert_true(apic.changed && !apic.regs_changed);
	vlapic_page_store(&apic, page, T0 + 10);
	assert_int_equal(page[(APIC_REG_IRR0 + 2 * APIC_REG_STRIDE) / 4], 1u << 0);
	assert_int_equal(page[APIC_REG_SVR / 4], 0xdead);
}

/* NMI delivery mode (SDM 11.6.1): a pending NMI, not an IRR bit; a masked LINT1 NMI delivers nothing. */
static void test_nmi_delivery(void **s)
{
	(void)s;
	x2apic_up(&apic);
	wr(&apic, X2(ICR_LO), APIC_ICR_DEST_SELF << 18 | APIC_ICR_DELIVERY_NMI << 8, T0);
	assert_true(apic.nmi_pending);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR);
	apic.nmi_pending = false;
	wr(&apic, X2(ICR_LO), APIC_ICR_DEST_ALL_EXCL << 18 | APIC_ICR_DELIVERY_NMI << 8, T0);
	assert_false(apic.nmi_pending);
	wr(&apic, X2(LVT_ERROR), 0xfe, T0);
	wr(&apic, X2(LVT_LINT1), APIC_LVT_MASKED | APIC_LVT_DELIVERY_NMI << 8, T0);
	assert_false(apic.nmi_pending);
}

/*
 * The monitor skips looking at injection while events_changed is clear (vmm.c): every change to
 * what may be delivered must set it, and reads must not.
 */
static void test_events_changed_marks_every_change(void **s)
{
	(void)s;
	uint64_t v;
	x2apic_up(&apic);
	wr(&apic, X2(LVT_TIMER), APIC_LVT_TIMER_ONESHOT | 0x31, T0);
	wr(&apic, X2(TIMER_ICR), 100, T0);
#define EXPECT_MARK(expr) do { apic.events_changed = false; expr; assert_true(apic.events_changed); } while (0)
#define EXPECT_NO_MARK(expr) do { apic.events_changed = false; expr; assert_false(apic.events_changed); } while (0)
	EXPECT_NO_MARK(vlapic_advance(&apic, T0 + 1));          /* not yet due */
	EXPECT_NO_MARK(v = rd(&apic, X2(TPR), T0 + 1));
	EXPECT_NO_MARK(v = rd(&apic, X2(IRR0) + 1, T0 + 1));
	EXPECT_NO_MARK((void)vlapic_pending_vector(&apic));
	EXPECT_MARK(vlapic_advance(&apic, T0 + 200 * 2));       /* the timer fires */
	EXPECT_MARK(vlapic_accept_interrupt(&apic, 0x31));
	EXPECT_MARK(vlapic_eoi(&apic));
	EXPECT_MARK(vlapic_set_irr(&apic, 0x41));
	EXPECT_MARK(wr(&apic, X2(TPR), 0x50, T0 + 500));
	EXPECT_MARK(wr(&apic, X2(SELF_IPI), 0x61, T0 + 500));
	EXPECT_MARK(wr(&apic, X2(ICR_LO), APIC_ICR_DEST_SELF << 18 | APIC_ICR_DELIVERY_NMI << 8, T0 + 500));
	assert_true(apic.nmi_pending);
	EXPECT_NO_MARK(assert_int_equal(vlapic_msr_read(&apic, X2(ICR_HI), T0, &v), VLAPIC_GP)); /* x2APIC: #GP only */
	EXPECT_MARK(wr(&apic, X2(LVT_ERROR), 0x71, T0 + 500));
	EXPECT_MARK(wr(&apic, X2(SELF_IPI), 0x05, T0 + 500));  /* an illegal vector: ESR and the error LVT */
	EXPECT_MARK(assert_true(vlapic_set_base(&apic, APIC_BASE_DEFAULT | APIC_BASE_BSP, PHYS_MASK, T0 + 600)));
	(void)v;
#undef EXPECT_MARK
#undef EXPECT_NO_MARK
}

/* SDM 11.4.7.2: software-disabled, the IRR is held, new fixed interrupts are refused, LVTs stay masked. */
static void test_software_disable(void **s)
{
	(void)s;
	x2apic_up(&apic);
	wr(&apic, X2(TPR), 0x50, T0);
	wr(&apic, X2(SELF_IPI), 0x41, T0); /* held: blocked by TPR */
	wr(&apic, X2(LVT_TIMER), APIC_LVT_TIMER_ONESHOT | 0x31, T0);
	wr(&apic, X2(SVR), 0xef, T0);     /* software-disabled */
	assert_false(vlapic_software_enabled(&apic));
	assert_int_equal(rd(&apic, X2(LVT_TIMER), T0) & APIC_LVT_MASKED, APIC_LVT_MASKED);
	wr(&apic, X2(LVT_TIMER), APIC_LVT_TIMER_ONESHOT | 0x31, T0);
	assert_int_equal(rd(&apic, X2(LVT_TIMER), T0), APIC_LVT_MASKED | APIC_LVT_TIMER_ONESHOT | 0x31);
	wr(&apic, X2(SELF_IPI), 0x61, T0);
	wr(&apic, X2(ICR_LO), APIC_ICR_DEST_SELF << 18 | 0x62, T0);
	assert_int_equal(apic.dropped_while_disabled, 2);
	assert_int_equal(vlapic_highest_irr(&apic), 0x41);
	wr(&apic, X2(ICR_LO), APIC_ICR_DEST_SELF << 18 | APIC_ICR_DELIVERY_NMI << 8, T0);
	assert_true(apic.nmi_pending); /* NMIs are still accepted */
	wr(&apic, X2(SVR), APIC_SVR_ENABLE | 0xef, T0);
	assert_int_equal(rd(&apic, X2(SVR), T0), APIC_SVR_ENABLE | 0xef);
	wr(&apic, X2(TPR), 0, T0);
	assert_int_equal(take(&apic), 0x41);
	assert_int_equal(rd(&apic, X2(LVT_TIMER), T0) & APIC_LVT_MASKED, APIC_LVT_MASKED); /* stays masked */
}

/* CR8 = TPR[7:4]; a write clears TPR[3:0] and bits 63:4 are reserved (SDM 11.8.6.1). */
static void test_cr8(void **s)
{
	(void)s;
	x2apic_up(&apic);
	wr(&apic, X2(TPR), 0x5a, T0);
	assert_int_equal(vlapic_read_cr8(&apic), 5);
	apic.events_changed = false;
	assert_true(vlapic_write_cr8(&apic, 3));
	assert_true(apic.events_changed);
	assert_int_equal(rd(&apic, X2(TPR), T0), 0x30);
	assert_false(vlapic_write_cr8(&apic, 0x10));
	assert_false(vlapic_write_cr8(&apic, 1ull << 63));
	assert_int_equal(rd(&apic, X2(TPR), T0), 0x30);
	wr(&apic, X2(SELF_IPI), 0x31, T0);
	assert_int_equal(vlapic_pending_vector(&apic), VLAPIC_NO_VECTOR);
	assert_true(vlapic_write_cr8(&apic, 2));
	assert_int_equal(take(&apic), 0x31);
}

/* TPR shadow alone: only VTPR goes to and comes from the page; IRR and ISR stay the vLAPIC's own. */
static void test_virtual_apic_page_tpr_only(void **s)
{
	(void)s;
	static uint32_t page[VLAPIC_PAGE_WORDS];
	x2apic_up(&apic);
	wr(&apic, X2(TPR), 0x20, T0);
	wr(&apic, X2(SELF_IPI), 0x51, T0);
	for (unsigned i = 0; i < VLAPIC_PAGE_WORDS; i++)
		page[i] = 0xdeadbeef;
	vlapic_page_store_tpr(&apic, page);
	assert_false(apic.changed);
	assert_false(apic.regs_changed);
	assert_int_equal(page[APIC_REG_TPR / 4], 0x20);
	assert_int_equal(page[APIC_REG_IRR0 / 4 + 2 * 4], 0xdeadbeef); /* IRR word 2 (vectors 64-95) untouched */
	page[APIC_REG_TPR / 4] = 0x1ff; /* the CPU wrote VTPR (bits 31:8 are ignored) */
	vlapic_page_load_tpr(&apic, page);
	assert_int_equal(apic.tpr, 0xff);
	assert_int_equal(vlapic_highest_irr(&apic), 0x51);
}

/* ---- IPIs to other APICs: the outbox, destination matching, posting ---- */

static void test_ipi_outbox(void **state)
{
	(void)state;
	struct vlapic a;
	x2apic_up(&a);
	struct vlapic_ipi ipi;
	/* A self IPI stays here: nothing for the monitor. */
	wr(&a, X2(ICR_LO), (APIC_ICR_DEST_SELF << APIC_ICR_SHORTHAND_SHIFT) | 0x40, T0);
	assert_false(vlapic_take_ipi(&a, &ipi));
	assert_int_equal(take(&a), 0x40);
	/* A destination field: the monitor routes it, once. */
	wr(&a, X2(ICR_LO), (5ull << X2APIC_ICR_DEST_SHIFT) | 0x41, T0);
	assert_true(vlapic_take_ipi(&a, &ipi));
	assert_int_equal(ipi.dest, 5);
	assert_int_equal(ipi.lo & APIC_ICR_VECTOR_MASK, 0x41);
	assert_true(ipi.x2apic);
	assert_false(vlapic_take_ipi(&a, &ipi));
	assert_int_equal(vlapic_highest_irr(&a), -1); /* APIC ID 0 is not 5 */
	/* An illegal vector is not sent at all (SDM 11.5.3). */
	wr(&a, X2(ICR_LO), (5ull << X2APIC_ICR_DEST_SHIFT) | 0x05, T0);
	assert_false(vlapic_take_ipi(&a, &ipi));
}

static void test_ipi_accepts_xapic_flat_and_cluster(void **state)
{
	(void)state;
	struct vlapic a;
	vlapic_reset(&a, 3, false);
	const uint32_t fixed_logical = APIC_ICR_DEST_LOGICAL | 0x40;
	/* Physical: the ID or the broadcast. */
	assert_true(vlapic_ipi_accepts(&a, 0x40, 3, false));
	assert_false(vlapic_ipi_accepts(&a, 0x40, 2, false));
	assert_true(vlapic_ipi_accepts(&a, 0x40, XAPIC_BROADCAST, false));
	/* Flat model (DFR all ones): the logical ID is a bit mask (SDM 11.6.2.2). */
	vlapic_mmio_write(&a, APIC_REG_LDR, 0x04u << XAPIC_ID_SHIFT, T0);
	assert_true(vlapic_ipi_accepts(&a, fixed_logical, 0x0c, false));
	assert_false(vlapic_ipi_accepts(&a, fixed_logical, 0x03, false));
	/* Cluster model: cluster 2, member bit 1. */
	vlapic_mmio_write(&a, APIC_REG_DFR, 0x0fffffffu, T0);
	vlapic_mmio_write(&a, APIC_REG_LDR, 0x22u << XAPIC_ID_SHIFT, T0);
	assert_true(vlapic_ipi_accepts(&a, fixed_logical, 0x23, false));
	assert_false(vlapic_ipi_accepts(&a, fixed_logical, 0x13, false)); /* another cluster */
	assert_false(vlapic_ipi_accepts(&a, fixed_logical, 0x21, false)); /* another member */
	assert_true(vlapic_ipi_accepts(&a, fixed_logical, XAPIC_BROADCAST, false));
}

static void test_posted_interrupts_merge_once(void **state)
{
	(void)state;
	struct vlapic a;
	x2apic_up(&a);
	assert_false(vlapic_take_posted(&a));
	vlapic_post_interrupt(&a, 0x45);
	vlapic_post_interrupt(&a, 0x90);
	vlapic_post_nmi(&a);
	a.events_changed = false;
	assert_true(vlapic_take_posted(&a));
	assert_true(a.events_changed);
	assert_true(a.nmi_pending);
	assert_int_equal(take(&a), 0x90);
	assert_int_equal(vlapic_highest_irr(&a), 0x45);
	assert_false(vlapic_take_posted(&a));
	/* A software-disabled APIC (after INIT) drops what was posted, NMIs excepted (SDM 11.4.7.2). */
	struct vlapic b;
	vlapic_reset(&b, 1, false);
	vlapic_post_interrupt(&b, 0x45);
	assert_true(vlapic_take_posted(&b));
	assert_int_equal(vlapic_highest_irr(&b), -1);
	assert_int_equal(b.dropped_while_disabled, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_state),
		cmocka_unit_test(test_apic_base_transitions),
		cmocka_unit_test(test_x2apic_access_rules),
		cmocka_unit_test(test_xapic_illegal_register),
		cmocka_unit_test(test_priorities_and_tpr),
		cmocka_unit_test(test_nested_eoi_order),
		cmocka_unit_test(test_illegal_vector_esr),
		cmocka_unit_test(test_masked_lvt),
		cmocka_unit_test(test_divide_configuration),
		cmocka_unit_test(test_timer_oneshot),
		cmocka_unit_test(test_timer_periodic),
		cmocka_unit_test(test_timer_tsc_deadline),
		cmocka_unit_test(test_timer_tsc_deadline_offset),
		cmocka_unit_test(test_virtual_apic_page),
		cmocka_unit_test(test_nmi_delivery),
		cmocka_unit_test(test_events_changed_marks_every_change),
		cmocka_unit_test(test_software_disable),
		cmocka_unit_test(test_cr8),
		cmocka_unit_test(test_virtual_apic_page_tpr_only),
		cmocka_unit_test(test_ipi_outbox),
		cmocka_unit_test(test_ipi_accepts_xapic_flat_and_cluster),
		cmocka_unit_test(test_posted_interrupts_merge_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
