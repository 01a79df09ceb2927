/*
 * Privileged instructions, and the exit ledger.
 *
 * Under the monitor (the contract in the project's issue 4) each of these
 * instructions causes one VM exit with the reason named here, except where
 * a comment says otherwise.  Every wrapper counts the exit it causes in
 * exit_ledger[], so the kernel can compare its own bookkeeping with the
 * monitor's counters (HC_GET_STATS): an exit the kernel did not cause, or
 * one it caused that the monitor did not see, shows up as a difference.
 * Code that must not be perturbed (a benchmark loop) uses the raw
 * instruction and adds to the ledger afterwards.
 */
#ifndef GUEST_PRIV_H
#define GUEST_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/io.h>
#include <arch/msr.h>
#include <arch/segment.h>
#include <arch/vmcs_fields.h>
#include <vmm/hypercall.h>
#include <arch/apic.h>
#include "guest/kernel.h"
#include "guest/percpu.h"
#include "guest/trap.h"

_Static_assert(HV_STATS_REASONS == EXIT_REASON_MAX, "one counter per basic exit reason");

extern uint64_t exit_ledger[HV_STATS_REASONS];

/* The ledger is per CPU (struct cpu, guest/include/guest/percpu.h): exit_ledger is the bootstrap processor's. */
static inline void ledger_add(unsigned reason, uint64_t n) { this_cpu_ledger()[reason] += n; }

/* MSRs the monitor passes through without an exit (the MSR bitmap clears them). */
static inline bool msr_passed_through(uint32_t index)
{
	return index == MSR_IA32_FS_BASE || index == MSR_IA32_GS_BASE || index == MSR_IA32_KERNEL_GS_BASE;
}

/*
 * x2APIC MSRs the CPU virtualizes without an exit while the monitor's APIC virtualization is on
 * (boot word "apicv", x2APIC mode, software-enabled; vmm/vmx/apicv.c): reads of the registers the
 * virtual-APIC page holds (not the current count), writes of TPR, EOI and SELF IPI; with the TPR
 * shadow alone (boot word "apicv_tpr") reads and writes of the TPR.
 */
extern bool apic_msrs_virtualized, apic_msrs_tpr_only; /* guest/apic.c */
static inline bool x2apic_msr_virtualized(uint32_t index, bool write)
{
	if (!apic_msrs_virtualized || index < X2APIC_MSR_BASE || index > X2APIC_MSR_LAST)
		return false;
	const uint32_t off = X2APIC_MSR_OFFSET(index);
	if (apic_msrs_tpr_only)
		return off == APIC_REG_TPR; /* the TPR shadow alone */
	if (write)
		return off == APIC_REG_TPR || off == APIC_REG_EOI || off == APIC_REG_SELF_IPI;
	if (off >= APIC_REG_ISR0 && off < APIC_REG_IRR0 + APIC_VECTOR_REGS * APIC_REG_STRIDE)
		return true; /* ISR, TMR, IRR */
	switch (off) {
	case APIC_REG_ID: case APIC_REG_VERSION: case APIC_REG_TPR: case APIC_REG_PPR: case APIC_REG_LDR:
	case APIC_REG_SVR: case APIC_REG_ESR: case APIC_REG_LVT_CMCI: case APIC_REG_ICR_LO: case APIC_REG_LVT_TIMER:
	case APIC_REG_LVT_THERMAL: case APIC_REG_LVT_PERF: case APIC_REG_LVT_LINT0: case APIC_REG_LVT_LINT1:
	case APIC_REG_LVT_ERROR: case APIC_REG_TIMER_ICR: case APIC_REG_TIMER_DCR:
		return true;
	default:
		return false;
	}
}

static inline struct cpuid_regs priv_cpuid(uint32_t leaf, uint32_t subleaf)
{
	ledger_add(EXIT_REASON_CPUID, 1); /* CPUID exits unconditionally (SDM Vol. 3C 26.1.2) */
	return cpuid(leaf, subleaf);
}

static inline uint64_t priv_rdmsr(uint32_t index)
{
	if (!msr_passed_through(index) && !x2apic_msr_virtualized(index, false))
		ledger_add(EXIT_REASON_RDMSR, 1);
	return rdmsr(index);
}

static inline void priv_wrmsr(uint32_t index, uint64_t value)
{
	if (!msr_passed_through(index) && !x2apic_msr_virtualized(index, true))
		ledger_add(EXIT_REASON_WRMSR, 1);
	wrmsr(index, value);
}

/* RDMSR that may fault: 0 and *value, or -1 after a #GP (recorded in kernel_fault). */
static inline int priv_rdmsr_safe(uint32_t index, uint64_t *value)
{
	uint64_t before = kernel_fault.count;
	uint32_t lo = 0, hi = 0;
	if (!msr_passed_through(index) && !x2apic_msr_virtualized(index, false))
		ledger_add(EXIT_REASON_RDMSR, 1);
	__asm__ volatile("1: rdmsr\n2:\n\t" EX_TABLE_ENTRY("1b", "2b")
			 : "+a"(lo), "+d"(hi)
			 : "c"(index)
			 : "memory");
	*value = ((uint64_t)hi << 32) | lo;
	return kernel_fault.count == before ? 0 : -1;
}

