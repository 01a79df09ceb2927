/* The fake backend and monitor stubs for host tests of the exit handlers: see fake_backend.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/segment.h>
#include <arch/vmx_state.h>
#include "vmm/backend.h"
#include "vmm/exits.h"
#include "vmm/hypercall.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/shadow.h"
#include "vmm/xapic_mmio.h"
#include "vmm/mmu_ops.h"
#include "fake_backend.h"
#include "vmm/host_apic.h"

struct fake_backend fake;
uint8_t fake_ram[FAKE_RAM_SIZE];

static struct hv_config fake_cfg;
struct vuart fake_uart; /* the vCPU's UART (fake_backend.h) */
struct io_ledger fake_io_ledger; /* the vCPU's unclaimed ports (fake_backend.h) */
struct vcpu_group fake_group;

/* The host APIC (vmm/host_apic.h). */
int host_apic_send(uint32_t apic_id, uint32_t icr_low)
{
	fake.host_ipis++;
	fake.host_ipi_apic_id = apic_id;
	fake.host_ipi_icr = icr_low;
	return 0;
}
void host_apic_eoi(void) { fake.host_eois++; }
static struct vmx_caps fake_caps;

/* ---- the backend interface (vmm/include/vmm/backend.h) and the register cache's miss path ---- */

uint64_t backend_reg_read(struct vcpu *v, enum vcpu_reg r)
{
	(void)v;
	if ((unsigned)r >= VCPU_REG_COUNT) {
		fprintf(stderr, "fake backend: backend_reg_read(%d): no such register\n", (int)r);
		abort();
	}
	fake.reads[r]++;
	return fake.reg[r];
}

void backend_set_long_mode(struct vcpu *v, bool on)
{
	(void)v;
	fake.set_long_mode_calls++;
	fake.long_mode = on;
}

void backend_intercept_exception(struct vcpu *v, unsigned vector, bool on)
{
	(void)v;
	fake.intercept_calls++;
	fake.intercept_vector = vector;
	fake.intercept_on = on;
}

void backend_apic_mode_changed(struct vcpu *v)
{
	(void)v;
	fake.apic_mode_changed_calls++;
}

void backend_flush_guest_addr(struct vcpu *v, uint64_t gva)
{
	(void)v;
	fake.flush_guest_addr_calls++;
	fake.flush_guest_addr = gva;
}

bool backend_can_flush_guest_addr(const struct vcpu *v)
{
	(void)v;
	fake.can_flush_guest_addr_calls++;
	return fake.can_flush_guest_addr;
}

void backend_vm86_done(struct vcpu *v)
{
	(void)v;
	fake.vm86_done_calls++;
}

void backend_flush_second_level(const struct vmx_caps *caps, uint64_t root)
{
	(void)caps;
	fake.flush_second_level_calls++;
	fake.flush_second_level_root = root;
}

void backend_dump(struct vcpu *v)
{
	(void)v;
	fake.dump_calls++;
}

const char *backend_exit_reason_name(uint32_t reason)
{
	(void)reason;
	fake.exit_reason_name_calls++;
	return "FAKE";
}

bool backend_failed(void) { return false; }

void backend_set_tsc_offset(struct vcpu *v, uint64_t offset)
{
	(void)v;
	fake.set_tsc_offset_calls++;
	fake.tsc_offset = offset;
}

/* ---- the log (vmm/platform/log.c) ---- */

static enum hv_log_level fake_log_level = HV_LOG_DEBUG;
void log_set_level(enum hv_log_level level) { fake_log_level = level; }
enum hv_log_level log_get_level(void) { return fake_log_level; }

void hv_log(enum hv_log_level level, const char *fmt, ...)
{
	va_list ap;
	if ((unsigned)level < sizeof(fake.log_lines) / sizeof(fake.log_lines[0]))
		fake.log_lines[level]++;
	va_start(ap, fmt);
	vsnprintf(fake.last_log, sizeof(fake.last_log), fmt, ap);
	va_end(ap);
	if (getenv("FAKE_BACKEND_LOG"))
		fprintf(stderr, "[hv %d] %s\n", (int)level, fake.last_log);
}

void hv_print(const char *fmt, ...)
{
	va_list ap;
	fake.prints++;
	va_start(ap, fmt);
	vsnprintf(fake.last_print, sizeof(fake.last_print), fmt, ap);
	va_end(ap);
}

void hv_print_colour(enum fbcon_colour colour, const char *fmt, ...)
{
	va_list ap;
	(void)colour;
	fake.prints++;
	va_start(ap, fmt);
	vsnprintf(fake.last_print, sizeof(fake.last_print), fmt, ap);
	va_end(ap);
}

