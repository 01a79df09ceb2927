#include <stddef.h>
#include <arch/msr.h>
#include <arch/vmx_controls.h>
#include "vmm/format.h"
#include "vmm/vmx_caps.h"

#define CTL_ALLOWED0(msr) ((uint32_t)(msr))         /* bits that must be 1 */
#define CTL_ALLOWED1(msr) ((uint32_t)((msr) >> 32)) /* bits that may be 1 */

void vmx_caps_decode(const struct vmx_cap_msrs *raw, struct vmx_caps *c)
{
	const uint64_t ev = raw->ept_vpid_cap;
	*c = (struct vmx_caps){ .raw = *raw };
	c->revision = (uint32_t)(raw->basic & VMX_BASIC_REVISION_MASK);
	c->region_size = VMX_BASIC_REGION_SIZE(raw->basic);
	c->true_ctls = (raw->basic & VMX_BASIC_TRUE_CTLS) != 0;

	/* SDM A.3.1-A.5: with TRUE controls, the TRUE MSRs give the real allowed 0-settings. */
	const uint64_t pin = c->true_ctls ? raw->true_pinbased : raw->pinbased;
	const uint64_t proc = c->true_ctls ? raw->true_procbased : raw->procbased;
	const uint64_t exit = c->true_ctls ? raw->true_exit : raw->exit;
	const uint64_t entry = c->true_ctls ? raw->true_entry : raw->entry;
	c->must_be_1[VMX_CTL_PIN] = CTL_ALLOWED0(pin);
	c->may_be_1[VMX_CTL_PIN] = CTL_ALLOWED1(pin);
	c->must_be_1[VMX_CTL_PROC] = CTL_ALLOWED0(proc);
	c->may_be_1[VMX_CTL_PROC] = CTL_ALLOWED1(proc);
	c->must_be_1[VMX_CTL_EXIT] = CTL_ALLOWED0(exit);
	c->may_be_1[VMX_CTL_EXIT] = CTL_ALLOWED1(exit);
	c->must_be_1[VMX_CTL_ENTRY] = CTL_ALLOWED0(entry);
	c->may_be_1[VMX_CTL_ENTRY] = CTL_ALLOWED1(entry);
	c->secondary = (c->may_be_1[VMX_CTL_PROC] & CPU_ACTIVATE_SECONDARY_CONTROLS) && raw->has_procbased2;
	if (c->secondary) {
		/* SDM A.3.3: no TRUE variant; allowed 0-settings of the secondary controls are 0. */
		c->must_be_1[VMX_CTL_PROC2] = CTL_ALLOWED0(raw->procbased2);
		c->may_be_1[VMX_CTL_PROC2] = CTL_ALLOWED1(raw->procbased2);
	}
	const uint32_t p2 = c->may_be_1[VMX_CTL_PROC2];
	const bool have_ev = raw->has_ept_vpid_cap;

	c->ept = (p2 & CPU2_ENABLE_EPT) && have_ev;
	c->ept_4level = c->ept && (ev & VMX_CAP_EPT_PAGE_WALK_4);
	c->ept_wb = c->ept && (ev & VMX_CAP_EPT_MEMTYPE_WB);
	c->ept_2m = c->ept && (ev & VMX_CAP_EPT_2MB_PAGES);
	c->ept_1g = c->ept && (ev & VMX_CAP_EPT_1GB_PAGES);
	c->ept_ad = c->ept && (ev & VMX_CAP_EPT_ACCESSED_DIRTY);
	c->invept = c->ept && (ev & VMX_CAP_INVEPT);
	c->invept_single = c->invept && (ev & VMX_CAP_INVEPT_SINGLE_CONTEXT);
	c->invept_all = c->invept && (ev & VMX_CAP_INVEPT_ALL_CONTEXT);
	c->vpid = (p2 & CPU2_ENABLE_VPID) && have_ev;
	c->invvpid = c->vpid && (ev & VMX_CAP_INVVPID);
	c->invvpid_single = c->invvpid && (ev & VMX_CAP_INVVPID_SINGLE_CONTEXT);
	c->invvpid_all = c->invvpid && (ev & VMX_CAP_INVVPID_ALL_CONTEXT);
	c->invvpid_addr = c->invvpid && (ev & VMX_CAP_INVVPID_INDIVIDUAL_ADDR);
	c->unrestricted_guest = (p2 & CPU2_UNRESTRICTED_GUEST) != 0;
	c->desc_table_exiting = (p2 & CPU2_DESCRIPTOR_TABLE_EXITING) != 0;
	c->wbinvd_exiting = (p2 & CPU2_WBINVD_EXITING) != 0;
	c->preemption_timer = (c->may_be_1[VMX_CTL_PIN] & PIN_ACTIVATE_PREEMPTION_TIMER) != 0;
	c->preemption_timer_rate = VMX_MISC_PREEMPT_TIMER_RATE(raw->misc);
	c->msr_bitmaps = (c->may_be_1[VMX_CTL_PROC] & CPU_USE_MSR_BITMAPS) != 0;
	c->io_bitmaps = (c->may_be_1[VMX_CTL_PROC] & CPU_USE_IO_BITMAPS) != 0;
	c->store_lma = (raw->misc & VMX_MISC_STORE_LMA) != 0;
	c->cr3_targets = VMX_MISC_CR3_TARGETS(raw->misc);
}

