/*
 * One physical CPU: what only it uses (descriptor tables, exception stacks, the VMXON region, the
 * HOST_RSP its current VMCS holds, its VMX-instruction failures) and the vCPU it runs.  Each CPU
 * reaches its own through the GS base (this_pcpu(): one load of GS:0); the VMCS host-state area
 * gives the same GS base back at every VM exit (vmm/vmx/vmcs_setup.c, SDM 28.5.1).
 */
#ifndef VMM_PCPU_H
#define VMM_PCPU_H

#include <stddef.h>
#include <stdint.h>
#include <arch/segment.h>

#define PCPU_MAX         64   /* physical CPUs the monitor can run on (cpus= may ask for fewer) */
#define PCPU_GDT_ENTRIES 5    /* null, code, data, TSS (two slots) */
#define PCPU_IST_STACKS  3    /* #DF, NMI, #MC */
#define PCPU_IST_SIZE    8192
#define PCPU_IDT_ENTRIES 256  /* the exceptions, and HOST_KICK_VECTOR (vmm/host_apic.h) */

struct vcpu;

/* Where a physical CPU stands (the bootstrap processor waits on an AP's, vmm/smp.c). */
enum pcpu_state {
	PCPU_OFFLINE = 0,   /* not started, or left out */
	PCPU_ONLINE,        /* running the monitor's code on its own tables */
	PCPU_VMX_ROOT,      /* in VMX root operation, ready for a vCPU */
	PCPU_FAILED,        /* its checks or VMXON failed: `status` says which, its log line why */
};

struct pcpu {
	struct pcpu *self;               /* GS:0, so that this_pcpu() is one load */
	uint32_t index;                  /* 0: the bootstrap processor */
	uint32_t apic_id;                /* its local APIC ID */
	uint32_t state;                  /* enum pcpu_state, written by the CPU itself (atomic) */
	int32_t status;                  /* HV_* status when state is PCPU_FAILED */
	uint32_t vmcs_access_failures;   /* failed VMREAD/VMWRITE/INVEPT/INVVPID on this CPU (vmm/vmx/vmcs.c) */
	uint64_t host_rsp;               /* HOST_RSP of the current VMCS, 0: none yet (vmm/vmx/vmx_entry.asm) */
	uint64_t vmxon_region;           /* physical address; 0 before VMXON (vmm/vmx/vmx.c) */
	struct vcpu *vcpu;               /* the vCPU whose VMCS is current here, or NULL */
	struct vcpu *assigned;           /* an AP: the vCPU the bootstrap processor gave it to run (atomic) */
	uint64_t gdt[PCPU_GDT_ENTRIES] __attribute__((aligned(16)));
	struct tss64 tss __attribute__((aligned(16)));
	struct idt_gate64 idt[PCPU_IDT_ENTRIES] __attribute__((aligned(16)));
	uint8_t ist_stacks[PCPU_IST_STACKS][PCPU_IST_SIZE] __attribute__((aligned(16)));
};
_Static_assert(offsetof(struct pcpu, self) == 0, "this_pcpu() reads GS:0");

/* This CPU's own (valid once pcpu_init has run on it). */
static inline struct pcpu *this_pcpu(void)
{
	struct pcpu *p;
	__asm__("movq %%gs:0, %0" : "=r"(p));
	return p;
}

/*
 * Make `c` this CPU's pcpu number `index`: its GDT, TSS (with the IST stacks) and IDT loaded, and
 * the GS base pointing to it (vmm/platform/cpu.c).  NULL: the bootstrap processor's own, which
 * exists before the frame allocator does; an AP's comes from the frame allocator.
 */
struct pcpu *pcpu_init(unsigned index, struct pcpu *c);

/* Physical CPU number `index`, or NULL when it has none (never started, or beyond those started). */
struct pcpu *pcpu_get(unsigned index);

#endif
