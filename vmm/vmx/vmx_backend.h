/* The VT-x backend's own functions, shared inside vmm/vmx/ only (the monitor sees vmm/backend.h). */
#ifndef VMM_VMX_BACKEND_H
#define VMM_VMX_BACKEND_H

#include <stdint.h>
#include "vmm/backend.h"
#include "vmm/vcpu.h"
#include "vmm/vlapic.h"
#include "exit_decode.h"
#include "vmcs.h"

/*
 * The register cache from inside the backend: the same cache as vcpu_read/vcpu_write, with the
 * VMREAD of a miss inline (`name` is both the vcpu_reg and, with GUEST_, the VMCS field).
 */
#define VMX_REG_READ(v, name) vmx_cached_read(v, VCPU_##name, GUEST_##name)
static inline uint64_t vmx_cached_read(struct vcpu *v, enum vcpu_reg r, uint32_t field)
{
	const uint64_t bit = 1ull << r;
	if (!(v->rc.valid & bit)) {
		v->rc.value[r] = vmcs_read_any(field);
		v->rc.valid |= bit;
	}
	return v->rc.value[r];
}

/* regs.c: write the dirty cached registers into the VMCS (just before entry). */
extern const uint32_t vmx_reg_field[VCPU_REG_COUNT];
static inline void vmx_regs_writeback(struct vcpu *v)
{
	/* Most exits change RIP alone (an emulated instruction). */
	if (__builtin_expect(v->rc.dirty == (1ull << VCPU_RIP), 1)) {
		vmcs_writenat(GUEST_RIP, v->rc.value[VCPU_RIP]);
		v->rc.dirty = 0;
	} else if (v->rc.dirty) {
		uint64_t dirty = v->rc.dirty;
		v->rc.dirty = 0;
		do {
			const unsigned r = (unsigned)__builtin_ctzll(dirty);
			dirty &= dirty - 1;
			vmcs_write_any(vmx_reg_field[r], v->rc.value[r]);
		} while (dirty);
	}
}
/* What each basic exit reason is, and what to read for it. */
#define READ_LEN        (1u << 0) /* VM_EXIT_INSTRUCTION_LEN: exits caused by an instruction (SDM 28.2.5) */
#define READ_QUAL       (1u << 1) /* EXIT_QUALIFICATION (SDM 28.2.1) */
#define READ_VECTORING  (1u << 2) /* IDT_VECTORING_INFO_FIELD: exits that can interrupt event delivery (SDM 28.2.4) */
/* Registers their handlers always read, loaded into the register cache inline: */
#define READ_MODE       (1u << 3) /* CS access rights: 64-bit mode (hypercalls, MOV CR, descriptor tables) */
#define READ_CPL        (1u << 6) /* SS access rights: the CPL (hypercalls, descriptor tables) */
#define READ_MSR        (1u << 7) /* RDMSR/WRMSR: the MSR number (ECX) */
#define READ_DR7        (1u << 4) /* DR7: I/O breakpoints (SDM Vol. 3B 18.2.4) */

#define READ_OPERANDS   (1u << 5) /* the exit has operands to decode (vmx_exit_decode_operands) */
struct vmx_reason_info { uint8_t kind, read; };
extern const struct vmx_reason_info vmx_reason_info[EXIT_REASON_MAX];

/* exit.c: the operands and IDT-vectoring information; queues an interrupted event again. */
void vmx_exit_decode_operands(struct vcpu *v, uint32_t reason, unsigned read);

/*
 * Decode the exit with basic reason `reason` into v->exit (SDM 28.2): its kind and instruction
 * length, inline; an instruction exit also loads RIP, RFLAGS and the interruptibility state into the
 * register cache (vcpu_skip_instruction needs them), and the other registers its handler always reads.
 */
