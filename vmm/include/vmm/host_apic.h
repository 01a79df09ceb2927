/* The host's own local APIC: what the firmware left running (vmm/platform/host_apic.c). */
#ifndef VMM_HOST_APIC_H
#define VMM_HOST_APIC_H

/*
 * Logs the host APIC's mode and local interrupt sources, and masks a timer the firmware left
 * running: the monitor runs with interrupts off and would only take its ticks as exits.
 */
void host_apic_report(void);

#endif
