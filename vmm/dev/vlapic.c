/*
 * The virtual local APIC (SDM Vol. 3A chapter 11): registers, priorities, the timer.  Pure: no
 * VMCS, no hardware; time is the TSC value the caller passes in.  See vmm/vlapic.h.
 */
#include <string.h>
#include "vmm/vlapic.h"

struct apic_reg {
	uint32_t offset;
	uint32_t access;
	uint32_t wmask; /* bits a write may change */
};

static const struct apic_reg apic_regs[] = {
#define X(name, off, access, wmask) { off, access, wmask },
	APIC_REGISTERS(X)
#undef X
};

/* LVT index of each LVT register, in the order of struct vlapic.lvt. */
enum lvt_index { LVT_CMCI, LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR };

static int lvt_index(uint32_t offset)
{
	switch (offset) {
	case APIC_REG_LVT_CMCI: return LVT_CMCI;
	case APIC_REG_LVT_TIMER: return LVT_TIMER;
	case APIC_REG_LVT_THERMAL: return LVT_THERMAL;
	case APIC_REG_LVT_PERF: return LVT_PERF;
	case APIC_REG_LVT_LINT0: return LVT_LINT0;
	case APIC_REG_LVT_LINT1: return LVT_LINT1;
	case APIC_REG_LVT_ERROR: return LVT_ERROR;
	default: return -1;
	}
}

static const struct apic_reg *find_reg(uint32_t offset)
{
	for (unsigned i = 0; i < sizeof(apic_regs) / sizeof(apic_regs[0]); i++) {
		const struct apic_reg *r = &apic_regs[i];
		const uint32_t span = (r->access & APIC_ARRAY) ? APIC_VECTOR_REGS * APIC_REG_STRIDE : APIC_REG_STRIDE;
		if (offset >= r->offset && offset < r->offset + span && !(offset & (APIC_REG_STRIDE - 1)))
			return r;
	}
	return 0;
}

bool vlapic_vector_in(const uint32_t *bits, unsigned vector)
{
	return (bits[vector >> 5] >> (vector & 31)) & 1;
}

static void vec_set(uint32_t *bits, unsigned vector) { bits[vector >> 5] |= 1u << (vector & 31); }
static void vec_clear(uint32_t *bits, unsigned vector) { bits[vector >> 5] &= ~(1u << (vector & 31)); }

/* The highest set vector, or VLAPIC_NO_VECTOR. */
static int vec_highest(const uint32_t *bits)
{
	for (int r = APIC_VECTOR_REGS - 1; r >= 0; r--)
		if (bits[r])
			return r * 32 + 31 - __builtin_clz(bits[r]);
	return VLAPIC_NO_VECTOR;
}

/*
 * Every change that can matter to the CPU: the virtual-APIC page must be stored again (changed),
 * and the monitor must look again at what to inject (events_changed; vmm.c skips it otherwise).
 */
static void mark_changed(struct vlapic *a) { a->changed = a->events_changed = true; }

/* ---- mode, reset --------------------------------------------------------------------------- */

void vlapic_reset(struct vlapic *a, uint32_t id, bool bsp)
{
	memset(a, 0, sizeof(*a));
	a->id = id;
	a->apic_base = APIC_BASE_DEFAULT | APIC_BASE_EN | (bsp ? APIC_BASE_BSP : 0);
	a->dfr = APIC_DFR_FLAT;
	a->svr = APIC_SVR_RESET;
	for (unsigned i = 0; i < APIC_LVT_COUNT; i++)
		a->lvt[i] = APIC_LVT_MASKED;
	a->timer_deadline = VLAPIC_NO_DEADLINE;
	mark_changed(a);
	a->regs_changed = true; /* a virtual-APIC page must be written in full */
}

enum vlapic_mode vlapic_mode(const struct vlapic *a)
{
	if (!(a->apic_base & APIC_BASE_EN))
		return VLAPIC_DISABLED;
	return (a->apic_base & APIC_BASE_EXTD) ? VLAPIC_X2APIC : VLAPIC_XAPIC;
}

