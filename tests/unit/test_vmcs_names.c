/*
 * Host unit tests for vmm/vmx/vmcs_names.c and the tables in arch/include/arch/vmcs_fields.h:
 * VM-instruction error texts (SDM Vol. 3C 31.4, Table 31-1), basic exit-reason
 * names (Appendix C) and VMCS field names/encodings (Appendix B, 25.11.2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arch/vmcs_fields.h>
#include "vmcs.h" /* vmm/vmx/: the backend's own header */

#define UNKNOWN_ERROR "unknown VM-instruction error"

/* ---- VM-instruction errors ---- */

/* The texts of SDM Table 31-1 (the table's trailing periods left out). */
static const struct {
	uint32_t nr;
	const char *text;
} sdm_errors[] = {
	{ 1, "VMCALL executed in VMX root operation" },
	{ 2, "VMCLEAR with invalid physical address" },
	{ 3, "VMCLEAR with VMXON pointer" },
	{ 4, "VMLAUNCH with non-clear VMCS" },
	{ 5, "VMRESUME with non-launched VMCS" },
	{ 7, "VM entry with invalid control field(s)" },
	{ 8, "VM entry with invalid host-state field(s)" },
	{ 9, "VMPTRLD with invalid physical address" },
	{ 10, "VMPTRLD with VMXON pointer" },
	{ 11, "VMPTRLD with incorrect VMCS revision identifier" },
	{ 12, "VMREAD/VMWRITE from/to unsupported VMCS component" },
	{ 13, "VMWRITE to read-only VMCS component" },
	{ 15, "VMXON executed in VMX root operation" },
	{ 16, "VM entry with invalid executive-VMCS pointer" },
	{ 17, "VM entry with non-launched executive VMCS" },
	{ 18, "VM entry with executive-VMCS pointer not VMXON pointer" },
	{ 19, "VMCALL with non-clear VMCS" },
	{ 20, "VMCALL with invalid VM-exit control fields" },
	{ 22, "VMCALL with incorrect MSEG revision identifier" },
	{ 23, "VMXOFF under dual-monitor treatment of SMIs and SMM" },
	{ 24, "VMCALL with invalid SMM-monitor features" },
	{ 25, "VM entry with invalid VM-execution control fields in executive VMCS" },
	{ 26, "VM entry with events blocked by MOV SS" },
};

static void test_error_texts_key_numbers(void **state)
{
	(void)state;
	assert_string_equal(vm_instruction_error_text(7), "VM entry with invalid control field(s)");
	assert_string_equal(vm_instruction_error_text(8), "VM entry with invalid host-state field(s)");
	assert_string_equal(vm_instruction_error_text(12), "VMREAD/VMWRITE from/to unsupported VMCS component");
	assert_string_equal(vm_instruction_error_text(13), "VMWRITE to read-only VMCS component");
	/*
	 * SDM: "Invalid operand to INVEPT/INVVPID."  The table starts it with a
	 * lower-case letter; accept either case for that first letter only.
	 */
	const char *t28 = vm_instruction_error_text(28);
	assert_true(t28[0] == 'I' || t28[0] == 'i');
	assert_string_equal(t28 + 1, "nvalid operand to INVEPT/INVVPID");
	/* 6: "VMRESUME after VMXOFF (VMXOFF and VMXON between VMLAUNCH and VMRESUME)"; the table abbreviates. */
	const char *t6 = vm_instruction_error_text(6);
	assert_int_equal(strncmp(t6, "VMRESUME after VMXOFF", strlen("VMRESUME after VMXOFF")), 0);
}

static void test_error_texts_whole_sdm_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sdm_errors) / sizeof(sdm_errors[0]); i++) {
		const char *t = vm_instruction_error_text(sdm_errors[i].nr);
		if (strcmp(t, sdm_errors[i].text) != 0)
			print_message("error %u: '%s', SDM: '%s'\n", sdm_errors[i].nr, t, sdm_errors[i].text);
		assert_string_equal(t, sdm_errors[i].text);
	}
}

