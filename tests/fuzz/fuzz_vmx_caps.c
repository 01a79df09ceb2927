/*
 * libFuzzer harness: the VMX capability decoder (vmm/platform/vmx_caps.c, vmm/platform/vmx_support.c), the one
 * exit-independent decoder of values the monitor does not control (under a
 * nested hypervisor the VMX capability MSRs are whatever it reports).
 * Input: the raw capability MSRs, the requested controls, IA32_FEATURE_CONTROL.
 * Properties: each control word's must-be-1 and may-be-1 bits are the MSR's
 * allowed 0-settings (bits 31:0) and allowed 1-settings (bits 63:32), from the
 * TRUE MSRs when IA32_VMX_BASIC bit 55 says so (SDM Vol. 3D A.3, A.1); the
 * revision and region size are IA32_VMX_BASIC bits 30:0 and 44:32;
 * vmx_adjust_controls never sets a bit outside must-be-1 | may-be-1, always
 * sets the must-be-1 bits and the allowed requested ones, and fails exactly
 * when a required bit is not allowed; every report line is one non-empty
 * bounded string; the IA32_FEATURE_CONTROL verdict follows SDM Vol. 3C 24.7.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/vmx_caps.h"
#include "vmm/vmx_support.h"

#define REPORT_LINE_MAX   160 /* vmm/platform/vmx_caps.c's line buffer */
#define BASIC_TRUE_CTLS   (1ull << 55)
#define REVISION_MASK     0x7fffffffull
#define REGION_SIZE_SHIFT 32
#define REGION_SIZE_MASK  0x1fffull
#define FC_LOCKED         (1ull << 0)
#define FC_VMX_OUTSIDE_SMX (1ull << 2)

static void line(void *ctx, const char *text)
{
	(void)ctx;
	FUZZ_CHECK(text != NULL && text[0] != '\0' && strlen(text) < REPORT_LINE_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	struct vmx_cap_msrs raw;
	memset(&raw, 0, sizeof(raw));
	raw.basic = fuzz_u64(&in);
	raw.misc = fuzz_u64(&in);
	raw.pinbased = fuzz_u64(&in);
	raw.procbased = fuzz_u64(&in);
	raw.exit = fuzz_u64(&in);
	raw.entry = fuzz_u64(&in);
	raw.true_pinbased = fuzz_u64(&in);
	raw.true_procbased = fuzz_u64(&in);
	raw.true_exit = fuzz_u64(&in);
	raw.true_entry = fuzz_u64(&in);
	raw.procbased2 = fuzz_u64(&in);
	raw.ept_vpid_cap = fuzz_u64(&in);
	raw.vmfunc = fuzz_u64(&in);
	raw.cr0_fixed0 = fuzz_u64(&in);
	raw.cr0_fixed1 = fuzz_u64(&in);
	raw.cr4_fixed0 = fuzz_u64(&in);
	raw.cr4_fixed1 = fuzz_u64(&in);
	const uint8_t has = fuzz_u8(&in);
	raw.has_procbased2 = has & 1;
	raw.has_ept_vpid_cap = has & 2;
	raw.has_vmfunc = has & 4;

	static struct vmx_caps caps;
	memset(&caps, 0x5a, sizeof(caps));
	vmx_caps_decode(&raw, &caps);
	FUZZ_CHECK(caps.revision == (raw.basic & REVISION_MASK));
	FUZZ_CHECK(caps.region_size == ((raw.basic >> REGION_SIZE_SHIFT) & REGION_SIZE_MASK));
	const bool t = raw.basic & BASIC_TRUE_CTLS;
	FUZZ_CHECK(caps.true_ctls == t);
	const uint64_t words[] = { t ? raw.true_pinbased : raw.pinbased, t ? raw.true_procbased : raw.procbased,
				   t ? raw.true_exit : raw.exit, t ? raw.true_entry : raw.entry };
	const enum vmx_control_word which[] = { VMX_CTL_PIN, VMX_CTL_PROC, VMX_CTL_EXIT, VMX_CTL_ENTRY };
	for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		FUZZ_CHECK(caps.must_be_1[which[i]] == (uint32_t)words[i]);
		FUZZ_CHECK(caps.may_be_1[which[i]] == (uint32_t)(words[i] >> 32));
	}

	const uint32_t required = fuzz_u32(&in), optional = fuzz_u32(&in);
	for (unsigned w = 0; w < VMX_CTL_COUNT; w++) {
		uint32_t result, missing;
		const int rc = vmx_adjust_controls(&caps, (enum vmx_control_word)w, required, optional, &result, &missing);
		const uint32_t must = caps.must_be_1[w], may = caps.may_be_1[w];
		FUZZ_CHECK((result & ~(must | may)) == 0);
		FUZZ_CHECK((result & must) == must);
		FUZZ_CHECK((result & (required | optional) & may) == ((required | optional) & may));
		FUZZ_CHECK(missing == (required & ~may));
		FUZZ_CHECK(rc == (missing ? -1 : 0));
		FUZZ_CHECK(vmx_control_word_name((enum vmx_control_word)w) != NULL);
		for (unsigned bit = 0; bit < 32; bit++) {
			const char *name = vmx_control_bit_name((enum vmx_control_word)w, bit);
			FUZZ_CHECK(name == NULL || strlen(name) < REPORT_LINE_MAX);
		}
	}
	vmx_caps_report(&caps, line, NULL);

	const uint64_t fc = fuzz_u64(&in);
	uint64_t to_write;
	const enum feature_control_verdict v = vmx_feature_control_verdict(fc, &to_write);
	if (!(fc & FC_LOCKED))
		FUZZ_CHECK(v == FC_LOCK_AND_ENABLE && to_write == (fc | FC_LOCKED | FC_VMX_OUTSIDE_SMX));
	else
		FUZZ_CHECK(v == ((fc & FC_VMX_OUTSIDE_SMX) ? FC_READY : FC_DISABLED_IN_FIRMWARE));
	return 0;
}
