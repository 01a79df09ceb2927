/*
 * Hardware task switches (SDM Vol. 3A 7.3), which always exit in VMX
 * non-root operation (exit reason 9, SDM Vol. 3C 26.4.2).  The handler is
 * vmm/exit/task.c; the pure rules it applies (descriptor decoding, the checks
 * of SDM Vol. 3A Table 7-1 on the new TSS and on the segments it loads, the
 * privilege rule) are here and in vmm/exit/task_check.c, unit-tested on the
 * host (tests/unit/test_task.c).
 */
#ifndef VMM_TASK_H
#define VMM_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/segment.h>

/* Exit qualification for task switches (SDM Vol. 3C 28.2.1, Table 28-2). */
#define TASK_QUAL_SELECTOR(q) ((uint16_t)((q) & 0xffffu))
#define TASK_QUAL_SOURCE(q)   ((unsigned)(((q) >> 30) & 0x3u))
enum task_source {
	TASK_SRC_CALL = 0,     /* CALL (a TSS or a task gate) */
	TASK_SRC_IRET = 1,     /* IRET with EFLAGS.NT = 1: the previous task link */
	TASK_SRC_JMP = 2,      /* JMP (a TSS or a task gate) */
	TASK_SRC_IDT_GATE = 3, /* a task gate in the IDT (INT n, exception, interrupt) */
};

/* A decoded 8-byte legacy descriptor (SDM Vol. 3A 3.4.5). */
struct seg_desc {
	uint32_t base;
	uint32_t limit; /* in bytes - 1: scaled by G */
	uint8_t type;   /* the 4-bit type field */
	uint8_t dpl;
	bool s;         /* 1: code or data, 0: system */
	bool p;
	bool g, db, l, avl;
};
void desc_decode(uint64_t raw, struct seg_desc *d);
/* The access rights of a descriptor in VMCS format (SDM Vol. 3C 25.4.1, Table 25-2). */
uint32_t desc_vmx_ar(uint64_t raw);

/* The exception a check asks for: none, or vector + error code. */
struct task_fault {
	bool raised;
	uint8_t vector;
	uint32_t error_code;
};

/*
 * The error code of a fault that names a selector (SDM Vol. 3A 6.13, Figure 6-7):
 * the selector's index and TI, with EXT set when the task switch delivers an
 * event external to the program (interrupt, NMI, hardware exception).
 */
uint32_t task_selector_error_code(uint16_t sel, bool ext);

/*
 * Whether selector sel's descriptor lies inside a table of this limit
 * (the descriptor's last byte at or below the limit, SDM Vol. 3A 3.5.1).
 */
bool task_selector_in_table(uint16_t sel, uint32_t table_limit);

/*
 * The privilege rule of SDM Vol. 3A 7.3 step 2 (and 7.2.5 for task gates): a
 * JMP or CALL may use a TSS descriptor or task gate whose DPL is numerically
 * at least both the CPL and the selector's RPL; an INT n may use a task gate
 * whose DPL is at least the CPL (pass rpl 0).  IRET, exceptions and
 * interrupts are not checked.
 */
bool task_privilege_ok(unsigned cpl, unsigned rpl, unsigned dpl);

/*
 * The checks on the new TSS selector and descriptor, before the commit point
 * (SDM Vol. 3A 7.3 steps 1 and 3, Table 7-1 rows 1-3; Vol. 2A JMP, CALL, IRET,
 * INT n): the selector in the GDT (TI = 0, within gdt_limit), the descriptor
 * a TSS (S = 0, 16- or 32-bit TSS type), present, available for JMP/CALL/gate
 * and busy for IRET, and a limit of at least 67H (32-bit) or 2BH (16-bit).
 * Faults: #GP(selector) for JMP, CALL and gates, #TS(selector) for IRET, as
 * their instruction pages say; #NP(selector) when not present; #TS(selector)
 * for a short limit.  raw is ignored when the selector is outside the GDT.
 * Returns true when the switch may go on (*f then not raised).
 */
bool task_check_new_tss(uint16_t sel, uint64_t raw, uint32_t gdt_limit, enum task_source src, bool ext,
			struct task_fault *f);

/* A null selector: GDT index 0, any RPL (TI = 1 with index 0 names the LDT's first entry). */
static inline bool task_selector_null(uint16_t sel) { return (sel & (SELECTOR_INDEX_MASK | SELECTOR_TI)) == 0; }

/* Whether a TSS descriptor type is a 32-bit TSS (else 16-bit). */
static inline bool task_tss_is_32bit(uint8_t type) { return (type & SEG_TYPE_TSS_32BIT) != 0; }

/* The segment registers a task switch loads, in the order their descriptors are qualified. */
enum task_seg { TASK_SEG_LDTR, TASK_SEG_CS, TASK_SEG_SS, TASK_SEG_DATA };

/*
 * Qualify the descriptor of a segment register the new task loads (SDM Vol. 3A
 * 7.3 step 13, Table 7-1 rows 4-17), after the commit point: the fault goes to
 * the new task.  cpl is the new task's CPL (the RPL of its CS selector).
 * raw: the descriptor, or NULL when the selector is outside its table (or
 * names the LDT when none is loaded).  A null selector is allowed for LDTR and
 * the data segments (they become unusable), never for CS or SS.
 *   LDTR: in the GDT, an LDT descriptor, present (else #TS(selector)).
 *   CS:   a code segment, DPL = RPL (non-conforming) or DPL <= RPL
 *         (conforming), else #TS(selector); present, else #NP(selector).
 *   SS:   RPL = CPL, a writable data segment, DPL = CPL, else #TS(selector);
 *         present, else #SS(selector).
 *   DATA: data or readable code; DPL >= CPL and DPL >= RPL unless conforming
 *         code, else #TS(selector); present, else #NP(selector).
 */
bool task_check_segment(enum task_seg which, uint16_t sel, const uint64_t *raw, unsigned cpl, bool ext,
			struct task_fault *f);

#endif
