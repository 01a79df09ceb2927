/*
 * The guest test suite.  Each test prints "PASS: name", "FAIL: name (why)"
 * or "SKIP: name (why)"; the suite ends with "SUMMARY: N tests, M failures"
 * (kvm-unit-tests style) and the kernel exits with 0 iff M == 0.
 *
 * Exit tests bracket one operation with two HC_GET_STATS reads and demand
 * the exact deltas: the operation's own exits plus the closing VMCALL.
 * Booted without the monitor (GRUB directly), the guest-internal parts
 * still run and the monitor's parts are skipped.
 */
#include <stdarg.h>
#include <string.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/segment.h>
#include <vmm/format.h>
#include "guest/abi.h"
#include "guest/hv.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/mm.h"
#include "guest/priv.h"
#include "guest/proc.h"
#include "guest/tests.h"

/* 16550 registers used by the tests (PC16550D data sheet). */
#define COM1_BASE  0x3f8
#define UART_LSR   5
#define UART_SCR   7 /* scratch register: reads back what was written */
#define LSR_IDLE   0x60 /* THRE | TEMT: what the monitor's virtual UART always reports */
#define SCRATCH_PATTERN 0xa5
#define POST_PORT  0x80

/* An MSR index no CPU we run on implements and the monitor does not emulate. */
#define MSR_UNKNOWN 0x00000badu
#define MSR_TEST_PATTERN 0x0000123456789abcull
#define MSR_TSC_AUX_PATTERN 0x5a5au
/* XCR0 state components (SDM Vol. 1 13.3): x87 must be 1; AVX-512 is all three of bits 7:5 or none. */
#define XCR0_X87    (1ull << 0)
#define XCR0_SSE    (1ull << 1)
#define XCR0_AVX    (1ull << 2)
#define XCR0_OPMASK (1ull << 5)
/* DR7 (SDM Vol. 3B 18.2.4): bit 10 reads as 1; L0 locally enables breakpoint 0. */
#define DR7_FIXED_ONE (1ull << 10)
#define DR7_L0        (1ull << 0)
#define HC_NUMBER_INVALID (HC_BASE + HC_COUNT) /* just past the monitor's range */
#define KERNEL_DEMAND_TEST_PAGES 4
#define DEMAND_FILL 0x5au
#define PTE_AD (PTE_A | PTE_D) /* set by the CPU as it walks: not part of a comparison */
#define TRANSLATE_MMAP_PAGES 3

static unsigned n_tests, n_failed, n_skipped;

static const char *const exit_names[HV_STATS_REASONS] = {
#define X(name, nr) [nr] = #name,
	VMX_EXIT_REASONS(X)
#undef X
};

const char *exit_reason_name(unsigned reason)
{
	return reason < HV_STATS_REASONS && exit_names[reason] ? exit_names[reason] : "reason?";
}

void test_report(const char *name, bool ok, const char *detail_fmt, ...)
{
	n_tests++;
	if (ok) {
		kprintf("PASS: %s\n", name);
		return;
	}
	char detail[DETAIL_MAX];
	va_list ap;
	va_start(ap, detail_fmt);
	hv_vsnprintf(detail, sizeof(detail), detail_fmt, ap);
	va_end(ap);
	n_failed++;
	kprintf("FAIL: %s (%s)\n", name, detail);
}

void test_pass(const char *name)
{
	n_tests++;
	kprintf("PASS: %s\n", name);
}

void test_skip(const char *name, const char *reason)
{
	n_skipped++;
	kprintf("SKIP: %s (%s)\n", name, reason);
}

bool skip_on_qemu_tcg(const char *name, const char *gap)
{
	if (!qemu_tcg)
		return false;
	char reason[DETAIL_MAX];
	hv_snprintf(reason, sizeof(reason), "QEMU TCG does not emulate %s", gap);
	test_skip(name, reason);
	return true;
}

static bool need_monitor(const char *name)
{
	if (!hv_present)
		test_skip(name, "no hypervisor");
	return hv_present;
}

/* ---- exit windows ---- */

void window_open(struct exit_window *w)
{
	if (!hv_present)
		return;
	hv_get_stats(&w->before);
	memcpy(w->ledger, exit_ledger, sizeof(w->ledger));
}

void window_close(struct exit_window *w)
{
	if (hv_present)
		hv_get_stats(&w->after);
}

uint64_t window_delta(const struct exit_window *w, unsigned reason)
{
	return w->after.count[reason] - w->before.count[reason];
}

bool exit_reason_is_noise(unsigned reason)
{
	if (reason == EXIT_REASON_EXTERNAL_INTERRUPT)
		return true; /* the host's, asynchronous: never delivered to the guest */
	/* The monitor's, for the guest's timer: the deadline came, or the guest can now take an interrupt. */
	if (reason == EXIT_REASON_PREEMPTION_TIMER || reason == EXIT_REASON_INTERRUPT_WINDOW ||
	    reason == EXIT_REASON_NMI_WINDOW || reason == EXIT_REASON_TPR_BELOW_THRESHOLD)
		return true;
	/* Shadow paging intercepts #PF and INVLPG to keep its tables in sync. */
	return boot_config.mem_shadow && (reason == EXIT_REASON_EXCEPTION_NMI || reason == EXIT_REASON_INVLPG);
}

static bool window_compare(const struct exit_window *w, const uint64_t *want, char *detail, size_t cap)
{
	uint64_t want_total = 0, noise = 0;
	for (unsigned r = 0; r < HV_STATS_REASONS; r++) {
		if (exit_reason_is_noise(r)) {
			noise += window_delta(w, r);
			continue;
		}
		want_total += want[r];
		if (window_delta(w, r) != want[r]) {
			hv_snprintf(detail, cap, "%s: %llu exits, expected %llu", exit_reason_name(r),
				    (unsigned long long)window_delta(w, r), (unsigned long long)want[r]);
			return false;
		}
	}
	const uint64_t total = w->after.total_exits - w->before.total_exits;
	if (total != want_total + noise) {
		hv_snprintf(detail, cap, "total_exits moved by %llu, expected %llu", (unsigned long long)total,
			    (unsigned long long)(want_total + noise));
		return false;
	}
	return true;
}

bool window_expect(const struct exit_window *w, const struct exit_expect *e, size_t n, char *detail, size_t cap)
{
	uint64_t want[HV_STATS_REASONS] = { 0 };
	for (size_t i = 0; i < n; i++)
		want[e[i].reason] += e[i].count;
	want[EXIT_REASON_VMCALL]++; /* the closing HC_GET_STATS */
	return window_compare(w, want, detail, cap);
}

bool window_matches_ledger(const struct exit_window *w, char *detail, size_t cap)
{
	uint64_t want[HV_STATS_REASONS];
	for (unsigned r = 0; r < HV_STATS_REASONS; r++)
		want[r] = exit_ledger[r] - w->ledger[r];
	return window_compare(w, want, detail, cap);
}

/* ---- boot and the monitor's identity ---- */

