/* IPIs between vCPUs, kicks and the VM's stop (see vmm/include/vmm/ipi.h). */
#include <arch/apic.h>
#include "vmm/host_apic.h"
#include "vmm/ipi.h"
#include "vmm/log.h"

#define DROPPED_IPIS_LOGGED 4

static const char *const delivery_mode_name[] = {
	[APIC_ICR_DELIVERY_FIXED] = "fixed", [APIC_ICR_DELIVERY_LOWEST] = "lowest-priority",
	[APIC_ICR_DELIVERY_SMI] = "SMI",     [3] = "reserved",
	[APIC_ICR_DELIVERY_NMI] = "NMI",     [APIC_ICR_DELIVERY_INIT] = "INIT",
	[APIC_ICR_DELIVERY_STARTUP] = "STARTUP", [7] = "ExtINT",
};

/* The article each name takes when spoken: "an INIT IPI", "a STARTUP IPI" (none: "a"). */
static const char *const delivery_mode_article[] = {
	[APIC_ICR_DELIVERY_SMI] = "an", [APIC_ICR_DELIVERY_NMI] = "an", [APIC_ICR_DELIVERY_INIT] = "an", [7] = "an",
};

static const char *article(unsigned mode)
{
	return delivery_mode_article[mode] ? delivery_mode_article[mode] : "a";
}

static void attention(struct vcpu *t)
{
	__atomic_store_n(&t->attention, true, __ATOMIC_RELEASE);
}

void vcpu_kick(const struct vcpu *from, struct vcpu *t)
{
	if (t->host_apic_id == from->host_apic_id)
		return; /* it runs here: this CPU looks before its next entry anyway */
	(void)host_apic_send(t->host_apic_id, (APIC_ICR_DELIVERY_FIXED << APIC_ICR_DELIVERY_SHIFT) | APIC_ICR_LEVEL_ASSERT |
						       HOST_KICK_VECTOR);
}

/* Deliver one IPI to vCPU t; false when its delivery mode is one the monitor does not model. */
static bool deliver(struct vcpu *from, struct vcpu *t, uint32_t lo)
{
	switch (APIC_ICR_DELIVERY_MODE(lo)) {
	case APIC_ICR_DELIVERY_FIXED:
	case APIC_ICR_DELIVERY_LOWEST:
		vlapic_post_interrupt(&t->lapic, lo & APIC_ICR_VECTOR_MASK);
		break;
	case APIC_ICR_DELIVERY_NMI:
		vlapic_post_nmi(&t->lapic);
		break;
	case APIC_ICR_DELIVERY_INIT:
		/* INIT level de-assert (level 0, trigger level) only synchronizes arbitration IDs: nothing to do (SDM 11.6.1). */
		if (!(lo & APIC_ICR_LEVEL_ASSERT))
			return true;
		__atomic_store_n(&t->init_posted, true, __ATOMIC_RELEASE);
		break;
	case APIC_ICR_DELIVERY_STARTUP:
		__atomic_store_n(&t->sipi_posted, lo & APIC_ICR_VECTOR_MASK, __ATOMIC_RELEASE);
		break;
	default:
		return false;
	}
	attention(t);
	from->kicks_sent++;
	vcpu_kick(from, t);
	return true;
}

void vcpu_route_ipi(struct vcpu *v)
{
	struct vlapic_ipi ipi;
	if (!vlapic_take_ipi(&v->lapic, &ipi))
		return;
	const unsigned shorthand = APIC_ICR_SHORTHAND(ipi.lo), mode = APIC_ICR_DELIVERY_MODE(ipi.lo);
	unsigned reached = 0;
	for (unsigned i = 0; i < v->group->count; i++) {
		struct vcpu *t = v->group->vcpu[i];
		if (t == v)
			continue; /* the vLAPIC delivered its own part */
		if (shorthand == APIC_ICR_DEST_FIELD && !vlapic_ipi_accepts(&t->lapic, ipi.lo, ipi.dest, ipi.x2apic))
			continue;
		if (!deliver(v, t, ipi.lo)) {
			if (v->ipis_dropped_logged++ < DROPPED_IPIS_LOGGED)
				log_warn("vCPU %u sent %s %s IPI, which the monitor does not model: dropped", v->id,
					 article(mode), delivery_mode_name[mode]);
			return;
		}
		reached++;
		v->ipis_sent++;
		/* Lowest priority: one of the destinations takes it (SDM 11.6.2.4 leaves the choice to the bus). */
		if (mode == APIC_ICR_DELIVERY_LOWEST)
			break;
	}
	/* Nobody: a physical destination that names no vCPU (itself excepted), or a group of none. */
	if (!reached && shorthand == APIC_ICR_DEST_FIELD && !vlapic_ipi_accepts(&v->lapic, ipi.lo, ipi.dest, ipi.x2apic) &&
	    v->ipis_dropped_logged++ < DROPPED_IPIS_LOGGED)
		log_warn("vCPU %u sent %s %s IPI (vector %#x) to %s APIC ID %#x, which no vCPU of this VM has (%u vCPUs): "
			 "dropped, as a machine without that processor would", v->id, article(mode), delivery_mode_name[mode],
			 ipi.lo & APIC_ICR_VECTOR_MASK, (ipi.lo & APIC_ICR_DEST_LOGICAL) ? "logical" : "physical", ipi.dest,
			 v->group->count);
}

int vcpu_group_stop(struct vcpu *v, int status)
{
	struct vcpu_group *g = v->group;
	if (__atomic_load_n(&g->stopping, __ATOMIC_ACQUIRE))
		return g->stop_status;
	/* The first to stop publishes its status; a second one that races it keeps the first's. */
	uint32_t none = UINT32_MAX;
	if (!__atomic_compare_exchange_n(&g->stopper, &none, v->id, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		while (!__atomic_load_n(&g->stopping, __ATOMIC_ACQUIRE))
			__asm__ volatile("pause");
		return g->stop_status;
	}
	g->stop_status = status;
	__atomic_store_n(&g->stopping, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < g->count; i++)
		if (g->vcpu[i] != v) {
			attention(g->vcpu[i]);
			vcpu_kick(v, g->vcpu[i]);
		}
	return status;
}
