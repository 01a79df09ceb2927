/* Talking to the monitor: detection through CPUID, hypercalls through VMCALL. */
#ifndef GUEST_HV_H
#define GUEST_HV_H

#include <stdbool.h>
#include <stdint.h>
#include <vmm/hypercall.h>
#include "guest/priv.h"

/* CPUID.40000000h EBX:ECX:EDX holds the signature (vmm/include/vmm/hypercall.h). */
#define HV_SIGNATURE_LEN 12

bool hv_detect(void);

/* VMCALL exits unconditionally in VMX non-root operation (SDM Vol. 3C 26.1.2). */
static inline int64_t hv_call_raw(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	int64_t ret;
	__asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(a1), "c"(a2), "d"(a3) : "memory");
	return ret;
}

static inline int64_t hv_call(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	ledger_add(EXIT_REASON_VMCALL, 1);
	return hv_call_raw(nr, a1, a2, a3);
}

int64_t hv_get_stats(struct hv_stats *s); /* bytes written, or HC_ERR_* */
int64_t hv_translate(uint64_t gva, struct hv_translation *t);

#endif