static void test_boot_state(void)
{
	const char *name = "boot_long_mode";
	struct descriptor_table_ptr gdtr, idtr, mine_g, mine_i;
	cpu_get_table_ptrs(&mine_g, &mine_i);
	priv_sgdt(&gdtr);
	priv_sidt(&idtr);
	const uint64_t efer = priv_rdmsr(MSR_IA32_EFER);
	if (!(efer & EFER_LMA) || !(efer & EFER_SCE)) {
		test_report(name, false, "EFER=%#llx: LMA or SCE clear", (unsigned long long)efer);
		return;
	}
	if ((read_cr0() & (CR0_PG | CR0_PE)) != (CR0_PG | CR0_PE) || !(read_cr4() & CR4_PAE)) {
		test_report(name, false, "CR0=%#llx CR4=%#llx", (unsigned long long)read_cr0(),
				   (unsigned long long)read_cr4());
		return;
	}
	if (read_cs() != SEL_KERNEL_CODE || gdtr.base != mine_g.base || gdtr.limit != mine_g.limit ||
	    idtr.base != mine_i.base || idtr.limit != mine_i.limit) {
		test_report(name, false, "CS=%#x GDTR=%#llx/%#x IDTR=%#llx/%#x", read_cs(),
				   (unsigned long long)gdtr.base, gdtr.limit, (unsigned long long)idtr.base, idtr.limit);
		return;
	}
	if (priv_rdmsr(MSR_IA32_LSTAR) == 0) {
		test_report(name, false, "IA32_LSTAR is 0");
		return;
	}
	test_pass(name);
}

/* Every exit from the first instruction on was one the kernel caused (and counted); every boot step exited. */
static void test_boot_exits(const struct hv_stats *first)
{
	const char *name = "boot_exits_accounted";
	static const struct exit_expect boot_steps[] = {
		{ EXIT_REASON_GDTR_IDTR_ACCESS, 3 }, /* LGDT (32-bit), LGDT (64-bit), LIDT */
		{ EXIT_REASON_LDTR_TR_ACCESS, 1 },   /* LTR */
		{ EXIT_REASON_CR_ACCESS, 2 },        /* CR4.PAE, CR0.PG */
		{ EXIT_REASON_RDMSR, 1 },            /* EFER */
		{ EXIT_REASON_WRMSR, 5 },            /* EFER.LME, EFER.SCE, STAR, LSTAR, FMASK */
		{ EXIT_REASON_CPUID, 2 },            /* long mode?, hypervisor? */
		{ EXIT_REASON_IO_INSTRUCTION, 1 },
		{ EXIT_REASON_VMCALL, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(boot_steps); i++)
		if (first->count[boot_steps[i].reason] < boot_steps[i].count &&
		    (boot_config.dt_exits || (boot_steps[i].reason != EXIT_REASON_GDTR_IDTR_ACCESS &&
					      boot_steps[i].reason != EXIT_REASON_LDTR_TR_ACCESS))) {
			test_report(name, false, "%s: %llu exits during boot, expected at least %llu",
					   exit_reason_name(boot_steps[i].reason),
					   (unsigned long long)first->count[boot_steps[i].reason],
					   (unsigned long long)boot_steps[i].count);
			return;
		}
	uint64_t sum = 0;
	for (unsigned r = 0; r < HV_STATS_REASONS; r++) {
		sum += first->count[r];
		if (!exit_reason_is_noise(r) && first->count[r] != exit_ledger[r]) {
			test_report(name, false, "%s: the monitor counted %llu exits, the kernel caused %llu",
					   exit_reason_name(r), (unsigned long long)first->count[r],
					   (unsigned long long)exit_ledger[r]);
			return;
		}
	}
	test_report(name, sum == first->total_exits, "total_exits %llu, sum of the counters %llu",
		    (unsigned long long)first->total_exits, (unsigned long long)sum);
}

static void test_cpuid_identity(void)
{
	if (!need_monitor("cpuid_hypervisor_signature") )
		return;
	struct cpuid_regs r = priv_cpuid(CPUID_LEAF_FEATURES, 0);
	struct cpuid_regs h = priv_cpuid(CPUID_LEAF_HYPERVISOR, 0);
	char sig[HV_SIGNATURE_LEN + 1];
	memcpy(sig, &h.ebx, sizeof(h.ebx));
	memcpy(sig + sizeof(h.ebx), &h.ecx, sizeof(h.ecx));
	memcpy(sig + sizeof(h.ebx) + sizeof(h.ecx), &h.edx, sizeof(h.edx));
	sig[HV_SIGNATURE_LEN] = 0;
	test_report("cpuid_hypervisor_signature",
		    (r.ecx & CPUID_1_ECX_HYPERVISOR) && strcmp(sig, HV_CPUID_SIGNATURE) == 0,
		    "CPUID.1:ECX=%#x, signature '%s'", r.ecx, sig);
	test_report("cpuid_vmx_hidden", !(r.ecx & CPUID_1_ECX_VMX), "CPUID.1:ECX=%#x has VMX", r.ecx);
}

/* ---- one privileged operation, exactly the expected exit ---- */

static void test_exit_cpuid(void)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	if (!need_monitor("exit_cpuid"))
		return;
	window_open(&w);
	priv_cpuid(CPUID_LEAF_VENDOR, 0);
	window_close(&w);
	test_report("exit_cpuid", EXPECT_EXITS(&w, d, { EXIT_REASON_CPUID, 1 }), "%s", d);
}

static void test_exit_msr(void)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	if (!need_monitor("exit_rdmsr"))
		return;
	window_open(&w);
	priv_rdmsr(MSR_IA32_SYSENTER_CS);
	window_close(&w);
	test_report("exit_rdmsr", EXPECT_EXITS(&w, d, { EXIT_REASON_RDMSR, 1 }), "%s", d);

	const uint64_t saved = priv_rdmsr(MSR_IA32_SYSENTER_ESP);
	window_open(&w);
	priv_wrmsr(MSR_IA32_SYSENTER_ESP, MSR_TEST_PATTERN);
	uint64_t back = priv_rdmsr(MSR_IA32_SYSENTER_ESP);
	window_close(&w);
	priv_wrmsr(MSR_IA32_SYSENTER_ESP, saved);
	bool ok = EXPECT_EXITS(&w, d, { EXIT_REASON_WRMSR, 1 }, { EXIT_REASON_RDMSR, 1 });
	if (ok && back != MSR_TEST_PATTERN)
		ok = false, hv_snprintf(d, sizeof(d), "read back %#llx", (unsigned long long)back);
	test_report("exit_wrmsr", ok, "%s", d);
}

static void test_msr_passthrough(void)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	const uint64_t saved = priv_rdmsr(MSR_IA32_KERNEL_GS_BASE);
	window_open(&w);
	priv_wrmsr(MSR_IA32_KERNEL_GS_BASE, MSR_TEST_PATTERN);
	uint64_t back = priv_rdmsr(MSR_IA32_KERNEL_GS_BASE);
	priv_rdmsr(MSR_IA32_FS_BASE);
	priv_rdmsr(MSR_IA32_GS_BASE);
	window_close(&w);
	priv_wrmsr(MSR_IA32_KERNEL_GS_BASE, saved);
	bool ok = !hv_present || EXPECT_EXITS(&w, d, NO_EXITS);
	if (ok && back != MSR_TEST_PATTERN)
		ok = false, hv_snprintf(d, sizeof(d), "read back %#llx", (unsigned long long)back);
	test_report("msr_fs_gs_base_no_exit", ok, "%s", d);
}

