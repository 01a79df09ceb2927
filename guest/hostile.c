/*
 * The hostile guest: a seeded stream of random and edge-case privileged
 * operations, each outcome checked against the architecture (Intel SDM) and
 * the monitor's documented contract (docs/hostile-guest.md).
 *
 * Every operation runs in ring 0 with an exception-table fixup, so a fault
 * the monitor reflects lands in trap_dispatch and is recorded in
 * kernel_fault (vector, error code, CR2).  An operation that succeeds where
 * it changes state the kernel relies on (CR0, CR4, XCR0, an MSR, GDTR) is
 * undone by the next instruction of the same asm block.  What the monitor
 * must never do is stop the guest: a stop ends the run with the monitor's
 * status, and guest.trace=1 with the same seed names the operation.
 */
#include <string.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/segment.h>
#include <arch/vmx_state.h>
#include <vmm/format.h>
#include <vmm/hypercall.h>
#include <vmm/vuart.h>
#include "guest/abi.h"
#include "guest/hostile.h"
#include "guest/hv.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/mm.h"
#include "guest/trap.h"

#define DECIMAL_BASE 10
#define MIB_SHIFT 20
#define PROGRESS_EVERY 20000ull /* a progress line (also the watchdog's sign of life) */
#define BAD_LINES_MAX 64        /* BAD lines printed in full; the rest are only counted */

/*
 * Scratch pages, in the kernel half between the identity map (at most
 * KERNEL_MAP_MAX) and the demand region, where no region exists: a guest #PF
 * there is never resolved by demand paging, so it reaches the fixup.
 */
#define SCRATCH_BASE  0x0000002000000000ull /* 128 GiB */
#define SCRATCH_RW    (SCRATCH_BASE + 0 * PAGE_SIZE) /* a frame, read/write */
#define SCRATCH_HOLE  (SCRATCH_BASE + 1 * PAGE_SIZE) /* never mapped: follows SCRATCH_RW */
#define SCRATCH_RO    (SCRATCH_BASE + 2 * PAGE_SIZE) /* a frame, read-only */
#define SCRATCH_ABOVE (SCRATCH_BASE + 3 * PAGE_SIZE) /* remapped to guest-physical addresses above RAM */
#define SCRATCH_SCAN  (SCRATCH_BASE + 4 * PAGE_SIZE) /* hostile_scan's window */
#define SCRATCH_GDT   (SCRATCH_BASE + 5 * PAGE_SIZE) /* a frame: the scratch GDT */
_Static_assert(SCRATCH_BASE >= KERNEL_MAP_MAX && SCRATCH_GDT < KERNEL_DEMAND_BASE, "scratch pages lie in no region");

/* CPUID feature bits the checks need (SDM Vol. 2A CPUID, Tables 3-10, 3-11, and leaf 07H). */
#define CPUID_1_EDX_VME     (1u << 1)
#define CPUID_1_EDX_DE      (1u << 2)
#define CPUID_1_EDX_PSE     (1u << 3)
#define CPUID_1_EDX_TSC     (1u << 4)
#define CPUID_1_EDX_MCE     (1u << 7)
#define CPUID_1_EDX_PGE     (1u << 13)
#define CPUID_1_EDX_FXSR    (1u << 24)
#define CPUID_1_EDX_SSE     (1u << 25)
#define CPUID_1_ECX_MONITOR (1u << 3)
#define CPUID_1_ECX_PCID    (1u << 17)
#define CPUID_1_ECX_X2APIC  (1u << 21)
#define CPUID_7_EBX_FSGSBASE (1u << 0)
#define CPUID_7_EBX_INVPCID (1u << 10)
#define CPUID_7_ECX_UMIP    (1u << 2)
#define CPUID_7_ECX_KL      (1u << 23)
#define CPUID_7_ECX_PKS     (1u << 31)
#define CPUID_7_EDX_UINTR   (1u << 5)
#define CPUID_7_1_EAX_LASS  (1u << 6)
#define CPUID_7_1_EAX_FRED  (1u << 17)
#define CPUID_80000001_EDX_RDTSCP (1u << 27)
#define CPUID_LEAF_PMU      0x0au
#define CPUID_PMU_VERSION(a) ((a) & 0xffu)
#define CPUID_PMU_GP_COUNTERS(a) (((a) >> 8) & 0xffu)
#define CPUID_MAXPHYADDR(a) ((a) & 0xffu)

/* CR4 bits beyond arch/cr.h (SDM Vol. 3A 2.5, Figure 2-7). */
#define CR4_KL      (1ull << 19)
#define CR4_PKE     (1ull << 22)
#define CR4_CET     (1ull << 23)
#define CR4_PKS     (1ull << 24)
#define CR4_UINTR   (1ull << 25)
#define CR4_LASS    (1ull << 27)
#define CR4_LAM_SUP (1ull << 28)
#define CR4_FRED    (1ull << 32)

/* CR0 bits 63:32 are reserved: a 1 there is #GP(0) (SDM Vol. 3A 2.5). */
#define CR0_HIGH_RESERVED (~0ull << 32)
/* CR0 bits 31:0 that are defined (SDM Vol. 3A 2.5, Figure 2-7): the rest are reserved. */
#define CR0_DEFINED (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)
#define CR0_LOW_BITS 32
/* CR8 holds the TPR in bits 3:0; bits 63:4 are reserved (SDM Vol. 3A 11.8.6.1). */
#define CR8_TPR_MASK 0xfull
#define CR3_PWT (1ull << 3)
#define CR3_PCD (1ull << 4)
#define CR3_PCID_NOFLUSH_BIT 63

/* XCR0 components (SDM Vol. 1 13.3) and rules, written here independently of the monitor. */
#define XCR0_X87      (1ull << 0)
#define XCR0_SSE      (1ull << 1)
#define XCR0_AVX      (1ull << 2)
#define XCR0_BNDREGS  (1ull << 3)
#define XCR0_BNDCSR   (1ull << 4)
#define XCR0_AVX512   (7ull << 5)
#define XCR0_TILECFG  (1ull << 17)
#define XCR0_TILEDATA (1ull << 18)

/* EFER bits defined on Intel 64 (SDM Vol. 4 Table 2-2, IA32_EFER): the rest are reserved. */
#define EFER_DEFINED (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)
/* PAT entries: types 2, 3 and 8..255 are reserved (SDM Vol. 3A 13.12.2). */
#define PAT_ENTRY_COUNT 8
#define PAT_ENTRY_BITS 8
#define PAT_TYPE_MASK 0xffu
#define PAT_TYPE_RESERVED_2 2u
#define PAT_TYPE_RESERVED_3 3u
#define PAT_TYPE_MAX 7u
#define MSR_HIGH_DWORD (~0ull << 32)

/* MSR index ranges (SDM Vol. 4 2.1; 0x40000000.. is reserved for hypervisors). */
#define MSR_LOW_LAST      0x1fffu
#define MSR_HV_FIRST      0x40000000u
#define MSR_HV_LAST       0x400000ffu
#define MSR_HIGH_FIRST    0xc0000000u
#define MSR_HIGH_LAST     0xc0001fffu
#define MSR_X2APIC_FIRST  0x800u /* x2APIC MSRs: #GP unless x2APIC mode is on (SDM Vol. 3A 11.12.1.2) */
#define MSR_X2APIC_LAST   0x8ffu
#define MSR_VMX_FIRST     0x480u /* VMX capability MSRs: only with CPUID.1:ECX.VMX (SDM Vol. 3D A.1) */
#define MSR_VMX_LAST      0x493u

/* Port I/O (SDM Vol. 1 19.3; the monitor's port table: vmm/exit/io.c). */
#define PORT_COUNT 0x10000u
#define IO_WIDTHS 3
#define PORT_POST 0x80
#define PORT_PIC_MASTER 0x20
#define PORT_PIC_SLAVE 0xa0
#define PORT_PIT 0x40
#define PIC_PORTS 2
#define PIT_PORTS 4

/* Selectors: index 15:3, TI 2, RPL 1:0; a #GP(selector) error code is the selector with bits 1:0 = 0 (SDM Vol. 3A 6.13). */
#define SELECTOR_ERROR_MASK 0xfffcu
#define DESC_BUSY (1ull << 41)
#define SYS_DESC_UPPER_TYPE_SHIFT 40 /* the upper half's type field: must be 0 in IA-32e mode (SDM Vol. 3A 8.2.3) */
#define DESC_BASE_LOW_SHIFT 16
#define DESC_BASE_MID_SHIFT 56
#define DESC_BASE_LOW_BITS 24
#define DESC_BASE_MID_MASK 0xffull
#define DESC_LIMIT_LOW_MASK 0xffffull
#define SCRATCH_LIMIT 0x67ull

/* VMX and friends: #UD where CPUID hides them (SDM Vol. 3C 31.3, "VMX instruction reference"). */
#define CANONICAL_SIGN_BIT 47

enum hostile_class {
	CLASS_HC,     /* hypercalls: numbers, pointers, lengths */
	CLASS_MSR,    /* RDMSR / WRMSR */
	CLASS_IO,     /* IN / OUT */
	CLASS_STRIO,  /* INS / OUTS, REP, emulated by the monitor */
	CLASS_CR,     /* MOV to CR0/CR3/CR4/CR8, LMSW, MOV CRn with n undefined */
	CLASS_CR0PE,  /* MOV to CR0 clearing PE (a #GP from 64-bit mode) */
	CLASS_XCR,    /* XSETBV / XGETBV */
	CLASS_DT,     /* LGDT/LIDT/SGDT/SIDT/LLDT/LTR */
	CLASS_INV,    /* INVLPG / INVPCID */
	CLASS_VMX,    /* VMX instructions, GETSEC, MONITOR/MWAIT, RDPMC, CPUID */
	CLASS_COUNT
};

static const char *const class_names[CLASS_COUNT] = {
	[CLASS_HC] = "hc", [CLASS_MSR] = "msr", [CLASS_IO] = "io", [CLASS_STRIO] = "strio", [CLASS_CR] = "cr", [CLASS_CR0PE] = "cr0pe",
	[CLASS_XCR] = "xcr", [CLASS_DT] = "dt", [CLASS_INV] = "inv", [CLASS_VMX] = "vmx",
};
#define CLASSES_DEFAULT ((1u << CLASS_COUNT) - 1)

static struct {
	uint64_t seed, ops;
	unsigned classes;
	bool trace;
} opt = { .seed = 1, .ops = HOSTILE_OPS_DEFAULT, .classes = CLASSES_DEFAULT };

struct class_stats {
	uint64_t ops, ok, faulted, bad;
};
static struct class_stats stats[CLASS_COUNT];
static uint64_t bad_total;

