/*
 * Instructions the monitor emulates must behave as the CPU's own (issue 14):
 *   - data and I/O breakpoints, and single-step traps, fire after them (SDM Vol. 3B 18.2, 18.3);
 *   - LTR and LLDT fault as the CPU does (SDM Vol. 2A LLDT/LTR, Vol. 3A 8.2.3);
 *   - a refused hypercall costs about what a good one does (its log line is rate-limited).
 * Without descriptor-table exiting these instructions run natively and the tests check the CPU.
 */
#include <arch/debug.h>
#include <arch/msr.h>
#include <string.h>
#include <vmm/format.h>
#include "guest/hv.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/mm.h"
#include "guest/priv.h"
#include "guest/tests.h"

/* Ports the I/O-breakpoint tests touch: the POST port (writes dropped) and COM1's scratch register. */
#define POST_PORT         0x80
#define COM1_SCRATCH_PORT 0x3ff
#define COM1_LINE_PORTS   0x3fe /* a 2-byte breakpoint over MSR and SCR */

/* Selectors (SDM Vol. 3A 3.4.2): RPL in bits 1:0, TI (LDT) in bit 2. */
#define SELECTOR_RPL_MASK 0x3u
#define SELECTOR_TI       (1u << 2)
#define SELECTOR_ERROR(s) ((s) & ~SELECTOR_RPL_MASK) /* #GP(selector) error code: RPL bits cleared */

/* System descriptors in a scratch GDT: a 64-bit TSS and an LDT whose upper halves have type bits set. */
#define DESC_TYPE_SHIFT     40
#define SEG_TYPE_LDT        0x2ull
#define DESC_TYPE_BUSY      (0x2ull << DESC_TYPE_SHIFT) /* 1011b busy vs 1001b available TSS */
#define DESC_UPPER_TYPE_BAD (0x9ull << DESC_TYPE_SHIFT) /* type bits 12:8 of the upper half must be 0 */
#define SCRATCH_TSS_SLOT    GDT_ENTRIES
#define SCRATCH_LDT_SLOT    (GDT_ENTRIES + 2)
#define SCRATCH_GDT_ENTRIES (GDT_ENTRIES + 4)
#define SCRATCH_LIMIT       0x67u /* a TSS's minimum limit */

/* Refused hypercalls: how many, and how much dearer than a good one they may be. */
#define REFUSED_CALLS        2000
#define REFUSED_COST_FACTOR  2

static uint8_t bp_buf[16] __attribute__((aligned(16)));

/* ---- breakpoints ---- */

static void bp_arm(unsigned n, uint64_t addr, enum dr7_rw rw, enum dr7_len len)
{
	write_dr(6, DR6_INIT);
	write_dr(n, addr);
	write_dr(7, DR7_FIXED_ONE | DR7_L(n) | DR7_RW(n, rw) | DR7_LEN(n, len));
}

/* Disarm; returns DR6 as the #DB handler left it. */
static uint64_t bp_disarm(void)
{
	write_dr(7, DR7_FIXED_ONE);
	const uint64_t dr6 = read_dr(6);
	write_dr(6, DR6_INIT);
	return dr6;
}

/*
 * Each operation returns the address just after its instruction, where a trap-class #DB must
 * report.  The instruction is followed by a NOP with its own recovery entry, so a #DB that comes
 * one instruction late is recorded (and reported) rather than fatal.
 */
#define AFTER_LABELS "2: nop\n3:\n\t" EX_TABLE_ENTRY("2b", "2b") EX_TABLE_ENTRY("3b", "3b")

static uint64_t op_sgdt(void *p)
{
	uint64_t after;
	ledger_dt(EXIT_REASON_GDTR_IDTR_ACCESS);
	__asm__ volatile("lea 2f(%%rip), %0\n\tsgdt (%1)\n" AFTER_LABELS : "=&r"(after) : "r"(p) : "memory");
	return after;
}

static uint64_t op_sidt(void *p)
{
	uint64_t after;
	ledger_dt(EXIT_REASON_GDTR_IDTR_ACCESS);
	__asm__ volatile("lea 2f(%%rip), %0\n\tsidt (%1)\n" AFTER_LABELS : "=&r"(after) : "r"(p) : "memory");
	return after;
}

