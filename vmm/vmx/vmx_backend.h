/* The VT-x backend's own functions, shared inside vmm/vmx/ only (the monitor sees vmm/backend.h). */
#ifndef VMM_VMX_BACKEND_H
#define VMM_VMX_BACKEND_H

#include <stdint.h>
#include "vmm/backend.h"
#include "vmm/vcpu.h"
#include "exit_decode.h"
#include "vmcs.h"

/* regs.c: write the dirty cached registers into the VMCS (just before entry). */
void vmx_regs_writeback_slow(struct vcpu *v);
static inline void vmx_regs_writeback(struct vcpu *v)
{
	/* Most exits change RIP alone (an emulated instruction). */
	if (__builtin_expect(v->rc.dirty == (1ull << VCPU_RIP), 1)) {
		vmcs_writenat(GUEST_RIP, v->rc.value[VCPU_RIP]);
		v->rc.dirty = 0;
	} else if (v->rc.dirty) {
		vmx_regs_writeback_slow(v);
	}
}
/* What each basic exit reason is, and what to read for it. */
#define READ_LEN        (1u << 0) /* VM_EXIT_INSTRUCTION_LEN: exits caused by an instruction (SDM 28.2.5) */
#define READ_QUAL       (1u << 1) /* EXIT_QUALIFICATION (SDM 28.2.1) */
#define READ_VECTORING  (1u << 2) /* IDT_VECTORING_INFO_FIELD: exits that can interrupt event delivery (SDM 28.2.4) */
/* Registers their handlers always read, loaded into the register cache inline: */
#define READ_MODE       (1u << 3) /* CS access rights: 64-bit mode (hypercalls, MOV CR, descriptor tables) */
#define READ_CPL        (1u << 6) /* SS access rights: the CPL (hypercalls, descriptor tables) */
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
	if (read & READ_QUAL)
		e->qualification = vmcs_readnat(EXIT_QUALIFICATION);
	/* The two commonest exits with operands decode inline (the decoders of exit_decode.h are). */
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
/* timer.c: the VMX-preemption timer, armed for the watchdog or the vLAPIC timer. */
#define PREEMPTION_TIMER_VALUE_MAX 0xffffffffull
void preemption_timer_program(struct vcpu *v, uint64_t now);
/* vmx_entry.asm: enter the guest; returns 0 after a VM exit, else the VMX failure (enum vmx_result). */
int vmx_enter_guest(struct guest_regs *regs, int launched);

#endif