/* What the CPU (as CPUID describes it to the guest) offers: the reference for the checks. */
static struct {
	struct cpuid_regs f1, f7, f7_1, x1, pmu;
	uint64_t xcr0_supported;
	unsigned maxphyaddr;
} cpu;

/* ---- the PRNG: splitmix64 (Steele, Lea, Flood 2014), one 64-bit state ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }
static bool rnd_chance(unsigned one_in) { return rnd_below(one_in) == 0; }

/* A non-canonical address: bits 63:47 not all equal (SDM Vol. 1 3.3.7.1). */
static uint64_t rnd_noncanonical(void)
{
	for (;;) {
		uint64_t a = rnd();
		if (!is_canonical(a))
			return a;
		a ^= 1ull << (CANONICAL_SIGN_BIT + 1 + rnd_below(64 - CANONICAL_SIGN_BIT - 1));
		if (!is_canonical(a))
			return a;
	}
}

/* ---- outcomes ---- */

struct outcome {
	bool fault;
	uint64_t vector, error, cr2;
};

enum expect_kind {
	EXPECT_OK,       /* no exception */
	EXPECT_FAULT,    /* this vector and error code (and CR2 for #PF) */
	EXPECT_OK_OR_GP, /* either (an MSR the architecture does not define): never a stop */
	EXPECT_ANY,      /* any exception or none: only a stop would be wrong */
};

struct expect {
	enum expect_kind kind;
	uint64_t vector, error, cr2;
};

static const struct expect OK = { EXPECT_OK, 0, 0, 0 };
static const struct expect OK_OR_GP = { EXPECT_OK_OR_GP, 0, 0, 0 };
static struct expect fault(uint64_t vector, uint64_t error) { return (struct expect){ EXPECT_FAULT, vector, error, 0 }; }
static struct expect gp(uint64_t error) { return fault(VECTOR_GP, error); }
static struct expect page_fault(uint64_t error, uint64_t cr2) { return (struct expect){ EXPECT_FAULT, VECTOR_PF, error, cr2 }; }
static const struct expect UD = { EXPECT_FAULT, VECTOR_UD, 0, 0 };

/* The operation being run, for its BAD line. */
static struct {
	uint64_t index;
	enum hostile_class cls;
	const char *what;
	uint64_t a, b;
	bool open, faulted, bad; /* the verdict so far: one per operation, however many checks */
} cur;

static uint64_t fault_mark;
static void fault_begin(void) { fault_mark = kernel_fault.count; }

static struct outcome fault_end(void)
{
	struct outcome o = { kernel_fault.count != fault_mark, 0, 0, 0 };
	if (o.fault) {
		o.vector = kernel_fault.vector;
		o.error = kernel_fault.error_code;
		o.cr2 = kernel_fault.cr2;
	}
	return o;
}

/* Exceptions without an error code push none (SDM Vol. 3A 6.13): the stub's 0 is not compared. */
static bool vector_has_error_code(uint64_t v)
{
	return v == VECTOR_DF || v == VECTOR_TS || v == VECTOR_NP || v == VECTOR_SS || v == VECTOR_GP ||
	       v == VECTOR_PF || v == VECTOR_AC || v == VECTOR_CP;
}

static void format_outcome(char *buf, size_t n, bool fault, uint64_t vector, uint64_t error, uint64_t cr2)
{
	if (!fault)
		hv_snprintf(buf, n, "no exception");
	else if (vector == VECTOR_PF)
		hv_snprintf(buf, n, "%s error %#llx cr2 %#llx", exception_vector_name(vector), (unsigned long long)error,
			 (unsigned long long)cr2);
	else if (vector_has_error_code(vector))
		hv_snprintf(buf, n, "%s error %#llx", exception_vector_name(vector), (unsigned long long)error);
	else
		hv_snprintf(buf, n, "%s", exception_vector_name(vector));
}

static void report_bad(const char *expected, const char *got)
{
	cur.bad = true;
	if (++bad_total > BAD_LINES_MAX)
		return;
	kprintf("BAD: seed %llu op #%llu [%s] %s (%#llx, %#llx): expected %s, got %s\n", (unsigned long long)opt.seed,
		(unsigned long long)cur.index, class_names[cur.cls], cur.what, (unsigned long long)cur.a,
		(unsigned long long)cur.b, expected, got);
}

/* Compare an outcome with the expectation; true when it matched. */
static bool check(struct expect e, struct outcome o)
{
	bool good;
	switch (e.kind) {
	case EXPECT_OK: good = !o.fault; break;
	case EXPECT_OK_OR_GP: good = !o.fault || (o.vector == VECTOR_GP && o.error == 0); break;
	case EXPECT_ANY: good = true; break;
	default:
		good = o.fault && o.vector == e.vector && (!vector_has_error_code(e.vector) || o.error == e.error) &&
		       (e.vector != VECTOR_PF || o.cr2 == e.cr2);
		break;
	}
	cur.faulted = cur.faulted || o.fault;
	if (good)
		return true;
	char want[96], got[96];
	if (e.kind == EXPECT_OK_OR_GP)
		hv_snprintf(want, sizeof(want), "no exception or #GP(0)");
	else
		format_outcome(want, sizeof(want), e.kind == EXPECT_FAULT, e.vector, e.error, e.cr2);
	format_outcome(got, sizeof(got), o.fault, o.vector, o.error, o.cr2);
	report_bad(want, got);
	return false;
}

/* A value check after an operation that did not fault. */
static void check_value(const char *what, uint64_t want, uint64_t got)
{
	if (want == got)
		return;
	char w[64], g[64];
	hv_snprintf(w, sizeof(w), "%s %#llx", what, (unsigned long long)want);
	hv_snprintf(g, sizeof(g), "%s %#llx", what, (unsigned long long)got);
	report_bad(w, g);
}

/* An operation that succeeded was undone by a second instruction; that one must not fault. */
static void check_restore(struct outcome o, uint64_t first_rip)
{
	if (o.fault && kernel_fault.rip != first_rip)
		report_bad("the restoring instruction to succeed", "it faulted");
}

/* Count the verdict of the operation that ran last. */
static void finish(void)
{
	if (!cur.open)
		return;
	struct class_stats *st = &stats[cur.cls];
	if (cur.bad)
		st->bad++;
	else if (cur.faulted)
		st->faulted++;
	else
		st->ok++;
	cur.open = false;
}

static void begin(enum hostile_class cls, const char *what, uint64_t a, uint64_t b)
{
	finish();
	cur.open = true;
	cur.faulted = cur.bad = false;
	cur.cls = cls;
	cur.what = what;
	cur.a = a;
	cur.b = b;
	stats[cls].ops++;
	if (opt.trace)
		kprintf("op #%llu [%s] %s (%#llx, %#llx)\n", (unsigned long long)cur.index, class_names[cls], what,
			(unsigned long long)a, (unsigned long long)b);
}

/* ---- scratch pages ---- */

static uint64_t rw_frame, ro_frame, gdt_frame;

static bool map_scratch(void)
{
	rw_frame = frame_alloc();
	ro_frame = frame_alloc();
	gdt_frame = frame_alloc();
	if (!rw_frame || !ro_frame || !gdt_frame)
		return false;
	return pt_map(kernel_aspace.cr3, SCRATCH_RW, rw_frame, PTE_W | PTE_NX * nx_enabled) == 0 &&
	       pt_map(kernel_aspace.cr3, SCRATCH_RO, ro_frame, PTE_NX * nx_enabled) == 0 &&
	       pt_map(kernel_aspace.cr3, SCRATCH_GDT, gdt_frame, PTE_W | PTE_NX * nx_enabled) == 0 &&
	       pt_map(kernel_aspace.cr3, SCRATCH_ABOVE, boot_config.guest_mem, PTE_W | PTE_NX * nx_enabled) == 0;
}

/* Point SCRATCH_ABOVE at guest-physical gpa (never accessed by the guest: only named in hypercalls). */
static void remap_above(uint64_t gpa)
{
	uint64_t *e = pt_leaf_entry(kernel_aspace.cr3, SCRATCH_ABOVE);
	*e = (gpa & PTE_ADDR_MASK) | PTE_P | PTE_W | PTE_NX * nx_enabled;
	invlpg(SCRATCH_ABOVE);
}

/* True when [va, va + n) is mapped writable to guest RAM in the kernel's tables. */
static bool guest_buffer_ok(uint64_t va, uint64_t n, bool write)
{
	if (!n)
		return true;
	if (va + n < va || !is_canonical(va) || !is_canonical(va + n - 1))
		return false;
	for (uint64_t p = ALIGN_DOWN(va, PAGE_SIZE); p < va + n; p += PAGE_SIZE) {
		struct pt_walk w;
		if (!pt_lookup(kernel_aspace.cr3, p, &w) || w.pa >= boot_config.guest_mem || (write && !(w.pte & PTE_W)))
			return false;
	}
	return true;
}

/* ---- class hc: hypercalls (ABI: vmm/include/vmm/hypercall.h) ---- */

static struct hv_stats stats_buf;

/* A guest-physical page above guest RAM and below MAXPHYADDR. */
static uint64_t rnd_gpa_above_ram(void)
{
	return boot_config.guest_mem + ALIGN_DOWN(rnd_below((1ull << cpu.maxphyaddr) - boot_config.guest_mem), PAGE_SIZE);
}

/* A guest-virtual pointer no hypercall may write through (and whose bytes must stay as they are). */
static uint64_t bad_pointer(uint64_t size)
{
	switch (rnd_below(10)) {
	case 0: return rnd_below(PAGE_SIZE);                             /* the null page, unmapped */
	case 1: return SCRATCH_HOLE + rnd_below(PAGE_SIZE);              /* not present */
	case 2: return SCRATCH_RW + PAGE_SIZE - 1 - rnd_below(size - 1); /* runs into the hole */
	case 3: return SCRATCH_RO + rnd_below(PAGE_SIZE);                /* read-only */
	case 4: return rnd_noncanonical();
	case 5: return ~0ull - rnd_below(size);                          /* wraps around */
	case 6: return boot_config.guest_mem + rnd_below(PAGE_SIZE);     /* above RAM: not mapped by the kernel */
	case 7: return USER_BASE + rnd_below(USER_END - USER_BASE);      /* an empty user half */
	case 8: remap_above(rnd_gpa_above_ram());
		return SCRATCH_ABOVE + rnd_below(PAGE_SIZE);             /* mapped, to memory above RAM */
	default: return rnd();
	}
}

