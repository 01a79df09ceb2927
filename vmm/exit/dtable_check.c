/* LLDT/LTR selector and descriptor checks (see vmm/include/vmm/dtable_check.h). */
#include <arch/paging.h>
#include <arch/segment.h>
#include <arch/vmx_state.h>
#include "vmm/dtable_check.h"

/* Descriptor fields come from arch/segment.h (DESC_TYPE_*, DESC_S, DESC_PRESENT, DESC_BASE_LO/HI). */
#define DESC_BASE_MID_BIT 24                          /* base 31:24 */
#define DESC_BASE_HIGH_BIT 32                         /* base 63:32: the upper half's low dword */
#define DESC_BASE_HIGH_MASK 0xffffffffull
#define SYSTEM_DESC_BYTES_IA32E 16
#define SYSTEM_DESC_BYTES_LEGACY 8

static enum dt_verdict fault(struct dt_fault *f, unsigned vector, uint32_t error_code)
{
	f->vector = vector;
	f->error_code = error_code;
	return DT_FAULT;
}

enum dt_verdict dt_check_selector(enum dt_load op, uint16_t sel, uint32_t gdt_limit, bool ia32e,
				  struct dt_fault *f)
{
	const uint32_t size = ia32e ? SYSTEM_DESC_BYTES_IA32E : SYSTEM_DESC_BYTES_LEGACY;
	if (SELECTOR_IS_NULL(sel))
		return op == DT_LOAD_LLDT ? DT_NULL_LDT : fault(f, VECTOR_GP, 0); /* LTR: #GP(0) */
	/* A selector into the LDT, or a descriptor past the GDT limit: #GP(selector). */
	if ((sel & SELECTOR_TI) || (uint32_t)(sel & SELECTOR_INDEX_MASK) + size - 1 > gdt_limit)
		return fault(f, VECTOR_GP, SELECTOR_ERROR_CODE(sel));
	return DT_OK;
}

enum dt_verdict dt_check_descriptor(enum dt_load op, uint16_t sel, const uint64_t desc[2], bool ia32e,
				    struct dt_fault *f)
{
	const unsigned type = (unsigned)((desc[0] >> DESC_TYPE_SHIFT) & DESC_TYPE_MASK);
	const unsigned want = op == DT_LOAD_LLDT ? SEG_TYPE_LDT : SEG_TYPE_TSS_AVAILABLE;
	const uint32_t err = SELECTOR_ERROR_CODE(sel);
	if ((desc[0] & DESC_S) || type != want)
		return fault(f, VECTOR_GP, err);
	if (ia32e && (desc[1] & DESC_UPPER_TYPE_MASK))
		return fault(f, VECTOR_GP, err); /* SDM Vol. 3A 3.5.2: the upper half's type must be 0 */
	if (!(desc[0] & DESC_PRESENT))
		return fault(f, VECTOR_NP, err);
	if (ia32e && !is_canonical(dt_descriptor_base(desc, ia32e)))
		return fault(f, VECTOR_GP, err);
	return DT_OK;
}

uint64_t dt_descriptor_base(const uint64_t desc[2], bool ia32e)
{
	uint64_t base = DESC_BASE_LO(desc[0]) | ((uint64_t)DESC_BASE_HI(desc[0]) << DESC_BASE_MID_BIT);
	if (ia32e)
		base |= (desc[1] & DESC_BASE_HIGH_MASK) << DESC_BASE_HIGH_BIT;
	return base;
}
