/*
 * The CPU as the guest sees it through CPUID (exit/cpuid.c).  Every other
 * handler that offers or refuses a feature (MSRs, instructions) asks this one
 * function, so what CPUID advertises and what the monitor accepts never drift
 * apart: a guest never reaches a host MSR its CPUID does not announce.
 */
#ifndef VMM_GUEST_CPUID_H
#define VMM_GUEST_CPUID_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/cpuid.h>

struct vcpu;

/* What CPUID(leaf, subleaf) returns to this guest. */
struct cpuid_regs guest_cpuid(const struct vcpu *v, uint32_t leaf, uint32_t subleaf);

/* One feature bit of the guest's CPUID. */
enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };
struct cpuid_feature {
	uint32_t leaf, subleaf;
	enum cpuid_reg reg;
	uint32_t bit;
};

/* True when the guest's CPUID has the feature (and its leaf is within the advertised range). */
bool guest_cpuid_has(const struct vcpu *v, struct cpuid_feature f);

#endif
