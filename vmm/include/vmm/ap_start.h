/*
 * Starting the application processors (SDM Vol. 3A 9.4 "Multiple-Processor (MP) Initialization"):
 * the bootstrap processor copies a trampoline (vmm/platform/ap_trampoline.asm) to a page below
 * 1 MiB, fills its parameters and sends INIT, then STARTUP twice, to one processor at a time.  The
 * processor wakes in real mode at that page, climbs to protected mode and to 64-bit mode on the
 * boot page tables, loads the monitor's own page tables and stack, and calls `entry(arg)`.
 * After ExitBootServices the firmware's MP services are gone, so both boot paths do this.
 */
#ifndef VMM_AP_START_H
#define VMM_AP_START_H

#include <stdint.h>
#include "vmm/bootinfo.h"

/*
 * The trampoline's parameters, at the end of its copy; the assembly reads them through the
 * offsets vmm/gen/asm_offsets.c generates.  The pseudo-descriptor and the two far pointers are
 * laid out as LGDT and JMP m16:32 read them (SDM Vol. 2: LGDT, JMP).
 */
struct ap_trampoline_params {
	uint16_t pad0[3];
	uint16_t gdt_limit;   /* LGDT operand: limit, then the 32-bit base */
	uint32_t gdt_base;    /* physical address of the trampoline's GDT */
	uint32_t pm_entry;    /* far pointer to the 32-bit code: offset ... */
	uint16_t pm_selector; /* ... and selector */
	uint16_t pad1;
	uint32_t lm_entry;    /* far pointer to the 64-bit code */
	uint16_t lm_selector;
	uint16_t pad2;
	uint32_t boot_cr3;    /* page tables that map the trampoline and the monitor, below 4 GiB */
	uint32_t efer;        /* IA32_EFER to load (LME, and NXE as the bootstrap processor has it) */
	uint32_t progress;    /* written by the AP: AP_PROGRESS_* (what it reached, for the report) */
	uint64_t cr3;         /* the monitor's page tables */
	uint64_t stack_top;   /* the AP's stack */
	uint64_t arg;         /* entry's argument */
	uint64_t entry;       /* void entry(uint64_t arg), never returns */
};

/* How far an AP got in the trampoline, for the report when it does not answer. */
enum ap_progress {
	AP_PROGRESS_NONE = 0,
	AP_PROGRESS_REAL_MODE = 1,  /* it ran the first instructions of the trampoline */
	AP_PROGRESS_LONG_MODE = 2,  /* it reached 64-bit mode and is about to call entry */
};

/* Offsets in the trampoline's image (vmm/platform/ap_trampoline.asm). */
struct ap_trampoline_layout {
	uint32_t size;        /* bytes to copy, parameters included */
	uint32_t gdt;         /* its GDT */
	uint32_t pm_code;     /* its 32-bit code */
	uint32_t lm_code;     /* its 64-bit code */
	uint32_t params;      /* struct ap_trampoline_params */
	uint32_t gdt_limit;   /* its GDT's size - 1 */
};

/*
 * The page below 1 MiB for the trampoline: the highest 4 KiB page whose SIPI vector is allowed
 * (APIC_SIPI_VECTOR_MIN..MAX) that lies wholly in usable RAM and outside every exclusion.  Returns
 * its physical address, or 0 when there is none.  Pure (unit-tested).
 */
struct ap_exclusion {
	uint64_t base, end; /* [base, end) */
};
uint64_t ap_trampoline_page(const struct bootinfo_mem_range *mem, unsigned count,
			    const struct ap_exclusion *excl, unsigned nexcl);

/*
 * Prepare the trampoline at `page` (from ap_trampoline_page) so that an AP enters `entry(arg)` on
 * `stack_top` with the monitor's current page tables.  Returns 0, or -1 with the reason in `why`.
 */
int ap_trampoline_install(uint64_t page, void (*entry)(uint64_t), char *why, unsigned why_len);

/* Set the next AP's stack and argument (one AP starts at a time) and clear its progress. */
void ap_trampoline_arm(uint64_t page, uint64_t stack_top, uint64_t arg);

/* What the AP started last reached (enum ap_progress). */
uint32_t ap_trampoline_progress(uint64_t page);

/*
 * Send INIT, wait 10 ms, then STARTUP twice 200 us apart (SDM 9.4.4.1) to the processor with
 * `apic_id`, to run the trampoline at `page`.  Returns 0, or -1 with the reason in `why` (the APIC
 * would not accept the command: delivery status stuck).
 */
int ap_send_init_sipi(uint32_t apic_id, uint64_t page, char *why, unsigned why_len);

/* INIT alone: a processor that did not answer goes back to waiting for a STARTUP, harmlessly. */
void ap_send_init(uint32_t apic_id);

/* This processor's local APIC ID (CPUID.1:EBX[31:24], or the x2APIC ID in x2APIC mode). */
uint32_t ap_this_apic_id(void);

#endif