static bool software_enabled(const struct vlapic *a) { return (a->svr & APIC_SVR_ENABLE) != 0; }
bool vlapic_software_enabled(const struct vlapic *a) { return software_enabled(a); }

/* x2APIC logical ID: cluster in 31:16, one bit of 15:0 (SDM 11.12.10.2). */
static uint32_t x2apic_ldr(uint32_t id)
{
	return ((id >> 4) << X2APIC_LDR_CLUSTER_SHIFT) | (1u << (id & X2APIC_LDR_ID_MASK));
}

bool vlapic_set_base(struct vlapic *a, uint64_t value, uint64_t phys_addr_mask, uint64_t now)
{
	const uint64_t writable = APIC_BASE_BSP | APIC_BASE_EXTD | APIC_BASE_EN | (APIC_BASE_ADDR_MASK & phys_addr_mask);
	if (value & ~writable)
		return false;
	if ((value & APIC_BASE_BSP) != (a->apic_base & APIC_BASE_BSP))
		return false; /* BSP is the platform's to set */
	const enum vlapic_mode from = vlapic_mode(a);
	const enum vlapic_mode to = !(value & APIC_BASE_EN) ? VLAPIC_DISABLED
				    : (value & APIC_BASE_EXTD) ? VLAPIC_X2APIC : VLAPIC_XAPIC;
	/* SDM 11.12.5, Figure 11-27: EXTD without EN is invalid; x2APIC leaves only to disabled; disabled enters xAPIC only. */
	if ((value & APIC_BASE_EXTD) && !(value & APIC_BASE_EN))
		return false;
	if ((from == VLAPIC_X2APIC && to == VLAPIC_XAPIC) || (from == VLAPIC_DISABLED && to == VLAPIC_X2APIC))
		return false;
	(void)now;
	mark_changed(a);
	a->regs_changed = true;
	if (to == VLAPIC_DISABLED && from != VLAPIC_DISABLED) {
		/* Globally disabled: the APIC returns to its power-up state, base and BSP kept (SDM 11.4.3). */
		const uint32_t id = a->id;
		vlapic_reset(a, id, false);
	} else if (to == VLAPIC_X2APIC && from == VLAPIC_XAPIC) {
		a->ldr = x2apic_ldr(a->id); /* the logical ID is derived from the x2APIC ID (SDM 11.12.10.2) */
	}
	a->apic_base = value;
	return true;
}

/* ---- priorities, delivery ------------------------------------------------------------------ */

uint32_t vlapic_ppr(const struct vlapic *a)
{
	const int isrv = vec_highest(a->isr);
	const uint32_t isr_class = isrv == VLAPIC_NO_VECTOR ? 0 : (uint32_t)isrv & APIC_PRIORITY_MASK;
	return (a->tpr & APIC_PRIORITY_MASK) >= isr_class ? a->tpr & APIC_TPR_MASK : isr_class;
}

int vlapic_pending_vector(const struct vlapic *a)
{
	if (vlapic_mode(a) == VLAPIC_DISABLED)
		return VLAPIC_NO_VECTOR;
	const int v = vec_highest(a->irr);
	if (v == VLAPIC_NO_VECTOR || APIC_PRIORITY_CLASS((unsigned)v) <= APIC_PRIORITY_CLASS(vlapic_ppr(a)))
		return VLAPIC_NO_VECTOR;
	return v;
}

void vlapic_accept_interrupt(struct vlapic *a, unsigned vector)
{
	mark_changed(a);
	vector &= APIC_VECTOR_MASK;
	vec_clear(a->irr, vector);
	vec_set(a->isr, vector);
}

void vlapic_eoi(struct vlapic *a)
{
	mark_changed(a);
	const int v = vec_highest(a->isr);
	if (v != VLAPIC_NO_VECTOR) {
		vec_clear(a->isr, (unsigned)v);
		vec_clear(a->tmr, (unsigned)v);
	}
}

