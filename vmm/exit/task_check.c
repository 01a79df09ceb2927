/*
 * The pure rules of hardware task switching (SDM Vol. 3A 7.3, Table 7-1):
 * descriptor decoding and the checks on the new TSS and on the segments the
 * new task loads.  No VMCS and no guest memory here: unit-tested on the host.
 */
#include <stddef.h>
#include <arch/segment.h>
#include <arch/vmx_state.h>
#include "vmm/task.h"

#define ERROR_CODE_EXT 0x1u /* SDM Vol. 3A 6.13: the event was external to the program */
#define VMX_AR_FLAGS_SHIFT 12 /* AVL, L, D/B, G: bits 15:12 of the access rights (SDM 25.4.1) */
#define DESC_ACCESS_BYTE(d) ((uint32_t)(((d) >> DESC_TYPE_SHIFT) & 0xffu))
#define DESC_FLAGS_SHIFT    52 /* AVL, L, D/B, G: bits 55:52 of a descriptor (SDM Vol. 3A Figure 3-8) */
#define DESC_FLAGS(d)       ((uint32_t)(((d) >> DESC_FLAGS_SHIFT) & 0xfu))
#define DESC_AVL            (1ull << DESC_FLAGS_SHIFT)

void desc_decode(uint64_t raw, struct seg_desc *d)
{
	uint32_t limit = DESC_LIMIT_LO(raw) | DESC_LIMIT_HI(raw) << 16;
	d->base = DESC_BASE_LO(raw) | DESC_BASE_HI(raw) << 24;
	d->g = (raw & DESC_G) != 0;
	d->db = (raw & DESC_DB) != 0;
	d->l = (raw & DESC_L) != 0;
	d->avl = (raw & DESC_AVL) != 0;
	d->limit = d->g ? limit << DESC_LIMIT_GRANULE_SHIFT | DESC_LIMIT_GRANULE_FILL : limit;
	d->type = (uint8_t)((raw >> DESC_TYPE_SHIFT) & DESC_TYPE_MASK);
	d->dpl = (uint8_t)((raw >> DESC_DPL_SHIFT) & DESC_DPL_MASK);
	d->s = (raw & DESC_S) != 0;
	d->p = (raw & DESC_PRESENT) != 0;
}

uint32_t desc_vmx_ar(uint64_t raw)
{
	return DESC_ACCESS_BYTE(raw) | DESC_FLAGS(raw) << VMX_AR_FLAGS_SHIFT;
}

uint32_t task_selector_error_code(uint16_t sel, bool ext)
{
	return (sel & (SELECTOR_INDEX_MASK | SELECTOR_TI)) | (ext ? ERROR_CODE_EXT : 0);
}

bool task_selector_in_table(uint16_t sel, uint32_t table_limit)
{
	return (uint32_t)(sel & SELECTOR_INDEX_MASK) + DESCRIPTOR_SIZE - 1 <= table_limit;
}

bool task_privilege_ok(unsigned cpl, unsigned rpl, unsigned dpl)
{
	return dpl >= cpl && dpl >= rpl;
}

static bool fault(struct task_fault *f, unsigned vector, uint16_t sel, bool ext)
{
	f->raised = true;
	f->vector = (uint8_t)vector;
	f->error_code = task_selector_error_code(sel, ext);
	return false;
}

static bool no_fault(struct task_fault *f)
{
	f->raised = false;
	f->vector = 0;
	f->error_code = 0;
	return true;
}

static bool is_tss_type(uint8_t type)
{
	return type == SEG_TYPE_TSS16_AVAILABLE || type == SEG_TYPE_TSS16_BUSY || type == SEG_TYPE_TSS_AVAILABLE ||
	       type == SEG_TYPE_TSS_BUSY;
}

bool task_check_new_tss(uint16_t sel, uint64_t raw, uint32_t gdt_limit, enum task_source src, bool ext,
			struct task_fault *f)
{
	/* IRET reports a bad link as #TS; JMP, CALL and task gates a bad TSS as #GP (SDM Vol. 2A). */
	const unsigned bad_selector = src == TASK_SRC_IRET ? VECTOR_TS : VECTOR_GP;
	struct seg_desc d;