/* vmm/platform/cpu.c's table of names (that file runs on the CPU it describes). */
const char *exception_name(unsigned vector)
{
	switch (vector) {
#define X(mn, vec, text, has_error) case vec: return text;
		EXCEPTION_TABLE(X)
#undef X
	default: return "reserved";
	}
}

/* ---- shadow paging (vmm/mmu/shadow.c needs frames and the frame allocator): calls counted ---- */

int shadow_switch(struct vcpu *v) { (void)v; fake.shadow_switch_calls++; return EXIT_RESUME; }
int shadow_flush_all(struct vcpu *v) { (void)v; fake.shadow_flush_all_calls++; return EXIT_RESUME; }

int shadow_handle_page_fault(struct vcpu *v, const struct vm_exit *e, uint64_t *mmio_gpa)
{
	(void)v, (void)e, (void)mmio_gpa;
	fake.shadow_page_fault_calls++;
	return EXIT_RESUME;
}

void shadow_report(const struct shadow_state *s) { (void)s; }

void shadow_invlpg(struct vcpu *v, uint64_t gva)
{
	(void)v;
	fake.shadow_invlpg_calls++;
	fake.shadow_invlpg_gva = gva;
}

int shadow_handle_debug_exception(struct vcpu *v, const struct vm_exit *e)
{
	(void)v, (void)e;
	fake.shadow_debug_calls++;
	return EXIT_RESUME;
}

/* ---- the xAPIC page (vmm/exit/xapic_mmio.c decodes guest instructions): never the page here ---- */

bool xapic_mmio_page(const struct vcpu *v, uint64_t gpa)
{
	(void)v, (void)gpa;
	return false;
}

int xapic_mmio_emulate(struct vcpu *v, const struct vm_exit *e, uint64_t gpa)
{
	(void)v, (void)e, (void)gpa;
	fake.xapic_emulate_calls++;
	return EXIT_RESUME;
}

/* ---- guest memory (vmm/mmu/memory.c): fake_ram, GVA == GPA ---- */

static bool in_ram(uint64_t addr, uint64_t len)
{
	return len <= FAKE_RAM_SIZE && addr <= FAKE_RAM_SIZE - len;
}

int vmm_guest_phys_read(struct vmm_memory *m, uint64_t gpa, void *buf, uint64_t len)
{
	(void)m;
	fake.phys_reads++;
	if (!in_ram(gpa, len))
		return -1;
	memcpy(buf, fake_ram + gpa, len);
	return 0;
}

int vmm_guest_phys_write(struct vmm_memory *m, uint64_t gpa, const void *buf, uint64_t len)
{
	(void)m;
	if (!in_ram(gpa, len))
		return -1;
	memcpy(fake_ram + gpa, buf, len);
	return 0;
}

/* The armed page fault, if [gva, gva+len) touches its page. */
static bool faults(uint64_t gva, uint64_t len, bool write, uint64_t *pf_addr, uint32_t *pf_error)
{
	if (!fake.pf_armed || !len)
		return false;
	const uint64_t page = fake.pf_gva & PAGE_MASK;
	if (gva + len - 1 < page || gva > page + PAGE_SIZE - 1)
		return false;
	if (pf_addr)
		*pf_addr = gva > page ? gva : page;
	if (pf_error)
		*pf_error = fake.pf_error | (write ? (uint32_t)PTE_W : 0);
	return true;
}

static int virt_access(uint64_t gva, void *buf, uint64_t len, bool write, uint64_t *pf_addr, uint32_t *pf_error)
{
	if (faults(gva, len, write, pf_addr, pf_error))
		return GUEST_ACCESS_PAGE_FAULT;
	if (!in_ram(gva, len))
		return GUEST_ACCESS_BAD_POINTER;
	if (write)
		memcpy(fake_ram + gva, buf, len);
	else
		memcpy(buf, fake_ram + gva, len);
	return GUEST_ACCESS_OK;
}

int vmm_guest_virt_read(struct vcpu *v, uint64_t gva, void *buf, uint64_t len, uint64_t *pf_addr, uint32_t *pf_error)
{
	(void)v;
	fake.virt_reads++;
	return virt_access(gva, buf, len, false, pf_addr, pf_error);
}

int vmm_guest_virt_write(struct vcpu *v, uint64_t gva, const void *buf, uint64_t len, uint64_t *pf_addr,
			 uint32_t *pf_error)
{
	(void)v;
	fake.virt_writes++;
	return virt_access(gva, (void *)buf, len, true, pf_addr, pf_error);
}

int vmm_guest_virt_read_implicit(struct vcpu *v, uint64_t gva, void *buf, uint64_t len, uint64_t *pf_addr,
				 uint32_t *pf_error)
{
	return vmm_guest_virt_read(v, gva, buf, len, pf_addr, pf_error);
}