static void error_raise(struct vlapic *a, uint32_t esr_bit);

void vlapic_set_irr(struct vlapic *a, unsigned vector)
{
	/*
	 * A software-disabled APIC keeps what its IRR holds but accepts no new fixed interrupt (SDM
	 * 11.4.7.2 lists what it still answers: INIT, NMI, SMI, SIPI); real APICs drop them, as KVM's does.
	 */
	if (!software_enabled(a)) {
		a->dropped_while_disabled++;
		return;
	}
	mark_changed(a);
	vector &= APIC_VECTOR_MASK;
	if (vector < APIC_FIRST_VALID_VECTOR) {
		error_raise(a, APIC_ESR_RECEIVE_ILLEGAL_VECTOR); /* SDM 11.5.3 */
		return;
	}
	vec_set(a->irr, vector);
}

/* A local interrupt from an LVT entry (SDM 11.5.1): fixed delivery only, nothing while masked. */
static void lvt_deliver(struct vlapic *a, unsigned index)
{
	const uint32_t lvt = a->lvt[index];
	if ((lvt & APIC_LVT_MASKED) || vlapic_mode(a) == VLAPIC_DISABLED)
		return;
	/* The timer LVT has no delivery mode (always fixed); LINT0/1, error etc. may say NMI. */
	if (index != LVT_TIMER && APIC_LVT_DELIVERY_MODE(lvt) == APIC_LVT_DELIVERY_NMI) {
		mark_changed(a);
		a->nmi_pending = true;
		return;
	}
	vlapic_set_irr(a, lvt & APIC_LVT_VECTOR_MASK);
}

/* An APIC error: latched in the pending ESR bits, and the LVT error vector if it is unmasked (SDM 11.5.3). */
static void error_raise(struct vlapic *a, uint32_t esr_bit)
{
	const bool first = !(a->esr_pending & esr_bit);
	mark_changed(a);
	a->esr_pending |= esr_bit;
	const uint32_t lvt = a->lvt[LVT_ERROR];
	/* An illegal error vector must not recurse: drop it (it would raise the same error again). */
	if (first && !(lvt & APIC_LVT_MASKED) && (lvt & APIC_LVT_VECTOR_MASK) >= APIC_FIRST_VALID_VECTOR)
		lvt_deliver(a, LVT_ERROR);
}

/* ---- timer --------------------------------------------------------------------------------- */

unsigned vlapic_timer_divisor(uint32_t dcr)
{
	/* SDM Figure 11-10: value = bit 3 : bits 1:0; divide by 2^(value + 1), 111b divides by 1. */
	const unsigned value = ((dcr & APIC_DCR_BIT_HIGH) >> 1) | (dcr & APIC_DCR_BITS_LOW);
	return 1u << ((value + 1) & 7);
}

static uint32_t timer_mode(const struct vlapic *a) { return a->lvt[LVT_TIMER] & APIC_LVT_TIMER_MODE_MASK; }

static uint64_t timer_period(const struct vlapic *a)
{
	return (uint64_t)a->timer_icr * vlapic_timer_divisor(a->timer_dcr);
}

static void timer_load(struct vlapic *a, uint64_t now)
{
	a->timer_start = now;
	a->timer_deadline = a->timer_icr ? now + timer_period(a) : VLAPIC_NO_DEADLINE;
}

void vlapic_advance(struct vlapic *a, uint64_t now)
{
	if (a->timer_deadline == VLAPIC_NO_DEADLINE || now < a->timer_deadline)
		return;
	mark_changed(a);
	a->timer_fired++;
	lvt_deliver(a, LVT_TIMER); /* a masked timer still counts, but delivers nothing (SDM 11.5.1) */
	if (timer_mode(a) == APIC_LVT_TIMER_PERIODIC && a->timer_icr) {
		/* Reload from the initial count; expiries missed meanwhile merge in the one IRR bit. */
		const uint64_t period = timer_period(a);
		const uint64_t missed = (now - a->timer_deadline) / period;
		a->timer_start = a->timer_deadline + missed * period;
		a->timer_deadline = a->timer_start + period;
	} else {
		a->timer_deadline = VLAPIC_NO_DEADLINE;
		if (timer_mode(a) == APIC_LVT_TIMER_TSC_DEADLINE)
			a->tsc_deadline = 0; /* SDM 11.5.4.1: the deadline MSR reads 0 once it fired */
	}
}


