/*
 * The checks LLDT and LTR make on their selector and on the descriptor it names (SDM Vol. 2A LLDT,
 * LTR; Vol. 3A 3.5.2, 8.2.3), as pure functions for vmm/exit/dtable.c; host-tested in
 * tests/unit/test_dtable_check.c.
 */
#ifndef VMM_DTABLE_CHECK_H
#define VMM_DTABLE_CHECK_H

#include <stdbool.h>
#include <stdint.h>

/* Selector fields (SDM Vol. 3A 3.4.2). */
#define SELECTOR_RPL_MASK   0x3u
#define SELECTOR_TI         (1u << 2)          /* 1: the selector names an LDT entry */
#define SELECTOR_INDEX_MASK 0xfff8u
/* The error code of a fault on a selector: the selector with RPL replaced by EXT = IDT = 0 (SDM Vol. 3A 6.13). */
#define SELECTOR_ERROR_CODE(sel) ((uint32_t)((sel) & ~SELECTOR_RPL_MASK))
/* A null selector has index 0 and TI = 0, whatever its RPL; 4-7 (TI = 1) are not null (SDM Vol. 3A 3.4.2). */
#define SELECTOR_IS_NULL(sel) (((sel) & ~SELECTOR_RPL_MASK) == 0)

/* A 16-byte system descriptor's upper half: type bits 12:8 of its high dword must be 0 (SDM Vol. 3A 8.2.3). */
#define DESC_UPPER_TYPE_MASK (0x1full << 40)

enum dt_load { DT_LOAD_LLDT, DT_LOAD_LTR };

enum dt_verdict {
	DT_OK,           /* go on: read (or load) the descriptor */
	DT_NULL_LDT,     /* LLDT with a null selector: LDTR becomes unusable, nothing is read */
	DT_FAULT,        /* raise *vector(*error_code) */
};

struct dt_fault {
	unsigned vector;
	uint32_t error_code;
};

/* The selector alone, and whether its descriptor (8 or 16 bytes) lies within the GDT limit. */
enum dt_verdict dt_check_selector(enum dt_load op, uint16_t sel, uint32_t gdt_limit, bool ia32e,
				  struct dt_fault *fault);

/*
 * The descriptor read from the GDT (desc[1]: its upper half in IA-32e mode, else ignored): type, S, P,
 * the upper half's type, a canonical base.  DT_OK or DT_FAULT.
 */
enum dt_verdict dt_check_descriptor(enum dt_load op, uint16_t sel, const uint64_t desc[2], bool ia32e,
				    struct dt_fault *fault);

/* The base of a system descriptor (the upper half only in IA-32e mode). */
uint64_t dt_descriptor_base(const uint64_t desc[2], bool ia32e);

#endif
