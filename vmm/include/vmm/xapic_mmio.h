/* The xAPIC page of the virtual local APIC (vmm/exit/xapic_mmio.c). */
#ifndef VMM_XAPIC_MMIO_H
#define VMM_XAPIC_MMIO_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vm_exit;

/* True if gpa is in the vLAPIC's page and the APIC is in xAPIC mode. */
bool xapic_mmio_page(const struct vcpu *v, uint64_t gpa);
/* Emulate the access of the instruction at RIP to gpa, or stop the guest naming its bytes. */
int xapic_mmio_emulate(struct vcpu *v, const struct vm_exit *e, uint64_t gpa);

#endif
