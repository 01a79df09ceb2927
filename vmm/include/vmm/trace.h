/* The exit trace, trace=exits (vmm/exit/trace.c). */
#ifndef VMM_TRACE_H
#define VMM_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/vcpu.h"

/* What the line needs from before the handler ran (it may change RIP and the registers). */
struct exit_trace_before {
	uint64_t rip, rax, rcx, rdx;
	bool exception_queued;
};

void exit_trace_before(struct vcpu *v, struct exit_trace_before *b);
/* One line for the exit the handler returned `status` for, while v->trace_left lines remain. */
void exit_trace(struct vcpu *v, const struct vm_exit *e, const struct exit_trace_before *b, int status);

#endif