uint32_t vlapic_current_count(const struct vlapic *a, uint64_t now)
{
	if (timer_mode(a) == APIC_LVT_TIMER_TSC_DEADLINE || a->timer_deadline == VLAPIC_NO_DEADLINE ||
	    now >= a->timer_deadline)
		return 0;
	return (uint32_t)((a->timer_deadline - now + vlapic_timer_divisor(a->timer_dcr) - 1) /
			  vlapic_timer_divisor(a->timer_dcr));
}

uint64_t vlapic_tsc_deadline_read(const struct vlapic *a)
{
	return timer_mode(a) == APIC_LVT_TIMER_TSC_DEADLINE ? a->tsc_deadline : 0;
}

/*
 * The host TSC at which the guest's TSC (host + tsc_offset) reaches the armed deadline: compared in
 * the guest's time, so that an offset that wraps the host value still fires at the right moment.
 */
static void arm_tsc_deadline(struct vlapic *a, uint64_t tsc_offset, uint64_t now)
{
	const uint64_t guest_now = now + tsc_offset;
	if (!a->tsc_deadline)
		a->timer_deadline = VLAPIC_NO_DEADLINE;
	else if (a->tsc_deadline <= guest_now)
		a->timer_deadline = now; /* already past: fires at once */
	else if (a->tsc_deadline - guest_now >= VLAPIC_NO_DEADLINE - now)
		a->timer_deadline = VLAPIC_NO_DEADLINE - 1; /* beyond the host's TSC range: as good as never */
	else
		a->timer_deadline = now + (a->tsc_deadline - guest_now);
	vlapic_advance(a, now);
}

void vlapic_tsc_deadline_write(struct vlapic *a, uint64_t value, uint64_t tsc_offset, uint64_t now)
{
	if (timer_mode(a) != APIC_LVT_TIMER_TSC_DEADLINE)
		return; /* SDM 11.5.4.1: ignored outside TSC-deadline mode */
	mark_changed(a);
	a->tsc_deadline = value;
	arm_tsc_deadline(a, tsc_offset, now);
}

void vlapic_tsc_offset_changed(struct vlapic *a, uint64_t tsc_offset, uint64_t now)
{
	if (timer_mode(a) != APIC_LVT_TIMER_TSC_DEADLINE || !a->tsc_deadline)
		return; /* the other timer modes count from when they were loaded: the TSC's value is not theirs */
	mark_changed(a);
	arm_tsc_deadline(a, tsc_offset, now);
}

static void lvt_timer_write(struct vlapic *a, uint32_t value, uint64_t now)
{
	const uint32_t old_mode = timer_mode(a);
	a->lvt[LVT_TIMER] = value;
	const uint32_t new_mode = timer_mode(a);
	if (old_mode == new_mode)
		return;
	/* Switching into or out of TSC-deadline mode disarms the timer (SDM 11.5.4.1). */
	if (old_mode == APIC_LVT_TIMER_TSC_DEADLINE || new_mode == APIC_LVT_TIMER_TSC_DEADLINE) {
		a->tsc_deadline = 0;
		a->timer_icr = 0;
		a->timer_deadline = VLAPIC_NO_DEADLINE;
	}
	(void)now;
}

/* ---- ICR: IPIs ---------------------------------------------------------------------------- */