static uint64_t op_lgdt(const void *p)
{
	uint64_t after;
	ledger_dt(EXIT_REASON_GDTR_IDTR_ACCESS);
	__asm__ volatile("lea 2f(%%rip), %0\n\tlgdt (%1)\n" AFTER_LABELS : "=&r"(after) : "r"(p) : "memory");
	return after;
}

static uint64_t op_str_mem(void *p)
{
	uint64_t after;
	ledger_dt(EXIT_REASON_LDTR_TR_ACCESS);
	__asm__ volatile("lea 2f(%%rip), %0\n\tstr (%1)\n" AFTER_LABELS : "=&r"(after) : "r"(p) : "memory");
	return after;
}

static uint64_t op_outb(uint16_t port)
{
	uint64_t after;
	ledger_add(EXIT_REASON_IO_INSTRUCTION, 1);
	__asm__ volatile("lea 2f(%%rip), %0\n\toutb %%al, %%dx\n" AFTER_LABELS
			 : "=&r"(after) : "a"((uint8_t)0), "d"(port) : "memory");
	return after;
}

static uint64_t op_inb(uint16_t port)
{
	uint64_t after;
	ledger_add(EXIT_REASON_IO_INSTRUCTION, 1);
	__asm__ volatile("lea 2f(%%rip), %0\n\tinb %%dx, %%al\n" AFTER_LABELS
			 : "=&r"(after) : "d"(port) : "rax", "memory");
	return after;
}

/* One operation under one breakpoint: exactly `want` #DB (0 or 1) at the right RIP with DR6.Bn. */
static void expect_db(const char *name, uint64_t (*op)(void *), void *arg, unsigned n, uint64_t addr,
		      enum dr7_rw rw, enum dr7_len len, unsigned want)
{
	const struct fault_record before = kernel_fault;
	bp_arm(n, addr, rw, len);
	const uint64_t after = op(arg);
	const uint64_t dr6 = bp_disarm();
	const uint64_t traps = kernel_fault.count - before.count;
	if (traps != want)
		test_report(name, false, "%llu #DB, expected %u (DR6=%#llx)", (unsigned long long)traps, want,
			    (unsigned long long)dr6);
	else if (want && (kernel_fault.vector != VECTOR_DB || kernel_fault.rip != after || !(dr6 & DR6_B(n))))
		test_report(name, false, "vector %llu at RIP %#llx (expected #DB at %#llx), DR6=%#llx",
			    (unsigned long long)kernel_fault.vector, (unsigned long long)kernel_fault.rip,
			    (unsigned long long)after, (unsigned long long)dr6);
	else
		test_pass(name);
}

static uint64_t op_outb_post(void *arg) { (void)arg; return op_outb(POST_PORT); }
static uint64_t op_inb_scratch(void *arg) { (void)arg; return op_inb(COM1_SCRATCH_PORT); }
static uint64_t op_lgdt_void(void *arg) { return op_lgdt(arg); }

static void test_data_breakpoints(void)
{
	static struct descriptor_table_ptr gdtr;
	struct descriptor_table_ptr idtr;
	cpu_get_table_ptrs(&gdtr, &idtr);

	/* SGDT writes 10 bytes at bp_buf: a 4-byte write breakpoint inside them fires. */
	expect_db("db_write_breakpoint_sgdt", op_sgdt, bp_buf, 0, (uint64_t)(uintptr_t)&bp_buf[4], DR7_RW_WRITE,
		  DR7_LEN_4, 1);
	expect_db("db_write_breakpoint_sidt", op_sidt, bp_buf, 1, (uint64_t)(uintptr_t)&bp_buf[8], DR7_RW_WRITE,
		  DR7_LEN_2, 1);
	expect_db("db_write_breakpoint_str", op_str_mem, bp_buf, 3, (uint64_t)(uintptr_t)&bp_buf[0],
		  DR7_RW_WRITE, DR7_LEN_1, 1);
	/* LGDT reads its operand: a read/write breakpoint fires, a write-only one does not. */
	expect_db("db_read_breakpoint_lgdt", op_lgdt_void, &gdtr, 2, (uint64_t)(uintptr_t)&gdtr, DR7_RW_READ_WRITE,
		  DR7_LEN_8, 1);
	expect_db("db_write_breakpoint_ignores_lgdt", op_lgdt_void, &gdtr, 2, (uint64_t)(uintptr_t)&gdtr,
		  DR7_RW_WRITE, DR7_LEN_8, 0);
	/* Bytes 10..11 lie past SGDT's 10-byte operand: no #DB. */
	expect_db("db_breakpoint_outside_sgdt", op_sgdt, bp_buf, 0, (uint64_t)(uintptr_t)&bp_buf[10], DR7_RW_WRITE,
		  DR7_LEN_2, 0);
}

