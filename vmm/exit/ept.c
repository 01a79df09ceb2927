/* EPT violations and misconfigurations (exit reasons 48, 49; SDM Vol. 3C 28.2.1 Table 28-7, 29.3.3). */
#include "vmm/exits.h"
#include "vmm/log.h"
#include "vmm/status.h"
#include "vmm/vmcs.h"
#include "vmm/xapic_mmio.h"

#define EPT_QUAL_READ          (1u << 0)
#define EPT_QUAL_WRITE         (1u << 1)
#define EPT_QUAL_FETCH         (1u << 2)
#define EPT_QUAL_READABLE      (1u << 3)
#define EPT_QUAL_WRITABLE      (1u << 4)
#define EPT_QUAL_EXECUTABLE    (1u << 5)
#define EPT_QUAL_LINEAR_VALID  (1u << 7)
#define EPT_QUAL_LINEAR_IS_FINAL (1u << 8) /* the access was to the final address, not a paging structure */

void handle_ept_violation(struct vcpu *v)
{
	const uint64_t q = v->exit_qualification;
	const uint64_t gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
	const char *access = q & EPT_QUAL_FETCH ? "instruction fetch" : q & EPT_QUAL_WRITE ? "write" : "read";

	/* The xAPIC page is never mapped: its accesses are emulated (vmm/apic/xapic_mmio.c). */
	if (!(q & EPT_QUAL_FETCH) && xapic_mmio_page(v, gpa)) {
		if (!(q & EPT_QUAL_LINEAR_VALID) || !(q & EPT_QUAL_LINEAR_IS_FINAL)) {
			/*
			 * SDM 28.2.1, Table 28-7 bits 7-8: no linear address (a PAE PDPTE load) or one being
			 * translated (a page walk): the guest's paging structures, not its instruction, read the page.
			 */
			log_error("xAPIC page: the guest's paging structures point into the APIC page (guest-physical %#llx%s): "
				  "a page walk or PDPTE load there is not emulated", (unsigned long long)gpa,
				  q & EPT_QUAL_LINEAR_VALID ? ", during a page walk" : ", with no linear address");
			exit_report_and_stop(v, HV_ERR_GUEST_FAULT, "guest stopped on an xAPIC page access by a page walk");
			return;
		}
		xapic_mmio_emulate(v, gpa);
		return;
	}

	if (q & EPT_QUAL_LINEAR_VALID)
		log_error("EPT violation: guest %s at guest-physical %#llx (guest-linear %#llx, %s)", access,
			  (unsigned long long)gpa, (unsigned long long)vmcs_readnat(GUEST_LINEAR_ADDRESS),
			  q & EPT_QUAL_LINEAR_IS_FINAL ? "the accessed address" : "during a guest page walk");
	else
		log_error("EPT violation: guest %s at guest-physical %#llx", access, (unsigned long long)gpa);
	log_error("  the EPT entry allows %s%s%s; guest RAM is [0, %#llx): the guest touched memory it does not have",
		  q & EPT_QUAL_READABLE ? "R" : "-", q & EPT_QUAL_WRITABLE ? "W" : "-",
		  q & EPT_QUAL_EXECUTABLE ? "X" : "-", (unsigned long long)v->cfg->guest_mem);
	exit_report_and_stop(v, HV_ERR_EPT_VIOLATION, "guest stopped on an EPT violation");
}

void handle_ept_misconfig(struct vcpu *v)
{
	log_error("EPT misconfiguration at guest-physical %#llx: an EPT entry the monitor built is invalid "
		  "(a monitor bug, SDM 29.3.3.1)", (unsigned long long)vmcs_read64(GUEST_PHYSICAL_ADDRESS));
	exit_report_and_stop(v, HV_ERR_GENERIC, "guest stopped on an EPT misconfiguration");
}