int vmm_guest_virt_write_implicit(struct vcpu *v, uint64_t gva, const void *buf, uint64_t len, uint64_t *pf_addr,
				  uint32_t *pf_error)
{
	return vmm_guest_virt_write(v, gva, buf, len, pf_addr, pf_error);
}

unsigned vmm_guest_fetch_instruction(struct vcpu *v, uint8_t buf[X86_INSN_MAX])
{
	uint64_t at = vcpu_read(v, VCPU_RIP);
	if (!vcpu_long64(v))
		at = (vcpu_read(v, VCPU_CS_BASE) + at) & 0xffffffffull;
	unsigned n = 0;
	while (n < X86_INSN_MAX && in_ram(at + n, 1)) {
		buf[n] = fake_ram[at + n];
		n++;
	}
	return n;
}

#define FAKE_HPA_OFFSET 0x100000000ull /* the fake host-physical address of guest-physical 0 */

int vmm_translate(struct vcpu *v, uint64_t gva, struct hv_translation *out)
{
	(void)v;
	if (!in_ram(gva, 1))
		return HC_ERR_NOT_MAPPED;
	memset(out, 0, sizeof(*out));
	out->gva = gva;
	out->gpa = gva;
	out->hpa = gva + FAKE_HPA_OFFSET;
	out->guest_page_size = PAGE_SIZE;
	out->host_page_size = PAGE_SIZE;
	return 0;
}

/* ---- the vCPU ---- */

static void set_segment(enum vcpu_segment seg, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
	fake.reg[vcpu_seg_reg(seg, SEGF_SELECTOR)] = sel;
	fake.reg[vcpu_seg_reg(seg, SEGF_BASE)] = base;
	fake.reg[vcpu_seg_reg(seg, SEGF_LIMIT)] = limit;
	fake.reg[vcpu_seg_reg(seg, SEGF_AR_BYTES)] = ar;
}

void fake_vcpu_init(struct vcpu *v)
{
	memset(&fake, 0, sizeof(fake));
	memset(fake_ram, 0, sizeof(fake_ram));
	memset(v, 0, sizeof(*v));

	memset(&fake_cfg, 0, sizeof(fake_cfg));
	fake_cfg.log = HV_LOG_DEBUG;
	fake_cfg.mem = HV_MEM_EPT;
	fake_cfg.guest_mem = FAKE_RAM_SIZE;
	fake_cfg.watchdog = 4000;
	fake_cfg.brk = HV_BREAK_NONE;

	/* Capabilities of a recent Intel CPU (IA32_VMX_CR0/CR4_FIXED0/1, SDM A.7, A.8). */
	memset(&fake_caps, 0, sizeof(fake_caps));
	fake_caps.raw.cr0_fixed0 = CR0_PE | CR0_NE | CR0_PG;
	fake_caps.raw.cr0_fixed1 = 0xffffffffull;
	fake_caps.raw.cr4_fixed0 = CR4_VMXE;
	fake_caps.raw.cr4_fixed1 = 0x3727ffull | CR4_UMIP;
	fake_caps.ept = fake_caps.unrestricted_guest = fake_caps.preemption_timer = true;
	fake_caps.vpid = fake_caps.invvpid = true;
	fake_caps.preemption_timer_rate = 5;
	fake_caps.maxphyaddr = 46;
	fake_caps.page_1g = true;

	v->cfg = &fake_cfg;
	v->caps = &fake_caps;
	v->mem = 0;
	memset(&fake_uart, 0, sizeof(fake_uart));
	v->uart = &fake_uart; /* the VM's UART (a device of struct vm in the monitor) */
	memset(&fake_io_ledger, 0, sizeof(fake_io_ledger));
	v->io_ledger = &fake_io_ledger;
	v->mem_mode = HV_MEM_EPT;
	v->mmu = &ept_mmu; /* the real ops (vmm/mmu/ept_mmu.c); tests switch to shadow_mmu */
	v->efer_switched = true;
	v->pat_switched = true;
	v->rdtscp_enabled = true;
	v->tsc_offsetting = true;
	v->vpid = 1;
	v->launched = true;
	v->guest_cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	v->guest_cr4 = CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	v->guest_efer = EFER_SCE | EFER_LME | EFER_LMA;
	vlapic_reset(&v->lapic, 0, true);
	memset(&fake_group, 0, sizeof(fake_group));
	fake_group.count = 1;
	fake_group.vcpu[0] = v;
	fake_group.stopper = UINT32_MAX;
	v->group = &fake_group;
	v->id = 0;
	v->host_apic_id = 0;
	v->sipi_posted = VCPU_NO_SIPI;

	fake.reg[VCPU_RIP] = FAKE_RIP;
	fake.reg[VCPU_RSP] = FAKE_RSP;
	fake.reg[VCPU_RFLAGS] = RFLAGS_RESERVED1 | RFLAGS_IF;
	fake.reg[VCPU_CR0] = cr0_hardware_value(v, v->guest_cr0);
	fake.reg[VCPU_CR3] = FAKE_CR3;
	fake.reg[VCPU_CR4] = cr4_hardware_value(v, v->guest_cr4);
	fake.reg[VCPU_CR0_READ_SHADOW] = v->guest_cr0;
	fake.reg[VCPU_CR4_READ_SHADOW] = v->guest_cr4;
	fake.reg[VCPU_IA32_EFER] = v->guest_efer;
	fake.reg[VCPU_IA32_PAT] = FAKE_PAT;
	fake.reg[VCPU_DR7] = DR7_RESET_VALUE; /* no breakpoint enabled: read_dr() is never reached */
	fake.reg[VCPU_SYSENTER_CS] = 0x10;
	fake.reg[VCPU_SYSENTER_ESP] = 0xffff800000100000ull;
	fake.reg[VCPU_SYSENTER_EIP] = 0xffff800000200000ull;
	set_segment(SEG_ES, 0x10, 0, 0xffffffffu, FAKE_DATA_AR);
	set_segment(SEG_CS, 0x08, 0, 0xffffffffu, FAKE_CS_AR_64);
	set_segment(SEG_SS, 0x10, 0, 0xffffffffu, FAKE_DATA_AR);
	set_segment(SEG_DS, 0x10, 0, 0xffffffffu, FAKE_DATA_AR);
	set_segment(SEG_FS, 0x10, 0, 0xffffffffu, FAKE_DATA_AR);
	set_segment(SEG_GS, 0x10, 0, 0xffffffffu, FAKE_DATA_AR);
	set_segment(SEG_LDTR, 0, 0, 0, VMX_AR_UNUSABLE);
	set_segment(SEG_TR, 0x18, 0x5000, 0x67, FAKE_TR_AR);
	fake.reg[VCPU_GDTR_BASE] = FAKE_GDTR_BASE;
	fake.reg[VCPU_GDTR_LIMIT] = FAKE_GDTR_LIMIT;
	fake.reg[VCPU_IDTR_BASE] = FAKE_IDTR_BASE;
	fake.reg[VCPU_IDTR_LIMIT] = FAKE_IDTR_LIMIT;
	fake.reg[VCPU_ACTIVITY_STATE] = VCPU_ACTIVITY_ACTIVE;
}