static void test_io_breakpoints(void)
{
	const uint64_t cr4 = read_cr4();
	priv_write_cr4(cr4 | CR4_DE); /* R/W = 10b means I/O only with CR4.DE = 1 (SDM Vol. 3B 18.2.4) */
	expect_db("db_io_breakpoint_out", op_outb_post, NULL, 0, POST_PORT, DR7_RW_IO, DR7_LEN_1, 1);
	expect_db("db_io_breakpoint_in", op_inb_scratch, NULL, 1, COM1_LINE_PORTS, DR7_RW_IO, DR7_LEN_2, 1);
	expect_db("db_io_breakpoint_other_port", op_outb_post, NULL, 0, POST_PORT + 1, DR7_RW_IO, DR7_LEN_1, 0);
	priv_write_cr4(cr4);
}

/* ---- single step ---- */

/* TF set by POPF takes effect after the next instruction: the exiting one (SDM Vol. 3B 18.3.1.4). */
#define TF_ON  "pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t" /* RFLAGS.TF is bit 8 */

static uint64_t step_cpuid(void)
{
	uint64_t after;
	ledger_add(EXIT_REASON_CPUID, 1);
	__asm__ volatile("lea 2f(%%rip), %0\n\t" TF_ON "cpuid\n" AFTER_LABELS
			 : "=&r"(after) : "a"(0) : "rbx", "rcx", "rdx", "memory", "cc");
	return after;
}

static uint64_t step_outb(void)
{
	uint64_t after;
	ledger_add(EXIT_REASON_IO_INSTRUCTION, 1);
	__asm__ volatile("lea 2f(%%rip), %0\n\t" TF_ON "outb %%al, %%dx\n" AFTER_LABELS
			 : "=&r"(after) : "a"(0), "d"(POST_PORT) : "memory", "cc");
	return after;
}

static uint64_t step_sgdt(void)
{
	uint64_t after;
	ledger_dt(EXIT_REASON_GDTR_IDTR_ACCESS);
	__asm__ volatile("lea 2f(%%rip), %0\n\t" TF_ON "sgdt (%1)\n" AFTER_LABELS
			 : "=&r"(after) : "r"(bp_buf) : "memory", "cc");
	return after;
}

static uint64_t step_rdmsr(void)
{
	uint64_t after;
	ledger_add(EXIT_REASON_RDMSR, 1);
	__asm__ volatile("lea 2f(%%rip), %0\n\t" TF_ON "rdmsr\n" AFTER_LABELS
			 : "=&r"(after) : "c"(MSR_IA32_EFER) : "rax", "rdx", "memory", "cc");
	return after;
}

/*
 * MOV SS, the first instruction stepped, defers its single-step trap past the next instruction
 * (SDM Vol. 3A 6.8.3): one #DB, after CPUID, which exits with blocking by MOV SS.
 */
static uint64_t step_mov_ss_cpuid(void)
{
	uint64_t after;
	ledger_add(EXIT_REASON_CPUID, 1);
	__asm__ volatile("lea 2f(%%rip), %0\n\tmov %%ss, %%ax\n\t" TF_ON "mov %%ax, %%ss\n\tcpuid\n" AFTER_LABELS
			 : "=&r"(after) : : "rax", "rbx", "rcx", "rdx", "memory", "cc");
	return after;
}