static void test_msr_unknown(void)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	uint64_t v;
	if (!need_monitor("msr_unknown_gp"))
		return;
	const uint64_t faults = kernel_fault.count;
	window_open(&w);
	int rc = priv_rdmsr_safe(MSR_UNKNOWN, &v);
	window_close(&w);
	bool ok = EXPECT_EXITS(&w, d, { EXIT_REASON_RDMSR, 1 });
	if (ok && (rc == 0 || kernel_fault.count != faults + 1 || kernel_fault.vector != VECTOR_GP ||
		   kernel_fault.error_code != 0))
		ok = false, hv_snprintf(d, sizeof(d), "no #GP(0) in the guest: rc %d, vector %llu", rc,
					(unsigned long long)kernel_fault.vector);
	test_report("msr_unknown_gp", ok, "%s", d);
}

/*
 * MSRs that exist only with a CPUID feature (SDM Vol. 4 Table 2-2) must follow the
 * guest's CPUID: readable when announced, #GP when not, and never a monitor stop.
 * IA32_MISC_ENABLE is architectural on every CPU the monitor runs on: the guest
 * reads the monitor's fixed value, whatever the host has.
 */
struct msr_cpuid_case {
	uint32_t msr;
	uint32_t leaf, subleaf;
	unsigned reg; /* 0 EAX .. 3 EDX */
	uint32_t bit; /* 0: always present */
	bool round_trip; /* write back what was read and expect it to stick */
};

static bool guest_has(uint32_t leaf, uint32_t subleaf, unsigned reg, uint32_t bit)
{
	if (!bit)
		return true;
	if (leaf > priv_cpuid(leaf & CPUID_LEAF_RANGE_MASK, 0).eax)
		return false;
	const struct cpuid_regs r = priv_cpuid(leaf, subleaf);
	const uint32_t regs[] = { r.eax, r.ebx, r.ecx, r.edx };
	return (regs[reg] & bit) != 0;
}

static void test_msr_cpuid_dependent(void)
{
	enum { EAX, EBX, ECX, EDX };
	static const struct msr_cpuid_case cases[] = {
		{ MSR_IA32_STAR, CPUID_LEAF_EXT_FEATURES_8001, 0, EDX, CPUID_80000001_EDX_LM, true },
		{ MSR_IA32_FMASK, CPUID_LEAF_EXT_FEATURES_8001, 0, EDX, CPUID_80000001_EDX_LM, true },
		{ MSR_IA32_SYSENTER_CS, CPUID_LEAF_FEATURES, 0, EDX, CPUID_1_EDX_SEP, true },
		{ MSR_IA32_PAT, CPUID_LEAF_FEATURES, 0, EDX, CPUID_1_EDX_PAT, true },
		{ MSR_IA32_MTRRCAP, CPUID_LEAF_FEATURES, 0, EDX, CPUID_1_EDX_MTRR, false },
		{ MSR_IA32_MISC_ENABLE, 0, 0, EAX, 0, false },
	};
	char d[DETAIL_MAX] = "";
	uint64_t value;
	bool ok = true;
	if (!need_monitor("msr_cpuid_dependent"))
		return;
	for (unsigned i = 0; ok && i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct msr_cpuid_case *c = &cases[i];
		const bool has = guest_has(c->leaf, c->subleaf, c->reg, c->bit);
		const int rc = priv_rdmsr_safe(c->msr, &value);
		if ((rc == 0) != has)
			ok = false, hv_snprintf(d, sizeof(d), "RDMSR %#x: %s although CPUID %s it", c->msr,
						rc ? "#GP" : "read", has ? "announces" : "does not announce");
		else if (has && c->round_trip && priv_wrmsr_safe(c->msr, value) != 0)
			ok = false, hv_snprintf(d, sizeof(d), "WRMSR %#x of its own value: #GP", c->msr);
	}
	/* IA32_TSC_AUX exists with RDTSCP or with RDPID. */
	const bool tsc_aux = guest_has(CPUID_LEAF_EXT_FEATURES_8001, 0, EDX, CPUID_80000001_EDX_RDTSCP) ||
			     guest_has(CPUID_LEAF_EXT_FEATURES, 0, ECX, CPUID_7_ECX_RDPID);
	if (ok && (priv_rdmsr_safe(MSR_IA32_TSC_AUX, &value) == 0) != tsc_aux)
		ok = false, hv_snprintf(d, sizeof(d), "RDMSR IA32_TSC_AUX disagrees with CPUID (RDTSCP/RDPID %s)",
					tsc_aux ? "announced" : "absent");
	if (ok && tsc_aux) {
		const uint64_t saved = value;
		uint64_t back = 0;
		if (priv_wrmsr_safe(MSR_IA32_TSC_AUX, MSR_TSC_AUX_PATTERN) || priv_rdmsr_safe(MSR_IA32_TSC_AUX, &back) ||
		    back != MSR_TSC_AUX_PATTERN)
			ok = false, hv_snprintf(d, sizeof(d), "IA32_TSC_AUX round trip: read back %#llx",
						(unsigned long long)back);
		priv_wrmsr_safe(MSR_IA32_TSC_AUX, saved);
	}
	/* IA32_MISC_ENABLE: readable, and writes are refused (the monitor owns it). */
	if (ok && (priv_rdmsr_safe(MSR_IA32_MISC_ENABLE, &value) != 0 ||
		   priv_wrmsr_safe(MSR_IA32_MISC_ENABLE, value) == 0))
		ok = false, hv_snprintf(d, sizeof(d), "IA32_MISC_ENABLE: read must work, write must #GP");
	test_report("msr_cpuid_dependent", ok, "%s", d);
}

static void test_exit_io(void)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	if (hv_present) {
		window_open(&w);
		uint8_t lsr = priv_inb(COM1_BASE + UART_LSR);
		window_close(&w);
		bool ok = EXPECT_EXITS(&w, d, { EXIT_REASON_IO_INSTRUCTION, 1 });
		if (ok && lsr != LSR_IDLE)
			ok = false, hv_snprintf(d, sizeof(d), "LSR %#x, expected %#x", lsr, LSR_IDLE);
		test_report("exit_in", ok, "%s", d);

		window_open(&w);
		priv_outb(POST_PORT, 0);
		window_close(&w);
		test_report("exit_out", EXPECT_EXITS(&w, d, { EXIT_REASON_IO_INSTRUCTION, 1 }), "%s", d);
	} else {
		test_skip("exit_in", "no hypervisor");
		test_skip("exit_out", "no hypervisor");
	}

	/* The UART path: the scratch register echoes, and a line costs exactly two exits a character. */
	window_open(&w);
	priv_outb(COM1_BASE + UART_SCR, SCRATCH_PATTERN);
	uint8_t echo = priv_inb(COM1_BASE + UART_SCR);
	window_close(&w);
	bool ok = !hv_present || EXPECT_EXITS(&w, d, { EXIT_REASON_IO_INSTRUCTION, 2 });
	if (ok && echo != SCRATCH_PATTERN)
		ok = false, hv_snprintf(d, sizeof(d), "scratch register read %#x, wrote %#x", echo, SCRATCH_PATTERN);
	test_report("uart_scratch_echo", ok, "%s", d);

	static const char line[] = "uart echo: the quick brown fox jumps over the lazy dog\n";
	window_open(&w);
	console_write(line, sizeof(line) - 1);
	window_close(&w);
	test_report("uart_line_exits", !hv_present || EXPECT_EXITS(&w, d, { EXIT_REASON_IO_INSTRUCTION, 2 * (sizeof(line) - 1) }),
		    "%s", d);
}