void fake_guest_protected32(struct vcpu *v)
{
	v->guest_cr0 = CR0_PE | CR0_ET;
	v->guest_cr4 = 0;
	v->guest_efer = 0;
	fake.reg[VCPU_CR0] = cr0_hardware_value(v, v->guest_cr0);
	fake.reg[VCPU_CR4] = cr4_hardware_value(v, v->guest_cr4);
	fake.reg[VCPU_CR0_READ_SHADOW] = v->guest_cr0;
	fake.reg[VCPU_CR4_READ_SHADOW] = v->guest_cr4;
	fake.reg[VCPU_IA32_EFER] = 0;
	fake.reg[VCPU_CS_AR_BYTES] = FAKE_CS_AR_32;
	v->rc.valid = v->rc.dirty = 0;
}

struct vm_exit *fake_exit(struct vcpu *v, enum exit_kind kind, uint32_t insn_len)
{
	for (unsigned r = 0; r < VCPU_REG_COUNT; r++)
		if (v->rc.dirty & (1ull << r))
			fake.reg[r] = v->rc.value[r];
	v->rc.valid = v->rc.dirty = 0;
	memset(fake.reads, 0, sizeof(fake.reads));
	fake.exit_rip = fake.reg[VCPU_RIP];
	memset(&v->exit, 0, sizeof(v->exit));
	v->exit.kind = kind;
	v->exit.insn_len = insn_len;
	return &v->exit;
}

uint64_t fake_guest_reg(const struct vcpu *v, enum vcpu_reg r)
{
	return (v->rc.valid & (1ull << r)) ? v->rc.value[r] : fake.reg[r];
}

bool fake_dirty(const struct vcpu *v, enum vcpu_reg r)
{
	return (v->rc.dirty & (1ull << r)) != 0;
}

unsigned fake_max_reads(void)
{
	unsigned most = 0;
	for (unsigned r = 0; r < VCPU_REG_COUNT; r++)
		if (fake.reads[r] > most)
			most = fake.reads[r];
	return most;
}
