/*
 * The hypercall ABI between the guest and the monitor (shared by both sides).
 *
 * VMCALL with the hypercall number in RAX and arguments in RBX, RCX, RDX;
 * the result comes back in RAX (>= 0 success, < 0 one of enum hc_error).
 * Every guest pointer is a guest-VIRTUAL address, translated through the
 * guest's own page tables and checked to lie in guest RAM; a bad pointer
 * returns HC_ERR_BAD_POINTER and is logged, never trusted.
 *
 * The monitor's numbers lie in their own range, HC_BASE .. HC_BASE + HC_COUNT - 1, so that a
 * guest we did not write (one probing for KVM, say, whose calls start at 0) cannot reach them by
 * accident.  A guest finds them behind the signature: CPUID.40000000h EBX:ECX:EDX =
 * HV_CPUID_SIGNATURE, then CPUID.40000001h (HV_CPUID_INTERFACE) EAX = HV_INTERFACE_VERSION,
 * EBX = HC_BASE, ECX = HC_COUNT.  Any other number from ring 0, RAX = 0 included, is answered
 * as KVM answers an unknown call: RAX = HC_ERR_UNKNOWN_CALL (-1000, KVM's -KVM_ENOSYS) and the
 * guest continues.  From ring 3 VMCALL is #UD.  Outside 64-bit mode the registers are 32 bits.
 */
#ifndef VMM_HYPERCALL_H
#define VMM_HYPERCALL_H

#include <stdint.h>

#define HV_CPUID_SIGNATURE "hvmonitor-01" /* CPUID.40000000h EBX:ECX:EDX */
#define HV_CPUID_INTERFACE 0x40000001u    /* EAX = version, EBX = HC_BASE, ECX = HC_COUNT */
#define HV_INTERFACE_VERSION 2u           /* 2: numbers from HC_BASE, unknown calls answer -1000 */

/* "HV" in bits 31:16: far from 0 and from KVM's small numbers (Documentation/virt/kvm/x86/hypercalls.rst). */
#define HC_BASE 0x48560000u

/* X(name, offset from HC_BASE, what it does) */
#define HC_TABLE(X)                                                                                    \
	X(EXIT,      0, "RBX = status (0..63): the guest is done; the monitor powers off with it")       \
	X(GET_STATS, 1, "RBX = buffer (struct hv_stats), RCX = its size; RAX = bytes written")           \
	X(TRANSLATE, 2, "RBX = guest-virtual address, RCX = buffer (struct hv_translation); RAX = 0")

enum hc_number {
#define X(name, offset, what) HC_##name = HC_BASE + (offset),
	HC_TABLE(X)
#undef X
};

enum {
#define X(name, offset, what) HC_INDEX_##name,
	HC_TABLE(X)
#undef X
	HC_COUNT /* the monitor's numbers: HC_BASE .. HC_BASE + HC_COUNT - 1 */
};

enum hc_error {
	HC_ERR_UNKNOWN_CALL = -1000, /* no such hypercall number: KVM's -KVM_ENOSYS, so KVM-aware guests understand */
	HC_ERR_BAD_POINTER = -2,  /* a pointer argument is not mapped to guest RAM, wraps, or is too large */
	HC_ERR_BAD_ARGUMENT = -3, /* an argument is out of range */
	HC_ERR_NOT_MAPPED = -4,   /* HC_TRANSLATE: the address is not mapped by the guest's page tables */
};

#define HV_STATS_VERSION 1
#define HV_STATS_REASONS 65 /* = EXIT_REASON_MAX: indexed by basic exit reason */

struct hv_stats {
	uint32_t version;          /* HV_STATS_VERSION */
	uint32_t nr_reasons;       /* HV_STATS_REASONS */
	uint64_t total_exits;
	uint64_t count[HV_STATS_REASONS];  /* exits per basic exit reason */
	uint64_t cycles[HV_STATS_REASONS]; /* TSC cycles spent in the monitor per reason */
};

/* Result of HC_TRANSLATE: the two-level translation of one guest-virtual address. */
struct hv_translation {
	uint64_t gva;       /* the address asked for */
	uint64_t gpa;       /* guest-physical, from the guest's page tables (guest page walk) */
	uint64_t hpa;       /* host-physical, from EPT (or the monitor's GPA->HPA map in shadow mode) */
	uint64_t guest_pte; /* the guest's leaf page-table entry */
	uint64_t guest_page_size; /* 4K, 2M or 1G */
	uint64_t host_page_size;  /* size of the EPT leaf mapping */
};

#endif
