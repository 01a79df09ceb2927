/*
 * Guest page-table walker: translates a guest-virtual (linear) address to a
 * guest-physical address through the guest's own paging structures, as the
 * CPU would (SDM Vol. 3A chapter 4), with the architectural #PF error code.
 *
 * Modes (SDM 4.1.1, Table 4-1), chosen from CR0.PG, CR4.PAE and EFER.LMA:
 * paging off (GVA = GPA), 32-bit paging (4 MiB pages with CR4.PSE, PSE-36),
 * PAE paging (PDPTEs, 2 MiB pages), 4-level paging (2 MiB and 1 GiB pages).
 * 5-level paging (CR4.LA57) is not supported (GPT_UNSUPPORTED).
 *
 * SMEP and SMAP (CR4 bits 20/21, SDM 4.6.1) are enforced for supervisor
 * accesses; every supervisor data access counts as explicit (RFLAGS.AC
 * honoured), since the callers only walk for the guest's own instructions.
 * 1 GiB pages exist only when gpt_cpu.page_1g says the CPU has them (PS in a
 * PDPTE is a reserved bit otherwise, SDM 4.5.4).
 * Left out, on purpose: protection keys and the PAT/PCD/PWT memory type.
 * A/D updates set only the new bits, atomically (write_pte ORs them in, as
 * the CPU's locked update does, SDM 4.8): a guest's concurrent change of the
 * same entry on another vCPU is never overwritten.
 *
 * All guest memory is read through callbacks: pure logic, unit-tested on the
 * host (tests/unit/test_gpt.c).
 */
#ifndef VMM_GPT_H
#define VMM_GPT_H

#include <stdbool.h>
#include <stdint.h>

#define GPT_DEFAULT_MAXPHYADDR 52u /* used when gpt_cpu.maxphyaddr is 0 */
#define GPT_PAE_PDPTES 4u          /* PDPTE registers of PAE paging (SDM 4.4.1) */

/* The guest state that controls paging. */
struct gpt_cpu {
	uint64_t cr0, cr3, cr4, efer;
	unsigned maxphyaddr; /* the guest's MAXPHYADDR (CPUID.80000008h:EAX[7:0]); 0 means 52 */
	bool page_1g;        /* 1 GiB pages (CPUID.80000001h:EDX[26]); else PS in a 4-level PDPTE is reserved */
	bool rflags_ac;      /* RFLAGS.AC: with CR4.SMAP, lets supervisor data accesses reach user pages */
	/*
	 * PAE paging only: when pdptes_valid, the four PDPTE registers (VMCS
	 * GUEST_PDPTE0-3 with EPT, SDM 28.3.3.1) are used instead of reading the
	 * PDPT at CR3 from memory (what the CPU does at MOV to CR3).
	 */
	bool pdptes_valid;
	uint64_t pdpte[GPT_PAE_PDPTES];
};

/* Access to the guest's paging structures (guest-physical addresses). */
struct gpt_ops {
	/* Read a 4- or 8-byte entry at gpa into *val (zero-extended); 0, or -1 if gpa is not guest RAM. */
	int (*read_pte)(void *ctx, uint64_t gpa, uint64_t *val, unsigned size);
	/* Write one back (A/D updates); 0 or -1.  May be NULL when set_accessed_dirty is never true. */
	int (*write_pte)(void *ctx, uint64_t gpa, uint64_t set_bits, unsigned size); /* atomic OR of set_bits */
	void *ctx;
};

/* Access kinds (OR them). */
#define GPT_ACCESS_READ  0u
#define GPT_ACCESS_WRITE (1u << 0)
#define GPT_ACCESS_USER  (1u << 1) /* CPL 3 */
#define GPT_ACCESS_FETCH (1u << 2) /* instruction fetch */