static int write_cr4_safe(uint64_t value)
{
	const uint64_t before = kernel_fault.count;
	if (value != read_cr4())
		ledger_add(EXIT_REASON_CR_ACCESS, 1);
	__asm__ volatile("1: mov %0, %%cr4\n2:\n\t" EX_TABLE_ENTRY("1b", "2b")::"r"(value) : "memory");
	return kernel_fault.count == before ? 0 : -1;
}

/* MOV to CR3 that may fault; it exits only under shadow paging (CR3-load exiting). */
static int write_cr3_safe(uint64_t value)
{
	const uint64_t before = kernel_fault.count;
	if (boot_config.mem_shadow)
		ledger_add(EXIT_REASON_CR_ACCESS, 1);
	__asm__ volatile("1: mov %0, %%cr3\n2:\n\t" EX_TABLE_ENTRY("1b", "2b")::"r"(value) : "memory");
	return kernel_fault.count == before ? 0 : -1;
}

/* A CR3 bit above MAXPHYADDR on every CPU (MAXPHYADDR <= 52), and not one of LAM's bits 62:61. */
#define CR3_RESERVED_BIT (1ull << 60)

static void test_exit_cr(void)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	if (!need_monitor("exit_mov_cr0"))
		return;
	const uint64_t cr0 = read_cr0();
	window_open(&w);
	priv_write_cr0(cr0 ^ CR0_MP);
	uint64_t seen = read_cr0(); /* reads do not exit: they return the read shadow */
	priv_write_cr0(cr0);
	priv_write_cr0(cr0);        /* no bit changes: no exit */
	window_close(&w);
	bool ok = EXPECT_EXITS(&w, d, { EXIT_REASON_CR_ACCESS, 2 });
	if (ok && seen != (cr0 ^ CR0_MP))
		ok = false, hv_snprintf(d, sizeof(d), "CR0 read %#llx after writing %#llx", (unsigned long long)seen,
					(unsigned long long)(cr0 ^ CR0_MP));
	test_report("exit_mov_cr0", ok, "%s", d);

	const uint64_t cr4 = read_cr4();
	window_open(&w);
	priv_write_cr4(cr4 ^ CR4_PCE);
	seen = read_cr4();
	priv_write_cr4(cr4);
	window_close(&w);
	ok = EXPECT_EXITS(&w, d, { EXIT_REASON_CR_ACCESS, 2 });
	if (ok && seen != (cr4 ^ CR4_PCE))
		ok = false, hv_snprintf(d, sizeof(d), "CR4 read %#llx after writing %#llx", (unsigned long long)seen,
					(unsigned long long)(cr4 ^ CR4_PCE));
	test_report("exit_mov_cr4", ok, "%s", d);

	const uint64_t faults = kernel_fault.count;
	window_open(&w);
	int rc = write_cr4_safe(cr4 | CR4_VMXE);
	window_close(&w);
	ok = EXPECT_EXITS(&w, d, { EXIT_REASON_CR_ACCESS, 1 });
	if (ok && (rc == 0 || kernel_fault.count != faults + 1 || kernel_fault.vector != VECTOR_GP || read_cr4() != cr4))
		ok = false, hv_snprintf(d, sizeof(d), "no #GP, or CR4 changed to %#llx", (unsigned long long)read_cr4());
	test_report("cr4_vmxe_gp", ok, "%s", d);

	const uint64_t cr3 = kernel_aspace.cr3; /* the live one (reading CR3 may exit in shadow mode) */
	window_open(&w);
	priv_write_cr3(cr3);
	window_close(&w);
	ok = EXPECT_EXITS(&w, d, { EXIT_REASON_CR_ACCESS, boot_config.mem_shadow ? 1 : 0 });
	test_report(boot_config.mem_shadow ? "exit_mov_cr3_shadow" : "no_exit_mov_cr3_ept", ok, "%s", d);

	/* Reading CR3 gives the guest its own page tables, never the monitor's shadow root. */
	window_open(&w);
	seen = priv_read_cr3();
	window_close(&w);
	ok = EXPECT_EXITS(&w, d, { EXIT_REASON_CR_ACCESS, boot_config.mem_shadow ? 1 : 0 });
	if (ok && seen != cr3)
		ok = false, hv_snprintf(d, sizeof(d), "CR3 read %#llx, the guest loaded %#llx", (unsigned long long)seen,
					(unsigned long long)cr3);
	test_report(boot_config.mem_shadow ? "exit_mov_from_cr3_shadow" : "no_exit_mov_from_cr3_ept", ok, "%s", d);

	/* A reserved CR3 bit is the guest's #GP, whether the CPU (EPT) or the monitor (shadow) checks it. */
	const uint64_t gp_before = kernel_fault.count;
	window_open(&w);
	rc = write_cr3_safe(cr3 | CR3_RESERVED_BIT);
	window_close(&w);
	ok = EXPECT_EXITS(&w, d, { EXIT_REASON_CR_ACCESS, boot_config.mem_shadow ? 1 : 0 });
	if (ok && (rc == 0 || kernel_fault.count != gp_before + 1 || kernel_fault.vector != VECTOR_GP))
		ok = false, hv_snprintf(d, sizeof(d), "no #GP for CR3=%#llx", (unsigned long long)(cr3 | CR3_RESERVED_BIT));
	test_report("cr3_reserved_bit_gp", ok, "%s", d);
}

static void test_exit_descriptor_tables(void)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	struct descriptor_table_ptr g, i, sg, si;
	if (!need_monitor("exit_lgdt"))
		return;
	if (!boot_config.dt_exits) {
		static const char *const names[] = { "exit_lgdt", "exit_lidt", "exit_sgdt_sidt", "exit_str_sldt_lldt" };
		for (size_t n = 0; n < ARRAY_SIZE(names); n++)
			test_skip(names[n], "no descriptor-table exiting on this CPU (no_dt_exits)");
		return;
	}
	cpu_get_table_ptrs(&g, &i);
	window_open(&w);
	priv_lgdt(&g);
	window_close(&w);
	test_report("exit_lgdt", EXPECT_EXITS(&w, d, { EXIT_REASON_GDTR_IDTR_ACCESS, 1 }), "%s", d);

	window_open(&w);
	priv_lidt(&i);
	window_close(&w);
	test_report("exit_lidt", EXPECT_EXITS(&w, d, { EXIT_REASON_GDTR_IDTR_ACCESS, 1 }), "%s", d);

	window_open(&w);
	priv_sgdt(&sg);
	priv_sidt(&si);
	window_close(&w);
	bool ok = EXPECT_EXITS(&w, d, { EXIT_REASON_GDTR_IDTR_ACCESS, 2 });
	if (ok && (sg.base != g.base || sg.limit != g.limit || si.base != i.base || si.limit != i.limit))
		ok = false, hv_snprintf(d, sizeof(d), "SGDT %#llx/%#x SIDT %#llx/%#x", (unsigned long long)sg.base,
					sg.limit, (unsigned long long)si.base, si.limit);
	test_report("exit_sgdt_sidt", ok, "%s", d);

	window_open(&w);
	uint16_t tr = priv_str();
	uint16_t ldtr = priv_sldt();
	priv_lldt(0);
	window_close(&w);
	ok = EXPECT_EXITS(&w, d, { EXIT_REASON_LDTR_TR_ACCESS, 3 });
	if (ok && (tr != SEL_TSS || ldtr != 0))
		ok = false, hv_snprintf(d, sizeof(d), "STR %#x SLDT %#x", tr, ldtr);
	test_report("exit_str_sldt_lldt", ok, "%s", d);
}

