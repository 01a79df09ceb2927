/*
 * The xAPIC page (SDM Vol. 3A 11.4.1): guest-physical IA32_APIC_BASE .. +4 KiB is never backed by
 * memory, so each access to it exits (an EPT violation, or in shadow mode a #PF whose walk ends
 * there).  The monitor decodes the instruction (vmm/dev/mmio_decode.c), performs the access on
 * the vLAPIC and completes the instruction; any other instruction form stops the guest with a
 * message naming its bytes and RIP.
 */
#include <arch/apic.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/vmx_state.h>
#include "vmm/exits.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/mmio_decode.h"
#include "vmm/status.h"
#include "vmm/ipi.h"
#include "vmm/vcpu.h"
#include "vmm/vlapic.h"
#include "vmm/xapic_mmio.h"

_Static_assert(MMIO_INSN_MAX == X86_INSN_MAX, "one longest-instruction length");

#define APIC_REG_ALIGN_MASK (APIC_REG_STRIDE - 1) /* registers are 16-byte aligned (SDM 11.4.1) */

bool xapic_mmio_page(const struct vcpu *v, uint64_t gpa) { return vlapic_mmio_page(&v->lapic, gpa); }

static int stop_unsupported(struct vcpu *v, uint64_t gpa, const uint8_t *bytes, unsigned n, const char *why)
{
	char hex[3 * MMIO_INSN_MAX + 1];
	static const char digits[] = "0123456789abcdef";
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		hex[k++] = digits[bytes[i] >> 4];
		hex[k++] = digits[bytes[i] & 0xf];
		hex[k++] = ' ';
	}
	hex[k ? k - 1 : 0] = 0;
	log_error("xAPIC page: guest access at guest-physical %#llx by an instruction the monitor does not emulate "
		  "(%s): RIP=%#llx bytes [%s]; only 32-bit MOV loads and stores (8B, 89, C7 /0) are emulated",
		  (unsigned long long)gpa, why, (unsigned long long)vcpu_read(v, VCPU_RIP), hex);
	return exit_report_and_stop(v, HV_ERR_GUEST_FAULT, "guest stopped on an unsupported xAPIC page access");
}

int xapic_mmio_emulate(struct vcpu *v, const struct vm_exit *e, uint64_t gpa)
{
	uint8_t bytes[MMIO_INSN_MAX];
	struct mmio_insn insn;
	/*
	 * An access the instruction at RIP did not make: the delivery of an event (its IDT gate, or the
	 * frame pushed onto a stack on the page; the IDT-vectoring information is valid, SDM 28.2.4).
	 * Decoding RIP would emulate the wrong access: stop, naming the event.
	 */
	if (e->vectoring.valid) {
		log_error("xAPIC page: guest access at guest-physical %#llx while delivering vector %u (type %u) at RIP=%#llx: "
			  "the guest's IDT, GDT or stack lies on the APIC page; only MOV instructions are emulated there",
			  (unsigned long long)gpa, e->vectoring.vector, e->vectoring.type,
			  (unsigned long long)vcpu_read(v, VCPU_RIP));
		return exit_report_and_stop(v, HV_ERR_GUEST_FAULT, "guest stopped on an xAPIC page access by event delivery");
	}
	const unsigned n = vmm_guest_fetch_instruction(v, bytes);
	const enum mmio_decode_result r = mmio_decode(bytes, n, vcpu_long64(v), &insn);
	if (r != MMIO_DECODE_OK)
		return stop_unsupported(v, gpa, bytes, n, r == MMIO_DECODE_TRUNCATED ? "its bytes end unmapped" : "another form");
	const uint32_t offset = (uint32_t)(gpa & (APIC_MMIO_SIZE - 1));
	const uint64_t now = rdtsc();
	/* A misaligned access is undefined (SDM 11.4.1): it reads 0 and writes nothing. */
	const bool aligned = !(offset & APIC_REG_ALIGN_MASK);
	if (insn.op == MMIO_LOAD) {
		const uint32_t value = aligned ? vlapic_mmio_read(vcpu_lapic(v), offset, now) : 0;
		vcpu_gpr_write(v, insn.reg, value); /* a 32-bit destination is zero-extended (SDM Vol. 1 3.4.1.1) */
	} else if (aligned) {
		const uint32_t value = insn.op == MMIO_STORE_IMM ? insn.imm : (uint32_t)vcpu_gpr_read(v, insn.reg);
		vlapic_mmio_write(vcpu_lapic(v), offset, value, now);
		if (__builtin_expect(v->lapic.ipi_out_pending, 0))
			vcpu_route_ipi(v); /* an ICR write may name other vCPUs */
	}
	vcpu_complete_instruction(v, insn.len);
	return EXIT_RESUME;
}