static void expect_step(const char *name, uint64_t (*op)(void))
{
	const struct fault_record before = kernel_fault;
	write_dr(6, DR6_INIT);
	const uint64_t after = op();
	const uint64_t dr6 = read_dr(6);
	write_dr(6, DR6_INIT);
	const uint64_t traps = kernel_fault.count - before.count;
	if (traps != 1 || kernel_fault.vector != VECTOR_DB || kernel_fault.rip != after || !(dr6 & DR6_BS))
		test_report(name, false, "%llu traps, the last vector %llu at %#llx (expected one #DB at %#llx), DR6=%#llx",
			    (unsigned long long)traps, (unsigned long long)kernel_fault.vector,
			    (unsigned long long)kernel_fault.rip, (unsigned long long)after, (unsigned long long)dr6);
	else
		test_pass(name);
}

static void test_single_step(void)
{
	expect_step("db_single_step_cpuid", step_cpuid);
	expect_step("db_single_step_out", step_outb);
	expect_step("db_single_step_sgdt", step_sgdt);
	expect_step("db_single_step_rdmsr", step_rdmsr);
	expect_step("db_single_step_after_mov_ss", step_mov_ss_cpuid);
}

/*
 * RF: an instruction-breakpoint fault on SGDT resumes it with RF = 1 (guest/trap.c), so SGDT runs;
 * once it completes, RF is clear again (SDM Vol. 3B 18.3.1.1) and the breakpoint on the next
 * instruction must fault too.  A monitor that left RF set would let that one pass.
 */
__asm__(".text\n"
	"rf_probe:\n"
	"rf_probe_sgdt: sgdt (%rdi)\n"
	"rf_probe_nop: nop\n"
	"rf_probe_end: ret\n\t"
	EX_TABLE_ENTRY("rf_probe_sgdt", "rf_probe_sgdt") EX_TABLE_ENTRY("rf_probe_nop", "rf_probe_nop"));
void rf_probe(void *buf);
extern const char rf_probe_sgdt[], rf_probe_nop[];

static void test_rf_cleared(void)
{
	const struct fault_record before = kernel_fault;
	write_dr(6, DR6_INIT);
	write_dr(0, (uint64_t)(uintptr_t)rf_probe_sgdt);
	write_dr(1, (uint64_t)(uintptr_t)rf_probe_nop);
	/* Instruction breakpoints: R/W = 00b, LEN = 00b (SDM Vol. 3B 18.2.4). */
	write_dr(7, DR7_FIXED_ONE | DR7_L(0) | DR7_L(1) | DR7_RW(0, DR7_RW_EXECUTE) | DR7_LEN(0, DR7_LEN_1) |
			    DR7_RW(1, DR7_RW_EXECUTE) | DR7_LEN(1, DR7_LEN_1));
	ledger_dt(EXIT_REASON_GDTR_IDTR_ACCESS);
	rf_probe(bp_buf);
	const uint64_t dr6 = bp_disarm();
	const uint64_t traps = kernel_fault.count - before.count;
	test_report("db_rf_cleared_after_emulation",
		    traps == 2 && kernel_fault.rip == (uint64_t)(uintptr_t)rf_probe_nop && (dr6 & DR6_B(1)),
		    "%llu #DB (expected 2: on SGDT, then on the NOP after it), the last at %#llx, DR6=%#llx",
		    (unsigned long long)traps, (unsigned long long)kernel_fault.rip, (unsigned long long)dr6);
}

/* ---- LTR / LLDT ---- */

static uint64_t scratch_gdt[SCRATCH_GDT_ENTRIES] __attribute__((aligned(16)));