static void test_error_texts_unknown(void **state)
{
	(void)state;
	/* 0 is not an error number; 14, 21 and 27 are reserved in Table 31-1. */
	static const uint32_t unknown[] = { 0, 14, 21, 27, 99, 0x80000007u, 0xffffffffu };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_string_equal(vm_instruction_error_text(unknown[i]), UNKNOWN_ERROR);
}

static void test_error_table_consistent(void **state)
{
	(void)state;
	/* Every row is reachable by its own number (a duplicated number would shadow one). */
	unsigned rows = 0;
#define X(name, nr, text)                                                        \
	assert_int_equal(VMXERR_##name, nr);                                     \
	assert_string_equal(vm_instruction_error_text(nr), text);                \
	assert_string_not_equal(text, UNKNOWN_ERROR);                            \
	rows++;
	VM_INSTRUCTION_ERRORS(X)
#undef X
	unsigned known = 0;
	for (uint32_t nr = 0; nr < 256; nr++)
		known += strcmp(vm_instruction_error_text(nr), UNKNOWN_ERROR) != 0;
	assert_int_equal(known, rows);
	assert_int_equal(rows, 25); /* 1..28 less the reserved 14, 21, 27 */
}

/* ---- exit reasons ---- */

static void test_exit_reason_names(void **state)
{
	(void)state;
	assert_string_equal(vmx_exit_reason_name(10), "CPUID");
	assert_string_equal(vmx_exit_reason_name(48), "EPT_VIOLATION");
	assert_string_equal(vmx_exit_reason_name(33), "INVALID_GUEST_STATE");
	assert_string_equal(vmx_exit_reason_name(0), "EXCEPTION_NMI");
	assert_string_equal(vmx_exit_reason_name(1), "EXTERNAL_INTERRUPT");
	assert_string_equal(vmx_exit_reason_name(2), "TRIPLE_FAULT");
	assert_string_equal(vmx_exit_reason_name(12), "HLT");
	assert_string_equal(vmx_exit_reason_name(18), "VMCALL");
	assert_string_equal(vmx_exit_reason_name(28), "CR_ACCESS");
	assert_string_equal(vmx_exit_reason_name(30), "IO_INSTRUCTION");
	assert_string_equal(vmx_exit_reason_name(31), "RDMSR");
	assert_string_equal(vmx_exit_reason_name(32), "WRMSR");
	assert_string_equal(vmx_exit_reason_name(34), "MSR_LOADING");
	assert_string_equal(vmx_exit_reason_name(49), "EPT_MISCONFIG");
	assert_string_equal(vmx_exit_reason_name(52), "PREEMPTION_TIMER");
	assert_string_equal(vmx_exit_reason_name(55), "XSETBV");
	assert_string_equal(vmx_exit_reason_name(64), "XRSTORS");
}

static void test_exit_reason_unknown(void **state)
{
	(void)state;
	/* 35, 38 and 42 are not used by the SDM. */
	assert_string_equal(vmx_exit_reason_name(35), "unknown");
	assert_string_equal(vmx_exit_reason_name(38), "unknown");
	assert_string_equal(vmx_exit_reason_name(42), "unknown");
	assert_string_equal(vmx_exit_reason_name(0xffff), "unknown");
	assert_string_equal(vmx_exit_reason_name(0xffffffffu), "unknown");
	/* The full exit-reason field is not a basic reason: the caller must mask it. */
	assert_string_equal(vmx_exit_reason_name(VM_EXIT_REASON_BASIC(VM_EXIT_REASON_ENTRY_FAILURE | 33)),
			    "INVALID_GUEST_STATE");
}

static void test_exit_reason_table_consistent(void **state)
{
	(void)state;
	unsigned rows = 0;
	/* Every number fits the per-reason tables and maps back to its own name. */
#define X(name, nr)                                                 \
	assert_true((nr) < EXIT_REASON_MAX);                        \
	assert_int_equal(EXIT_REASON_##name, nr);                   \
	assert_string_equal(vmx_exit_reason_name(nr), #name);       \
	rows++;
	VMX_EXIT_REASONS(X)
#undef X
	unsigned named = 0;
	for (uint32_t nr = 0; nr < 1024; nr++)
		named += strcmp(vmx_exit_reason_name(nr), "unknown") != 0;
	assert_int_equal(named, rows);
}

/* ---- VMCS fields ---- */

static const struct field {
	const char *name;
	uint32_t enc;
	unsigned width;
} fields[] = {
#define X(name, enc, width) { #name, enc, width },
	VMCS_FIELDS(X)
#undef X
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static void test_field_names(void **state)
{
	(void)state;
	assert_string_equal(vmcs_field_name(0x681e), "GUEST_RIP");
	assert_string_equal(vmcs_field_name(0x4402), "VM_EXIT_REASON");
	assert_string_equal(vmcs_field_name(0x4400), "VM_INSTRUCTION_ERROR");
	assert_string_equal(vmcs_field_name(0x201a), "EPT_POINTER");
	assert_string_equal(vmcs_field_name(0x2800), "VMCS_LINK_POINTER");
	assert_string_equal(vmcs_field_name(0x401e), "SECONDARY_VM_EXEC_CONTROL");
	assert_string_equal(vmcs_field_name(0x6400), "EXIT_QUALIFICATION");
	assert_string_equal(vmcs_field_name(0x6c16), "HOST_RIP");
	assert_string_equal(vmcs_field_name(0x0000), "VIRTUAL_PROCESSOR_ID");
	/* The enum names the same encodings (SDM Appendix B). */
	assert_int_equal(GUEST_RIP, 0x681e);
	assert_int_equal(VM_EXIT_REASON, 0x4402);
	assert_int_equal(GUEST_INTERRUPTIBILITY_INFO, 0x4824);
	assert_int_equal(VMX_PREEMPTION_TIMER_VALUE, 0x482e);
	assert_int_equal(HOST_IA32_EFER, 0x2c02);
}

static void test_field_names_unknown(void **state)
{
	(void)state;
	assert_null(vmcs_field_name(0x2001));      /* high half of IO_BITMAP_A */
	assert_null(vmcs_field_name(0x681f));      /* odd: not a natural-width field */
	assert_null(vmcs_field_name(0x4830));      /* not in the table */
	assert_null(vmcs_field_name(0x6c1e));      /* past HOST_INTR_SSP_TABLE_ADDR */
	assert_null(vmcs_field_name(0xffffffffu));
	assert_null(vmcs_field_name(0x1681e));     /* bits above 14 are not ignored */
}

static void test_field_table_well_formed(void **state)
{
	(void)state;
	assert_true(NFIELDS > 100);
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		/* Full field, never the "high" access type (bit 0). */
		if (VMCS_FIELD_IS_HIGH(f->enc) || (f->enc & 1))
			print_message("%s (%#x) is a high-half encoding\n", f->name, f->enc);
		assert_false(f->enc & 1);
		/* Width bits 14:13 equal the declared width (SDM 25.11.2). */
		if (((f->enc >> 13) & 3) != f->width)
			print_message("%s (%#x): encoding width %u, declared %u\n", f->name, f->enc,
				      (f->enc >> 13) & 3, f->width);
		assert_int_equal((f->enc >> 13) & 3, f->width);
		assert_int_equal(VMCS_FIELD_WIDTH(f->enc), f->width);
		/* Bit 12 and bits 31:15 are reserved (0). */
		assert_int_equal(f->enc & ~0x6fffu, 0);
		/* Host-state fields have type 3 (bits 11:10). */
		if (strncmp(f->name, "HOST_", 5) == 0)
			assert_int_equal(VMCS_FIELD_TYPE(f->enc), 3);
		/* Unique encodings and unique names. */
		for (size_t j = i + 1; j < NFIELDS; j++) {
			if (fields[j].enc == f->enc)
				print_message("%s and %s share %#x\n", f->name, fields[j].name, f->enc);
			assert_int_not_equal(fields[j].enc, f->enc);
			assert_string_not_equal(fields[j].name, f->name);
		}
		/* And the name lookup finds this row. */
		const char *n = vmcs_field_name(f->enc);
		assert_non_null(n);
		assert_string_equal(n, f->name);
	}
}

/*
 * Completeness: within each group (width, type) the SDM numbers fields densely from index 0
 * (bits 9:1), so a field left out of the middle of a group shows up as a gap.  The SDM's own
 * gap: 32-bit guest-state index 22 (0x482c) is not assigned.
 */
static void test_field_table_has_no_gaps(void **state)
{
	(void)state;
	static const unsigned sdm_gaps[] = { 0x482c };
	for (unsigned width = 0; width < 4; width++) {
		for (unsigned type = 0; type < 4; type++) {
			unsigned max_index = 0, seen = 0;
			for (size_t i = 0; i < NFIELDS; i++)
				if (VMCS_FIELD_WIDTH(fields[i].enc) == width && VMCS_FIELD_TYPE(fields[i].enc) == type) {
					const unsigned index = (fields[i].enc >> 1) & 0x1ffu;
					max_index = index > max_index ? index : max_index;
					seen++;
				}
			if (!seen)
				continue;
			for (unsigned index = 0; index <= max_index; index++) {
				const unsigned enc = (width << 13) | (type << 10) | (index << 1);
				bool gap = false;
				for (size_t g = 0; g < sizeof(sdm_gaps) / sizeof(sdm_gaps[0]); g++)
					gap = gap || sdm_gaps[g] == enc;
				if (!gap && !vmcs_field_name(enc))
					print_message("no field %#06x between assigned ones\n", enc);
				assert_true(gap || vmcs_field_name(enc) != NULL);
			}
		}
	}
	/* Rows that complete the groups (SDM Vol. 3D Appendix B). */
	assert_string_equal(vmcs_field_name(0x201c), "EOI_EXIT_BITMAP0");
	assert_string_equal(vmcs_field_name(0x2026), "VMREAD_BITMAP");
	assert_string_equal(vmcs_field_name(0x202a), "VE_INFORMATION_ADDR");
	assert_string_equal(vmcs_field_name(0x2034), "TERTIARY_VM_EXEC_CONTROL");
	assert_string_equal(vmcs_field_name(0x2818), "GUEST_IA32_PKRS");
	assert_string_equal(vmcs_field_name(0x2c06), "HOST_IA32_PKRS");
	assert_string_equal(vmcs_field_name(0x6828), "GUEST_S_CET");
	assert_string_equal(vmcs_field_name(0x6c1c), "HOST_INTR_SSP_TABLE_ADDR");
}

static void test_field_width_macros(void **state)
{
	(void)state;
	assert_int_equal(VMCS_FIELD_WIDTH(0x0802), VMCS_W16);
	assert_int_equal(VMCS_FIELD_WIDTH(0x2800), VMCS_W64);
	assert_int_equal(VMCS_FIELD_WIDTH(0x4402), VMCS_W32);
	assert_int_equal(VMCS_FIELD_WIDTH(0x681e), VMCS_WNAT);
	assert_true(VMCS_FIELD_IS_HIGH(0x2801));
	assert_false(VMCS_FIELD_IS_HIGH(0x2800));
	assert_int_equal(VMCS_FIELD_TYPE(0x4002), 0); /* control */
	assert_int_equal(VMCS_FIELD_TYPE(0x4402), 1); /* read-only data */
	assert_int_equal(VMCS_FIELD_TYPE(0x681e), 2); /* guest state */
	assert_int_equal(VMCS_FIELD_TYPE(0x6c16), 3); /* host state */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_texts_key_numbers),
		cmocka_unit_test(test_error_texts_whole_sdm_table),
		cmocka_unit_test(test_error_texts_unknown),
		cmocka_unit_test(test_error_table_consistent),
		cmocka_unit_test(test_exit_reason_names),
		cmocka_unit_test(test_exit_reason_unknown),
		cmocka_unit_test(test_exit_reason_table_consistent),
		cmocka_unit_test(test_field_names),
		cmocka_unit_test(test_field_names_unknown),
		cmocka_unit_test(test_field_table_well_formed),
		cmocka_unit_test(test_field_table_has_no_gaps),
		cmocka_unit_test(test_field_width_macros),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