static inline void vmx_exit_decode(struct vcpu *v, uint32_t reason)
{
	struct vm_exit *e = &v->exit;
	const unsigned read = reason < EXIT_REASON_MAX ? vmx_reason_info[reason].read : 0;
	e->kind = reason < EXIT_REASON_MAX ? (enum exit_kind)vmx_reason_info[reason].kind : EXIT_UNKNOWN;
	e->reason = reason;
	e->insn_len = 0;
	e->qualification = 0;
	e->vectoring.valid = false;
	if (read & READ_LEN) {
		e->insn_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
		v->rc.value[VCPU_RIP] = vmcs_readnat(GUEST_RIP);
		v->rc.value[VCPU_RFLAGS] = vmcs_readnat(GUEST_RFLAGS);
		v->rc.value[VCPU_INTERRUPTIBILITY_INFO] = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
		v->rc.valid = (1ull << VCPU_RIP) | (1ull << VCPU_RFLAGS) | (1ull << VCPU_INTERRUPTIBILITY_INFO);
		if (read & READ_MODE) {
			v->rc.value[VCPU_CS_AR_BYTES] = vmcs_read32(GUEST_CS_AR_BYTES);
			v->rc.valid |= 1ull << VCPU_CS_AR_BYTES;
		}
		if (read & READ_CPL) {
			v->rc.value[VCPU_SS_AR_BYTES] = vmcs_read32(GUEST_SS_AR_BYTES);
			v->rc.valid |= 1ull << VCPU_SS_AR_BYTES;
		}
		if (read & READ_DR7) {
			v->rc.value[VCPU_DR7] = vmcs_readnat(GUEST_DR7);
			v->rc.valid |= 1ull << VCPU_DR7;
		}
	}
	/* Exits with nothing more to decode (CPUID, HLT, VMCALL, ...) are done after one test. */
	if (!(read & (READ_QUAL | READ_MSR | READ_OPERANDS | READ_VECTORING)))
		return;
	if (read & READ_MSR) {
		e->msr = (uint32_t)v->regs.rcx; /* VT-x gives no qualification: the MSR is ECX (SDM 26.1.3) */
		return;
	}
	if (read & READ_QUAL)
		e->qualification = vmcs_readnat(EXIT_QUALIFICATION);
	/* The commonest exits with operands decode inline (the decoders of exit_decode.h are). */
	if (e->kind == EXIT_IO) {
		e->string_info_valid = false;
		if (!exit_decode_io(e->qualification, &e->io)) {
			e->kind = EXIT_UNDECODABLE, e->undecodable = "I/O exit qualification uses an encoding the SDM does not define (Table 28-5)";
			return;
		}
		if (!e->io.string)
			return;
	} else if (e->kind == EXIT_CR_ACCESS) {
		if (!exit_decode_cr(e->qualification, &e->cr))
			e->kind = EXIT_UNDECODABLE, e->undecodable = "CR-access exit qualification uses an encoding the SDM does not define (Table 28-3)";
		return;
	}
	if (read & (READ_OPERANDS | READ_VECTORING))
		vmx_exit_decode_operands(v, reason, read);
}
/* inject.c: the one place that writes the VM-entry interruption fields (SDM 27.6). */
void vmx_inject_events(struct vcpu *v, uint64_t now);
/* Whether vmx_inject_events has anything to do: most entries have nothing queued and nothing changed. */
static inline bool vmx_events_to_look_at(const struct vcpu *v)
{
	return v->events.queued | v->lapic.events_changed | v->events_waiting;
}
/* The VMX-preemption timer, armed for the watchdog or the vLAPIC timer. */
#define PREEMPTION_TIMER_VALUE_MAX 0xffffffffull
/*
 * Before each VM entry: one VMX-preemption timer serves two deadlines, the watchdog's and the vLAPIC
 * timer's, so it is armed for the earlier.  Why this timer and not the host's LAPIC timer: it counts
 * the guest's own time at a rate tied to the TSC (SDM 26.5.1, IA32_VMX_MISC[4:0]), it forces an exit
 * whatever the guest does (interrupts off, a spin without exits, HLT: it counts in the HLT state
 * too), and it needs no host interrupt controller, whose state the firmware owns and the monitor
 * does not program.  The guest's timer interrupt is then late by at most one timer tick plus the
 * exit and entry.
 */
/*
 * The earlier of the two deadlines (TSC values, UINT64_MAX for none), rounded up to timer ticks so
 * that the exit never comes early; a deadline further than 2^32 ticks re-arms at the timer exit.
 */
static inline void preemption_timer_arm(struct vcpu *v, uint64_t now)
{
	if (!v->timer_armed_at_entry)
		return;
	const uint64_t lapic = vlapic_next_deadline(&v->lapic);
	v->timer_is_watchdog = v->watchdog_deadline <= lapic;
	uint64_t deadline = v->timer_is_watchdog ? v->watchdog_deadline : lapic;
	/* Several vCPUs: a look at what was posted at least every poll_cycles (vmm/vcpu.h). */
	if (__builtin_expect(v->poll_cycles != 0, 0) && deadline - now > v->poll_cycles) {
		deadline = now + v->poll_cycles;
		v->timer_is_watchdog = false;
	}
	uint64_t value = PREEMPTION_TIMER_VALUE_MAX;
	if (deadline != VLAPIC_NO_DEADLINE) {
		const unsigned rate = v->timer_rate;
		const uint64_t ticks = deadline > now ? (deadline - now + (1ull << rate) - 1) >> rate : 0;
		if (ticks < value)
			value = ticks;
	}
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, (uint32_t)value);
}
/* vmx_entry.asm: enter the guest; returns 0 after a VM exit, else the VMX failure (enum vmx_result). */
int vmx_enter_guest(struct guest_regs *regs, int launched);

#endif