	if ((sel & SELECTOR_TI) || !(sel & SELECTOR_INDEX_MASK) || !task_selector_in_table(sel, gdt_limit))
		return fault(f, bad_selector, sel, ext);
	desc_decode(raw, &d);
	if (d.s || !is_tss_type(d.type))
		return fault(f, bad_selector, sel, ext);
	/* Table 7-1 row 1: the TSS descriptor present in memory. */
	if (!d.p)
		return fault(f, VECTOR_NP, sel, ext);
	/* Row 2: not busy for JMP, CALL and gates (#GP); busy for IRET (#TS). */
	const bool busy = (d.type & SEG_TYPE_TSS_BUSY_FLAG) != 0;
	if (src == TASK_SRC_IRET ? !busy : busy)
		return fault(f, src == TASK_SRC_IRET ? VECTOR_TS : VECTOR_GP, sel, ext);
	/* Row 3: the limit (SDM Vol. 3A 7.2.2). */
	if (d.limit < (task_tss_is_32bit(d.type) ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT))
		return fault(f, VECTOR_TS, sel, ext);
	return no_fault(f);
}

static bool check_ldtr(uint16_t sel, const uint64_t *raw, bool ext, struct task_fault *f)
{
	struct seg_desc d;
	if (task_selector_null(sel))
		return no_fault(f); /* a null LDT selector: LDTR unusable */
	if ((sel & SELECTOR_TI) || !raw)
		return fault(f, VECTOR_TS, sel, ext); /* Table 7-1 row 5 */
	desc_decode(*raw, &d);
	if (d.s || d.type != SEG_TYPE_LDT || !d.p)
		return fault(f, VECTOR_TS, sel, ext); /* rows 5 and 10 */
	return no_fault(f);
}

static bool check_cs(uint16_t sel, const uint64_t *raw, bool ext, struct task_fault *f)
{
	const unsigned rpl = sel & SELECTOR_RPL_MASK;
	struct seg_desc d;
	if (task_selector_null(sel) || !raw)
		return fault(f, VECTOR_TS, sel, ext); /* row 11 */
	desc_decode(*raw, &d);
	if (!d.s || !(d.type & SEG_TYPE_CODE))
		return fault(f, VECTOR_TS, sel, ext); /* row 11 */
	if ((d.type & SEG_TYPE_CONFORMING) ? d.dpl > rpl : d.dpl != rpl)
		return fault(f, VECTOR_TS, sel, ext); /* row 6 */
	if (!d.p)
		return fault(f, VECTOR_NP, sel, ext); /* row 12 */
	return no_fault(f);
}

static bool check_ss(uint16_t sel, const uint64_t *raw, unsigned cpl, bool ext, struct task_fault *f)
{
	struct seg_desc d;
	if (task_selector_null(sel) || !raw || (sel & SELECTOR_RPL_MASK) != cpl)
		return fault(f, VECTOR_TS, sel, ext); /* rows 7 and 13 */
	desc_decode(*raw, &d);
	if (!d.s || (d.type & SEG_TYPE_CODE) || !(d.type & SEG_TYPE_DATA_WRITABLE) || d.dpl != cpl)
		return fault(f, VECTOR_TS, sel, ext); /* rows 7 and 9 */
	if (!d.p)
		return fault(f, VECTOR_SS, sel, ext); /* row 8 */
	return no_fault(f);
}

static bool check_data(uint16_t sel, const uint64_t *raw, unsigned cpl, bool ext, struct task_fault *f)
{
	const unsigned rpl = sel & SELECTOR_RPL_MASK;
	struct seg_desc d;
	if (task_selector_null(sel))
		return no_fault(f); /* a null selector: the register becomes unusable */
	if (!raw)
		return fault(f, VECTOR_TS, sel, ext); /* row 14 */
	desc_decode(*raw, &d);
	const bool code = (d.type & SEG_TYPE_CODE) != 0;
	if (!d.s || (code && !(d.type & SEG_TYPE_CODE_READABLE)))
		return fault(f, VECTOR_TS, sel, ext); /* row 15 */
	if (!(code && (d.type & SEG_TYPE_CONFORMING)) && (d.dpl < cpl || d.dpl < rpl))
		return fault(f, VECTOR_TS, sel, ext); /* row 17 */
	if (!d.p)
		return fault(f, VECTOR_NP, sel, ext); /* row 16 */
	return no_fault(f);
}

bool task_check_segment(enum task_seg which, uint16_t sel, const uint64_t *raw, unsigned cpl, bool ext,
			struct task_fault *f)
{
	switch (which) {
	case TASK_SEG_LDTR: return check_ldtr(sel, raw, ext, f);
	case TASK_SEG_CS: return check_cs(sel, raw, ext, f);
	case TASK_SEG_SS: return check_ss(sel, raw, cpl, ext, f);
	case TASK_SEG_DATA: return check_data(sel, raw, cpl, ext, f);
	}
	return fault(f, VECTOR_TS, sel, ext);
}
