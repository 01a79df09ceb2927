/*
 * The exit trace (trace=exits): one line per VM exit, for people who learn from it.  Each line
 * names the exit kind, the guest's RIP, the decoded operands, and what the monitor did (resumed,
 * queued an exception, stopped the guest).  At most trace_max lines: a guest that exits a million
 * times cannot flood the console.  Example:
 *
 *   [hv] exit 12: CPUID at 0x100a3c, leaf 0x1 subleaf 0 -> resumed
 *   [hv] exit 13: IO at 0x100b10, out 1 byte(s) to port 0x3f8 -> resumed
 *   [hv] exit 14: WRMSR at 0x101f2e, MSR 0xc0000080 <- 0x501 -> resumed
 */
#include "vmm/exits.h"
#include "vmm/format.h"
#include "vmm/log.h"
#include "vmm/trace.h"

static const char *const dt_names[2][4] = { { "SGDT", "SIDT", "LGDT", "LIDT" }, { "SLDT", "STR", "LLDT", "LTR" } };
static const char *const cr_types[] = { "mov to", "mov from", "clts", "lmsw" };

void exit_trace_before(struct vcpu *v, struct exit_trace_before *b)
{
	b->rip = vcpu_read(v, VCPU_RIP);
	b->rax = v->regs.rax, b->rcx = v->regs.rcx, b->rdx = v->regs.rdx;
	b->exception_queued = v->events.exception.valid;
}

/* The decoded operands of the kinds that have them, as "leaf 0x1 subleaf 0". */
static void operands(char *buf, size_t n, const struct vm_exit *e, const struct exit_trace_before *b)
{
	buf[0] = 0;
	switch (e->kind) {
	case EXIT_CPUID:
		hv_snprintf(buf, n, ", leaf %#x subleaf %#x", (unsigned)b->rax, (unsigned)b->rcx);
		break;
	case EXIT_IO:
		hv_snprintf(buf, n, ", %s%s %u byte(s) %s port %#x", e->io.rep ? "rep " : "",
			    e->io.in ? (e->io.string ? "ins" : "in") : (e->io.string ? "outs" : "out"), e->io.size,
			    e->io.in ? "from" : "to", e->io.port);
		break;
	case EXIT_RDMSR:
		hv_snprintf(buf, n, ", MSR %#x", e->msr);
		break;
	case EXIT_WRMSR:
		hv_snprintf(buf, n, ", MSR %#x <- %#llx", e->msr,
			    (unsigned long long)((b->rdx << 32) | (uint32_t)b->rax));
		break;
	case EXIT_CR_ACCESS:
		hv_snprintf(buf, n, ", %s CR%u (register %u)", cr_types[e->cr.type & 3], e->cr.cr, e->cr.gpr);
		break;
	case EXIT_DESCRIPTOR_TABLE:
		hv_snprintf(buf, n, ", %s", dt_names[e->dt.ldtr_tr][e->dt.op.identity & 3]);
		break;
	case EXIT_NESTED_PAGE_FAULT:
		hv_snprintf(buf, n, ", %s of guest-physical %#llx", e->npf.fetch ? "fetch" : e->npf.write ? "write" : "read",
			    (unsigned long long)e->npf.gpa);
		break;
	case EXIT_EXCEPTION:
		hv_snprintf(buf, n, ", vector %u error code %#x, address %#llx", e->intr.event.vector,
			    e->intr.event.error_code, (unsigned long long)e->qualification);
		break;
	case EXIT_HYPERCALL:
		hv_snprintf(buf, n, ", call %llu", (unsigned long long)b->rax);
		break;
	case EXIT_INVLPG:
		hv_snprintf(buf, n, ", address %#llx", (unsigned long long)e->linear);
		break;
	case EXIT_TASK_SWITCH:
		hv_snprintf(buf, n, ", to TSS %#x", e->task.selector);
		break;
	default:
		break;
	}
}

void exit_trace(struct vcpu *v, const struct vm_exit *e, const struct exit_trace_before *b, int status)
{
	char ops[96], did[64];
	if (v->trace_left == 0)
		return;
	operands(ops, sizeof(ops), e, b);
	if (status != EXIT_RESUME)
		hv_snprintf(did, sizeof(did), "stopped the guest (status %d)", status);
	else if (v->events.exception.valid && !b->exception_queued)
		hv_snprintf(did, sizeof(did), "resumed with vector %u queued", v->events.exception.vector);
	else
		hv_snprintf(did, sizeof(did), "resumed");
	log_info("exit %llu: %s at %#llx%s -> %s", (unsigned long long)v->stats.total_exits, exit_kind_name(e->kind),
		 (unsigned long long)b->rip, ops, did);
	if (--v->trace_left == 0)
		log_info("exit trace: %llu lines printed, trace_max reached; the rest of the run is not traced",
			 (unsigned long long)v->cfg->trace_max);
}
