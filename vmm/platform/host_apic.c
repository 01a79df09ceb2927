/*
 * The host's local APIC, left as the firmware programmed it.  The monitor takes no interrupts: it
 * runs with RFLAGS.IF = 0, and while the guest runs, "external-interrupt exiting" with "acknowledge
 * interrupt on exit" turns each host interrupt into an exit whose vector the monitor drops
 * (exit/misc.c).  Here it says what the firmware left running and masks the APIC timer (a UEFI
 * tick would otherwise cost an exit per period for nothing).
 */
#include <arch/apic.h>
#include <arch/cpuid.h>
#include <arch/msr.h>
#include "vmm/delay.h"
#include "vmm/host_apic.h"
#include "vmm/log.h"
#include "vmm/phys.h"

#define FOUR_GIB (4ull << 30) /* the monitor's identity map covers the APIC page below it */

static uint32_t host_apic_read(uint64_t base, uint32_t offset)
{
	if (base & APIC_BASE_EXTD)
		return (uint32_t)rdmsr(X2APIC_MSR(offset));
	return *(volatile uint32_t *)phys_to_virt((base & APIC_BASE_ADDR_MASK) + offset);
}

static void host_apic_write(uint64_t base, uint32_t offset, uint32_t value)
{
	if (base & APIC_BASE_EXTD)
		wrmsr(X2APIC_MSR(offset), value);
	else
		*(volatile uint32_t *)phys_to_virt((base & APIC_BASE_ADDR_MASK) + offset) = value;
}

static const char *lvt_text(uint32_t lvt)
{
	return (lvt & APIC_LVT_MASKED) ? "masked" : "UNMASKED";
}

void host_apic_report(void)
{
	if (!(cpuid(CPUID_LEAF_FEATURES, 0).edx & CPUID_1_EDX_APIC)) {
		log_info("host local APIC: none (CPUID.1:EDX.APIC = 0)");
		return;
	}
	const uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	if (!(base & APIC_BASE_EN)) {
		log_info("host local APIC: globally disabled (IA32_APIC_BASE %#llx)", (unsigned long long)base);
		return;
	}
	if (!(base & APIC_BASE_EXTD) && (base & APIC_BASE_ADDR_MASK) >= FOUR_GIB) {
		log_info("host local APIC: xAPIC at %#llx, above the identity map: not inspected",
			 (unsigned long long)(base & APIC_BASE_ADDR_MASK));
		return;
	}
	const uint32_t svr = host_apic_read(base, APIC_REG_SVR);
	const uint32_t timer = host_apic_read(base, APIC_REG_LVT_TIMER);
	const uint32_t lint0 = host_apic_read(base, APIC_REG_LVT_LINT0);
	const uint32_t lint1 = host_apic_read(base, APIC_REG_LVT_LINT1);
	log_info("host local APIC: %s mode at %#llx, software %s; LVT timer %#x (%s), LINT0 %#x (%s), LINT1 %#x (%s); "
		 "host interrupts exit while the guest runs and are dropped",
		 (base & APIC_BASE_EXTD) ? "x2APIC" : "xAPIC", (unsigned long long)(base & APIC_BASE_ADDR_MASK),
		 (svr & APIC_SVR_ENABLE) ? "enabled" : "disabled", timer, lvt_text(timer), lint0, lvt_text(lint0),
		 lint1, lvt_text(lint1));
	if ((svr & APIC_SVR_ENABLE) && !(timer & APIC_LVT_MASKED)) {
		host_apic_write(base, APIC_REG_LVT_TIMER, timer | APIC_LVT_MASKED);
		log_info("host local APIC: the firmware's timer (vector %u) is now masked",
			 timer & APIC_LVT_VECTOR_MASK);
	}
}

#define ICR_IDLE_WAIT_US   100000 /* an xAPIC that has not sent a command in 100 ms never will */
#define SPURIOUS_VECTOR    0xffu  /* the SVR's vector: the monitor never sees a spurious interrupt (IF = 0) */

int host_apic_send(uint32_t apic_id, uint32_t icr_low)
{
	const uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	if (base & APIC_BASE_EXTD) {
		/* x2APIC (SDM 11.12.9): one 64-bit write, no delivery status to wait for. */
		wrmsr(X2APIC_MSR(APIC_REG_ICR_LO), ((uint64_t)apic_id << X2APIC_ICR_DEST_SHIFT) | icr_low);
		return 0;
	}
	host_apic_write(base, APIC_REG_ICR_HI, apic_id << XAPIC_ICR_DEST_SHIFT);
	host_apic_write(base, APIC_REG_ICR_LO, icr_low); /* the write to the low half sends it */
	const uint64_t give_up = delay_deadline(rdtsc(), ICR_IDLE_WAIT_US);
	while (host_apic_read(base, APIC_REG_ICR_LO) & APIC_ICR_DELIVERY_STATUS)
		if (rdtsc() > give_up)
			return -1;
	return 0;
}

void host_apic_eoi(void) { host_apic_write(rdmsr(MSR_IA32_APIC_BASE), APIC_REG_EOI, 0); }

void host_apic_enable(void)
{
	const uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	const uint32_t svr = host_apic_read(base, APIC_REG_SVR);
	if (!(svr & APIC_SVR_ENABLE))
		host_apic_write(base, APIC_REG_SVR, (svr & ~APIC_SVR_VECTOR_MASK) | APIC_SVR_ENABLE | SPURIOUS_VECTOR);
}

/* The kick's handler, while a CPU waits in the monitor with interrupts on (vmm/platform/isr.asm). */
void host_kick_interrupt(void) { host_apic_eoi(); }