static uint64_t checksum_frames(void)
{
	uint64_t sum = 0;
	const uint64_t *rw = phys_to_virt(rw_frame), *ro = phys_to_virt(ro_frame);
	for (unsigned i = 0; i < PAGE_SIZE / sizeof(uint64_t); i++)
		sum = sum * 31 + rw[i] + ro[i] * 7;
	return sum;
}

static void fill_frames(void)
{
	uint64_t *rw = phys_to_virt(rw_frame), *ro = phys_to_virt(ro_frame);
	for (unsigned i = 0; i < PAGE_SIZE / sizeof(uint64_t); i++) {
		rw[i] = rnd();
		ro[i] = rnd();
	}
}

static void check_result(const char *what, int64_t want, int64_t got)
{
	if (want != got) {
		char w[64], g[64];
		hv_snprintf(w, sizeof(w), "%s %lld", what, (long long)want);
		hv_snprintf(g, sizeof(g), "%s %lld", what, (long long)got);
		report_bad(w, g);
	}
}

static void op_hypercall(void)
{
	const uint64_t stats_size = sizeof(struct hv_stats);
	switch (rnd_below(5)) {
	case 0: { /* an unknown number (0 included), also one whose low 32 bits name a real call */
		uint64_t nr = rnd_chance(2) ? rnd_below(1ull << 32) : (rnd() << 32) | (HC_BASE + rnd_below(HC_COUNT));
		if (nr >= HC_BASE && nr < HC_BASE + HC_COUNT)
			nr |= 1ull << 32;
		begin(CLASS_HC, "VMCALL unknown number", nr, 0);
		check_result("RAX", HC_ERR_UNKNOWN_CALL, hv_call_raw(nr, rnd(), rnd(), rnd()));
		break;
	}
	case 1: { /* GET_STATS through a bad pointer: refused, nothing written */
		uint64_t p = bad_pointer(stats_size), size = stats_size + (rnd_chance(2) ? 0 : rnd_below(1ull << 40));
		if (guest_buffer_ok(p, stats_size, true))
			p = SCRATCH_HOLE;
		const bool on_scratch = p >= SCRATCH_RW && p < SCRATCH_ABOVE;
		const uint64_t sum = on_scratch ? checksum_frames() : 0;
		begin(CLASS_HC, "GET_STATS bad buffer", p, size);
		check_result("RAX", HC_ERR_BAD_POINTER, hv_call_raw(HC_GET_STATS, p, size, rnd()));
		if (on_scratch) {
			check_value("scratch checksum", sum, checksum_frames());
			fill_frames();
		}
		break;
	}
	case 2: { /* GET_STATS with a short size: refused before the pointer is looked at, or after */
		uint64_t size = rnd_below(stats_size);
		uint64_t p = rnd_chance(2) ? (uint64_t)(uintptr_t)&stats_buf : bad_pointer(stats_size);
		begin(CLASS_HC, "GET_STATS short size", p, size);
		int64_t r = hv_call_raw(HC_GET_STATS, p, size, rnd());
		if (r == HC_ERR_BAD_POINTER && !guest_buffer_ok(p, stats_size, true))
			r = HC_ERR_BAD_ARGUMENT; /* either error is the ABI's answer for two bad arguments */
		check_result("RAX", HC_ERR_BAD_ARGUMENT, r);
		break;
	}
	case 3: { /* GET_STATS into good memory, at any offset of the RW scratch page or the kernel's buffer */
		uint64_t p = rnd_chance(2) ? (uint64_t)(uintptr_t)&stats_buf
					   : SCRATCH_RW + rnd_below(PAGE_SIZE - stats_size + 1);
		begin(CLASS_HC, "GET_STATS good buffer", p, stats_size);
		int64_t r = hv_call_raw(HC_GET_STATS, p, stats_size + rnd_below(PAGE_SIZE), rnd());
		check_result("RAX", (int64_t)stats_size, r);
		const struct hv_stats *s = (const struct hv_stats *)(uintptr_t)p;
		uint32_t version, nr;
		memcpy(&version, &s->version, sizeof(version));
		memcpy(&nr, &s->nr_reasons, sizeof(nr));
		if (r == (int64_t)stats_size)
			check_result("version/reasons", HV_STATS_VERSION * 1000 + HV_STATS_REASONS, version * 1000 + nr);
		break;
	}
	default: { /* TRANSLATE of any address, into a good or a bad buffer */
		uint64_t gva;
		switch (rnd_below(6)) {
		case 0: gva = rnd_below(boot_config.guest_mem); break;
		case 1: gva = rnd_noncanonical(); break;
		case 2: gva = SCRATCH_BASE + rnd_below(4 * PAGE_SIZE); break;
		case 3: gva = rnd_below(PAGE_SIZE); break;
		case 4: remap_above(rnd_gpa_above_ram());
			gva = SCRATCH_ABOVE + rnd_below(PAGE_SIZE);
			break;
		default: gva = rnd(); break;
		}
		const bool good_out = rnd_below(4) != 0;
		struct hv_translation *t = (struct hv_translation *)(uintptr_t)SCRATCH_RW;
		uint64_t out = good_out ? SCRATCH_RW : bad_pointer(sizeof(*t));
		if (!good_out && guest_buffer_ok(out, sizeof(*t), true))
			out = SCRATCH_HOLE;
		struct pt_walk w;
		const bool mapped = is_canonical(gva) && pt_lookup(kernel_aspace.cr3, gva, &w) && w.pa < boot_config.guest_mem;
		begin(CLASS_HC, good_out ? "TRANSLATE" : "TRANSLATE bad buffer", gva, out);
		int64_t r = hv_call_raw(HC_TRANSLATE, gva, out, rnd());
		int64_t want = !mapped ? HC_ERR_NOT_MAPPED : good_out ? 0 : HC_ERR_BAD_POINTER;
		if (!mapped && !good_out && r == HC_ERR_BAD_POINTER)
			want = r; /* two bad arguments: either error */
		check_result("RAX", want, r);
		if (r == 0 && want == 0)
			check_value("gpa", w.pa, t->gpa);
		break;
	}
	}
}

/* ---- class msr ---- */

static bool msr_defined_readable(uint32_t i)
{
	switch (i) {
	case MSR_IA32_EFER: case MSR_IA32_STAR: case MSR_IA32_LSTAR: case MSR_IA32_CSTAR: case MSR_IA32_FMASK:
	case MSR_IA32_FS_BASE: case MSR_IA32_GS_BASE: case MSR_IA32_KERNEL_GS_BASE:
	case MSR_IA32_SYSENTER_CS: case MSR_IA32_SYSENTER_ESP: case MSR_IA32_SYSENTER_EIP:
		return true; /* every Intel 64 CPU (SDM Vol. 4 Table 2-2) */
	case MSR_IA32_PAT: return cpu.f1.edx & CPUID_1_EDX_PAT;
	case MSR_IA32_TIME_STAMP_COUNTER: return cpu.f1.edx & CPUID_1_EDX_TSC;
	case MSR_IA32_TSC_AUX: return cpu.x1.edx & CPUID_80000001_EDX_RDTSCP;
	case MSR_IA32_MTRRCAP: case MSR_IA32_MTRR_DEF_TYPE: return cpu.f1.edx & CPUID_1_EDX_MTRR;
	case MSR_IA32_MISC_ENABLE: return true; /* architectural since family 0F (SDM Vol. 4 Table 2-2) */
	default: return false;
	}
}

/* MSRs whose writes must be canonical addresses (SDM Vol. 2B WRMSR, Vol. 4 Table 2-2). */
static bool msr_holds_address(uint32_t i)
{
	return i == MSR_IA32_LSTAR || i == MSR_IA32_CSTAR || i == MSR_IA32_SYSENTER_ESP || i == MSR_IA32_SYSENTER_EIP ||
	       i == MSR_IA32_FS_BASE || i == MSR_IA32_GS_BASE || i == MSR_IA32_KERNEL_GS_BASE;
}

static bool pat_valid(uint64_t pat)
{
	for (unsigned e = 0; e < PAT_ENTRY_COUNT; e++) {
		unsigned t = (pat >> (e * PAT_ENTRY_BITS)) & PAT_TYPE_MASK;
		if (t == PAT_TYPE_RESERVED_2 || t == PAT_TYPE_RESERVED_3 || t > PAT_TYPE_MAX)
			return false;
	}
	return true;
}

/* What a WRMSR of a readable MSR must do by the architecture alone. */
static struct expect wrmsr_expect(uint32_t i, uint64_t value)
{
	if (msr_holds_address(i) && !is_canonical(value))
		return gp(0);
	if (i == MSR_IA32_EFER && (value & ~EFER_DEFINED))
		return gp(0);
	if (i == MSR_IA32_PAT && !pat_valid(value))
		return gp(0);
	if ((i == MSR_IA32_TSC_AUX || i == MSR_IA32_FMASK) && (value & MSR_HIGH_DWORD))
		return gp(0);
	if (i == MSR_IA32_MTRRCAP)
		return gp(0); /* read-only */
	if ((i >= MSR_X2APIC_FIRST && i <= MSR_X2APIC_LAST && !(cpu.f1.ecx & CPUID_1_ECX_X2APIC)) ||
	    (i >= MSR_VMX_FIRST && i <= MSR_VMX_LAST && !(cpu.f1.ecx & CPUID_1_ECX_VMX)))
		return gp(0);
	return OK_OR_GP;
}

static struct expect rdmsr_expect(uint32_t i)
{
	if (msr_defined_readable(i))
		return OK;
	if ((i >= MSR_X2APIC_FIRST && i <= MSR_X2APIC_LAST && !(cpu.f1.ecx & CPUID_1_ECX_X2APIC)) ||
	    (i >= MSR_VMX_FIRST && i <= MSR_VMX_LAST && !(cpu.f1.ecx & CPUID_1_ECX_VMX)))
		return gp(0);
	return OK_OR_GP;
}

/* RDMSR uses ECX only: RCX[63:32] are ignored (SDM Vol. 2B RDMSR). */
static struct outcome try_rdmsr(uint64_t rcx, uint64_t *value)
{
	uint32_t lo = 0, hi = 0;
	fault_begin();
	__asm__ volatile("1: rdmsr\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") : "+a"(lo), "+d"(hi) : "c"(rcx) : "memory");
	*value = ((uint64_t)hi << 32) | lo;
	return fault_end();
}