bool vlapic_ipi_accepts(const struct vlapic *a, uint32_t lo, uint32_t dest, bool x2apic)
{
	/* Physical destination: the ID or the broadcast (SDM 11.6.2.1); logical: the LDR (11.6.2.2). */
	if (lo & APIC_ICR_DEST_LOGICAL) {
		if (x2apic)
			return (dest >> X2APIC_LDR_CLUSTER_SHIFT) == (a->ldr >> X2APIC_LDR_CLUSTER_SHIFT) &&
			       (dest & a->ldr & X2APIC_LDR_MEMBERS_MASK);
		if (dest == XAPIC_BROADCAST)
			return true;
		if (a->dfr == APIC_DFR_FLAT)
			return ((dest << XAPIC_ID_SHIFT) & a->ldr) != 0;
		/* Cluster model: the high nibble names the cluster, the low one the members (SDM 11.6.2.2). */
		const uint32_t ldr = a->ldr >> XAPIC_ID_SHIFT;
		return (dest >> XAPIC_CLUSTER_SHIFT) == (ldr >> XAPIC_CLUSTER_SHIFT) && (dest & ldr & XAPIC_CLUSTER_MEMBERS);
	}
	return x2apic ? (dest == a->id || dest == X2APIC_BROADCAST)
		      : (dest == (a->id & XAPIC_BROADCAST) || dest == XAPIC_BROADCAST);
}

static void icr_send(struct vlapic *a, uint32_t lo, uint32_t dest, bool x2apic)
{
	const unsigned vector = lo & APIC_ICR_VECTOR_MASK;
	const unsigned mode = APIC_ICR_DELIVERY_MODE(lo);
	bool self, others;
	switch (APIC_ICR_SHORTHAND(lo)) {
	case APIC_ICR_DEST_SELF: self = true, others = false; break;
	case APIC_ICR_DEST_ALL_INCL: self = true, others = true; break;
	case APIC_ICR_DEST_ALL_EXCL: self = false, others = true; break;
	default:
		self = vlapic_ipi_accepts(a, lo, dest, x2apic);
		/* Another APIC may match too (a broadcast, a logical group): the router decides. */
		others = true;
		break;
	}
	if ((mode == APIC_ICR_DELIVERY_FIXED || mode == APIC_ICR_DELIVERY_LOWEST) && vector < APIC_FIRST_VALID_VECTOR) {
		error_raise(a, APIC_ESR_SEND_ILLEGAL_VECTOR); /* SDM 11.5.3: not sent at all */
		return;
	}
	/* INIT and STARTUP to itself are not modelled: a CPU cannot restart itself through its own APIC. */
	if (self && mode == APIC_ICR_DELIVERY_NMI) {
		a->nmi_pending = true; /* the vector field is ignored (SDM 11.6.1) */
		mark_changed(a);
	} else if (self && (mode == APIC_ICR_DELIVERY_FIXED || mode == APIC_ICR_DELIVERY_LOWEST)) {
		vlapic_set_irr(a, vector);
	}
	if (others) {
		/* For the monitor to route to the other vCPUs (vmm/core/ipi.c); one command at a time. */
		a->ipi_out.lo = lo;
		a->ipi_out.dest = dest;
		a->ipi_out.x2apic = x2apic;
		a->ipi_out_pending = true;
	}
}

bool vlapic_take_ipi(struct vlapic *a, struct vlapic_ipi *out)
{
	if (!a->ipi_out_pending)
		return false;
	*out = a->ipi_out;
	a->ipi_out_pending = false;
	return true;
}

void vlapic_post_interrupt(struct vlapic *a, unsigned vector)
{
	vector &= APIC_VECTOR_MASK;
	__atomic_fetch_or(&a->posted_irr[vector / 32], 1u << (vector % 32), __ATOMIC_RELEASE);
	__atomic_store_n(&a->posted_any, true, __ATOMIC_RELEASE);
}

void vlapic_post_nmi(struct vlapic *a)
{
	__atomic_store_n(&a->posted_nmi, true, __ATOMIC_RELEASE);
	__atomic_store_n(&a->posted_any, true, __ATOMIC_RELEASE);
}