/* 0, or the error code + 1 of the #GP it raised; any other exception is reported as ~0. */
static uint64_t ltr_lldt_fault(bool ltr_not_lldt, uint16_t sel)
{
	const uint64_t before = kernel_fault.count;
	ledger_dt(EXIT_REASON_LDTR_TR_ACCESS);
	if (ltr_not_lldt)
		__asm__ volatile("1: ltr %0\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"r"(sel) : "memory");
	else
		__asm__ volatile("1: lldt %0\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"r"(sel) : "memory");
	if (kernel_fault.count == before)
		return 0;
	return kernel_fault.vector == VECTOR_GP ? kernel_fault.error_code + 1 : ~0ull;
}

static void expect_gp(const char *name, bool ltr_not_lldt, uint16_t sel, uint64_t error_code)
{
	const uint64_t got = ltr_lldt_fault(ltr_not_lldt, sel);
	if (got == error_code + 1)
		test_pass(name);
	else if (got == 0)
		test_report(name, false, "%s %#x did not fault, expected #GP(%#llx)", ltr_not_lldt ? "LTR" : "LLDT", sel,
			    (unsigned long long)error_code);
	else
		test_report(name, false, "%s %#x: %s (error %#llx), expected #GP(%#llx)", ltr_not_lldt ? "LTR" : "LLDT",
			    sel, got == ~0ull ? "not #GP" : "#GP", (unsigned long long)(got - 1),
			    (unsigned long long)error_code);
}

/* The low 8 bytes of a system descriptor (SDM Vol. 3A 8.2.3, Figure 8-4): base 23:0 at 39:16, 31:24 at 63:56. */
#define DESC_BASE_LOW_SHIFT 16
#define DESC_BASE_LOW_MASK  0xffffffull
#define DESC_BASE_MID_BIT   24
#define DESC_BASE_MID_SHIFT 56
#define DESC_BASE_MID_MASK  0xffull

static uint64_t system_descriptor_low(uint64_t base, uint64_t type)
{
	return SCRATCH_LIMIT | ((base & DESC_BASE_LOW_MASK) << DESC_BASE_LOW_SHIFT) | (type << DESC_TYPE_SHIFT) |
	       DESC_PRESENT | (((base >> DESC_BASE_MID_BIT) & DESC_BASE_MID_MASK) << DESC_BASE_MID_SHIFT);
}

static void test_ltr_lldt_checks(void)
{
	struct descriptor_table_ptr gdtr, idtr;
	cpu_get_table_ptrs(&gdtr, &idtr);
	memset(scratch_gdt, 0, sizeof(scratch_gdt));
	memcpy(scratch_gdt, (const void *)(uintptr_t)gdtr.base, gdtr.limit + 1u);
	const uint64_t base = (uint64_t)(uintptr_t)bp_buf;
	/* The kernel's own TSS, available: should LTR wrongly succeed, the kernel keeps its stacks. */
	scratch_gdt[SCRATCH_TSS_SLOT] = scratch_gdt[GDT_TSS] & ~DESC_TYPE_BUSY;
	scratch_gdt[SCRATCH_TSS_SLOT + 1] = scratch_gdt[GDT_TSS + 1] | DESC_UPPER_TYPE_BAD;
	scratch_gdt[SCRATCH_LDT_SLOT] = system_descriptor_low(base, SEG_TYPE_LDT);
	scratch_gdt[SCRATCH_LDT_SLOT + 1] = (base >> 32) | DESC_UPPER_TYPE_BAD;
	const struct descriptor_table_ptr scratch = { sizeof(scratch_gdt) - 1, (uint64_t)(uintptr_t)scratch_gdt };
	const uint16_t tss_sel = SEL(SCRATCH_TSS_SLOT), ldt_sel = SEL(SCRATCH_LDT_SLOT);

	priv_lgdt(&scratch);
	/* In IA-32e mode the upper half of a system descriptor must have type 0 (SDM Vol. 2A LTR, LLDT). */
	expect_gp("ltr_tss64_upper_type_gp", true, tss_sel, tss_sel);
	if (!skip_on_qemu_tcg("lldt_upper_type_gp", "the type check of a 16-byte LDT descriptor's upper half"))
		expect_gp("lldt_upper_type_gp", false, ldt_sel, ldt_sel);
	/* The error code is the selector with its RPL bits cleared, TI kept (SDM Vol. 3A 6.13). */
	expect_gp("ltr_gp_error_clears_rpl", true, tss_sel | SELECTOR_RPL_MASK, tss_sel);
	expect_gp("ltr_ldt_selector_gp", true, tss_sel | SELECTOR_TI, SELECTOR_ERROR(tss_sel | SELECTOR_TI));
	/* Selectors 4-7 (index 0, TI = 1) are not null: #GP(selector), for LLDT too. */
	expect_gp("ltr_index0_ti_selector_gp", true, SELECTOR_TI | 1, SELECTOR_TI);
	expect_gp("lldt_index0_ti_selector_gp", false, SELECTOR_TI | SELECTOR_RPL_MASK, SELECTOR_TI);
	const uint64_t null_lldt = ltr_lldt_fault(false, SELECTOR_RPL_MASK); /* 3: null, loads an unusable LDTR */
	test_report("lldt_null_selector_rpl3", null_lldt == 0, "LLDT 3 faulted (%#llx)", (unsigned long long)null_lldt);
	priv_lldt(0);
	priv_lgdt(&gdtr);
}

/* ---- refused hypercalls ---- */

static void test_refused_hypercalls(void)
{
	static struct hv_stats stats;
	if (!hv_present) {
		test_skip("hypercall_refused_is_cheap", "no hypervisor");
		return;
	}
	unsigned wrong = 0;
	const uint64_t t0 = rdtsc();
	for (unsigned i = 0; i < REFUSED_CALLS; i++)
		wrong += hv_call(HC_GET_STATS, 0, sizeof(stats), 0) != HC_ERR_BAD_POINTER; /* a null buffer */
	const uint64_t t1 = rdtsc();
	for (unsigned i = 0; i < REFUSED_CALLS; i++)
		wrong += hv_call(HC_GET_STATS, (uint64_t)(uintptr_t)&stats, sizeof(stats), 0) != (int64_t)sizeof(stats);
	const uint64_t t2 = rdtsc();
	for (unsigned i = 0; i < REFUSED_CALLS; i++)
		wrong += hv_call(HC_BASE + HC_COUNT, 0, 0, 0) != HC_ERR_UNKNOWN_CALL;
	const uint64_t t3 = rdtsc();
	const uint64_t refused = (t1 - t0) / REFUSED_CALLS, good = (t2 - t1) / REFUSED_CALLS,
		       unknown = (t3 - t2) / REFUSED_CALLS;
	kprintf("hypercall cost (TSC cycles per call, %u calls each): refused GET_STATS %llu, good GET_STATS %llu, "
		"unknown number %llu\n", REFUSED_CALLS, (unsigned long long)refused, (unsigned long long)good,
		(unsigned long long)unknown);
	test_report("hypercall_refused_is_cheap", !wrong && refused <= REFUSED_COST_FACTOR * good,
		    "%u wrong results; a refused call costs %llu cycles, a good one %llu", wrong,
		    (unsigned long long)refused, (unsigned long long)good);
}

/*
 * Hypercall numbers that are not the monitor's (vmm/include/vmm/hypercall.h): a guest written for
 * another hypervisor makes them.  RAX = 0, once the monitor's exit, and any number outside
 * HC_BASE .. HC_BASE + HC_COUNT - 1 must come back as KVM answers them (-1000) with the VM going on:
 * reaching the next line is half the test.
 */
#define KVM_ENOSYS_ANSWER (-1000)
#define FOREIGN_CALLS     16

/* A number outside the monitor's range, from the TSC (xorshift): a different one each run. */
static uint64_t foreign_number(uint64_t *seed)
{
	*seed ^= *seed << 13, *seed ^= *seed >> 7, *seed ^= *seed << 17;
	const uint64_t nr = *seed;
	return nr >= HC_BASE && nr < HC_BASE + HC_COUNT ? nr + HC_COUNT : nr;
}

static void test_foreign_hypercalls(void)
{
	if (!hv_present) {
		test_skip("hypercall_zero_is_not_exit", "no hypervisor");
		test_skip("hypercall_foreign_numbers", "no hypervisor");
		return;
	}
	const int64_t zero = hv_call(0, 0, 0, 0); /* an exit(0) before the ABI moved: the suite would stop here */
	test_report("hypercall_zero_is_not_exit", zero == KVM_ENOSYS_ANSWER, "VMCALL with RAX = 0 returned %lld, want %d",
		    (long long)zero, KVM_ENOSYS_ANSWER);
	uint64_t seed = rdtsc() | 1, bad_nr = 0;
	int64_t bad_rc = KVM_ENOSYS_ANSWER;
	for (unsigned i = 0; i < FOREIGN_CALLS && bad_rc == KVM_ENOSYS_ANSWER; i++) {
		/* Half of them 32-bit numbers, the range a 32-bit guest has. */
		bad_nr = foreign_number(&seed);
		if (i & 1)
			bad_nr = (uint32_t)bad_nr >= HC_BASE && (uint32_t)bad_nr < HC_BASE + HC_COUNT ? 0 : (uint32_t)bad_nr;
		bad_rc = hv_call(bad_nr, bad_nr, bad_nr, bad_nr);
	}
	test_report("hypercall_foreign_numbers", bad_rc == KVM_ENOSYS_ANSWER, "VMCALL with RAX = %#llx returned %lld, want %d",
		    (unsigned long long)bad_nr, (long long)bad_rc, KVM_ENOSYS_ANSWER);
}

/*
 * String I/O (SDM Vol. 2A INS, Vol. 2B OUTS, REP): the monitor emulates INS/OUTS in batches
 * of 4096 elements, so a 5000-byte REP INSB crosses a batch boundary.  Port values come from the
 * monitor's port table (vmm/exit/io.c): an absent device reads 0, an unclaimed port all ones,
 * and a 2-byte access reaches each byte's own port.
 */
#define STRING_IO_BYTES   5000u
#define STRING_IO_GUARD   16u
#define UNCLAIMED_PORT    0x300  /* no device in the monitor's table */
#define PIT_PORT          0x40   /* absent device: reads 0 */
#define PIC_MASTER_DATA   0x21   /* absent device; 0x22 above it is unclaimed */
#define GUARD_BYTE        0x5a
#define DOWN_WORDS        3u

static uint8_t string_io_buf[STRING_IO_BYTES + STRING_IO_GUARD];

static void test_string_io(void)
{
	char d[DETAIL_MAX] = "";
	bool ok = true;
	uint64_t rdi, rsi, rcx;

	memset(string_io_buf, GUARD_BYTE, sizeof(string_io_buf));
	rdi = (uint64_t)(uintptr_t)string_io_buf, rcx = STRING_IO_BYTES;
	ledger_add(EXIT_REASON_IO_INSTRUCTION, 2); /* at least two exits: one per batch */
	__asm__ volatile("cld; rep insb" : "+D"(rdi), "+c"(rcx) : "d"(UNCLAIMED_PORT) : "memory");
	if (rdi != (uint64_t)(uintptr_t)(string_io_buf + STRING_IO_BYTES) || rcx != 0)
		ok = false, hv_snprintf(d, sizeof(d), "REP INSB: RDI advanced %lld, RCX %llu",
					(long long)(rdi - (uint64_t)(uintptr_t)string_io_buf), (unsigned long long)rcx);
	for (unsigned i = 0; ok && i < STRING_IO_BYTES; i++)
		if (string_io_buf[i] != 0xff)
			ok = false, hv_snprintf(d, sizeof(d), "REP INSB byte %u is %#x, want 0xff", i, string_io_buf[i]);
	if (ok && string_io_buf[STRING_IO_BYTES] != GUARD_BYTE)
		ok = false, hv_snprintf(d, sizeof(d), "REP INSB wrote past its count");
	test_report("string_io_rep_insb_batches", ok, "%s", d);

	/* DF = 1: INSW steps down; each word from the absent PIT is 0 (a real PIT answers without the monitor). */
	if (!hv_present)
		test_skip("string_io_insw_df_down", "no hypervisor: the PIT is a real one");
	ok = true, d[0] = 0;
	memset(string_io_buf, GUARD_BYTE, sizeof(string_io_buf));
	rdi = (uint64_t)(uintptr_t)(string_io_buf + 2 * DOWN_WORDS), rcx = DOWN_WORDS;
	ledger_add(EXIT_REASON_IO_INSTRUCTION, 1);
	__asm__ volatile("std; rep insw; cld" : "+D"(rdi), "+c"(rcx) : "d"(PIT_PORT) : "memory");
	if (rdi != (uint64_t)(uintptr_t)string_io_buf || rcx != 0)
		ok = false, hv_snprintf(d, sizeof(d), "REP INSW with DF=1: RDI off by %lld",
					(long long)(rdi - (uint64_t)(uintptr_t)string_io_buf));
	for (unsigned i = 2; ok && i < 2 + 2 * DOWN_WORDS; i++)
		if (string_io_buf[i] != 0)
			ok = false, hv_snprintf(d, sizeof(d), "byte %u is %#x, want 0", i, string_io_buf[i]);
	if (ok && (string_io_buf[0] != GUARD_BYTE || string_io_buf[1] != GUARD_BYTE))
		ok = false, hv_snprintf(d, sizeof(d), "REP INSW with DF=1 wrote below its first element");
	if (hv_present)
		test_report("string_io_insw_df_down", ok, "%s", d);

	/* OUTSB to the POST port: written and dropped; RSI and RCX as the CPU leaves them. */
	rsi = (uint64_t)(uintptr_t)string_io_buf, rcx = STRING_IO_GUARD;
	ledger_add(EXIT_REASON_IO_INSTRUCTION, 1);
	__asm__ volatile("cld; rep outsb" : "+S"(rsi), "+c"(rcx) : "d"(POST_PORT) : "memory");
	test_report("string_io_rep_outsb", rsi == (uint64_t)(uintptr_t)(string_io_buf + STRING_IO_GUARD) && rcx == 0,
		    "RSI advanced %lld, RCX %llu", (long long)(rsi - (uint64_t)(uintptr_t)string_io_buf),
		    (unsigned long long)rcx);

	/* A 2-byte IN at 0x21: the low byte from the PIC (0), the high byte from unclaimed 0x22 (0xff). */
	uint16_t ax;
	ledger_add(EXIT_REASON_IO_INSTRUCTION, 1);
	__asm__ volatile("inw %%dx, %%ax" : "=a"(ax) : "d"(PIC_MASTER_DATA));
	if (hv_present)
		test_report("io_word_spans_two_ports", ax == 0xff00, "IN AX from %#x read %#x, want 0xff00", PIC_MASTER_DATA,
			    ax);
	else
		test_skip("io_word_spans_two_ports", "no hypervisor: the PIC is a real one");
}

/*
 * INVLPG of a non-canonical address invalidates nothing and does not fault (SDM Vol. 2A INVLPG:
 * 64-bit mode faults only for CPL > 0).  Under shadow paging it exits, and the monitor must not
 * pass the address to INVVPID, which fails on it (found by a 10-million-operation hostile run).
 */
#define NONCANONICAL_VA 0x8000000000000000ull

static void test_invlpg_noncanonical(void)
{
	const uint64_t before = kernel_fault.count;
	invlpg(NONCANONICAL_VA);
	invlpg(NONCANONICAL_VA + PAGE_SIZE);
	test_report("invlpg_noncanonical_is_a_noop", kernel_fault.count == before, "faults +%llu",
		    (unsigned long long)(kernel_fault.count - before));
}

void tests_emul(void)
{
	test_string_io();
	test_invlpg_noncanonical();
	test_data_breakpoints();
	test_io_breakpoints();
	test_single_step();
	test_rf_cleared();
	test_ltr_lldt_checks();
	test_refused_hypercalls();
	test_foreign_hypercalls();
}

/* guest.test=hypercall_flood: refused hypercalls forever, silent; the monitor's watchdog must end it. */
void run_hypercall_flood(void)
{
	kprintf("test hypercall_flood: refused hypercalls forever, silent (the monitor's watchdog must stop this)\n");
	for (;;)
		hv_call(HC_GET_STATS, 0, sizeof(struct hv_stats), 0);
}
