/*
 * Memory virtualization behind one interface: how a vCPU's guest-virtual -> guest-physical ->
 * machine translation is kept, with EPT (vmm/mmu/ept_mmu.c) or with shadow page tables
 * (vmm/mmu/shadow.c).  The CR, MSR, INVLPG and exception exits, the guest-virtual accesses and
 * the CR0/CR4/EFER policy ask the vCPU's implementation (v->mmu) instead of testing the mode.
 */
#ifndef VMM_MMU_OPS_H
#define VMM_MMU_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/vcpu.h"

/* What changed in the guest's paging controls (mmu_ops.translation_changed). */
enum mmu_change {
	MMU_CHANGE_PAGING, /* CR0.PG/WP/CD, CR4.PSE/PAE/PGE/PCIDE/SMEP/SMAP: translations change */
	MMU_CHANGE_NXE,    /* EFER.NXE: what an XD bit means */
};

struct mmu_ops {
	const char *name;           /* "ept", "shadow": the mode's name, as mem= and the guest's command line say it */
	bool guest_pcid;            /* the guest may set CR4.PCIDE and sees CPUID.1:ECX.PCID */
	bool guest_real_mode;       /* the guest may clear CR0.PE (unrestricted guest, SDM 26.3.1.1) */
	bool pdptes_in_registers;   /* PAE PDPTEs are guest-state registers the CPU loads (EPT, SDM 27.3.2.4) */
	bool cr3_in_vcpu;           /* the guest's CR3 is v->guest_cr3 (the hardware's is the monitor's root), else the CR3 register */
	/* The hardware CR0/CR4/EFER from the guest's (vmm/core/guest_cr.c): bits the mode forces. */
	uint64_t cr0_fixed0_ignored; /* fixed-1 bits of IA32_VMX_CR0_FIXED0 the guest may clear anyway */
	uint64_t cr0_set, cr4_set, cr4_clear;
	uint64_t cr4_clear_paging_off;   /* cleared while the guest's own paging is off */
	uint64_t efer_clear_paging_off;
	/* MOV to CR3 (checks done): EXIT_RESUME, or a status to stop with. */
	int (*load_cr3)(struct vcpu *v, uint64_t cr3, bool noflush);
	/* The guest changed a paging control: EXIT_RESUME, or a status. */
	int (*translation_changed)(struct vcpu *v, enum mmu_change what);
	/* INVLPG of a guest-linear address. */
	void (*invlpg)(struct vcpu *v, uint64_t gva);
	/*
	 * An intercepted #PF or #DB (only shadow paging intercepts them): EXIT_RESUME, a status, or
	 * MMU_EMULATE_MMIO with the guest-physical address of an emulated page in *mmio_gpa.
	 * NULL: no exception is intercepted.
	 */
	int (*exception)(struct vcpu *v, const struct vm_exit *e, uint64_t *mmio_gpa);
	/* A guest-physical address's host-physical one and the size of the page holding it; 0 or -1. */
	int (*gpa_to_hpa)(struct vcpu *v, uint64_t gpa, uint64_t *hpa, uint64_t *page_size);
	/* Statistics at the end of the run (NULL: none). */
	void (*report)(struct vcpu *v);
};
#define MMU_EMULATE_MMIO (-3)

/* The guest's CR3, as it wrote it (a field test, not a call: every guest-page walk asks). */
static inline uint64_t mmu_guest_cr3(struct vcpu *v)
{
	return v->mmu->cr3_in_vcpu ? v->guest_cr3 : vcpu_read(v, VCPU_CR3);
}

/* The two implementations (vmm/mmu/). */
extern const struct mmu_ops ept_mmu, shadow_mmu;

#endif