static void test_tss_busy(void)
{
	test_report("ltr_marks_tss_busy", tss_descriptor_busy(), "the TSS descriptor is not busy after LTR");
}

static void test_exit_misc(void)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	if (!need_monitor("exit_hlt"))
		return;
	kprintf("exit_hlt: HLT with interrupts off: if HLT did not exit, the guest would sleep here "
		"until the monitor's watchdog\n");
	window_open(&w);
	priv_hlt();
	window_close(&w);
	test_report("exit_hlt", EXPECT_EXITS(&w, d, { EXIT_REASON_HLT, 1 }), "%s", d);

	window_open(&w);
	window_close(&w);
	test_report("exit_vmcall", EXPECT_EXITS(&w, d, NO_EXITS), "%s", d);

	window_open(&w);
	int64_t rc = hv_call(HC_NUMBER_INVALID, 0, 0, 0);
	window_close(&w);
	bool ok = EXPECT_EXITS(&w, d, { EXIT_REASON_VMCALL, 1 });
	if (ok && rc != HC_ERR_UNKNOWN_CALL)
		ok = false, hv_snprintf(d, sizeof(d), "returned %lld", (long long)rc);
	test_report("hypercall_unknown", ok, "%s", d);

	window_open(&w);
	priv_wbinvd();
	window_close(&w);
	test_report("exit_wbinvd", EXPECT_EXITS(&w, d, { EXIT_REASON_WBINVD, 1 }), "%s", d);

	window_open(&w);
	priv_invd();
	window_close(&w);
	test_report("exit_invd", EXPECT_EXITS(&w, d, { EXIT_REASON_INVD, 1 }), "%s", d);

	struct cpuid_regs r = priv_cpuid(CPUID_LEAF_FEATURES, 0);
	if (!(r.ecx & CPUID_1_ECX_XSAVE)) {
		test_skip("exit_xsetbv", "CPUID says no XSAVE");
		test_skip("xsetbv_invalid_gp", "CPUID says no XSAVE");
		return;
	}
	const uint64_t cr4 = read_cr4();
	window_open(&w);
	priv_write_cr4(cr4 | CR4_OSXSAVE);
	int x = priv_xsetbv_safe(0, XCR0_X87);
	window_close(&w);
	ok = EXPECT_EXITS(&w, d, { EXIT_REASON_CR_ACCESS, (cr4 & CR4_OSXSAVE) ? 0 : 1 }, { EXIT_REASON_XSETBV, 1 });
	if (ok && (x || xgetbv(0) != XCR0_X87))
		ok = false, hv_snprintf(d, sizeof(d), "XSETBV faulted (%d) or XCR0 is %#llx", x,
					(unsigned long long)xgetbv(0));
	test_report("exit_xsetbv", ok, "%s", d);

	const uint64_t faults = kernel_fault.count;
	window_open(&w);
	x = priv_xsetbv_safe(0, 0); /* XCR0[0] = 0 is invalid: #GP */
	window_close(&w);
	ok = EXPECT_EXITS(&w, d, { EXIT_REASON_XSETBV, 1 });
	if (ok && (!x || kernel_fault.count != faults + 1 || kernel_fault.vector != VECTOR_GP))
		ok = false, hv_snprintf(d, sizeof(d), "no #GP in the guest");
	test_report("xsetbv_invalid_gp", ok, "%s", d);

	/* An AVX-512 group that is only partly enabled (SDM Vol. 1 13.3): #GP in the guest, never in the monitor. */
	struct cpuid_regs xs = priv_cpuid(CPUID_LEAF_XSAVE, 0);
	const uint64_t avx512_partial = XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_OPMASK;
	if ((xs.eax & avx512_partial) == avx512_partial) {
		const uint64_t before = kernel_fault.count;
		window_open(&w);
		x = priv_xsetbv_safe(0, avx512_partial);
		window_close(&w);
		ok = EXPECT_EXITS(&w, d, { EXIT_REASON_XSETBV, 1 });
		if (ok && (!x || kernel_fault.count != before + 1 || kernel_fault.vector != VECTOR_GP))
			ok = false, hv_snprintf(d, sizeof(d), "no #GP in the guest for XCR0=%#llx",
						(unsigned long long)avx512_partial);
		test_report("xsetbv_partial_avx512_gp", ok, "%s", d);
	} else {
		test_skip("xsetbv_partial_avx512_gp", "CPUID says no AVX-512 state");
	}
	priv_write_cr4(cr4);
}

/* The guest's DR7 survives VM exits (the monitor saves and loads the debug controls). */
static void test_dr7_survives_exits(void)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	if (!need_monitor("dr7_survives_exits"))
		return;
	/* L0 enabled for an instruction breakpoint at DR0 = 0, an address the guest never executes. */
	const uint64_t dr7 = DR7_FIXED_ONE | DR7_L0;
	__asm__ volatile("mov %0, %%dr0" ::"r"(0ull));
	__asm__ volatile("mov %0, %%dr7" ::"r"(dr7));
	window_open(&w);
	priv_cpuid(CPUID_LEAF_VENDOR, 0);
	window_close(&w);
	uint64_t after;
	__asm__ volatile("mov %%dr7, %0" : "=r"(after));
	__asm__ volatile("mov %0, %%dr7" ::"r"(DR7_FIXED_ONE));
	bool ok = EXPECT_EXITS(&w, d, { EXIT_REASON_CPUID, 1 });
	if (ok && after != dr7)
		ok = false, hv_snprintf(d, sizeof(d), "DR7 was %#llx before the CPUID exit, %#llx after",
					(unsigned long long)dr7, (unsigned long long)after);
	test_report("dr7_survives_exits", ok, "%s", d);
}

/* Instructions that must not exit: RDTSC, PAUSE, CR reads, INVLPG (EPT mode), XGETBV-free. */
static void test_no_exit_instructions(void)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	if (!need_monitor("no_exit_instructions"))
		return;
	uint64_t sink = 0;
	window_open(&w);
	sink += rdtsc();
	__asm__ volatile("pause");
	sink += read_cr0() + read_cr4() + read_cr2();
	if (!boot_config.mem_shadow) {
		sink += read_cr3();
		invlpg((uint64_t)(uintptr_t)guest_image_start);
	}
	window_close(&w);
	(void)sink;
	test_report("no_exit_instructions", EXPECT_EXITS(&w, d, NO_EXITS), "%s", d);
}

