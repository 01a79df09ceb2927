/*
 * VMCS access.  vmcs_read16/32/64/nat and vmcs_write16/32/64/nat check, at
 * compile time, that the (constant) field has the width the accessor implies
 * (SDM 25.11.2: bits 14:13 of the encoding).  Failing VMREAD/VMWRITE are
 * reported by name and counted; the run loop then stops the guest before its
 * next VM entry (status 73), so no guest runs on a VMCS the monitor could not set.
 */
#ifndef VMM_VMCS_H
#define VMM_VMCS_H

#include <stdint.h>
#include <arch/vmcs_fields.h>
#include <arch/vmx.h>
#include "vmm/pcpu.h"

/* Name of a VMCS field from the table, or NULL. */
const char *vmcs_field_name(uint32_t encoding);
/* Name of a basic exit reason ("CPUID"), or "unknown". */
const char *vmx_exit_reason_name(uint32_t basic_reason);
/* Description of a VM-instruction error number (SDM 31.4), or "unknown VM-instruction error". */
const char *vm_instruction_error_text(uint32_t error);

/* Out-of-line slow paths (vmm/vmx/vmcs.c): report a failing VMREAD/VMWRITE, and count it. */
void vmcs_access_failed(const char *op, uint32_t field, enum vmx_result r);
/* Another VMX instruction (INVEPT, INVVPID) failed: counted with the VMCS access failures, so the run loop stops too. */
void vmx_instruction_failed(const char *op, enum vmx_result r);
/* How many VMREAD/VMWRITE (and INVEPT/INVVPID) have failed on this CPU: the run loop stops the guest before the next VM entry. */
static inline unsigned vmcs_access_failures(void) { return this_pcpu()->vmcs_access_failures; }

/*
 * VMREAD/VMWRITE with one branch for both failures (CF or ZF set: "jbe", SDM 31.2); the slow path
 * runs the instruction again to tell VMfailInvalid from VMfailValid for the report (a repeated
 * VMREAD or VMWRITE of the same field changes nothing).
 */
static inline uint64_t vmcs_read_any(uint32_t field)
{
	uint64_t v;
	_Bool failed;
	__asm__ volatile("vmread %2, %1" : "=@ccbe"(failed), "=r"(v) : "r"((uint64_t)field) : "memory");
	if (__builtin_expect(failed, 0))
		vmcs_access_failed("VMREAD", field, vmx_vmread(field, &v));
	return v;
}

static inline void vmcs_write_any(uint32_t field, uint64_t value)
{
	_Bool failed;
	__asm__ volatile("vmwrite %2, %1" : "=@ccbe"(failed) : "r"((uint64_t)field), "rm"(value) : "memory");
	if (__builtin_expect(failed, 0))
		vmcs_access_failed("VMWRITE", field, vmx_vmwrite(field, value));
}

/* The typed accessors take constant fields only (use vmcs_read_any/vmcs_write_any otherwise). */
#define VMCS_CHECK_WIDTH(field, w) \
	_Static_assert(VMCS_FIELD_WIDTH(field) == (w), #field " accessed with the wrong width")

#define vmcs_read16(f)  ({ VMCS_CHECK_WIDTH(f, VMCS_W16); (uint16_t)vmcs_read_any(f); })
#define vmcs_read32(f)  ({ VMCS_CHECK_WIDTH(f, VMCS_W32); (uint32_t)vmcs_read_any(f); })
#define vmcs_read64(f)  ({ VMCS_CHECK_WIDTH(f, VMCS_W64); vmcs_read_any(f); })
#define vmcs_readnat(f) ({ VMCS_CHECK_WIDTH(f, VMCS_WNAT); vmcs_read_any(f); })
#define vmcs_write16(f, v)  do { VMCS_CHECK_WIDTH(f, VMCS_W16); vmcs_write_any(f, (uint16_t)(v)); } while (0)
#define vmcs_write32(f, v)  do { VMCS_CHECK_WIDTH(f, VMCS_W32); vmcs_write_any(f, (uint32_t)(v)); } while (0)
#define vmcs_write64(f, v)  do { VMCS_CHECK_WIDTH(f, VMCS_W64); vmcs_write_any(f, (uint64_t)(v)); } while (0)
#define vmcs_writenat(f, v) do { VMCS_CHECK_WIDTH(f, VMCS_WNAT); vmcs_write_any(f, (uint64_t)(v)); } while (0)

/* Print every field of the current VMCS by name (unsupported ones are skipped). */
void vmcs_dump(void);

#endif
