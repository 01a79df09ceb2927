/*
 * Second-level translation refused an access (EPT violation, SDM Vol. 3C 28.2.1 Table 28-7, 29.3.3)
 * or found an entry it cannot use (EPT misconfiguration, 29.3.3.1).
 */
#include "vmm/exits.h"
#include "vmm/log.h"
#include "vmm/status.h"
#include "vmm/xapic_mmio.h"

int handle_nested_page_fault(struct vcpu *v, const struct vm_exit *e)
{
	const struct npf_exit *f = &e->npf;
	const char *access = f->fetch ? "instruction fetch" : f->write ? "write" : "read";

	/* The xAPIC page is never mapped: its accesses are emulated (vmm/exit/xapic_mmio.c). */
	if (!f->fetch && xapic_mmio_page(v, f->gpa)) {
		if (!f->gla_is_final) {
			/*
			 * SDM 28.2.1, Table 28-7 bits 7-8: no linear address (a PAE PDPTE load) or one being
			 * translated (a page walk): the guest's paging structures, not its instruction, read the page.
			 */
			log_error("xAPIC page: the guest's paging structures point into the APIC page (guest-physical %#llx%s): "
				  "a page walk or PDPTE load there is not emulated", (unsigned long long)f->gpa,
				  f->gla_valid ? ", during a page walk" : ", with no linear address");
			return exit_report_and_stop(v, HV_ERR_GUEST_FAULT, "guest stopped on an xAPIC page access by a page walk");
		}
		return xapic_mmio_emulate(v, e, f->gpa);
	}

	if (f->gla_valid)
		log_error("EPT violation: guest %s at guest-physical %#llx (guest-linear %#llx, %s)", access,
			  (unsigned long long)f->gpa, (unsigned long long)f->gla,
			  f->gla_is_final ? "the accessed address" : "during a guest page walk");
	else
		log_error("EPT violation: guest %s at guest-physical %#llx", access, (unsigned long long)f->gpa);
	log_error("  the EPT entry allows %s%s%s; guest RAM is [0, %#llx): the guest touched memory it does not have",
		  f->readable ? "R" : "-", f->writable ? "W" : "-", f->executable ? "X" : "-",
		  (unsigned long long)v->cfg->guest_mem);
	return exit_report_and_stop(v, HV_ERR_EPT_VIOLATION, "guest stopped on an EPT violation");
}

int handle_nested_page_misconfig(struct vcpu *v, const struct vm_exit *e)
{
	log_error("EPT misconfiguration at guest-physical %#llx: an EPT entry the monitor built is invalid "
		  "(a monitor bug, SDM 29.3.3.1)", (unsigned long long)e->npf.gpa);
	return exit_report_and_stop(v, HV_ERR_GENERIC, "guest stopped on an EPT misconfiguration");
}