bool vlapic_take_posted(struct vlapic *a)
{
	if (!__atomic_load_n(&a->posted_any, __ATOMIC_ACQUIRE))
		return false;
	__atomic_store_n(&a->posted_any, false, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned w = 0; w < APIC_VECTOR_REGS; w++) {
		uint32_t bits = __atomic_exchange_n(&a->posted_irr[w], 0, __ATOMIC_ACQ_REL);
		while (bits) {
			const unsigned bit = (unsigned)__builtin_ctz(bits);
			bits &= bits - 1;
			vlapic_set_irr(a, w * 32 + bit);
		}
	}
	if (__atomic_exchange_n(&a->posted_nmi, false, __ATOMIC_ACQ_REL)) {
		a->nmi_pending = true;
		mark_changed(a);
	}
	return true;
}

/* ---- register access ------------------------------------------------------------------------ */

static uint32_t reg_read(struct vlapic *a, uint32_t offset, uint64_t now)
{
	const unsigned n = (offset >> 4) & (APIC_VECTOR_REGS - 1);
	if (offset >= APIC_REG_ISR0 && offset < APIC_REG_ISR0 + APIC_VECTOR_REGS * APIC_REG_STRIDE)
		return a->isr[n];
	if (offset >= APIC_REG_TMR0 && offset < APIC_REG_TMR0 + APIC_VECTOR_REGS * APIC_REG_STRIDE)
		return a->tmr[n];
	if (offset >= APIC_REG_IRR0 && offset < APIC_REG_IRR0 + APIC_VECTOR_REGS * APIC_REG_STRIDE)
		return a->irr[n];
	const int lvt = lvt_index(offset);
	if (lvt >= 0)
		return a->lvt[lvt];
	switch (offset) {
	case APIC_REG_ID: return vlapic_mode(a) == VLAPIC_X2APIC ? a->id : a->id << XAPIC_ID_SHIFT;
	case APIC_REG_VERSION: return APIC_VERSION_INTEGRATED | ((APIC_LVT_COUNT - 1) << APIC_VERSION_MAX_LVT_SHIFT);
	case APIC_REG_TPR: return a->tpr;
	case APIC_REG_APR: return 0; /* arbitration is not modelled */
	case APIC_REG_PPR: return vlapic_ppr(a);
	case APIC_REG_LDR: return a->ldr;
	case APIC_REG_DFR: return a->dfr;
	case APIC_REG_SVR: return a->svr;
	case APIC_REG_ESR: return a->esr;
	case APIC_REG_ICR_LO: return a->icr_lo & ~APIC_ICR_DELIVERY_STATUS; /* sent at once: idle */
	case APIC_REG_ICR_HI: return a->icr_hi;
	case APIC_REG_TIMER_ICR: return a->timer_icr;
	case APIC_REG_TIMER_CCR: return vlapic_current_count(a, now);
	case APIC_REG_TIMER_DCR: return a->timer_dcr;
	default: return 0;
	}
}

