/* Combining exceptions: see vmm/include/vmm/events.h. */
#include <arch/segment.h>
#include "vmm/events.h"

enum exception_class exception_class_of(unsigned vector)
{
	switch (vector) {
	case VECTOR_DE: case VECTOR_TS: case VECTOR_NP: case VECTOR_SS: case VECTOR_GP: case VECTOR_CP:
		return EXC_CONTRIBUTORY;
	case VECTOR_PF: case VECTOR_VE:
		return EXC_PAGE_FAULT;
	case VECTOR_DF:
		return EXC_DOUBLE_FAULT;
	default:
		return EXC_BENIGN;
	}
}

enum event_merge event_merge(const struct event *first, const struct event *second)
{
	if (!first->valid || first->type != EVENT_HARD_EXCEPTION || second->type != EVENT_HARD_EXCEPTION)
		return MERGE_SERIAL;
	const enum exception_class a = exception_class_of(first->vector), b = exception_class_of(second->vector);
	if (b == EXC_BENIGN || b == EXC_DOUBLE_FAULT)
		return MERGE_SERIAL;
	switch (a) {
	case EXC_CONTRIBUTORY: /* contributory then contributory: #DF; then #PF: serial */
		return b == EXC_CONTRIBUTORY ? MERGE_DOUBLE_FAULT : MERGE_SERIAL;
	case EXC_PAGE_FAULT:   /* #PF then #PF or contributory: #DF */
		return MERGE_DOUBLE_FAULT;
	case EXC_DOUBLE_FAULT: /* #DF then #PF or contributory: shutdown (Interrupt 8, "triple fault") */
		return MERGE_TRIPLE_FAULT;
	default:
		return MERGE_SERIAL;
	}
}