/* #UD, #BP and #DE go to the guest's own IDT; in EPT mode none of them exits. */
static void test_exceptions_in_guest(void)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	const uint64_t before = kernel_fault.count;
	uint64_t vectors[3];
	window_open(&w);
	__asm__ volatile("1: ud2\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::: "memory");
	vectors[0] = kernel_fault.vector;
	__asm__ volatile("int3\n1:\n\t" EX_TABLE_ENTRY("1b", "1b") ::: "memory"); /* a trap: RIP is past it */
	vectors[1] = kernel_fault.vector;
	uint64_t zero = 0, dividend = 1;
	__asm__ volatile("xor %%edx, %%edx\n1: divq %1\n2:\n\t" EX_TABLE_ENTRY("1b", "2b")
			 : "+a"(dividend)
			 : "r"(zero)
			 : "rdx", "memory");
	vectors[2] = kernel_fault.vector;
	window_close(&w);
	bool ok = kernel_fault.count == before + 3 && vectors[0] == VECTOR_UD && vectors[1] == VECTOR_BP &&
		  vectors[2] == VECTOR_DE;
	if (!ok)
		hv_snprintf(d, sizeof(d), "handled %llu, vectors %llu %llu %llu", (unsigned long long)(kernel_fault.count - before),
			    (unsigned long long)vectors[0], (unsigned long long)vectors[1], (unsigned long long)vectors[2]);
	else if (hv_present) /* with mem=shadow, its #PF exits are noise (exit_reason_is_noise) */
		ok = EXPECT_EXITS(&w, d, NO_EXITS);
	test_report("exceptions_in_guest_idt", ok, "%s", d);
}

static void test_null_page(void)
{
	const uint64_t before = kernel_fault.count;
	volatile uint64_t value = 0;
	const uint64_t null_address = 0;
	__asm__ volatile("1: movq (%1), %0\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") : "=r"(value) : "r"(null_address) : "memory");
	(void)value;
	test_report("kernel_null_page_fault",
		    kernel_fault.count == before + 1 && kernel_fault.vector == VECTOR_PF && kernel_fault.cr2 == 0 &&
			    kernel_fault.error_code == 0,
		    "count +%llu vector %llu error %#llx cr2 %#llx", (unsigned long long)(kernel_fault.count - before),
		    (unsigned long long)kernel_fault.vector, (unsigned long long)kernel_fault.error_code,
		    (unsigned long long)kernel_fault.cr2);
}

/* The kernel touches pages of its demand region: the fault handler maps them, without an exit in EPT mode. */
static void test_kernel_demand_paging(void)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	const uint64_t faults = kernel_demand_faults;
	const uint64_t free_before = frames_free_count();
	volatile uint8_t *base = (volatile uint8_t *)(uintptr_t)KERNEL_DEMAND_BASE;
	unsigned zero_ok = 0;
	window_open(&w);
	for (unsigned i = 0; i < KERNEL_DEMAND_TEST_PAGES; i++) {
		zero_ok += base[i * PAGE_SIZE + i] == 0; /* first touch: a zeroed page */
		base[i * PAGE_SIZE + i] = DEMAND_FILL;
	}
	window_close(&w);
	bool ok = kernel_demand_faults - faults == KERNEL_DEMAND_TEST_PAGES && zero_ok == KERNEL_DEMAND_TEST_PAGES &&
		  base[PAGE_SIZE + 1] == DEMAND_FILL && frames_free_count() == free_before - KERNEL_DEMAND_TEST_PAGES;
	if (!ok)
		hv_snprintf(d, sizeof(d), "%llu faults handled, %u zeroed pages, expected %u",
			    (unsigned long long)(kernel_demand_faults - faults), zero_ok, KERNEL_DEMAND_TEST_PAGES);
	else if (hv_present) /* with mem=shadow, its #PF exits are noise (exit_reason_is_noise) */
		ok = EXPECT_EXITS(&w, d, NO_EXITS);
	for (unsigned i = 0; i < KERNEL_DEMAND_TEST_PAGES; i++)
		frame_free(pt_unmap(kernel_aspace.cr3, KERNEL_DEMAND_BASE + i * PAGE_SIZE));
	test_report(boot_config.mem_shadow ? "kernel_demand_paging" : "kernel_demand_paging_no_exits", ok, "%s", d);
}

/*
 * The CPU sets the accessed flag on the first access after a TLB flush and the dirty flag on the
 * first write (SDM Vol. 3A 4.8): with EPT the hardware does it, with shadow paging the monitor must.
 */
static void test_accessed_dirty_flags(void)
{
	const char *name = "guest_accessed_dirty_flags";
	char d[DETAIL_MAX] = "";
	volatile uint8_t *page = (volatile uint8_t *)(uintptr_t)KERNEL_DEMAND_BASE;
	page[0] = DEMAND_FILL; /* a demand fault maps it */
	volatile uint64_t *pte = pt_leaf_entry(kernel_aspace.cr3, KERNEL_DEMAND_BASE); /* the CPU writes it */
	if (!pte || !(*pte & PTE_P)) {
		test_report(name, false, "the demand page is not mapped");
		return;
	}
	const bool set_by_write = (*pte & (PTE_A | PTE_D)) == (PTE_A | PTE_D);
	/* A alone cleared (a page-aging scan): a read after the flush sets it again. */
	*pte &= ~PTE_A;
	priv_write_cr3(kernel_aspace.cr3); /* flush the TLB: the next access walks the tables again */
	uint8_t value = page[1];
	const uint64_t aged_read = *pte & (PTE_A | PTE_D);
	/* Both cleared (the page was written back): a read sets A only, a write then D. */
	*pte &= ~(PTE_A | PTE_D);
	priv_write_cr3(kernel_aspace.cr3);
	value += page[1];
	const uint64_t after_read = *pte & (PTE_A | PTE_D);
	page[2] = value;
	const uint64_t after_write = *pte & (PTE_A | PTE_D);
	bool ok = set_by_write && aged_read == (PTE_A | PTE_D) && after_read == PTE_A && after_write == (PTE_A | PTE_D);
	if (!ok)
		hv_snprintf(d, sizeof(d), "A/D after the first write %s; read after clearing A: %#llx; "
			    "after clearing A/D: read %#llx, write %#llx", set_by_write ? "set" : "missing",
			    (unsigned long long)aged_read, (unsigned long long)after_read, (unsigned long long)after_write);
	frame_free(pt_unmap(kernel_aspace.cr3, KERNEL_DEMAND_BASE));
	test_report(name, ok, "%s", d);
}

/* Where the SMEP/SMAP test maps its user page, in the kernel address space's (empty) user half. */
#define SMEP_SMAP_TEST_VA USER_BASE
#define SMEP_SMAP_TEST_VA_TEXT "0x8000000000" /* the same, for the exception table */
_Static_assert(SMEP_SMAP_TEST_VA == 0x8000000000ull, "SMEP_SMAP_TEST_VA_TEXT must spell SMEP_SMAP_TEST_VA");
#define X86_RET_OPCODE 0xc3u

/* A second address in the test page, for faults that must not share the first one's exception-table entry. */
#define WP0_TEST_VA      (SMEP_SMAP_TEST_VA + 1)
#define WP0_TEST_VA_TEXT "0x8000000001"
_Static_assert(WP0_TEST_VA == 0x8000000001ull, "WP0_TEST_VA_TEXT must spell WP0_TEST_VA");