static void reg_write(struct vlapic *a, const struct apic_reg *r, uint32_t value, uint64_t now)
{
	mark_changed(a);
	a->regs_changed = true;
	value &= r->wmask;
	const int lvt = lvt_index(r->offset);
	if (lvt >= 0) {
		/* While software-disabled every LVT stays masked (SDM 11.4.7.2). */
		if (!software_enabled(a))
			value |= APIC_LVT_MASKED;
		if (lvt == LVT_TIMER)
			lvt_timer_write(a, value, now);
		else
			a->lvt[lvt] = value;
		return;
	}
	switch (r->offset) {
	case APIC_REG_ID: a->id = value >> XAPIC_ID_SHIFT; break;
	case APIC_REG_TPR: a->tpr = value; break;
	case APIC_REG_EOI: vlapic_eoi(a); break;
	case APIC_REG_LDR: a->ldr = value; break;
	case APIC_REG_DFR: a->dfr = value | ~r->wmask; break;
	case APIC_REG_SVR:
		a->svr = value;
		if (!software_enabled(a))
			for (unsigned i = 0; i < APIC_LVT_COUNT; i++)
				a->lvt[i] |= APIC_LVT_MASKED;
		break;
	case APIC_REG_ESR:
		/* A write latches the errors seen since the last write and clears them (SDM 11.5.3). */
		a->esr = a->esr_pending;
		a->esr_pending = 0;
		break;
	case APIC_REG_ICR_LO:
		a->icr_lo = value;
		icr_send(a, value, a->icr_hi >> XAPIC_ICR_DEST_SHIFT, false);
		break;
	case APIC_REG_ICR_HI: a->icr_hi = value; break;
	case APIC_REG_TIMER_ICR:
		if (timer_mode(a) == APIC_LVT_TIMER_TSC_DEADLINE)
			break; /* ignored in TSC-deadline mode (SDM 11.5.4.1) */
		a->timer_icr = value;
		timer_load(a, now); /* 0 stops the timer */
		break;
	case APIC_REG_TIMER_DCR: a->timer_dcr = value; break;
	case APIC_REG_SELF_IPI: vlapic_set_irr(a, value & APIC_VECTOR_MASK); break;
	default: break;
	}
}

uint32_t vlapic_mmio_read(struct vlapic *a, uint32_t offset, uint64_t now)
{
	vlapic_advance(a, now);
	const struct apic_reg *r = find_reg(offset);
	if (!r || (r->access & APIC_X2APIC_ONLY) || !(r->access & APIC_R)) {
		if (!r || (r->access & APIC_X2APIC_ONLY))
			error_raise(a, APIC_ESR_ILLEGAL_REGISTER); /* SDM 11.5.3: an absent register */
		return 0;
	}
	return reg_read(a, offset, now);
}

void vlapic_mmio_write(struct vlapic *a, uint32_t offset, uint32_t value, uint64_t now)
{
	vlapic_advance(a, now);
	const struct apic_reg *r = find_reg(offset);
	if (!r || (r->access & APIC_X2APIC_ONLY)) {
		error_raise(a, APIC_ESR_ILLEGAL_REGISTER);
		return;
	}
	if (r->access & APIC_W)
		reg_write(a, r, value, now); /* a write to a read-only register is ignored (SDM Table 11-1) */
}

enum vlapic_result vlapic_msr_read(struct vlapic *a, uint32_t msr, uint64_t now, uint64_t *value)
{
	const uint32_t offset = X2APIC_MSR_OFFSET(msr);
	const struct apic_reg *r = find_reg(offset);
	if (vlapic_mode(a) != VLAPIC_X2APIC || !r || (r->access & APIC_XAPIC_ONLY) || !(r->access & APIC_R))
		return VLAPIC_GP; /* SDM 11.12.1.2 / Table 11-6 */
	vlapic_advance(a, now);
	*value = reg_read(a, offset, now);
	if (offset == APIC_REG_ICR_LO)
		*value |= (uint64_t)a->icr_hi << X2APIC_ICR_DEST_SHIFT;
	return VLAPIC_OK;
}

enum vlapic_result vlapic_msr_write(struct vlapic *a, uint32_t msr, uint64_t value, uint64_t now)
{
	const uint32_t offset = X2APIC_MSR_OFFSET(msr);
	const struct apic_reg *r = find_reg(offset);
	if (vlapic_mode(a) != VLAPIC_X2APIC || !r || (r->access & APIC_XAPIC_ONLY) || !(r->access & APIC_W) ||
	    (r->access & APIC_X2_RO))
		return VLAPIC_GP;
	vlapic_advance(a, now);
	if (offset == APIC_REG_ICR_LO) {
		/* One 64-bit register: destination in 63:32, no ICR_HI (SDM 11.12.9). */
		if ((uint32_t)value & ~r->wmask)
			return VLAPIC_GP;
		a->icr_hi = (uint32_t)(value >> X2APIC_ICR_DEST_SHIFT);
		a->icr_lo = (uint32_t)value;
		/* The page holds ICR for virtualized reads of 830H (SDM 30.5): it must be written again. */
		mark_changed(a);
		a->regs_changed = true;
		icr_send(a, a->icr_lo, a->icr_hi, true);
		return VLAPIC_OK;
	}
	/* Reserved bits are #GP in x2APIC mode; EOI and ESR take only 0 (SDM 11.12.1.2, 11.12.1.3). */
	const uint64_t allowed = (offset == APIC_REG_EOI || offset == APIC_REG_ESR) ? 0 : r->wmask;
	if (value & ~allowed)
		return VLAPIC_GP;
	reg_write(a, r, (uint32_t)value, now);
	return VLAPIC_OK;
}