const char *vmx_control_word_name(enum vmx_control_word w)
{
	static const char *const names[VMX_CTL_COUNT] = {
		[VMX_CTL_PIN] = "pin-based", [VMX_CTL_PROC] = "primary processor-based",
		[VMX_CTL_PROC2] = "secondary processor-based", [VMX_CTL_EXIT] = "VM-exit",
		[VMX_CTL_ENTRY] = "VM-entry",
	};
	return w < VMX_CTL_COUNT ? names[w] : "unknown";
}

const char *vmx_control_bit_name(enum vmx_control_word w, unsigned bit)
{
#define X(name, b, text) case b: return text;
	switch (w) {
	case VMX_CTL_PIN: switch (bit) { PIN_BASED_CONTROLS(X) } break;
	case VMX_CTL_PROC: switch (bit) { PRIMARY_PROC_CONTROLS(X) } break;
	case VMX_CTL_PROC2: switch (bit) { SECONDARY_PROC_CONTROLS(X) } break;
	case VMX_CTL_EXIT: switch (bit) { VM_EXIT_CONTROLS(X) } break;
	case VMX_CTL_ENTRY: switch (bit) { VM_ENTRY_CONTROLS(X) } break;
	default: break;
	}
#undef X
	return NULL;
}

int vmx_adjust_controls(const struct vmx_caps *caps, enum vmx_control_word w, uint32_t required,
			uint32_t optional, uint32_t *result, uint32_t *missing)
{
	const uint32_t may = caps->may_be_1[w];
	*missing = required & ~may;
	*result = caps->must_be_1[w] | ((required | optional) & may);
	return *missing ? -1 : 0;
}

struct report_ctx {
	void (*line)(void *ctx, const char *text);
	void *ctx;
};

static void emit(struct report_ctx *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct report_ctx *r, const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	va_start(ap, fmt);
	hv_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->line(r->ctx, buf);
}

static const char *yn(bool b) { return b ? "yes" : "no"; }

