/*
 * VMX capabilities: the raw capability MSRs, their decoding, and the
 * computation of control words from them (SDM Vol. 3C Appendix A and
 * 26.2.1 / A.3-A.5 "allowed 0-settings / allowed 1-settings").
 * Pure logic, unit-tested on the host with given MSR values.
 */
#ifndef VMM_VMX_CAPS_H
#define VMM_VMX_CAPS_H

#include <stdbool.h>
#include <stdint.h>

/* The capability MSRs as read from the CPU (or given by a test). */
struct vmx_cap_msrs {
	uint64_t basic, misc;
	uint64_t pinbased, procbased, exit, entry;              /* IA32_VMX_*_CTLS */
	uint64_t true_pinbased, true_procbased, true_exit, true_entry; /* valid if basic bit 55 */
	uint64_t procbased2;                                    /* valid if has_procbased2 */
	uint64_t ept_vpid_cap;                                  /* valid if has_ept_vpid_cap */
	uint64_t vmfunc;                                        /* valid if has_vmfunc */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	bool has_procbased2, has_ept_vpid_cap, has_vmfunc;
};

/* Which of the five control words. */
enum vmx_control_word { VMX_CTL_PIN, VMX_CTL_PROC, VMX_CTL_PROC2, VMX_CTL_EXIT, VMX_CTL_ENTRY, VMX_CTL_COUNT };

struct vmx_caps {
	struct vmx_cap_msrs raw;
	uint32_t revision;
	uint32_t region_size;
	bool true_ctls;
	/* Per control word: bits that must be 1, bits that may be 1 (SDM A.3-A.5). */
	uint32_t must_be_1[VMX_CTL_COUNT];
	uint32_t may_be_1[VMX_CTL_COUNT];
	/* Derived features used by the monitor. */
	bool ept, ept_4level, ept_wb, ept_2m, ept_1g, ept_ad, invept, invept_single, invept_all;
	bool vpid, invvpid, invvpid_single, invvpid_all, invvpid_addr;
	bool unrestricted_guest, preemption_timer, msr_bitmaps, io_bitmaps, secondary;
	bool desc_table_exiting, wbinvd_exiting, store_lma;
	unsigned preemption_timer_rate; /* timer ticks every 2^rate TSC cycles */
	unsigned cr3_targets;
	unsigned maxphyaddr;            /* physical-address width (CPUID.80000008h:EAX[7:0]); filled by cpu_check_vmx */
	bool page_1g;                   /* 1 GiB pages (CPUID.80000001h:EDX[26]); filled by cpu_check_vmx */
};

/* Read the capability MSRs that this CPU says exist (never 0x48b-0x491 blindly). */
void vmx_caps_read(struct vmx_cap_msrs *raw);
void vmx_caps_decode(const struct vmx_cap_msrs *raw, struct vmx_caps *caps);

/* Name of a control word ("pin-based", ...) and of one of its bits (NULL if unnamed). */
const char *vmx_control_word_name(enum vmx_control_word w);
const char *vmx_control_bit_name(enum vmx_control_word w, unsigned bit);

/*
 * Compute a control word: must_be_1 bits forced on, `required` and `optional`
 * bits requested.  A required bit the CPU does not allow is an error: returns
 * -1 and sets *missing to the disallowed required bits.  Optional bits that
 * are not allowed are silently dropped (the caller checks the result).
 */
int vmx_adjust_controls(const struct vmx_caps *caps, enum vmx_control_word w, uint32_t required,
			uint32_t optional, uint32_t *result, uint32_t *missing);

/*
 * Compare another processor's capability MSRs with the bootstrap processor's: the monitor runs one
 * VMCS layout and one set of controls everywhere, so every core must report the same.  Returns 0,
 * or -1 with the first MSR that differs, both values, in `why`.
 */
int vmx_caps_compare(const struct vmx_cap_msrs *bsp, const struct vmx_cap_msrs *ap, char *why, unsigned why_len);

/* Print the decoded capability table, one line per call of line(). */
void vmx_caps_report(const struct vmx_caps *caps, void (*line)(void *ctx, const char *text), void *ctx);

/* vmx_feature_control_verdict() lives with the loader's checks in vmm/vmx_support.h. */
#include "vmm/vmx_support.h"

#endif