/* CR8 is TPR[7:4]; a MOV to CR8 clears TPR[3:0] (SDM Vol. 3A 11.8.6.1, Figure 11-19). */
uint64_t vlapic_read_cr8(const struct vlapic *a) { return (a->tpr & APIC_TPR_MASK) >> APIC_CR8_TPR_SHIFT; }

bool vlapic_write_cr8(struct vlapic *a, uint64_t value)
{
	if (value & ~APIC_CR8_MASK)
		return false; /* bits 63:4 are reserved: #GP */
	mark_changed(a);
	a->tpr = (uint32_t)value << APIC_CR8_TPR_SHIFT;
	return true;
}

int vlapic_highest_irr(const struct vlapic *a) { return vec_highest(a->irr); }
int vlapic_highest_isr(const struct vlapic *a) { return vec_highest(a->isr); }

void vlapic_page_store(struct vlapic *a, uint32_t *page, uint64_t now)
{
	if (a->regs_changed) {
		for (unsigned i = 0; i < sizeof(apic_regs) / sizeof(apic_regs[0]); i++) {
			const struct apic_reg *r = &apic_regs[i];
			if (!(r->access & APIC_R) || (r->access & APIC_ARRAY))
				continue;
			page[r->offset / sizeof(uint32_t)] = reg_read(a, r->offset, now);
		}
		page[APIC_REG_ICR_HI / sizeof(uint32_t)] = a->icr_hi; /* x2APIC: ICR bits 63:32 (SDM 30.5) */
	}
	/* What interrupts change: the vectors, TPR and PPR (TMR stays 0: every vector is edge-triggered). */
	for (unsigned n = 0; n < APIC_VECTOR_REGS; n++) {
		page[(APIC_REG_ISR0 + n * APIC_REG_STRIDE) / sizeof(uint32_t)] = a->isr[n];
		page[(APIC_REG_TMR0 + n * APIC_REG_STRIDE) / sizeof(uint32_t)] = a->tmr[n];
		page[(APIC_REG_IRR0 + n * APIC_REG_STRIDE) / sizeof(uint32_t)] = a->irr[n];
	}
	page[APIC_REG_TPR / sizeof(uint32_t)] = a->tpr;
	page[APIC_REG_PPR / sizeof(uint32_t)] = vlapic_ppr(a);
	a->changed = a->regs_changed = false;
}

void vlapic_page_load(struct vlapic *a, const uint32_t *page)
{
	a->tpr = page[APIC_REG_TPR / sizeof(uint32_t)] & APIC_TPR_MASK;
	for (unsigned n = 0; n < APIC_VECTOR_REGS; n++) {
		a->isr[n] = page[(APIC_REG_ISR0 + n * APIC_REG_STRIDE) / sizeof(uint32_t)];
		a->irr[n] = page[(APIC_REG_IRR0 + n * APIC_REG_STRIDE) / sizeof(uint32_t)];
	}
}

void vlapic_page_store_tpr(struct vlapic *a, uint32_t *page)
{
	page[APIC_REG_TPR / sizeof(uint32_t)] = a->tpr;
	a->changed = a->regs_changed = false;
}

void vlapic_page_load_tpr(struct vlapic *a, const uint32_t *page)
{
	a->tpr = page[APIC_REG_TPR / sizeof(uint32_t)] & APIC_TPR_MASK;
}
