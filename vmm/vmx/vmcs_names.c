/* Names from the definition tables in arch/include/arch/vmcs_fields.h (pure; unit-tested). */
#include <stddef.h>
#include <arch/vmcs_fields.h>
#include "vmcs.h"

const char *vmcs_field_name(uint32_t encoding)
{
	switch (encoding) {
#define X(name, enc, width) case enc: return #name;
	VMCS_FIELDS(X)
#undef X
	default: return NULL;
	}
}

const char *vmx_exit_reason_name(uint32_t basic_reason)
{
	switch (basic_reason) {
#define X(name, nr) case nr: return #name;
	VMX_EXIT_REASONS(X)
#undef X
	default: return "unknown";
	}
}

const char *vm_instruction_error_text(uint32_t error)
{
	switch (error) {
#define X(name, nr, text) case nr: return text;
	VM_INSTRUCTION_ERRORS(X)
#undef X
	default: return "unknown VM-instruction error";
	}
}
