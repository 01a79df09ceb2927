/*
 * Combining events, as the CPU does when an exception comes while another is being delivered (SDM
 * Vol. 3A 6.15 "Exception and Interrupt Reference", Interrupt 8, Tables 6-4 and 6-5).  Pure: host-tested
 * (tests/unit/test_events.c); the vCPU's queue (vmm/core/vcpu.c, vmm/core/event_merge.c) and the backend's injection use it.
 */
#ifndef VMM_EVENTS_H
#define VMM_EVENTS_H

#include <stdbool.h>
#include "vmm/vm_exit.h"

/* Table 6-4: the classes of exceptions for the double-fault rules. */
enum exception_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGE_FAULT, EXC_DOUBLE_FAULT };
enum exception_class exception_class_of(unsigned vector);

enum event_merge {
	MERGE_SERIAL,       /* the second is delivered; the first is gone (its instruction runs again) */
	MERGE_DOUBLE_FAULT, /* deliver #DF(0) instead */
	MERGE_TRIPLE_FAULT, /* the processor shuts down */
};
/*
 * `second`, an exception, arises while `first` is being delivered (or is queued before it): Table
 * 6-5 applies when `first` is a hardware exception; interrupts, NMIs and software events are
 * handled serially (the second exception goes first; an interrupted external interrupt or NMI is
 * kept by the queue and delivered after it).
 */
enum event_merge event_merge(const struct event *first, const struct event *second);

/* Build an exception event. */
static inline struct event event_exception(unsigned vector, bool has_error_code, uint32_t error_code)
{
	struct event e = { .valid = true, .type = EVENT_HARD_EXCEPTION, .vector = (uint8_t)vector,
			   .has_error_code = has_error_code, .error_code = has_error_code ? error_code : 0 };
	return e;
}

#endif