/* WRMSR value, then (if it succeeded) WRMSR old: the kernel never runs with the random value. */
static struct outcome try_wrmsr_restore(uint64_t rcx, uint64_t value, uint64_t old, uint64_t *first_rip)
{
	uint32_t lo = (uint32_t)value, hi = (uint32_t)(value >> 32);
	fault_begin();
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "1: wrmsr\n\t"
			 "mov %[olo], %%eax\n\t"
			 "mov %[ohi], %%edx\n\t"
			 "2: wrmsr\n3:\n\t" EX_TABLE_ENTRY("1b", "3b") EX_TABLE_ENTRY("2b", "3b")
			 : "=&r"(*first_rip), "+a"(lo), "+d"(hi)
			 : "c"(rcx), [olo] "r"((uint32_t)old), [ohi] "r"((uint32_t)(old >> 32))
			 : "memory");
	return fault_end();
}

/* The next index of the sweep over 0..0x1fff, the hypervisor range and 0xc0000000..0xc0001fff. */
static uint32_t msr_sweep_next(void)
{
	static uint64_t n;
	const uint64_t low = MSR_LOW_LAST + 1, hv = MSR_HV_LAST - MSR_HV_FIRST + 1, high = MSR_HIGH_LAST - MSR_HIGH_FIRST + 1;
	uint64_t k = n++ % (low + hv + high);
	if (k < low)
		return (uint32_t)k;
	if (k < low + hv)
		return (uint32_t)(MSR_HV_FIRST + k - low);
	return (uint32_t)(MSR_HIGH_FIRST + k - low - hv);
}

static uint64_t msr_value(uint32_t index, uint64_t old, bool readable)
{
	switch (rnd_below(7)) {
	case 0: return 0;
	case 1: return ~0ull;
	case 2: return rnd_noncanonical();
	case 3: return readable ? old ^ (1ull << rnd_below(64)) : rnd();
	case 4: return readable ? old : rnd();
	case 5: return index == MSR_IA32_PAT ? old ^ (1ull << rnd_below(64)) : rnd() & 0xffffffffull;
	default: return rnd();
	}
}

static void op_msr(void)
{
	uint32_t index;
	switch (rnd_below(4)) {
	case 0: case 1: index = msr_sweep_next(); break;
	case 2: index = (uint32_t)rnd(); break;
	default: {
		static const uint32_t known[] = {
			MSR_IA32_EFER, MSR_IA32_STAR, MSR_IA32_LSTAR, MSR_IA32_CSTAR, MSR_IA32_FMASK, MSR_IA32_FS_BASE,
			MSR_IA32_GS_BASE, MSR_IA32_KERNEL_GS_BASE, MSR_IA32_TSC_AUX, MSR_IA32_PAT,
			MSR_IA32_TIME_STAMP_COUNTER, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
			MSR_IA32_MTRRCAP, MSR_IA32_MTRR_DEF_TYPE, MSR_IA32_FEATURE_CONTROL, MSR_IA32_MISC_ENABLE,
			MSR_IA32_APIC_BASE, MSR_IA32_DEBUGCTL, MSR_IA32_SPEC_CTRL, MSR_IA32_VMX_BASIC,
		};
		index = known[rnd_below(ARRAY_SIZE(known))];
		break;
	}
	}
	/* The EFER bits the kernel runs on (LME, NXE, SCE) never change: only reserved bits are tried. */
	const uint64_t rcx = rnd_chance(4) ? (rnd() << 32) | index : index;
	uint64_t old = 0, rip;
	begin(CLASS_MSR, "RDMSR", rcx, 0);
	struct outcome o = try_rdmsr(rcx, &old);
	const bool readable = !o.fault;
	check(rdmsr_expect(index), o);

	uint64_t value = msr_value(index, old, readable);
	if (index == MSR_IA32_EFER)
		value = old | (rnd_chance(2) ? 0 : (1ull << rnd_below(64)) & ~EFER_DEFINED);
	if (!readable && msr_defined_readable(index))
		return; /* already BAD; a write could not be undone */
	begin(CLASS_MSR, "WRMSR", rcx, value);
	struct expect e = wrmsr_expect(index, value);
	if (!readable && e.kind != EXPECT_FAULT)
		return; /* an unreadable MSR the architecture does not define: a write could not be undone */
	o = try_wrmsr_restore(rcx, value, old, &rip);
	if (index == MSR_IA32_EFER && value == old)
		e = OK;
	check(e, o);
	check_restore(o, rip);
}

/* ---- class io ---- */

enum port_kind { PORT_VUART, PORT_ABSENT_DEVICE, PORT_UNCLAIMED };

static enum port_kind port_kind(uint32_t port)
{
	if (port >= VUART_BASE && port < VUART_BASE + VUART_PORTS)
		return PORT_VUART;
	if ((port >= PORT_PIC_MASTER && port < PORT_PIC_MASTER + PIC_PORTS) ||
	    (port >= PORT_PIC_SLAVE && port < PORT_PIC_SLAVE + PIC_PORTS) ||
	    (port >= PORT_PIT && port < PORT_PIT + PIT_PORTS) || port == PORT_POST)
		return PORT_ABSENT_DEVICE;
	return PORT_UNCLAIMED;
}

static bool touches_vuart(uint32_t port, unsigned width)
{
	return port + width > VUART_BASE && port < VUART_BASE + VUART_PORTS;
}

/* What IN of `width` bytes at `port` reads: byte i from port + i (no vUART byte among them). */
static uint64_t expected_in(uint32_t port, unsigned width)
{
	uint64_t value = 0;
	for (unsigned b = 0; b < width; b++)
		if (port_kind(port + b) == PORT_UNCLAIMED)
			value |= 0xffull << (b * 8);
	return value;
}

static struct outcome try_in(uint16_t port, unsigned width, uint64_t *rax)
{
	fault_begin();
	if (width == 1)
		__asm__ volatile("1: inb %%dx, %%al\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") : "+a"(*rax) : "d"(port) : "memory");
	else if (width == 2)
		__asm__ volatile("1: inw %%dx, %%ax\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") : "+a"(*rax) : "d"(port) : "memory");
	else
		__asm__ volatile("1: inl %%dx, %%eax\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") : "+a"(*rax) : "d"(port) : "memory");
	return fault_end();
}

