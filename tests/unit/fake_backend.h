/*
 * A fake backend for host tests of the exit handlers (tests/unit/test_exit_handlers.c): the guest
 * registers the handlers read through the register cache come from an array, every call into the
 * backend interface (vmm/include/vmm/backend.h) is recorded, and the rest of the monitor the handler
 * sources link against (logging, shadow paging, guest memory, the xAPIC page) is stubbed.  Guest
 * memory is one small buffer at guest-physical 0, mapped 1:1 at guest-virtual 0 (no page walk).
 * Nothing here executes a privileged instruction.
 */
#ifndef TESTS_UNIT_FAKE_BACKEND_H
#define TESTS_UNIT_FAKE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/vcpu.h"
#include "vmm/io_ledger.h"
#include "vmm/vuart.h"

#define FAKE_RAM_SIZE 0x10000u /* guest RAM: [0, 64 KiB), GVA == GPA */
extern uint8_t fake_ram[FAKE_RAM_SIZE];

/* The defaults fake_vcpu_init gives the guest (a 64-bit kernel at CPL 0, paging on, EPT). */
#define FAKE_RIP          0x1000ull
#define FAKE_RSP          0x8000ull
#define FAKE_CR3          0x2000ull
#define FAKE_GDTR_BASE    0x3000ull
#define FAKE_GDTR_LIMIT   0x7full
#define FAKE_IDTR_BASE    0x4000ull
#define FAKE_IDTR_LIMIT   0xfffull
#define FAKE_CS_AR_64     0xa09bu /* present code, execute/read accessed, L, G, DPL 0 */
#define FAKE_CS_AR_32     0xc09bu /* the same with D instead of L */
#define FAKE_DATA_AR      0xc093u /* present data, read/write accessed, D/B, G, DPL 0 */
#define FAKE_DATA_AR_CPL3 0xc0f3u /* the same at DPL 3 */
#define FAKE_TR_AR        0x008bu /* busy 64-bit TSS */
#define FAKE_PAT          0x0007040600070406ull /* the reset value */

/* What the fake records; fake_vcpu_init empties it. */
extern struct vuart fake_uart; /* v->uart of fake_vcpu_init's vCPU */
extern struct io_ledger fake_io_ledger; /* v->io_ledger of fake_vcpu_init's vCPU */
extern struct vcpu_group fake_group; /* v->group of fake_vcpu_init's vCPU: it alone, until a test adds peers */

struct fake_backend {
	uint64_t reg[VCPU_REG_COUNT];   /* the backend's copy of each register (backend_reg_read returns it) */
	unsigned reads[VCPU_REG_COUNT]; /* backend_reg_read calls per register since the last fake_exit */
	uint64_t exit_rip;              /* the guest's RIP when the current exit happened */

	unsigned set_long_mode_calls;
	bool long_mode;                 /* the last backend_set_long_mode argument */
	unsigned intercept_calls;
	unsigned intercept_vector;
	bool intercept_on;
	unsigned apic_mode_changed_calls;
	unsigned flush_guest_addr_calls;
	uint64_t flush_guest_addr;
	bool can_flush_guest_addr;      /* what backend_can_flush_guest_addr answers */
	unsigned can_flush_guest_addr_calls;
	unsigned flush_second_level_calls;
	uint64_t flush_second_level_root;
	unsigned dump_calls;
	unsigned set_tsc_offset_calls;
	uint64_t tsc_offset;            /* the last backend_set_tsc_offset argument */
	unsigned exit_reason_name_calls;

	unsigned shadow_switch_calls, shadow_flush_all_calls, shadow_invlpg_calls;
	unsigned shadow_page_fault_calls, shadow_debug_calls;
	uint64_t shadow_invlpg_gva;
	unsigned xapic_emulate_calls;

	/* The host APIC (vmm/host_apic.h): the IPIs sent (kicks) and EOIs. */
	unsigned host_ipis, host_eois;
	unsigned vm86_done_calls;
	uint32_t host_ipi_apic_id, host_ipi_icr;

	/* Guest memory: an access touching the page of pf_gva faults (#PF with pf_error, W added for writes). */
	bool pf_armed;
	uint64_t pf_gva;
	uint32_t pf_error;
	unsigned virt_reads, virt_writes, phys_reads;

	/* The log: lines per level (enum hv_log_level) and the last one; hv_print's last text. */
	unsigned log_lines[4];
	char last_log[256];
	char last_print[256];
	unsigned prints;
};
extern struct fake_backend fake;

/*
 * A fresh vCPU and an empty record: EPT, EFER and PAT switched at entry/exit (so no handler path
 * touches the real MSRs), a 64-bit guest (EFER LME|LMA|SCE, CS.L, CR0 PE|PG, CR4 PAE), CPL 0, DR7 with
 * no breakpoint enabled, a reset xAPIC-mode vLAPIC, cfg and caps pointing at static structures.
 */
void fake_vcpu_init(struct vcpu *v);

/*
 * The next exit, as the backend delivers one: the dirty registers of the previous one are written
 * back (to fake.reg), the cache is emptied, the read counts restart, and v->exit is cleared and given
 * `kind` and the instruction length.  Returns &v->exit (handlers take it, and vcpu_skip_instruction
 * reads v->exit).
 */
struct vm_exit *fake_exit(struct vcpu *v, enum exit_kind kind, uint32_t insn_len);

/* A register as the guest will have it at the next entry: the cache's value if valid, else the backend's. */
uint64_t fake_guest_reg(const struct vcpu *v, enum vcpu_reg r);
/* The register was written during this exit (dirty in the cache). */
bool fake_dirty(const struct vcpu *v, enum vcpu_reg r);
/* The most backend_reg_read calls any one register had since the last fake_exit (the cache keeps it at 1). */
unsigned fake_max_reads(void);

/* Put the guest in 32-bit protected mode with paging off (EFER 0, CS.D, CR0 PE|ET, CR4 0). */
void fake_guest_protected32(struct vcpu *v);

#endif
