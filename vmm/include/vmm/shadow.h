/*
 * Shadow page tables: the second memory-virtualization mode (mem=shadow).
 *
 * The hardware CR3 points to tables built by the monitor that map guest-virtual
 * straight to host-physical; the guest's own tables are only read (and their
 * accessed/dirty bits maintained).  The shadow is a *virtual TLB*: it starts
 * empty, is filled one 4 KiB page at a time on the #PF exits the guest takes,
 * and is invalidated by exactly the events that invalidate a real TLB (MOV to
 * CR3, INVLPG, paging-mode changes).  This is correct because the x86 TLB
 * rules already oblige the guest to tell the CPU about every change of a
 * present translation; write-protecting guest page tables would also work but
 * needs an instruction emulator for the trapped writes, which this monitor
 * deliberately does not have.
 *
 * Shadow roots are cached per guest CR3 (a bounded number) so an address-space
 * switch back does not refault every page: a cached root is revalidated
 * against the guest's tables at the switch (a re-walk per present entry,
 * far cheaper than one exit per page), which keeps the virtual-TLB semantics.
 */
#ifndef VMM_SHADOW_H
#define VMM_SHADOW_H

#include <stdint.h>
#include "vmm/pmm.h"
#include "vmm/vcpu.h"

#define SHADOW_MAX_ROOTS     8     /* cached address spaces */
#define SHADOW_MAX_PAGES     2048  /* table pages (8 MiB): beyond this the cache is flushed */

struct shadow_root {
	bool used;
	unsigned levels;    /* 4: IA-32e paging; 3: PAE (also for 32-bit guests) */
	uint64_t guest_cr3;
	uint64_t top;       /* HPA of the PML4 or PDPT */
	uint64_t last_use;
	unsigned largest;   /* largest guest page size shadowed so far (enum leaf_size in shadow.c) */
};

struct shadow_stats {
	uint64_t fills, reflected_faults, cr3_switches, cache_hits, cache_misses;
	uint64_t revalidated, dropped, invlpg, flushes;
	uint64_t single_steps; /* CR0.WP=0 override leaves ended by the single-step #DB exit */
	uint64_t pages_used, pages_peak;
};

struct shadow_state {
	struct pmm *pmm;
	const uint64_t *frames;  /* guest page -> host frame */
	uint64_t guest_size;
	uint64_t identity_root;  /* PAE tables for the guest's paging-off phase: GVA = GPA -> HPA */
	struct shadow_root roots[SHADOW_MAX_ROOTS];
	int current;             /* index in roots, -1: the identity root is in use */
	uint64_t clock;
	uint64_t free_list;      /* recycled table pages, linked through their first word */
	uint64_t last_fill_gva, last_fill; /* the latest #PF fill: a repeat of it is the guest's own fault */
	uint64_t wp_override_gva;          /* a CR0.WP=0 leaf that lives for one instruction (single-stepped) */
	bool step_active;                  /* that instruction is being single-stepped (RFLAGS.TF, #DB exit) */
	bool step_guest_tf;                /* the guest's own RFLAGS.TF when the step began */
	bool wp_override_warned;
	struct shadow_stats stats;
};

/* Build the identity root (needs guest RAM); returns HV_OK or a status. */
int shadow_init(struct shadow_state *s, struct pmm *pmm, const uint64_t *frames, uint64_t guest_size);

/*
 * Another vCPU's shadow state: its own roots (each vCPU fills and invalidates its own, as each CPU
 * has its own TLB; the guest's TLB shootdowns reach each one through its own INVLPG and CR3
 * loads), the first one's identity root shared, since nothing changes it once built.
 */
void shadow_init_sibling(struct shadow_state *s, const struct shadow_state *first);

/*
 * The guest loaded CR3 (or changed paging mode): select or build the root, load the hardware CR3.
 * EXIT_RESUME, or the status to stop with (no memory for a root).
 */
int shadow_switch(struct vcpu *v);
/* Paging-mode or permission-relevant change (CR0.PG/WP, CR4.PAE/PSE/SMEP/SMAP, EFER.LMA/NXE): drop every root. */
int shadow_flush_all(struct vcpu *v);
/*
 * A #PF exit in shadow mode: fill the shadow or reflect the fault into the guest (EXIT_RESUME), or
 * a status to stop with, or MMU_EMULATE_MMIO: the access is to an emulated page at *mmio_gpa.
 */
int shadow_handle_page_fault(struct vcpu *v, const struct vm_exit *e, uint64_t *mmio_gpa);
/* The guest executed INVLPG addr. */
void shadow_invlpg(struct vcpu *v, uint64_t gva);
/* A #DB exit: the one instruction a CR0.WP=0 override leaf was made for has run; drop it. */
int shadow_handle_debug_exception(struct vcpu *v, const struct vm_exit *e);
/* Print the shadow statistics (memory used included). */
void shadow_report(const struct shadow_state *s);

#endif
