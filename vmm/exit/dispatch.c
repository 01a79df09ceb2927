/* The exit dispatch table: one small handler per exit kind (vmm/vm_exit.h). */
#include <arch/vmx_state.h>
#include "vmm/backend.h"
#include "vmm/exits.h"
#include "vmm/log.h"
#include "vmm/status.h"

static int handle_unknown(struct vcpu *v, const struct vm_exit *e)
{
	(void)e;
	const int status = exit_report_and_stop(v, HV_ERR_UNEXPECTED_EXIT,
						"unexpected VM exit: the monitor has no handler for it");
	backend_dump(v);
	return status;
}

static int handle_undecodable(struct vcpu *v, const struct vm_exit *e)
{
	return exit_report_and_stop(v, HV_ERR_UNEXPECTED_EXIT, e->undecodable);
}

/* Every kind has its handler (checked below), so dispatching is one indexed call. */
static const exit_handler_fn exit_handlers[EXIT_KIND_COUNT] = {
	[EXIT_UNKNOWN] = handle_unknown,
	[EXIT_UNDECODABLE] = handle_undecodable,
	[EXIT_EXCEPTION] = handle_exception,
	[EXIT_NMI] = handle_nmi,
	[EXIT_EXTERNAL_INTERRUPT] = handle_external_interrupt,
	[EXIT_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_TASK_SWITCH] = handle_task_switch,
	[EXIT_CPUID] = handle_cpuid,
	[EXIT_HLT] = handle_hlt,
	[EXIT_CACHE_FLUSH] = handle_cache_flush,
	[EXIT_INVLPG] = handle_invlpg,
	[EXIT_RDPMC] = handle_rdpmc,
	[EXIT_HYPERCALL] = handle_hypercall,
	[EXIT_VIRT_INSTRUCTION] = handle_virt_instruction,
	[EXIT_CR_ACCESS] = handle_cr_access,
	[EXIT_IO] = handle_io,
	[EXIT_RDMSR] = handle_rdmsr,
	[EXIT_WRMSR] = handle_wrmsr,
	[EXIT_MONITOR_MWAIT] = handle_monitor_mwait,
	[EXIT_DESCRIPTOR_TABLE] = handle_descriptor_table,
	[EXIT_NESTED_PAGE_FAULT] = handle_nested_page_fault,
	[EXIT_NESTED_PAGE_MISCONFIG] = handle_nested_page_misconfig,
	[EXIT_TIMER] = handle_timer,
	[EXIT_INTERRUPT_WINDOW] = handle_interrupt_window,
	[EXIT_NMI_WINDOW] = handle_nmi_window,
	[EXIT_TPR_BELOW_THRESHOLD] = handle_tpr_below_threshold,
	[EXIT_XSETBV] = handle_xsetbv,
	[EXIT_SINGLE_STEP_TRAP] = handle_single_step_trap,
};

static const char *const exit_kind_names[EXIT_KIND_COUNT] = {
#define EXIT_KIND_NAME(name) [EXIT_##name] = #name,
	EXIT_KINDS(EXIT_KIND_NAME)
#undef EXIT_KIND_NAME
};

const char *exit_kind_name(enum exit_kind kind)
{
	return (unsigned)kind < EXIT_KIND_COUNT ? exit_kind_names[kind] : "?";
}

int exit_dispatch(struct vcpu *v, const struct vm_exit *e)
{
	return exit_handlers[e->kind](v, e);
}

/* Run once at start-up (vmm_run): a kind without a handler is a build mistake, named here. */
bool exit_handlers_complete(void)
{
	bool ok = true;
	for (unsigned k = 0; k < EXIT_KIND_COUNT; k++)
		if (!exit_handlers[k]) {
			log_error("exit kind %s has no handler in vmm/exit/dispatch.c", exit_kind_name((enum exit_kind)k));
			ok = false;
		}
	return ok;
}