/* WRMSR that may fault: 0, or -1 after a #GP (recorded in kernel_fault). */
static inline int priv_wrmsr_safe(uint32_t index, uint64_t value)
{
	uint64_t before = kernel_fault.count;
	if (!msr_passed_through(index) && !x2apic_msr_virtualized(index, true))
		ledger_add(EXIT_REASON_WRMSR, 1);
	__asm__ volatile("1: wrmsr\n2:\n\t" EX_TABLE_ENTRY("1b", "2b")
			 :
			 : "c"(index), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
			 : "memory");
	return kernel_fault.count == before ? 0 : -1;
}

static inline uint8_t priv_inb(uint16_t port)
{
	ledger_add(EXIT_REASON_IO_INSTRUCTION, 1); /* the I/O bitmaps cover every port */
	return inb(port);
}

static inline void priv_outb(uint16_t port, uint8_t value)
{
	ledger_add(EXIT_REASON_IO_INSTRUCTION, 1);
	outb(port, value);
}

/* MOV to CR0/CR4 exits when the value differs from the read shadow in an owned bit (SDM Vol. 3C 26.1.3); the monitor owns them all. */
static inline void priv_write_cr0(uint64_t value)
{
	if (value != read_cr0())
		ledger_add(EXIT_REASON_CR_ACCESS, 1);
	write_cr0(value);
}

static inline void priv_write_cr4(uint64_t value)
{
	if (value != read_cr4())
		ledger_add(EXIT_REASON_CR_ACCESS, 1);
	write_cr4(value);
}

/* MOV from CR3 exits only in shadow-paging mode (CR3-store exiting): the monitor returns the guest's own CR3. */
static inline uint64_t priv_read_cr3(void)
{
	if (boot_config.mem_shadow)
		ledger_add(EXIT_REASON_CR_ACCESS, 1);
	return read_cr3();
}

/* MOV to CR3 exits only in shadow-paging mode (CR3-load exiting). */
static inline void priv_write_cr3(uint64_t value)
{
	if (boot_config.mem_shadow)
		ledger_add(EXIT_REASON_CR_ACCESS, 1);
	write_cr3(value);
}

/*
 * Descriptor-table instructions exit with "descriptor-table exiting" (SDM
 * Vol. 3C 25.6.2), a control older CPUs (Core 2) lack: the monitor then
 * says no_dt_exits on the command line and they run unseen.
 */
static inline void ledger_dt(unsigned reason)
{
	if (boot_config.dt_exits)
		ledger_add(reason, 1);
}

static inline void priv_lgdt(const struct descriptor_table_ptr *p)
{
	ledger_dt(EXIT_REASON_GDTR_IDTR_ACCESS);
	lgdt(p);
}

static inline void priv_lidt(const struct descriptor_table_ptr *p)
{
	ledger_dt(EXIT_REASON_GDTR_IDTR_ACCESS);
	lidt(p);
}

static inline void priv_sgdt(struct descriptor_table_ptr *p)
{
	ledger_dt(EXIT_REASON_GDTR_IDTR_ACCESS);
	sgdt(p);
}

static inline void priv_sidt(struct descriptor_table_ptr *p)
{
	ledger_dt(EXIT_REASON_GDTR_IDTR_ACCESS);
	sidt(p);
}

static inline void priv_ltr(uint16_t selector)
{
	ledger_dt(EXIT_REASON_LDTR_TR_ACCESS);
	ltr(selector);
}

static inline uint16_t priv_str(void)
{
	ledger_dt(EXIT_REASON_LDTR_TR_ACCESS);
	return read_tr();
}

static inline uint16_t priv_sldt(void)
{
	uint16_t v;
	ledger_dt(EXIT_REASON_LDTR_TR_ACCESS);
	__asm__ volatile("sldt %0" : "=r"(v));
	return v;
}

static inline void priv_lldt(uint16_t selector)
{
	ledger_dt(EXIT_REASON_LDTR_TR_ACCESS);
	__asm__ volatile("lldt %0" ::"r"(selector));
}

/* HLT with no interrupt to wake up: only ever executed under the monitor, which resumes at once. */
static inline void priv_hlt(void)
{
	ledger_add(EXIT_REASON_HLT, 1);
	__asm__ volatile("hlt" ::: "memory");
}

static inline void priv_wbinvd(void)
{
	ledger_add(EXIT_REASON_WBINVD, 1);
	__asm__ volatile("wbinvd" ::: "memory");
}

/* INVD exits unconditionally (SDM Vol. 3C 26.1.2); the monitor makes it a no-op. */
static inline void priv_invd(void)
{
	ledger_add(EXIT_REASON_INVD, 1);
	__asm__ volatile("invd" ::: "memory");
}

/* XSETBV: 0, or -1 after a #GP (recorded in kernel_fault). */
static inline int priv_xsetbv_safe(uint32_t index, uint64_t value)
{
	uint64_t before = kernel_fault.count;
	ledger_add(EXIT_REASON_XSETBV, 1);
	__asm__ volatile("1: xsetbv\n2:\n\t" EX_TABLE_ENTRY("1b", "2b")
			 ::"c"(index), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
			 : "memory");
	return kernel_fault.count == before ? 0 : -1;
}

#endif
