/* The host's own local APIC: what the firmware left running (vmm/platform/host_apic.c). */
#ifndef VMM_HOST_APIC_H
#define VMM_HOST_APIC_H

#include <stdint.h>

/*
 * Logs the host APIC's mode and local interrupt sources, and masks a timer the firmware left
 * running: the monitor runs with interrupts off and would only take its ticks as exits.
 */
void host_apic_report(void);

/*
 * The vector of the monitor's own IPI between physical CPUs: a "kick" that makes the target leave
 * the guest (an external-interrupt exit) or wake from its wait in the monitor, so that it looks at
 * what another CPU posted for its vCPU (vmm/core/ipi.c).  The highest priority class, so that no
 * interrupt the firmware left pending holds it back (SDM 11.8.3).
 */
#define HOST_KICK_VECTOR 0xf2u

/*
 * Send an IPI: `icr_low` is the ICR's low word (vector, delivery mode, level, shorthand), to the
 * APIC with `apic_id` (xAPIC: the MMIO page, waiting until the APIC took it; x2APIC: the ICR MSR).
 * Returns 0, or -1 when an xAPIC kept it pending for 100 ms.
 */
int host_apic_send(uint32_t apic_id, uint32_t icr_low);

/* End of interrupt: the in-service vector of this CPU's APIC (after an acknowledged host interrupt). */
void host_apic_eoi(void);

/* Software-enable this CPU's APIC (SVR), so that it accepts the monitor's kicks (SDM 11.4.7.2). */
void host_apic_enable(void);

#endif
