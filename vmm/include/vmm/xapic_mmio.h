/* The xAPIC page of the virtual local APIC (vmm/apic/xapic_mmio.c). */
#ifndef VMM_XAPIC_MMIO_H
#define VMM_XAPIC_MMIO_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* True if gpa is in the vLAPIC's page and the APIC is in xAPIC mode. */
bool xapic_mmio_page(const struct vcpu *v, uint64_t gpa);
/* Emulate the access of the instruction at RIP to gpa, or stop the guest naming its bytes. */
void xapic_mmio_emulate(struct vcpu *v, uint64_t gpa);

#endif
