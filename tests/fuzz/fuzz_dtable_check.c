/*
 * libFuzzer harness: the LLDT/LTR checks (vmm/exit/dtable_check.c), the pure part of the
 * descriptor-table exit handler: a guest's selector, GDT limit and descriptor.
 * Input: the operation, IA-32e mode, the selector, the GDT limit, the descriptor (two quadwords).
 * Properties, written from the SDM (Vol. 2A LLDT/LTR, Vol. 3A 3.4.2 selectors, 3.4.5 and
 * 8.2.3 descriptors, 6.13 error codes): a null selector makes LLDT unusable and LTR #GP(0);
 * a selector with TI set, or whose 8-byte (16 in IA-32e mode) descriptor passes the GDT
 * limit, gives #GP(selector with RPL cleared), else the selector is accepted; a descriptor
 * is accepted only if it is a system descriptor (S = 0) of the right type (LDT 2, available
 * TSS 9), present, and in IA-32e mode with a zero upper type and a canonical base; a missing
 * one gives #NP, the others #GP, always with the selector's error code; the base is
 * assembled from bits 39:16, 63:56 and (IA-32e) the upper half's low dword.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/dtable_check.h"

#define VEC_GP 13u
#define VEC_NP 11u
#define TYPE_LDT 2u
#define TYPE_TSS_AVAILABLE 9u
#define BIT(n) (1ull << (n))

static bool canonical(uint64_t a)
{
	const uint64_t top = a >> 47;
	return top == 0 || top == (1ull << 17) - 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	const uint8_t sw = fuzz_u8(&in);
	const enum dt_load op = (sw & 1) ? DT_LOAD_LTR : DT_LOAD_LLDT;
	const bool ia32e = sw & 2;
	const uint16_t sel = fuzz_u16(&in);
	const uint32_t limit = fuzz_u16(&in) | ((sw & 4) ? (uint32_t)fuzz_u16(&in) << 16 : 0);
	uint64_t desc[2];
	desc[0] = fuzz_u64(&in);
	desc[1] = fuzz_u64(&in);
	const uint32_t err = sel & ~3u;

	struct dt_fault f = { 0xff, 0xffffffff };
	enum dt_verdict v = dt_check_selector(op, sel, limit, ia32e, &f);
	if ((sel & ~3u) == 0) {
		FUZZ_CHECK(op == DT_LOAD_LLDT ? v == DT_NULL_LDT : (v == DT_FAULT && f.vector == VEC_GP && f.error_code == 0));
	} else if ((sel & BIT(2)) || (uint64_t)(sel >> 3) * 8 + (ia32e ? 16 : 8) - 1 > limit) {
		FUZZ_CHECK(v == DT_FAULT && f.vector == VEC_GP && f.error_code == err);
	} else {
		FUZZ_CHECK(v == DT_OK);
	}

	const uint64_t base = ((desc[0] >> 16) & 0xffffffull) | ((desc[0] >> 56) << 24) |
			      (ia32e ? (desc[1] & 0xffffffffull) << 32 : 0);
	FUZZ_CHECK(dt_descriptor_base(desc, ia32e) == base);
	f = (struct dt_fault){ 0xff, 0xffffffff };
	v = dt_check_descriptor(op, sel, desc, ia32e, &f);
	const unsigned type = (desc[0] >> 40) & 0xf;
	const bool system = !(desc[0] & BIT(44)), present = desc[0] & BIT(47);
	const bool right_type = system && type == (op == DT_LOAD_LLDT ? TYPE_LDT : TYPE_TSS_AVAILABLE);
	const bool upper_ok = !ia32e || !(desc[1] & (0x1full << 40));
	if (right_type && upper_ok && present && (!ia32e || canonical(base))) {
		FUZZ_CHECK(v == DT_OK);
	} else {
		FUZZ_CHECK(v == DT_FAULT && f.error_code == err);
		FUZZ_CHECK(f.vector == ((right_type && upper_ok && !present) ? VEC_NP : VEC_GP));
	}
	return 0;
}