/* Page-fault error code (SDM 4.7, Figure 4-12). */
#define PF_EC_PRESENT (1u << 0) /* 0: not-present page; 1: protection violation (or reserved bit) */
#define PF_EC_WRITE   (1u << 1)
#define PF_EC_USER    (1u << 2)
#define PF_EC_RSVD    (1u << 3)
#define PF_EC_FETCH   (1u << 4) /* I/D: set only with CR4.SMEP, or with CR4.PAE and EFER.NXE */

enum gpt_mode { GPT_MODE_NONE, GPT_MODE_32BIT, GPT_MODE_PAE, GPT_MODE_4LEVEL, GPT_MODE_INVALID };

enum gpt_result {
	GPT_OK = 0,
	GPT_PAGE_FAULT = -1,   /* the CPU would raise #PF(pf_error_code) with CR2 = gva */
	GPT_NONCANONICAL = -2, /* 4-level: gva not canonical (the CPU raises #GP, SDM 3.3.7.1);
				  32-bit modes: gva >= 4 GiB (the caller truncates 32-bit registers itself) */
	GPT_BAD_GPA = -3,      /* a paging structure lies outside guest RAM (read_pte/write_pte failed) */
	GPT_UNSUPPORTED = -4,  /* 5-level paging, or an inconsistent CR0/CR4/EFER */
};

struct gpt_walk {
	uint64_t gpa;           /* OK: guest-physical address of gva */
	uint64_t leaf_pte;      /* OK: the leaf entry (its value before the A/D update);
				   fault: the not-present or reserved-bit entry, or the leaf */
	uint64_t leaf_pte_gpa;  /* where that entry lives (PAE with pdptes_valid: where it would be) */
	uint64_t page_size;     /* 4 KiB, 2 MiB, 4 MiB or 1 GiB (4 KiB with paging off) */
	unsigned levels;        /* paging-structure entries read, the last one included (0: paging off) */
	bool writable, user, nx;/* effective rights over all levels (SDM 4.6) */
	bool accessed;          /* OK: every entry used (PAE PDPTEs aside) had A set before this walk */
	uint32_t pf_error_code; /* GPT_PAGE_FAULT: the architectural error code */
	enum gpt_mode mode;
};

/* The paging mode of a CPU state (GPT_MODE_INVALID for LA57 or LMA without PG/PAE). */
enum gpt_mode gpt_mode_of(const struct gpt_cpu *cpu);

/*
 * A PAE PDPTE as the CPU checks it when it loads the four PDPTE registers (SDM
 * 4.4.1: MOV to CR3, and MOV to CR0/CR4 entering or changing PAE paging): true
 * unless it is present with a reserved bit set (bits 2:1, 8:5 and 63:MAXPHYADDR,
 * Table 4-8), which the CPU refuses with #GP(0).  maxphyaddr 0 means 52.
 */
bool gpt_pae_pdpte_valid(uint64_t pdpte, unsigned maxphyaddr);

/*
 * Translate gva for an access (GPT_ACCESS_*), checking present bits, reserved
 * bits (bits above MAXPHYADDR, PS in a PML4E, PS in a PDPTE without page_1g,
 * XD without EFER.NXE, large-page
 * alignment bits, PAE PDPTE reserved bits), R/W with CR0.WP for supervisor writes,
 * U/S for user accesses, XD with EFER.NXE for fetches, and SMEP/SMAP for
 * supervisor fetches from and data accesses to user pages.
 * When set_accessed_dirty and the access succeeds, sets A in every entry used
 * (not in PAE PDPTEs, which have none) and D in the leaf for a write, writing an
 * entry back only if it changed.  A failing access changes nothing.
 * A PAE PDPTE with reserved bits set is reported as a RSVD page fault (the CPU
 * would have refused it with #GP when CR3 was loaded, SDM 4.4.1).
 * Returns enum gpt_result; *out is always filled as far as the walk got.
 */
int gpt_translate(const struct gpt_cpu *cpu, const struct gpt_ops *ops, uint64_t gva, unsigned access,
		  bool set_accessed_dirty, struct gpt_walk *out);

#endif
