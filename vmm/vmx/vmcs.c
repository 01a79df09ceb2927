/* VMCS access failures and the full VMCS dump. */
#include <arch/vmcs_fields.h>
#include "vmm/log.h"
#include "vmm/pcpu.h"
#include "vmcs.h"

void vmcs_access_failed(const char *op, uint32_t field, enum vmx_result r)
{
	const char *name = vmcs_field_name(field);
	this_pcpu()->vmcs_access_failures++;
	if (r == VMX_FAIL_INVALID) {
		log_error("%s of %s (%#x) failed: no current VMCS (VMfailInvalid)", op, name ? name : "?", field);
		return;
	}
	uint64_t err = 0;
	vmx_vmread(VM_INSTRUCTION_ERROR, &err);
	log_error("%s of %s (%#x) failed: VM-instruction error %llu \"%s\"", op, name ? name : "?", field,
		  (unsigned long long)err, vm_instruction_error_text((uint32_t)err));
}

void vmx_instruction_failed(const char *op, enum vmx_result r)
{
	this_pcpu()->vmcs_access_failures++;
	if (r == VMX_FAIL_INVALID) {
		log_error("%s failed (VMfailInvalid)", op);
		return;
	}
	uint64_t err = 0;
	vmx_vmread(VM_INSTRUCTION_ERROR, &err);
	log_error("%s failed: VM-instruction error %llu \"%s\"", op, (unsigned long long)err,
		  vm_instruction_error_text((uint32_t)err));
}

void vmcs_dump(void)
{
	static const struct { uint32_t enc; const char *name; } fields[] = {
#define X(name, enc, width) { enc, #name },
		VMCS_FIELDS(X)
#undef X
	};
	log_info("VMCS dump (fields this CPU does not support are left out):");
	for (unsigned i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		uint64_t v;
		/* Unsupported fields fail VMREAD; that is expected here, so use the raw instruction. */
		if (vmx_vmread(fields[i].enc, &v) != VMX_SUCCEED)
			continue;
		hv_print("[hv]   %-32s %#llx\n", fields[i].name, (unsigned long long)v);
	}
}