static struct outcome try_out(uint16_t port, unsigned width, uint64_t rax)
{
	fault_begin();
	if (width == 1)
		__asm__ volatile("1: outb %%al, %%dx\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"a"(rax), "d"(port) : "memory");
	else if (width == 2)
		__asm__ volatile("1: outw %%ax, %%dx\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"a"(rax), "d"(port) : "memory");
	else
		__asm__ volatile("1: outl %%eax, %%dx\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"a"(rax), "d"(port) : "memory");
	return fault_end();
}

static void op_io(void)
{
	static const unsigned widths[IO_WIDTHS] = { 1, 2, 4 };
	static uint64_t sweep;
	uint32_t port;
	unsigned width;
	if (rnd_chance(2)) { /* the sweep: every port at every width, IN then OUT */
		port = (uint32_t)(sweep % PORT_COUNT);
		width = widths[(sweep / PORT_COUNT) % IO_WIDTHS];
		sweep++;
	} else {
		port = (uint32_t)rnd_below(PORT_COUNT);
		width = widths[rnd_below(IO_WIDTHS)];
	}
	const uint64_t mask = width == 4 ? 0xffffffffull : (1ull << (width * 8)) - 1;
	uint64_t rax = rnd(), before = rax;
	begin(CLASS_IO, "IN port/width", port, width);
	if (check(OK, try_in((uint16_t)port, width, &rax))) {
		/* IN writes AL/AX, leaving the rest of RAX; IN EAX zero-extends (SDM Vol. 1 3.4.1.1). */
		const uint64_t kept = width == 4 ? 0 : before & ~mask;
		check_value("RAX outside the operand", kept, rax & ~mask);
		/* Each byte comes from its own port (vmm/exit/io.c): an absent device reads 0, an unclaimed port all ones. */
		if (!touches_vuart(port, width) && port + width <= PORT_COUNT)
			check_value("IN value (per-byte port table)", expected_in(port, width), rax & mask);
	}
	if (touches_vuart(port, width))
		return; /* writes there would print on the guest's console */
	begin(CLASS_IO, "OUT port/width", port, width);
	check(OK, try_out((uint16_t)port, width, rnd()));
}

/* ---- class strio: INS / OUTS (SDM Vol. 2A INS, Vol. 2B OUTS) ---- */

static void op_strio(void)
{
	uint16_t port;
	do
		port = (uint16_t)rnd();
	while (touches_vuart(port, sizeof(uint32_t)) || port + sizeof(uint32_t) > PORT_COUNT);
	/* REP with 0..15 bytes, DF = 0 (the kernel's ABI): the whole run stays inside the scratch page. */
	const uint64_t count = rnd_below(16);
	uint64_t rdi = SCRATCH_RW + rnd_below(PAGE_SIZE - 16), start = rdi, rcx = count;
	volatile uint8_t *buf = (volatile uint8_t *)(uintptr_t)start;
	if (rnd_chance(2)) {
		for (unsigned i = 0; i < 16; i++)
			buf[i] = 0x5a;
		begin(CLASS_STRIO, "REP INSB port, [rdi]", port, count);
		fault_begin();
		__asm__ volatile("1: rep insb\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") : "+D"(rdi), "+c"(rcx) : "d"(port) : "memory");
		if (check(OK, fault_end())) {
			check_value("RDI after REP INSB", start + count, rdi);
			check_value("RCX after REP INSB", 0, rcx);
			for (unsigned i = 0; i < count; i++)
				check_value("byte read by INSB", expected_in(port, 1), buf[i]);
			if (count < 16)
				check_value("byte after the INSB run", 0x5a, buf[count]);
		}
	} else {
		uint64_t rsi = rdi;
		begin(CLASS_STRIO, "REP OUTSB port, [rsi]", port, count);
		fault_begin();
		__asm__ volatile("1: rep outsb\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") : "+S"(rsi), "+c"(rcx) : "d"(port) : "memory");
		if (check(OK, fault_end())) {
			check_value("RSI after REP OUTSB", start + count, rsi);
			check_value("RCX after REP OUTSB", 0, rcx);
		}
	}
}

/* ---- class cr ---- */

/* MOV to CRn of value, read back, then MOV of old (when the first one succeeded). */
#define DEFINE_TRY_CR(n)                                                                                      \
	static struct outcome try_cr##n(uint64_t value, uint64_t old, uint64_t *readback, uint64_t *first_rip)   \
	{                                                                                                     \
		fault_begin();                                                                                \
		__asm__ volatile("lea 1f(%%rip), %0\n\t"                                                      \
				 "1: mov %2, %%cr" #n "\n\t"                                                  \
				 "mov %%cr" #n ", %1\n\t"                                                     \
				 "2: mov %3, %%cr" #n "\n3:\n\t" EX_TABLE_ENTRY("1b", "3b") EX_TABLE_ENTRY("2b", "3b") \
				 : "=&r"(*first_rip), "=&r"(*readback)                                        \
				 : "r"(value), "r"(old)                                                       \
				 : "memory");                                                                 \
		return fault_end();                                                                           \
	}
DEFINE_TRY_CR(0)
DEFINE_TRY_CR(3)
DEFINE_TRY_CR(4)
DEFINE_TRY_CR(8)

static uint64_t read_cr8(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

/* A CR4 bit, and whether CPUID (as the guest sees it) offers its feature (SDM Vol. 3A 2.5, Table 2-?). */
struct cr4_bit {
	uint64_t bit;
	const char *name;
	bool toggle_ok; /* flipping it for one instruction is harmless to this kernel */
};

static bool cr4_supported(uint64_t bit)
{
	switch (bit) {
	case CR4_VME: case CR4_PVI: return cpu.f1.edx & CPUID_1_EDX_VME;
	case CR4_TSD: return cpu.f1.edx & CPUID_1_EDX_TSC;
	case CR4_DE: return cpu.f1.edx & CPUID_1_EDX_DE;
	case CR4_PSE: return cpu.f1.edx & CPUID_1_EDX_PSE;
	case CR4_PAE: return cpu.f1.edx & CPUID_1_EDX_PAE;
	case CR4_MCE: return cpu.f1.edx & CPUID_1_EDX_MCE;
	case CR4_PGE: return cpu.f1.edx & CPUID_1_EDX_PGE;
	case CR4_PCE: return true;
	case CR4_OSFXSR: return cpu.f1.edx & CPUID_1_EDX_FXSR;
	case CR4_OSXMMEXCPT: return cpu.f1.edx & CPUID_1_EDX_SSE;
	case CR4_UMIP: return cpu.f7.ecx & CPUID_7_ECX_UMIP;
	case CR4_LA57: return cpu.f7.ecx & CPUID_7_ECX_LA57;
	case CR4_VMXE: return cpu.f1.ecx & CPUID_1_ECX_VMX;
	case CR4_SMXE: return cpu.f1.ecx & CPUID_1_ECX_SMX;
	case CR4_FSGSBASE: return cpu.f7.ebx & CPUID_7_EBX_FSGSBASE;
	case CR4_PCIDE: return cpu.f1.ecx & CPUID_1_ECX_PCID;
	case CR4_OSXSAVE: return cpu.f1.ecx & CPUID_1_ECX_XSAVE;
	case CR4_KL: return cpu.f7.ecx & CPUID_7_ECX_KL;
	case CR4_SMEP: return cpu.f7.ebx & CPUID_7_EBX_SMEP;
	case CR4_SMAP: return cpu.f7.ebx & CPUID_7_EBX_SMAP;
	case CR4_PKE: return cpu.f7.ecx & CPUID_7_ECX_PKU;
	case CR4_CET: return (cpu.f7.ecx & CPUID_7_ECX_CET_SS) || (cpu.f7.edx & CPUID_7_EDX_CET_IBT);
	case CR4_PKS: return cpu.f7.ecx & CPUID_7_ECX_PKS;
	case CR4_UINTR: return cpu.f7.edx & CPUID_7_EDX_UINTR;
	case CR4_LASS: return cpu.f7_1.eax & CPUID_7_1_EAX_LASS;
	case CR4_LAM_SUP: return cpu.f7_1.eax & CPUID_7_1_EAX_LAM;
	case CR4_FRED: return cpu.f7_1.eax & CPUID_7_1_EAX_FRED;
	default: return false; /* a reserved bit */
	}
}

/*
 * What MOV to CR4 of cr4 ^ bit must do from this kernel's state (64-bit mode, paging on,
 * CR3[11:0] = 0): #GP(0) for an unsupported or reserved bit, for clearing PAE or changing
 * LA57 in IA-32e mode, for CET without CR0.WP (SDM Vol. 2A MOV-CR, Vol. 3A 2.5).
 */
static struct expect cr4_expect(uint64_t cr4, uint64_t bit, bool *harmless)
{
	*harmless = false;
	if (!cr4_supported(bit) && !(cr4 & bit))
		return gp(0);
	if (bit == CR4_PAE || bit == CR4_LA57)
		return gp(0);
	/* Harmless for one instruction in this kernel (no SSE, no user pages, no PKU, ...). */
	static const uint64_t harmless_bits = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_MCE | CR4_PGE |
					      CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_UMIP | CR4_FSGSBASE |
					      CR4_PCIDE | CR4_OSXSAVE | CR4_KL | CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_CET |
					      CR4_PKS | CR4_UINTR | CR4_LASS | CR4_LAM_SUP;
	*harmless = (bit & harmless_bits) != 0;
	if (bit == CR4_PCIDE && !(cr4 & bit) && (read_cr3() & ~PAGE_MASK))
		return gp(0);
	if (bit == CR4_CET && !(cr4 & bit) && !(read_cr0() & CR0_WP))
		return gp(0);
	return OK;
}

static void op_cr(void)
{
	const uint64_t cr0 = read_cr0(), cr4 = read_cr4();
	uint64_t rb = 0, rip = 0, value;
	struct outcome o;
	switch (rnd_below(12)) {
	case 0: /* CR0[63:32] */
		value = cr0 | (1ull << (CR0_LOW_BITS + rnd_below(CR0_LOW_BITS)));
		begin(CLASS_CR, "MOV CR0 reserved bit 63:32", value, cr0);
		o = try_cr0(value, cr0, &rb, &rip);
		check(gp(0), o), check_restore(o, rip);
		break;
	case 1: case 2: /* NW without CD */
		value = (cr0 | CR0_NW) & ~CR0_CD;
		begin(CLASS_CR, "MOV CR0 NW=1 CD=0", value, cr0);
		o = try_cr0(value, cr0, &rb, &rip);
		check(gp(0), o), check_restore(o, rip);
		break;
	case 3: /* clearing PG in 64-bit mode */
		value = cr0 & ~CR0_PG;
		begin(CLASS_CR, "MOV CR0 clearing PG in 64-bit mode", value, cr0);
		o = try_cr0(value, cr0, &rb, &rip);
		check(gp(0), o), check_restore(o, rip);
		break;
	case 4: { /* a harmless CR0 bit flipped for one instruction: succeeds, reads back */
		static const uint64_t bits[] = { CR0_MP, CR0_EM, CR0_TS, CR0_NE, CR0_WP, CR0_AM, CR0_CD };
		value = cr0 ^ bits[rnd_below(ARRAY_SIZE(bits))];
		begin(CLASS_CR, "MOV CR0 flip a bit", value, cr0);
		o = try_cr0(value, cr0, &rb, &rip);
		if (check(OK, o))
			check_value("CR0 read back", value, rb);
		check_restore(o, rip);
		break;
	}
	case 5: { /* a CR4 bit: reserved, unsupported, or supported */
		const uint64_t bit = 1ull << rnd_below(64);
		bool harmless;
		struct expect e = cr4_expect(cr4, bit, &harmless);
		if (e.kind == EXPECT_OK && !harmless)
			return;
		value = cr4 ^ bit;
		begin(CLASS_CR, "MOV CR4 flip a bit", value, cr4);
		o = try_cr4(value, cr4, &rb, &rip);
		if (check(e, o))
			if (!o.fault)
				check_value("CR4 read back", value, rb);
		check_restore(o, rip);
		break;
	}
	case 6: { /* CR3 bits at and above MAXPHYADDR (bit 63 too, CR4.PCIDE being 0) */
		const uint64_t cr3 = read_cr3();
		unsigned bit = cpu.maxphyaddr + (unsigned)rnd_below(64 - cpu.maxphyaddr);
		if ((cr4 & CR4_PCIDE) && bit == CR3_PCID_NOFLUSH_BIT)
			bit--;
		value = cr3 | (1ull << bit);
		begin(CLASS_CR, "MOV CR3 reserved bit", value, cr3);
		o = try_cr3(value, cr3, &rb, &rip);
		check(gp(0), o), check_restore(o, rip);
		break;
	}
	case 7: { /* CR3 reloaded with PWT/PCD: succeeds, reads back */
		const uint64_t cr3 = read_cr3();
		value = cr3 | (rnd_chance(2) ? CR3_PWT : 0) | (rnd_chance(2) ? CR3_PCD : 0);
		if (cr4 & CR4_PCIDE)
			value = cr3;
		begin(CLASS_CR, "MOV CR3 same root", value, cr3);
		o = try_cr3(value, cr3, &rb, &rip);
		if (check(OK, o))
			check_value("CR3 read back", value, rb);
		check_restore(o, rip);
		break;
	}
	case 8: { /* CR8: bits 63:4 reserved */
		const uint64_t cr8 = read_cr8();
		const bool reserved = rnd_chance(2);
		value = reserved ? rnd() | (1ull << (4 + rnd_below(60))) : rnd_below(CR8_TPR_MASK + 1);
		begin(CLASS_CR, "MOV CR8", value, cr8);
		o = try_cr8(value, cr8, &rb, &rip);
		if (check(reserved ? gp(0) : OK, o) && !o.fault)
			check_value("CR8 read back", value, rb);
		check_restore(o, rip);
		break;
	}
	case 9: { /* CLTS, LMSW (cannot clear PE: SDM Vol. 2A LMSW) */
		const uint16_t msw = (uint16_t)rnd();
		begin(CLASS_CR, "LMSW then restore", msw, cr0);
		fault_begin();
		__asm__ volatile("lea 1f(%%rip), %0\n\t1: lmsw %w2\n\tmov %%cr0, %1\n\t2: mov %3, %%cr0\n3:\n\t"
				 EX_TABLE_ENTRY("1b", "3b") EX_TABLE_ENTRY("2b", "3b")
				 : "=&r"(rip), "=&r"(rb) : "r"(msw), "r"(cr0) : "memory");
		o = fault_end();
		if (check(OK, o)) /* LMSW loads CR0[3:0], and sets but never clears PE */
			check_value("CR0 after LMSW", (cr0 & ~(uint64_t)(CR0_MP | CR0_EM | CR0_TS)) | (msw & (CR0_PE | CR0_MP | CR0_EM | CR0_TS)), rb);
		check_restore(o, rip);
		break;
	}
	case 10: { /* CR0 reserved bits in 31:0: the SDM asks software to keep them, most CPUs ignore them */
		uint64_t bit;
		do
			bit = 1ull << rnd_below(CR0_LOW_BITS);
		while (bit & CR0_DEFINED);
		value = cr0 | bit;
		begin(CLASS_CR, "MOV CR0 reserved bit 31:0", value, cr0);
		o = try_cr0(value, cr0, &rb, &rip);
		if (check(OK_OR_GP, o) && !o.fault)
			check_value("CR0 reserved bit read back", 0, rb & bit);
		check_restore(o, rip);
		break;
	}
	default: /* CR1, CR5..CR7, CR9..CR15 do not exist: #UD (SDM Vol. 2A MOV-CR) */
		begin(CLASS_CR, "MOV to/from CR1/CR5/CR9", 0, 0);
		fault_begin();
		switch (rnd_below(4)) {
		case 0: __asm__ volatile("1: mov %%cr1, %%rax\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::: "rax", "memory"); break;
		case 1: __asm__ volatile("1: mov %%cr5, %%rax\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::: "rax", "memory"); break;
		case 2: __asm__ volatile("1: mov %%rax, %%cr1\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"a"(0ull) : "memory"); break;
		default: __asm__ volatile("1: mov %%rax, %%cr9\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"a"(0ull) : "memory"); break;
		}
		check(UD, fault_end());
		break;
	}
}

/* Class cr0pe: MOV to CR0 clearing PE, from 64-bit mode: PG without PE, or PG cleared in IA-32e mode: #GP(0). */
static void op_cr0pe(void)
{
	const uint64_t cr0 = read_cr0();
	const uint64_t value = rnd_chance(2) ? cr0 & ~CR0_PE : cr0 & ~(CR0_PE | CR0_PG);
	uint64_t rb, rip;
	begin(CLASS_CR0PE, "MOV CR0 clearing PE", value, cr0);
	struct outcome o = try_cr0(value, cr0, &rb, &rip);
	check(gp(0), o), check_restore(o, rip);
}

/* ---- class xcr ---- */

static bool xcr0_valid(uint64_t v)
{
	if (!(v & XCR0_X87) || (v & ~cpu.xcr0_supported))
		return false;
	if ((v & XCR0_AVX) && !(v & XCR0_SSE))
		return false;
	if ((v & XCR0_AVX512) && ((v & XCR0_AVX512) != XCR0_AVX512 || !(v & XCR0_AVX)))
		return false;
	if (!(v & XCR0_BNDREGS) != !(v & XCR0_BNDCSR))
		return false;
	if (!(v & XCR0_TILECFG) != !(v & XCR0_TILEDATA))
		return false;
	return true;
}

static void op_xcr(void)
{
	const bool osxsave = read_cr4() & CR4_OSXSAVE;
	const uint64_t old = osxsave ? xgetbv(0) : 0;
	uint32_t index = rnd_chance(4) ? (uint32_t)rnd_below(4) : 0;
	uint64_t value;
	switch (rnd_below(4)) {
	case 0: value = old; break;
	case 1: value = old ^ (1ull << rnd_below(64)); break;
	case 2: value = rnd() & (cpu.xcr0_supported | (1ull << rnd_below(64))); break;
	default: value = rnd(); break;
	}
	uint64_t rip;
	begin(CLASS_XCR, "XSETBV", index, value);
	/* #UD without CR4.OSXSAVE; #GP(0) for ECX != 0 or an invalid XCR0 (SDM Vol. 2C XSETBV). */
	struct expect e = !osxsave ? UD : (index != 0 || !xcr0_valid(value)) ? gp(0) : OK;
	uint32_t lo = (uint32_t)value, hi = (uint32_t)(value >> 32);
	fault_begin();
	__asm__ volatile("lea 1f(%%rip), %0\n\t1: xsetbv\n\txor %%ecx, %%ecx\n\tmov %[olo], %%eax\n\tmov %[ohi], %%edx\n\t"
			 "2: xsetbv\n3:\n\t" EX_TABLE_ENTRY("1b", "3b") EX_TABLE_ENTRY("2b", "3b")
			 : "=&r"(rip), "+c"(index), "+a"(lo), "+d"(hi)
			 : [olo] "r"((uint32_t)old), [ohi] "r"((uint32_t)(old >> 32))
			 : "memory");
	struct outcome o = fault_end();
	check(e, o);
	check_restore(o, rip);
}

/* ---- class dt ---- */

extern uint64_t gdt[GDT_ENTRIES]; /* guest/cpu.c */

/* Scratch GDT slots (SDM Vol. 3A 3.5, 8.2.3, 9.2.3: system descriptors take two slots in IA-32e mode). */
enum scratch_slot {
	SLOT_LDT_OK = GDT_ENTRIES,     /* a valid LDT */
	SLOT_LDT_NP = SLOT_LDT_OK + 2, /* LDT, not present: #NP(sel) */
	SLOT_LDT_NONCANON = SLOT_LDT_NP + 2, /* LDT with a non-canonical base: #GP(sel) */
	SLOT_TSS_UPPER = SLOT_LDT_NONCANON + 2, /* available TSS whose upper half's type is not 0: #GP(sel) */
	SLOT_TSS_NP = SLOT_TSS_UPPER + 2,       /* available TSS, not present: #NP(sel) */
	SLOT_TSS_NONCANON = SLOT_TSS_NP + 2,    /* available TSS, non-canonical base: #GP(sel) */
	SLOT_DATA = SLOT_TSS_NONCANON + 2,      /* a data segment: #GP(sel) for LLDT and LTR */
	SLOT_COUNT = SLOT_DATA + 1,
};

static uint64_t system_descriptor_low(uint64_t base, unsigned type, bool present)
{
	return (SCRATCH_LIMIT & DESC_LIMIT_LOW_MASK) | ((base & ((1ull << DESC_BASE_LOW_BITS) - 1)) << DESC_BASE_LOW_SHIFT) |
	       ((uint64_t)type << DESC_TYPE_SHIFT) | (present ? DESC_PRESENT : 0) |
	       (((base >> DESC_BASE_LOW_BITS) & DESC_BASE_MID_MASK) << DESC_BASE_MID_SHIFT);
}

static void build_scratch_gdt(void)
{
	uint64_t *g = phys_to_virt(gdt_frame);
	memcpy(g, gdt, sizeof(uint64_t) * GDT_ENTRIES);
	const uint64_t base = SCRATCH_RW, noncanon = 1ull << CANONICAL_SIGN_BIT;
	g[SLOT_LDT_OK] = system_descriptor_low(base, SEG_TYPE_LDT, true);
	g[SLOT_LDT_OK + 1] = 0;
	g[SLOT_LDT_NP] = system_descriptor_low(base, SEG_TYPE_LDT, false);
	g[SLOT_LDT_NP + 1] = 0;
	g[SLOT_LDT_NONCANON] = system_descriptor_low(noncanon, SEG_TYPE_LDT, true);
	g[SLOT_LDT_NONCANON + 1] = noncanon >> 32;
	g[SLOT_TSS_UPPER] = system_descriptor_low(base, SEG_TYPE_TSS_AVAILABLE, true);
	g[SLOT_TSS_UPPER + 1] = (uint64_t)SEG_TYPE_TSS_AVAILABLE << SYS_DESC_UPPER_TYPE_SHIFT;
	g[SLOT_TSS_NP] = system_descriptor_low(base, SEG_TYPE_TSS_AVAILABLE, false);
	g[SLOT_TSS_NP + 1] = 0;
	g[SLOT_TSS_NONCANON] = system_descriptor_low(noncanon, SEG_TYPE_TSS_AVAILABLE, true);
	g[SLOT_TSS_NONCANON + 1] = noncanon >> 32;
	g[SLOT_DATA] = gdt[GDT_KERNEL_DATA];
}

static struct descriptor_table_ptr saved_gdtr, saved_idtr;

/* LGDT/LIDT of *bad, then of *good (if the first one succeeded). */
static struct outcome try_lgdt(bool idt, uint64_t bad, const struct descriptor_table_ptr *good, uint64_t *rip)
{
	fault_begin();
	if (idt)
		__asm__ volatile("lea 1f(%%rip), %0\n\t1: lidt (%1)\n\t2: lidt (%2)\n3:\n\t" EX_TABLE_ENTRY("1b", "3b")
				 EX_TABLE_ENTRY("2b", "3b") : "=&r"(*rip) : "S"(bad), "D"(good) : "memory");
	else
		__asm__ volatile("lea 1f(%%rip), %0\n\t1: lgdt (%1)\n\t2: lgdt (%2)\n3:\n\t" EX_TABLE_ENTRY("1b", "3b")
				 EX_TABLE_ENTRY("2b", "3b") : "=&r"(*rip) : "S"(bad), "D"(good) : "memory");
	return fault_end();
}

/* The same through an RSP-based operand: the stack segment, so #SS(0) when non-canonical (SDM Vol. 2A LGDT). */
static struct outcome try_lgdt_stack(uint64_t target)
{
	uint64_t off;
	fault_begin();
	__asm__ volatile("mov %1, %0\n\tsub %%rsp, %0\n\t1: lgdt (%%rsp, %0, 1)\n\tlgdt %2\n2:\n\t" EX_TABLE_ENTRY("1b", "2b")
			 : "=&r"(off) : "r"(target), "m"(saved_gdtr) : "memory");
	return fault_end();
}

/* An operand address that faults, and what the CPU must raise reading `len` bytes there. */
static uint64_t faulting_operand(unsigned len, bool write, struct expect *e)
{
	const uint64_t pf_write = write ? PF_ERR_W : 0;
	switch (rnd_below(5)) {
	case 0: { uint64_t a = rnd_noncanonical(); *e = gp(0); return a; }
	case 1: { uint64_t a = rnd_below(PAGE_SIZE - len); *e = page_fault(pf_write, a); return a; }
	case 2: { uint64_t a = SCRATCH_HOLE + rnd_below(PAGE_SIZE - len); *e = page_fault(pf_write, a); return a; }
	case 3: { /* straddles the end of the RW page into the hole: CR2 is the first byte not mapped */
		uint64_t a = SCRATCH_HOLE - 1 - rnd_below(len - 1);
		*e = page_fault(pf_write, SCRATCH_HOLE);
		return a;
	}
	default: {
		uint64_t a = SCRATCH_RO + rnd_below(PAGE_SIZE - len);
		*e = write && (read_cr0() & CR0_WP) ? page_fault(PF_ERR_P | PF_ERR_W, a) : OK; /* SDM Vol. 3A 4.6.1 */
		return a;
	}
	}
}

static struct outcome try_lldt(uint16_t sel)
{
	fault_begin();
	__asm__ volatile("1: lldt %0\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"r"(sel) : "memory");
	return fault_end();
}

static struct outcome try_ltr(uint16_t sel)
{
	fault_begin();
	__asm__ volatile("1: ltr %0\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"r"(sel) : "memory");
	return fault_end();
}

static void op_dt(void)
{
	const unsigned ptr_len = sizeof(struct descriptor_table_ptr);
	uint64_t rip;
	struct expect e;
	struct outcome o;
	switch (rnd_below(8)) {
	case 0: { /* LGDT/LIDT from a faulting operand */
		const bool idt = rnd_chance(2);
		uint64_t a = faulting_operand(ptr_len, false, &e);
		if (e.kind == EXPECT_OK) {
			memcpy(phys_to_virt(ro_frame + (a - SCRATCH_RO)), idt ? &saved_idtr : &saved_gdtr, ptr_len);
			e = OK;
		}
		begin(CLASS_DT, idt ? "LIDT bad operand" : "LGDT bad operand", a, 0);
		o = try_lgdt(idt, a, idt ? &saved_idtr : &saved_gdtr, &rip);
		check(e, o), check_restore(o, rip);
		break;
	}
	case 1: { /* LGDT/LIDT of a non-canonical base: #GP(0) (SDM Vol. 2A LGDT/LIDT, 64-bit mode) */
		const bool idt = rnd_chance(2);
		struct descriptor_table_ptr *p = (struct descriptor_table_ptr *)(uintptr_t)SCRATCH_RW;
		p->limit = (uint16_t)rnd();
		p->base = rnd_noncanonical();
		begin(CLASS_DT, idt ? "LIDT non-canonical base" : "LGDT non-canonical base", p->base, p->limit);
		o = try_lgdt(idt, SCRATCH_RW, idt ? &saved_idtr : &saved_gdtr, &rip);
		check(gp(0), o), check_restore(o, rip);
		break;
	}
	case 2: { /* LGDT through RSP, non-canonical: #SS(0) */
		uint64_t a = rnd_noncanonical();
		begin(CLASS_DT, "LGDT (rsp-based) non-canonical operand", a, 0);
		check(fault(VECTOR_SS, 0), try_lgdt_stack(a));
		break;
	}
	case 3: { /* SGDT/SIDT to a faulting operand, or to good memory */
		const bool idt = rnd_chance(2);
		uint64_t a = rnd_chance(3) ? SCRATCH_RW + rnd_below(PAGE_SIZE - ptr_len) : faulting_operand(ptr_len, true, &e);
		if (a >= SCRATCH_RW && a < SCRATCH_HOLE - ptr_len)
			e = OK;
		begin(CLASS_DT, idt ? "SIDT" : "SGDT", a, 0);
		fault_begin();
		if (idt)
			__asm__ volatile("1: sidt (%0)\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"S"(a) : "memory");
		else
			__asm__ volatile("1: sgdt (%0)\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"S"(a) : "memory");
		o = fault_end();
		if (check(e, o) && !o.fault) {
			struct descriptor_table_ptr got;
			memcpy(&got, (const void *)(uintptr_t)a, ptr_len);
			const struct descriptor_table_ptr *want = idt ? &saved_idtr : &saved_gdtr;
			check_value("stored base", want->base, got.base);
			check_value("stored limit", want->limit, got.limit);
		}
		break;
	}
	case 4: { /* LLDT/LTR of a bad selector in the kernel's own GDT */
		const bool tr = rnd_chance(2);
		uint16_t sel;
		switch (rnd_below(5)) {
		case 0: sel = (uint16_t)rnd_below(SELECTOR_TI); break; /* null */
		case 1: sel = (uint16_t)(rnd() | SELECTOR_TI); break;  /* the LDT: not allowed */
		case 2: sel = (uint16_t)(saved_gdtr.limit + 1 + rnd_below(0x10000 - saved_gdtr.limit - 1)) & ~SELECTOR_TI; break;
		case 3: sel = (uint16_t)(SEL(1 + rnd_below(GDT_USER_CODE)) | rnd_below(SELECTOR_TI)); break; /* code/data */
		default: sel = (uint16_t)(SEL(GDT_TSS + rnd_below(2)) | rnd_below(SELECTOR_TI)); break; /* busy TSS, its upper half */
		}
		/*
		 * LLDT of a null selector makes the LDT unusable; LTR of one is #GP(0).  Every other
		 * choice here (TI set, past the limit, not an LDT/available TSS, the busy TSS) is
		 * #GP(selector) (SDM Vol. 2A LLDT, LTR).
		 */
		if (sel < SELECTOR_TI)
			e = tr ? gp(0) : OK;
		else
			e = gp(sel & SELECTOR_ERROR_MASK);
		begin(CLASS_DT, tr ? "LTR bad selector" : "LLDT bad selector", sel, 0);
		o = tr ? try_ltr(sel) : try_lldt(sel);
		check(e, o);
		if (!tr && !o.fault)
			try_lldt(0);
		break;
	}
	default: { /* LLDT/LTR against the scratch GDT's descriptors */
		static const struct { uint16_t slot; bool tr; uint8_t vector; } cases[] = {
			{ SLOT_LDT_OK, false, 0 }, { SLOT_LDT_NP, false, VECTOR_NP }, { SLOT_LDT_NONCANON, false, VECTOR_GP },
			{ SLOT_DATA, false, VECTOR_GP }, { SLOT_TSS_UPPER, false, VECTOR_GP },
			{ SLOT_TSS_UPPER, true, VECTOR_GP }, { SLOT_TSS_NP, true, VECTOR_NP },
			{ SLOT_TSS_NONCANON, true, VECTOR_GP }, { SLOT_DATA, true, VECTOR_GP }, { SLOT_LDT_OK, true, VECTOR_GP },
		};
		const unsigned c = (unsigned)rnd_below(ARRAY_SIZE(cases));
		const uint16_t sel = (uint16_t)(SEL(cases[c].slot) | rnd_below(SELECTOR_TI));
		const struct descriptor_table_ptr scratch = { (uint16_t)(SLOT_COUNT * sizeof(uint64_t) - 1), SCRATCH_GDT };
		build_scratch_gdt();
		begin(CLASS_DT, cases[c].tr ? "LTR scratch descriptor" : "LLDT scratch descriptor", sel, cases[c].slot);
		lgdt(&scratch);
		o = cases[c].tr ? try_ltr(sel) : try_lldt(sel);
		if (!o.fault && !cases[c].tr)
			try_lldt(0);
		lgdt(&saved_gdtr);
		if (!o.fault && cases[c].tr) { /* TR now names a scratch descriptor: back to the kernel's TSS */
			gdt[GDT_TSS] &= ~DESC_BUSY;
			try_ltr(SEL_TSS);
		}
		check(cases[c].vector ? fault(cases[c].vector, sel & SELECTOR_ERROR_MASK) : OK, o);
		break;
	}
	}
}

/* ---- class inv ---- */

static void op_inv(void)
{
	if (rnd_chance(4)) {
		/* INVPCID: #UD where CPUID.(EAX=07H,ECX=0):EBX.INVPCID[10] = 0 (SDM Vol. 2A INVPCID). */
		uint64_t desc[2] = { rnd(), rnd() }, type = rnd_below(8);
		begin(CLASS_INV, "INVPCID", type, desc[1]);
		fault_begin();
		__asm__ volatile("1: invpcid (%0), %1\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"r"(desc), "r"(type) : "memory");
		check((cpu.f7.ebx & CPUID_7_EBX_INVPCID) ? (struct expect){ EXPECT_ANY, 0, 0, 0 } : UD, fault_end());
		return;
	}
	/* INVLPG never faults on an address: a non-canonical one makes it a no-op (SDM Vol. 2A INVLPG). */
	uint64_t a;
	switch (rnd_below(4)) {
	case 0: a = rnd_noncanonical(); break;
	case 1: a = rnd_below(boot_config.guest_mem); break;
	case 2: a = SCRATCH_BASE + rnd_below(6 * PAGE_SIZE); break;
	default: a = rnd(); break;
	}
	begin(CLASS_INV, "INVLPG", a, 0);
	fault_begin();
	__asm__ volatile("1: invlpg (%0)\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::"S"(a) : "memory");
	check(OK, fault_end());
}

/* ---- class vmx: VMX instructions and other hidden features ---- */

#define TRY_INSN(text, ...)                                                                            \
	do {                                                                                           \
		fault_begin();                                                                         \
		__asm__ volatile("1: " text "\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::__VA_ARGS__ : "memory"); \
	} while (0)
#define TRY_INSN_CLOBBER(text, clobber, ...)                                                           \
	do {                                                                                           \
		fault_begin();                                                                         \
		__asm__ volatile("1: " text "\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") ::__VA_ARGS__ : "memory", clobber); \
	} while (0)

static void op_vmx(void)
{
	uint64_t region = SCRATCH_RW, field = rnd(), value = rnd();
	const unsigned which = (unsigned)rnd_below(17);
	static const char *const names[] = {
		"VMXON", "VMXOFF", "VMCLEAR", "VMPTRLD", "VMPTRST", "VMREAD", "VMWRITE", "VMLAUNCH", "VMRESUME",
		"INVEPT", "INVVPID", "VMFUNC", "GETSEC", "MONITOR", "MWAIT", "RDPMC", "CPUID",
	};
	begin(CLASS_VMX, names[which], field, value);
	/* CPUID.1:ECX.VMX = 0: every VMX instruction is #UD (SDM Vol. 3C 31.3; Vol. 3C 26.1.1 ranks #UD before exits). */
	struct expect e = (cpu.f1.ecx & CPUID_1_ECX_VMX) ? (struct expect){ EXPECT_ANY, 0, 0, 0 } : UD;
	switch (which) {
	case 0: TRY_INSN("vmxon (%0)", "r"(region)); break;
	case 1: TRY_INSN("vmxoff", "r"(region)); break;
	case 2: TRY_INSN("vmclear (%0)", "r"(region)); break;
	case 3: TRY_INSN("vmptrld (%0)", "r"(region)); break;
	case 4: TRY_INSN("vmptrst (%0)", "r"(region)); break;
	case 5: TRY_INSN_CLOBBER("vmread %0, %%rax", "rax", "r"(field)); break;
	case 6: TRY_INSN("vmwrite %1, %0", "r"(field), "r"(value)); break;
	case 7: TRY_INSN("vmlaunch", "r"(region)); break;
	case 8: TRY_INSN("vmresume", "r"(region)); break;
	case 9: TRY_INSN("invept (%0), %1", "r"(region), "r"(value)); break;
	case 10: TRY_INSN("invvpid (%0), %1", "r"(region), "r"(value)); break;
	case 11: /* VMFUNC: #UD unless "enable VM functions" (SDM Vol. 3C 26.5.6) */
		TRY_INSN("vmfunc", "a"(value & 0xff), "c"(field));
		e = UD;
		break;
	case 12: /* GETSEC: #UD with CR4.SMXE = 0 (SDM Vol. 2D GETSEC) */
		TRY_INSN("getsec", "a"(value & 0xf));
		e = UD;
		break;
	case 13: /* MONITOR/MWAIT: #UD where CPUID.1:ECX.MONITOR = 0 */
		TRY_INSN("monitor", "a"(region), "c"(0), "d"(0));
		e = (cpu.f1.ecx & CPUID_1_ECX_MONITOR) ? OK : UD;
		break;
	case 14:
		TRY_INSN("mwait", "a"(0), "c"(0));
		e = (cpu.f1.ecx & CPUID_1_ECX_MONITOR) ? (struct expect){ EXPECT_ANY, 0, 0, 0 } : UD;
		break;
	case 15: { /* RDPMC of counter ECX: #GP(0) for a counter that does not exist (SDM Vol. 2B RDPMC) */
		const uint32_t ctr = rnd_chance(2) ? (uint32_t)rnd_below(8) : (uint32_t)field;
		cur.a = ctr;
		TRY_INSN_CLOBBER("rdpmc", "rdx", "c"(ctr), "a"(0));
		const bool exists = CPUID_PMU_VERSION(cpu.pmu.eax) && ctr < CPUID_PMU_GP_COUNTERS(cpu.pmu.eax);
		e = exists ? OK : gp(0);
		break;
	}
	default: /* CPUID of any leaf never faults */
		TRY_INSN_CLOBBER("cpuid", "rbx", "a"(field), "c"(value), "d"(0));
		e = OK;
		break;
	}
	check(e, fault_end());
}

/* ---- driver ---- */

static void read_cpu(void)
{
	cpu.f1 = cpuid(CPUID_LEAF_FEATURES, 0);
	cpu.f7 = cpuid(CPUID_LEAF_EXT_FEATURES, 0);
	cpu.f7_1 = cpuid(CPUID_LEAF_EXT_FEATURES, CPUID_7_SUBLEAF_1);
	cpu.x1 = cpuid(CPUID_LEAF_EXT_FEATURES_8001, 0);
	cpu.pmu = cpuid(CPUID_LEAF_PMU, 0);
	struct cpuid_regs x = cpuid(CPUID_LEAF_XSAVE, 0);
	cpu.xcr0_supported = ((uint64_t)x.edx << 32) | x.eax;
	cpu.maxphyaddr = CPUID_MAXPHYADDR(cpuid(CPUID_LEAF_ADDR_SIZES, 0).eax);
}

static void (*const class_ops[CLASS_COUNT])(void) = {
	[CLASS_HC] = op_hypercall, [CLASS_MSR] = op_msr, [CLASS_IO] = op_io, [CLASS_STRIO] = op_strio,
	[CLASS_CR] = op_cr, [CLASS_CR0PE] = op_cr0pe, [CLASS_XCR] = op_xcr, [CLASS_DT] = op_dt, [CLASS_INV] = op_inv, [CLASS_VMX] = op_vmx,
};

static uint64_t parse_decimal(const char *s, size_t n, bool *ok)
{
	uint64_t v = 0;
	*ok = n > 0;
	for (size_t i = 0; i < n && *ok; i++) {
		if (s[i] < '0' || s[i] > '9')
			*ok = false;
		else
			v = v * DECIMAL_BASE + (uint64_t)(s[i] - '0');
	}
	return v;
}

static unsigned parse_classes(const char *s, size_t n, bool *ok)
{
	unsigned set = 0;
	*ok = true;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && s[j] != ',')
			j++;
		bool found = false;
		if (j - i == 3 && strncmp(s + i, "all", 3) == 0) {
			set |= CLASSES_DEFAULT;
			found = true;
		}
		for (unsigned c = 0; c < CLASS_COUNT && !found; c++)
			if (strlen(class_names[c]) == j - i && strncmp(s + i, class_names[c], j - i) == 0) {
				set |= 1u << c;
				found = true;
			}
		*ok = *ok && found;
		i = j + 1;
	}
	return set;
}

bool hostile_option(const char *key, size_t key_len, const char *value, size_t value_len, bool *ok)
{
	if (key_len == 4 && strncmp(key, "seed", 4) == 0)
		opt.seed = parse_decimal(value, value_len, ok);
	else if (key_len == 3 && strncmp(key, "ops", 3) == 0)
		opt.ops = parse_decimal(value, value_len, ok);
	else if (key_len == 5 && strncmp(key, "trace", 5) == 0)
		opt.trace = parse_decimal(value, value_len, ok) != 0;
	else if (key_len == 7 && strncmp(key, "classes", 7) == 0) {
		unsigned set = parse_classes(value, value_len, ok);
		if (*ok && set)
			opt.classes = set;
		*ok = *ok && set;
	} else
		return false;
	return true;
}

static void print_classes(char *buf, size_t n, unsigned set)
{
	size_t len = 0;
	buf[0] = 0;
	for (unsigned c = 0; c < CLASS_COUNT; c++)
		if (set & (1u << c))
			len += (size_t)hv_snprintf(buf + len, n - len, "%s%s", len ? "," : "", class_names[c]);
}

void hostile_run(void)
{
	char names[96];
	print_classes(names, sizeof(names), opt.classes);
	kprintf("hostile: seed=%llu ops=%llu classes=%s %s (replay: guest.test=hostile guest.seed=%llu guest.trace=1)\n",
		(unsigned long long)opt.seed, (unsigned long long)opt.ops, names,
		boot_config.mem_shadow ? "mem=shadow" : "mem=ept", (unsigned long long)opt.seed);
	if (!map_scratch()) {
		kprintf("hostile: cannot map the scratch pages\n");
		kernel_exit(HOSTILE_STATUS_SETUP);
	}
	read_cpu();
	fill_frames();
	/* Supervisor writes honour read-only pages from here on (CR0.WP, SDM Vol. 3A 4.6.1): the checks of writes to SCRATCH_RO mean something. */
	write_cr0(read_cr0() | CR0_WP);
	/* XSETBV needs CR4.OSXSAVE (SDM Vol. 2C XSETBV): on, where CPUID offers XSAVE. */
	if ((cpu.f1.ecx & CPUID_1_ECX_XSAVE) && !(read_cr4() & CR4_OSXSAVE))
		write_cr4(read_cr4() | CR4_OSXSAVE);
	kprintf("hostile: CR0=%#llx CR4=%#llx EFER=%#llx MAXPHYADDR=%u XCR0 supported %#llx, guest RAM [0, %#llx)\n",
		(unsigned long long)read_cr0(), (unsigned long long)read_cr4(), (unsigned long long)rdmsr(MSR_IA32_EFER),
		cpu.maxphyaddr, (unsigned long long)cpu.xcr0_supported, (unsigned long long)boot_config.guest_mem);
	sgdt(&saved_gdtr);
	sidt(&saved_idtr);
	rng_state = opt.seed;
	unsigned enabled[CLASS_COUNT], n = 0;
	for (unsigned c = 0; c < CLASS_COUNT; c++)
		if (opt.classes & (1u << c))
			enabled[n++] = c;
	const uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < opt.ops; i++) {
		cur.index = i;
		class_ops[enabled[rnd_below(n)]]();
		finish();
		if ((i + 1) % PROGRESS_EVERY == 0)
			kprintf("hostile: %llu ops, %llu BAD\n", (unsigned long long)(i + 1), (unsigned long long)bad_total);
	}
	uint64_t total = 0;
	for (unsigned c = 0; c < CLASS_COUNT; c++) {
		if (!(opt.classes & (1u << c)))
			continue;
		kprintf("hostile: class %-5s ops %8llu ok %8llu faulted %8llu BAD %llu\n", class_names[c],
			(unsigned long long)stats[c].ops, (unsigned long long)stats[c].ok,
			(unsigned long long)stats[c].faulted, (unsigned long long)stats[c].bad);
		total += stats[c].ops;
	}
	const uint64_t cycles = rdtsc() - t0;
	kprintf("hostile: done: seed=%llu %llu ops (%llu instructions checked), %llu BAD outcomes, %llu TSC cycles "
		"(%llu per op)\n", (unsigned long long)opt.seed, (unsigned long long)opt.ops, (unsigned long long)total,
		(unsigned long long)bad_total, (unsigned long long)cycles, (unsigned long long)(cycles / (opt.ops ? opt.ops : 1)));
	kernel_exit(bad_total ? HOSTILE_STATUS_BAD : HOSTILE_STATUS_OK);
}

/*
 * Every guest-physical page of RAM, read through one scratch mapping, then
 * the first page above RAM: the monitor must stop the guest there with
 * status 76 naming that address (EPT violation, or shadow paging's check).
 */
void hostile_scan_run(void)
{
	const uint64_t top = ALIGN_UP(boot_config.guest_mem, PAGE_SIZE);
	kprintf("hostile_scan: reading every page of guest-physical [0, %#llx) through %#llx, then %#llx\n",
		(unsigned long long)top, (unsigned long long)SCRATCH_SCAN, (unsigned long long)top);
	if (pt_map(kernel_aspace.cr3, SCRATCH_SCAN, 0, PTE_NX * nx_enabled) != 0) {
		kprintf("hostile_scan: cannot map the scan window\n");
		kernel_exit(HOSTILE_STATUS_SETUP);
	}
	uint64_t *pte = pt_leaf_entry(kernel_aspace.cr3, SCRATCH_SCAN), sum = 0, faults = 0;
	for (uint64_t pa = 0; pa <= top; pa += PAGE_SIZE) {
		if (pa == top)
			kprintf("hostile_scan: %llu pages read (%llu faulted, checksum %#llx); now guest-physical %#llx, "
				"above RAM: the monitor must stop the guest (status 76)\n",
				(unsigned long long)(top / PAGE_SIZE), (unsigned long long)faults, (unsigned long long)sum,
				(unsigned long long)pa);
		*pte = pa | PTE_P | PTE_NX * nx_enabled;
		invlpg(SCRATCH_SCAN);
		uint64_t v = 0;
		const uint64_t before = kernel_fault.count;
		__asm__ volatile("1: movq (%1), %0\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") : "+r"(v) : "r"(SCRATCH_SCAN) : "memory");
		if (kernel_fault.count != before && faults++ < BAD_LINES_MAX)
			kprintf("BAD: hostile_scan: reading guest-physical %#llx raised %s\n", (unsigned long long)pa,
				exception_vector_name(kernel_fault.vector));
		sum += v;
	}
	kprintf("FAIL: hostile_scan: the read above guest RAM returned: no monitor stopped the guest\n");
	kernel_exit(HOSTILE_STATUS_SCAN_SURVIVED);
}