void vmx_caps_report(const struct vmx_caps *c, void (*line)(void *ctx, const char *text), void *ctx)
{
	struct report_ctx r = { line, ctx };
	emit(&r, "VMX capabilities (IA32_VMX_BASIC=%#018llx)", (unsigned long long)c->raw.basic);
	emit(&r, "  %-34s %u", "VMCS revision identifier", c->revision);
	emit(&r, "  %-34s %u bytes", "VMXON/VMCS region size", c->region_size);
	emit(&r, "  %-34s %s", "TRUE capability MSRs (bit 55)", yn(c->true_ctls));
	for (int w = 0; w < VMX_CTL_COUNT; w++)
		emit(&r, "  %-34s must-be-1 %08x  may-be-1 %08x", vmx_control_word_name(w), c->must_be_1[w],
		     c->may_be_1[w]);
	emit(&r, "  %-34s %s", "EPT", yn(c->ept));
	emit(&r, "  %-34s %s", "EPT 4-level walk, WB", c->ept_4level && c->ept_wb ? "yes" : "no");
	emit(&r, "  %-34s 2M %s, 1G %s", "EPT large pages", yn(c->ept_2m), yn(c->ept_1g));
	emit(&r, "  %-34s %s", "EPT accessed/dirty bits", yn(c->ept_ad));
	emit(&r, "  %-34s single-context %s, all-context %s", "INVEPT types", yn(c->invept_single),
	     yn(c->invept_all));
	emit(&r, "  %-34s %s", "VPID", yn(c->vpid));
	emit(&r, "  %-34s individual-address %s, single-context %s, all-context %s", "INVVPID types",
	     yn(c->invvpid_addr), yn(c->invvpid_single), yn(c->invvpid_all));
	emit(&r, "  %-34s %s", "unrestricted guest", yn(c->unrestricted_guest));
	emit(&r, "  %-34s %s (rate: TSC >> %u)", "VMX-preemption timer", yn(c->preemption_timer),
	     c->preemption_timer_rate);
	emit(&r, "  %-34s MSR %s, I/O %s", "bitmaps", yn(c->msr_bitmaps), yn(c->io_bitmaps));
	emit(&r, "  %-34s %s", "descriptor-table exiting", yn(c->desc_table_exiting));
	emit(&r, "  %-34s %u", "CR3-target values", c->cr3_targets);
	emit(&r, "  %-34s fixed0 %#llx fixed1 %#llx", "CR0", (unsigned long long)c->raw.cr0_fixed0,
	     (unsigned long long)c->raw.cr0_fixed1);
	emit(&r, "  %-34s fixed0 %#llx fixed1 %#llx", "CR4", (unsigned long long)c->raw.cr4_fixed0,
	     (unsigned long long)c->raw.cr4_fixed1);
}

/* The capability MSRs a processor reports, by architectural name (SDM Vol. 3C Appendix A). */
#define VMX_CAP_MSR_FIELDS(X)                                     \
	X(basic, "IA32_VMX_BASIC")                                \
	X(misc, "IA32_VMX_MISC")                                  \
	X(pinbased, "IA32_VMX_PINBASED_CTLS")                     \
	X(procbased, "IA32_VMX_PROCBASED_CTLS")                   \
	X(exit, "IA32_VMX_EXIT_CTLS")                             \
	X(entry, "IA32_VMX_ENTRY_CTLS")                           \
	X(true_pinbased, "IA32_VMX_TRUE_PINBASED_CTLS")           \
	X(true_procbased, "IA32_VMX_TRUE_PROCBASED_CTLS")         \
	X(true_exit, "IA32_VMX_TRUE_EXIT_CTLS")                   \
	X(true_entry, "IA32_VMX_TRUE_ENTRY_CTLS")                 \
	X(procbased2, "IA32_VMX_PROCBASED_CTLS2")                 \
	X(ept_vpid_cap, "IA32_VMX_EPT_VPID_CAP")                  \
	X(vmfunc, "IA32_VMX_VMFUNC")                              \
	X(cr0_fixed0, "IA32_VMX_CR0_FIXED0")                      \
	X(cr0_fixed1, "IA32_VMX_CR0_FIXED1")                      \
	X(cr4_fixed0, "IA32_VMX_CR4_FIXED0")                      \
	X(cr4_fixed1, "IA32_VMX_CR4_FIXED1")

int vmx_caps_compare(const struct vmx_cap_msrs *bsp, const struct vmx_cap_msrs *ap, char *why, unsigned why_len)
{
	if (bsp->has_procbased2 != ap->has_procbased2 || bsp->has_ept_vpid_cap != ap->has_ept_vpid_cap ||
	    bsp->has_vmfunc != ap->has_vmfunc) {
		hv_snprintf(why, why_len, "it has IA32_VMX_PROCBASED_CTLS2 / EPT_VPID_CAP / VMFUNC %d/%d/%d, "
			    "the bootstrap processor %d/%d/%d (1: the MSR exists)", ap->has_procbased2, ap->has_ept_vpid_cap, ap->has_vmfunc, bsp->has_procbased2,
			    bsp->has_ept_vpid_cap, bsp->has_vmfunc);
		return -1;
	}
#define X(field, name)                                                                                      \
	if (bsp->field != ap->field) {                                                                      \
		hv_snprintf(why, why_len, "its %s is %#llx, the bootstrap processor's %#llx", name,         \
			    (unsigned long long)ap->field, (unsigned long long)bsp->field);                 \
		return -1;                                                                                  \
	}
	VMX_CAP_MSR_FIELDS(X)
#undef X
	return 0;
}
