/*
 * Guest memory: guest-physical RAM [0, guest_mem) backed by host frames taken
 * from the frame allocator wherever they are (the PFN -> MFN step), mapped by
 * EPT (or, in shadow mode, by the monitor's shadow tables), plus checked
 * access to guest-physical and guest-virtual memory for the exit handlers.
 */
#ifndef VMM_MEMORY_H
#define VMM_MEMORY_H

#include <stdint.h>
#include "vmm/cmdline.h"
#include "vmm/pmm.h"
#include "vmm/vmx_caps.h"

struct vcpu;
struct vmm_memory; /* vmm/memory_setup.h */

/* Read/write guest-physical memory; 0, or -1 when [gpa, gpa+len) is not all guest RAM. */
int vmm_guest_phys_read(struct vmm_memory *m, uint64_t gpa, void *buf, uint64_t len);
int vmm_guest_phys_write(struct vmm_memory *m, uint64_t gpa, const void *buf, uint64_t len);

/* Results of guest-virtual access. */
enum guest_access_result {
	GUEST_ACCESS_OK = 0,
	GUEST_ACCESS_BAD_POINTER = -1, /* wraps, too long, or lands outside guest RAM */
	GUEST_ACCESS_PAGE_FAULT = -2,  /* not mapped / not permitted by the guest's page tables */
};

/*
 * Read/write guest-virtual memory through the guest's current paging mode and
 * page tables (setting accessed/dirty bits as the CPU would).  All pages are
 * translated before any byte is copied.  On GUEST_ACCESS_PAGE_FAULT, *pf_addr
 * and *pf_error (may be NULL) describe the fault to reflect into the guest.
 */
int vmm_guest_virt_read(struct vcpu *v, uint64_t gva, void *buf, uint64_t len, uint64_t *pf_addr, uint32_t *pf_error);
int vmm_guest_virt_write(struct vcpu *v, uint64_t gva, const void *buf, uint64_t len, uint64_t *pf_addr,
			 uint32_t *pf_error);

/*
 * The guest's paging state as the guest sees it, for the walker (vmm/mm/guest/gpt.c):
 * its own CR0/CR3/CR4/EFER (not the monitor's additions), MAXPHYADDR, 1 GiB-page
 * support, RFLAGS.AC, and in PAE paging the PDPTE registers.
 */
struct gpt_cpu;
void vmm_guest_gpt_cpu(struct vcpu *v, struct gpt_cpu *cpu);

/*
 * Guest-virtual reads and writes for the processor's implicit supervisor-mode accesses to system structures
 * (GDT, LDT, TSS: SDM Vol. 3A 4.6): supervisor accesses whatever the CPL, and SMAP
 * applies to them regardless of RFLAGS.AC.
 */
/* The guest's instruction bytes at CS:RIP, as many as are mapped (up to X86_INSN_MAX): their count. */
#define X86_INSN_MAX 15 /* the longest x86 instruction (SDM Vol. 2A 2.3.11) */
unsigned vmm_guest_fetch_instruction(struct vcpu *v, uint8_t buf[X86_INSN_MAX]);
int vmm_guest_virt_read_implicit(struct vcpu *v, uint64_t gva, void *buf, uint64_t len, uint64_t *pf_addr,
				 uint32_t *pf_error);
int vmm_guest_virt_write_implicit(struct vcpu *v, uint64_t gva, const void *buf, uint64_t len, uint64_t *pf_addr,
				  uint32_t *pf_error);

/*
 * The two-level translation of a guest-virtual address for HC_TRANSLATE:
 * guest page walk (no A/D update), then EPT (or the GPA->HPA map).
 * Returns 0, or HC_ERR_NOT_MAPPED / HC_ERR_BAD_POINTER.
 */
struct hv_translation;
int vmm_translate(struct vcpu *v, uint64_t gva, struct hv_translation *out);

#endif