/*
 * With CR0.WP=0 the kernel may write a read-only page (SDM Vol. 3A 4.6.1), a user page too if
 * RFLAGS.AC allows it under SMAP; SMEP still holds for that page afterwards.  (Shadow paging maps
 * such a write through a supervisor-only leaf, which must keep supervisor code off the page.  That
 * SMAP holds too is wp0_write_keeps_smap in tests_paging.c.)
 */
static void test_wp0_keeps_smep(uint64_t frame)
{
	const char *name = "wp0_write_keeps_smep";
	volatile uint64_t *pte = pt_leaf_entry(kernel_aspace.cr3, SMEP_SMAP_TEST_VA);
	if (!pte) {
		test_report(name, false, "the test page is not mapped");
		return;
	}
	*pte &= ~PTE_W;
	invlpg(SMEP_SMAP_TEST_VA);
	const uint64_t cr0 = read_cr0(), before = kernel_fault.count;
	priv_write_cr0(cr0 & ~CR0_WP);
	__asm__ volatile("stac\n1: movb %0, (%1)\n2:\n\tclac\n\t" EX_TABLE_ENTRY("1b", "2b")
			 ::"r"((uint8_t)X86_RET_OPCODE), "r"(WP0_TEST_VA) : "memory");
	const uint64_t after_write = kernel_fault.count;
	__asm__ volatile("jmp *%0\n2:\n\t" EX_TABLE_ENTRY(WP0_TEST_VA_TEXT, "2b") ::"r"(WP0_TEST_VA) : "memory");
	const uint64_t fetch_error = kernel_fault.error_code;
	priv_write_cr0(cr0);
	const uint8_t written = ((volatile uint8_t *)phys_to_virt(frame))[1];
	const bool ok = after_write == before && written == X86_RET_OPCODE && kernel_fault.count == before + 1 &&
			kernel_fault.cr2 == WP0_TEST_VA && fetch_error == (PF_ERR_P | PF_ERR_I);
	test_report(name, ok, "write: %s; then faults +%llu, fetch error %#llx",
		    after_write == before && written == X86_RET_OPCODE ? "landed" : "refused",
		    (unsigned long long)(kernel_fault.count - after_write), (unsigned long long)fetch_error);
}

/*
 * SMEP and SMAP (SDM Vol. 3A 4.6.1): the kernel may not run code from, nor (without RFLAGS.AC)
 * touch, a user page.  The faults are the guest's own, under EPT and under shadow paging alike.
 */
static void test_smep_smap(void)
{
	const struct cpuid_regs f7 = priv_cpuid(CPUID_LEAF_EXT_FEATURES, 0);
	const bool smep = f7.ebx & CPUID_7_EBX_SMEP, smap = f7.ebx & CPUID_7_EBX_SMAP;
	if (!smep) {
		test_skip("smep_kernel_fetch_faults", "CPUID says no SMEP");
		test_skip("wp0_write_keeps_smep", "CPUID says no SMEP");
	}
	if (!smap)
		test_skip("smap_kernel_read_faults", "CPUID says no SMAP");
	if (!smep && !smap)
		return;
	const uint64_t frame = frame_alloc();
	if (!frame || pt_map(kernel_aspace.cr3, SMEP_SMAP_TEST_VA, frame, PTE_U | PTE_W)) {
		test_report("smep_smap_setup", false, "cannot map a user page");
		return;
	}
	*(volatile uint8_t *)phys_to_virt(frame) = X86_RET_OPCODE;
	const uint64_t cr4 = read_cr4();
	priv_write_cr4(cr4 | (smep ? CR4_SMEP : 0) | (smap ? CR4_SMAP : 0));

	if (smep) {
		const uint64_t before = kernel_fault.count;
		/* Jump (not call: the fault leaves the stack as it was) into the user page. */
		__asm__ volatile("jmp *%0\n2:\n\t" EX_TABLE_ENTRY(SMEP_SMAP_TEST_VA_TEXT, "2b")
				 ::"r"(SMEP_SMAP_TEST_VA) : "memory");
		const bool ok = kernel_fault.count == before + 1 && kernel_fault.vector == VECTOR_PF &&
				kernel_fault.cr2 == SMEP_SMAP_TEST_VA && kernel_fault.error_code == (PF_ERR_P | PF_ERR_I);
		test_report("smep_kernel_fetch_faults", ok, "faults +%llu vector %llu error %#llx cr2 %#llx",
			    (unsigned long long)(kernel_fault.count - before), (unsigned long long)kernel_fault.vector,
			    (unsigned long long)kernel_fault.error_code, (unsigned long long)kernel_fault.cr2);
	}
	if (smap) {
		const uint64_t before = kernel_fault.count;
		uint64_t value = 0;
		__asm__ volatile("1: movzbq (%1), %0\n2:\n\t" EX_TABLE_ENTRY("1b", "2b")
				 : "+r"(value) : "r"(SMEP_SMAP_TEST_VA) : "memory");
		bool ok = kernel_fault.count == before + 1 && kernel_fault.vector == VECTOR_PF &&
			  kernel_fault.cr2 == SMEP_SMAP_TEST_VA && kernel_fault.error_code == PF_ERR_P && value == 0;
		/* With RFLAGS.AC set (STAC) the same read is allowed. */
		__asm__ volatile("stac\n\tmovzbq (%1), %0\n\tclac" : "=r"(value) : "r"(SMEP_SMAP_TEST_VA) : "memory");
		ok = ok && value == X86_RET_OPCODE && kernel_fault.count == before + 1;
		test_report("smap_kernel_read_faults", ok, "faults +%llu vector %llu error %#llx cr2 %#llx, read %#llx with AC",
			    (unsigned long long)(kernel_fault.count - before), (unsigned long long)kernel_fault.vector,
			    (unsigned long long)kernel_fault.error_code, (unsigned long long)kernel_fault.cr2,
			    (unsigned long long)value);
	}
	if (smep && smap) /* STAC needs SMAP */
		test_wp0_keeps_smep(frame);
	else if (smep)
		test_skip("wp0_write_keeps_smep", "CPUID says no SMAP (the test needs STAC)");
	priv_write_cr4(cr4);
	aspace_clear_user_half(&kernel_aspace); /* the page and the tables that map it */
}

/* ---- the two-level translation of the lecture: VPN -> PFN (guest) -> MFN (monitor) ---- */

static void test_translate(void)
{
	const char *name = "translate_table";
	struct proc *p = proc_spawn_on(this_cpu_index(), "hello", 0, 0); /* loaded, never run (this CPU is in the test) */
	if (!p) {
		test_report(name, false, "cannot load a program");
		return;
	}
	if (aspace_add_region(&p->as, USER_MMAP_BASE, USER_MMAP_BASE + TRANSLATE_MMAP_PAGES * PAGE_SIZE,
			      VMA_USER | VMA_WRITE, true)) {
		proc_reap(p);
		test_report(name, false, "cannot map pages");
		return;
	}
	const uint64_t gvas[] = {
		USER_TEXT, USER_STACK_TOP - PAGE_SIZE, USER_MMAP_BASE, USER_MMAP_BASE + PAGE_SIZE,
		USER_MMAP_BASE + 2 * PAGE_SIZE, (uint64_t)(uintptr_t)guest_image_start, PAGE_SIZE_2M,
	};
	struct pt_walk own[ARRAY_SIZE(gvas)];
	struct hv_translation t[ARRAY_SIZE(gvas)];
	int64_t rc[ARRAY_SIZE(gvas)];
	bool mapped[ARRAY_SIZE(gvas)];
	/* HC_TRANSLATE walks the current CR3: switch to the process's address space for the hypercalls. */
	aspace_activate(&p->as);
	for (size_t i = 0; i < ARRAY_SIZE(gvas); i++) {
		mapped[i] = pt_lookup(p->as.cr3, gvas[i], &own[i]);
		rc[i] = hv_present ? hv_translate(gvas[i], &t[i]) : 0;
	}
	aspace_activate(&kernel_aspace);

	kprintf("translation of pid %d's pages (VPN = virtual page, PFN = guest-physical frame from the guest's "
		"page tables, MFN = host-physical frame from the monitor: %s)\n", p->pid,
		boot_config.mem_shadow ? "its guest-RAM map (shadow paging)" : "its EPT");
	kprintf("  %-18s %-12s %-10s %-10s %-6s %-6s %s\n", "virtual address", "VPN", "PFN", "MFN", "guest", "host",
		"what");
	unsigned differ = 0, bad = 0;
	char d[DETAIL_MAX] = "";
	for (size_t i = 0; i < ARRAY_SIZE(gvas); i++) {
		const char *what = i == 0 ? "user text" : i == 1 ? "user stack" : gvas[i] >= USER_MMAP_BASE &&
			gvas[i] < USER_MMAP_END ? "user mmap" : "kernel (identity map)";
		if (!mapped[i]) {
			bad++;
			hv_snprintf(d, sizeof(d), "%#llx is not mapped in the guest's tables", (unsigned long long)gvas[i]);
			continue;
		}
		const uint64_t pfn = own[i].pa >> PAGE_SHIFT;
		if (!hv_present) {
			kprintf("  %#-18llx %#-12llx %#-10llx %-10s %-6s %-6s %s\n", (unsigned long long)gvas[i],
				(unsigned long long)(gvas[i] >> PAGE_SHIFT), (unsigned long long)pfn, "-",
				own[i].page_size == PAGE_SIZE ? "4K" : "2M", "-", what);
			continue;
		}
		const uint64_t mfn = t[i].hpa >> PAGE_SHIFT;
		kprintf("  %#-18llx %#-12llx %#-10llx %#-10llx %-6s %-6s %s\n", (unsigned long long)gvas[i],
			(unsigned long long)(gvas[i] >> PAGE_SHIFT), (unsigned long long)pfn, (unsigned long long)mfn,
			t[i].guest_page_size == PAGE_SIZE ? "4K" : t[i].guest_page_size == PAGE_SIZE_2M ? "2M" : "1G",
			t[i].host_page_size == PAGE_SIZE ? "4K" : t[i].host_page_size == PAGE_SIZE_2M ? "2M" : "1G", what);
		if (rc[i] != 0) {
			bad++;
			hv_snprintf(d, sizeof(d), "HC_TRANSLATE(%#llx) returned %lld", (unsigned long long)gvas[i],
				    (long long)rc[i]);
		} else if (t[i].gpa != own[i].pa || (t[i].guest_pte & ~PTE_AD) != (own[i].pte & ~PTE_AD) ||
			   t[i].guest_page_size != own[i].page_size || t[i].gva != gvas[i]) {
			bad++;
			hv_snprintf(d, sizeof(d), "%#llx: monitor says gpa %#llx pte %#llx, our walk %#llx pte %#llx",
				    (unsigned long long)gvas[i], (unsigned long long)t[i].gpa,
				    (unsigned long long)t[i].guest_pte, (unsigned long long)own[i].pa,
				    (unsigned long long)own[i].pte);
		}
		differ += pfn != mfn;
	}
	proc_reap(p);
	if (!hv_present) {
		test_report("translate_guest_walk", bad == 0, "%s", d);
		test_skip(name, "no hypervisor");
		return;
	}
	if (!bad && !differ)
		hv_snprintf(d, sizeof(d), "PFN == MFN for every page: guest RAM is not remapped");
	test_report(name, bad == 0 && differ > 0, "%s", d);

	/* Errors: an address the guest has not mapped, and a result buffer that is not guest memory. */
	struct hv_translation scratch;
	int64_t unmapped = hv_translate(USER_MMAP_END - PAGE_SIZE, &scratch);
	int64_t badptr = hv_translate((uint64_t)(uintptr_t)guest_image_start, (struct hv_translation *)(uintptr_t)0);
	test_report("translate_errors", unmapped == HC_ERR_NOT_MAPPED && badptr == HC_ERR_BAD_POINTER,
		    "unmapped address: %lld (expected %d), null buffer: %lld (expected %d)", (long long)unmapped,
		    HC_ERR_NOT_MAPPED, (long long)badptr, HC_ERR_BAD_POINTER);
}

/* ---- the whole run ---- */

static void test_all_exits_accounted(void)
{
	struct hv_stats now;
	if (!need_monitor("all_exits_accounted"))
		return;
	hv_get_stats(&now);
	for (unsigned r = 0; r < HV_STATS_REASONS; r++)
		if (!exit_reason_is_noise(r) && now.count[r] != exit_ledger[r]) {
			test_report("all_exits_accounted", false,
					   "%s: the monitor counted %llu exits, the kernel caused %llu", exit_reason_name(r),
					   (unsigned long long)now.count[r], (unsigned long long)exit_ledger[r]);
			return;
		}
	test_pass("all_exits_accounted");
}

int tests_run(void)
{
	kprintf("guest test suite (%s)\n", hv_present ? "under the monitor" : "no monitor");
	struct hv_stats first;
	if (hv_present) {
		int64_t n = hv_get_stats(&first);
		if (n < (int64_t)sizeof(first) || first.version != HV_STATS_VERSION || first.nr_reasons != HV_STATS_REASONS)
			panic("HC_GET_STATS returned %lld, version %u, %u reasons", (long long)n, first.version,
			      first.nr_reasons);
		test_boot_exits(&first);
	} else {
		kprintf("no hypervisor: skipping monitor tests\n");
	}
	const uint64_t free_frames = frames_free_count();

	test_boot_state();
	test_cpuid_identity();
	test_exit_cpuid();
	test_exit_msr();
	test_msr_passthrough();
	test_msr_unknown();
	test_msr_cpuid_dependent();
	test_exit_io();
	test_exit_cr();
	test_exit_descriptor_tables();
	test_tss_busy();
	test_exit_misc();
	test_dr7_survives_exits();
	test_accessed_dirty_flags();
	test_smep_smap();
	tests_paging();
	test_no_exit_instructions();
	test_exceptions_in_guest();
	test_null_page();
	test_kernel_demand_paging();
	tests_user();
	test_translate();
	tests_emul();
	tests_apic();
	tests_sched(); /* before tests_smp: its last test keeps an AP */
	tests_smp();

	test_report("no_frame_leak", frames_free_count() == free_frames, "%llu free frames, %llu at the start",
		    (unsigned long long)frames_free_count(), (unsigned long long)free_frames);
	test_all_exits_accounted();

	if (n_skipped)
		kprintf("SUMMARY: %u tests, %u failures, %u skipped\n", n_tests, n_failed, n_skipped);
	else
		kprintf("SUMMARY: %u tests, %u failures\n", n_tests, n_failed);
	return n_failed ? 1 : 0;
}
