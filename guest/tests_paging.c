/*
 * Paging and control-register edge cases a hostile kernel can reach (issue 14):
 * reserved bits above MAXPHYADDR, PS in a PDPTE without 1 GiB pages, invalid
 * and reserved MOV to CR0 values, and SMAP after a CR0.WP=0 write.  The CPU's
 * answers (SDM Vol. 3A chapter 4, Vol. 2A MOV-CR) hold under EPT by themselves;
 * under shadow paging the monitor must give the same ones.
 */
#include <string.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/paging.h>
#include <arch/segment.h>
#include <arch/vmx_state.h>
#include "guest/abi.h"
#include "guest/kernel.h"
#include "guest/mm.h"
#include "guest/priv.h"
#include "guest/tests.h"

/* Test pages in the kernel address space's (otherwise empty) user half, one PDPT slot each. */
#define MAXPHY_TEST_VA  (USER_BASE + 9 * PAGE_SIZE_1G)
#define PS1G_TEST_VA    (USER_BASE + 10 * PAGE_SIZE_1G)
#define SMAP_TEST_VA    (USER_BASE + 11 * PAGE_SIZE_1G)
#define CPUID_80000008_EAX_MAXPHYADDR 0xffu
#define MAXPHYADDR_LIMIT 52u   /* address bits an entry can hold (SDM 4.1.4) */
#define CR0_RESERVED_BIT_6 (1ull << 6) /* reserved, ignored on write (SDM Vol. 3A Figure 2-7) */
#define CR0_RESERVED_BIT_32 (1ull << 32)
#define TEST_BYTE 0x5au

/* The paging-structure entry for va at level `shift` (PML4_SHIFT .. PT_SHIFT), or NULL. */
static uint64_t *entry_at(uint64_t cr3, uint64_t va, unsigned shift)
{
	uint64_t *t = phys_to_virt(cr3 & PTE_ADDR_MASK);
	for (unsigned s = PML4_SHIFT; s > shift; s -= PT_INDEX_BITS) {
		const uint64_t e = t[(va >> s) & PT_INDEX_MASK];
		if (!(e & PTE_P) || (e & PTE_PS))
			return NULL;
		t = phys_to_virt(e & PTE_ADDR_MASK);
	}
	return &t[(va >> shift) & PT_INDEX_MASK];
}

/* A byte read that may fault (recorded in kernel_fault). */
static uint8_t read_byte_safe(uint64_t va)
{
	uint64_t value = 0;
	__asm__ volatile("1: movzbq (%1), %0\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") : "+r"(value) : "r"(va) : "memory");
	return (uint8_t)value;
}

/* The expected #PF: one more fault, vector 14, this error code and CR2. */
static bool page_fault_seen(uint64_t before, uint64_t error_code, uint64_t cr2)
{
	return kernel_fault.count == before + 1 && kernel_fault.vector == VECTOR_PF &&
	       kernel_fault.error_code == error_code && kernel_fault.cr2 == cr2;
}

static unsigned cpu_maxphyaddr(void)
{
	if (priv_cpuid(CPUID_LEAF_EXT_MAX, 0).eax < CPUID_LEAF_ADDR_SIZES)
		return 36; /* SDM Vol. 3A 4.1.4: without the leaf, 36 */
	return priv_cpuid(CPUID_LEAF_ADDR_SIZES, 0).eax & CPUID_80000008_EAX_MAXPHYADDR;
}

/*
 * Bits 51:MAXPHYADDR of a present entry are reserved: an access through it is #PF with
 * P and RSVD set (SDM Vol. 3A 4.5.4, 4.7), at the leaf and at a table-pointing PDE alike.
 */
static void test_reserved_above_maxphyaddr(void)
{
	const char *name = "pte_pde_above_maxphyaddr_rsvd_fault";
	if (skip_on_qemu_tcg(name, "reserved-bit page faults (it reports them without P)"))
		return;
	const unsigned maxphy = cpu_maxphyaddr();
	if (maxphy >= MAXPHYADDR_LIMIT) {
		test_skip(name, "MAXPHYADDR is 52: no reserved address bits");
		return;
	}
	const uint64_t frame = frame_alloc(), va = MAXPHY_TEST_VA;
	if (!frame || pt_map(kernel_aspace.cr3, va, frame, PTE_W)) {
		test_report(name, false, "cannot map a test page");
		return;
	}
	*(volatile uint8_t *)phys_to_virt(frame) = TEST_BYTE;
	volatile uint64_t *pte = entry_at(kernel_aspace.cr3, va, PT_SHIFT), *pde = entry_at(kernel_aspace.cr3, va, PD_SHIFT);
	const uint8_t mapped = read_byte_safe(va);
	const uint64_t bit = 1ull << maxphy, before = kernel_fault.count;

	*pte |= bit;
	invlpg(va);
	read_byte_safe(va);
	const bool pte_ok = page_fault_seen(before, PF_ERR_P | PF_ERR_RSVD, va);
	const uint64_t pte_error = kernel_fault.error_code;
	*pte &= ~bit;

	*pde |= bit;
	invlpg(va);
	read_byte_safe(va);
	const bool pde_ok = page_fault_seen(before + 1, PF_ERR_P | PF_ERR_RSVD, va);
	*pde &= ~bit;
	invlpg(va);
	const uint8_t after = read_byte_safe(va);
	test_report(name, mapped == TEST_BYTE && pte_ok && pde_ok && after == TEST_BYTE,
		    "MAXPHYADDR %u: read %#x; PTE bit %u: %s (error %#llx); PDE bit: %s (faults +%llu, error %#llx); "
		    "restored read %#x", maxphy, mapped, maxphy, pte_ok ? "#PF" : "wrong", (unsigned long long)pte_error,
		    pde_ok ? "#PF" : "wrong", (unsigned long long)(kernel_fault.count - before),
		    (unsigned long long)kernel_fault.error_code, after);
}

/*
 * PS in a PDPTE maps a 1 GiB page only where CPUID.80000001h:EDX[26] says so; elsewhere it is a
 * reserved bit and the access is #PF with RSVD (SDM Vol. 3A 4.5.4, Table 4-16).
 */
static void test_pdpte_page_size(void)
{
	const bool have_1g = priv_cpuid(CPUID_LEAF_EXT_FEATURES_8001, 0).edx & CPUID_80000001_EDX_PAGE1GB;
	const char *name = have_1g ? "pdpte_ps_maps_1g_page" : "pdpte_ps_without_1g_pages_rsvd_fault";
	if (!have_1g && skip_on_qemu_tcg(name, "1 GiB pages as reserved where CPUID has no 1 GiB pages"))
		return;
	static volatile uint64_t marker = 0x1a2b3c4d5e6f7788ull; /* identity-mapped: its address is its GPA */
	const uint64_t frame = frame_alloc(), va = PS1G_TEST_VA;
	if (!frame || pt_map(kernel_aspace.cr3, va, frame, PTE_W)) {
		test_report(name, false, "cannot map a test page");
		return;
	}
	volatile uint64_t *pdpte = entry_at(kernel_aspace.cr3, va, PDPT_SHIFT);
	const uint64_t saved = *pdpte, marker_gpa = (uint64_t)(uintptr_t)&marker;
	const uint64_t target = va + marker_gpa, before = kernel_fault.count;
	*pdpte = PTE_P | PTE_W | PTE_PS; /* guest-physical 0, supervisor */
	invlpg(target);
	uint64_t value = 0;
	__asm__ volatile("1: movq (%1), %0\n2:\n\t" EX_TABLE_ENTRY("1b", "2b") : "+r"(value) : "r"(target) : "memory");
	*pdpte = saved;
	invlpg(target);
	invlpg(va);
	if (have_1g)
		test_report(name, kernel_fault.count == before && value == marker,
			    "read %#llx through the 1 GiB page, expected %#llx (faults +%llu)", (unsigned long long)value,
			    (unsigned long long)marker, (unsigned long long)(kernel_fault.count - before));
	else
		test_report(name, page_fault_seen(before, PF_ERR_P | PF_ERR_RSVD, target),
			    "faults +%llu vector %llu error %#llx cr2 %#llx, read %#llx",
			    (unsigned long long)(kernel_fault.count - before), (unsigned long long)kernel_fault.vector,
			    (unsigned long long)kernel_fault.error_code, (unsigned long long)kernel_fault.cr2,
			    (unsigned long long)value);
}

/* MOV to CR0 that may fault: 0, or -1 after a fault (recorded in kernel_fault).  The write exits. */
static int write_cr0_safe(uint64_t value)
{
	const uint64_t before = kernel_fault.count;
	ledger_add(EXIT_REASON_CR_ACCESS, 1); /* every CR0 bit is owned: a changed value exits */
	__asm__ volatile("1: mov %0, %%cr0\n2:\n\t" EX_TABLE_ENTRY("1b", "2b")::"r"(value) : "memory");
	return kernel_fault.count == before ? 0 : -1;
}

/*
 * MOV to CR0 (SDM Vol. 2A MOV-CR): PG with PE clear is an invalid combination, #GP(0); a 1 in
 * CR0[63:32] is #GP(0); reserved bits in CR0[31:0] are not checked (they read back as 0).
 */
static void test_mov_cr0_rules(void)
{
	if (skip_on_qemu_tcg("cr0_clear_pe_with_pg_gp", "the #GP of CR0.PG with PE clear") |
	    skip_on_qemu_tcg("cr0_reserved_low_bits_ignored", "CR0's reserved bits (it keeps bit 6, accepts bit 32)"))
		return;
	const uint64_t cr0 = read_cr0();
	const int pe_clear = write_cr0_safe(cr0 & ~CR0_PE);
	const uint64_t pe_vector = kernel_fault.vector, pe_error = kernel_fault.error_code;
	const bool pe_ok = pe_clear == -1 && pe_vector == VECTOR_GP && pe_error == 0 && read_cr0() == cr0;
	test_report("cr0_clear_pe_with_pg_gp", pe_ok, "%s, vector %llu error %#llx, CR0 %#llx (was %#llx)",
		    pe_clear ? "faulted" : "no fault", (unsigned long long)pe_vector, (unsigned long long)pe_error,
		    (unsigned long long)read_cr0(), (unsigned long long)cr0);

	const int low = write_cr0_safe(cr0 | CR0_RESERVED_BIT_6);
	const uint64_t after_low = read_cr0();
	const int high = write_cr0_safe(cr0 | CR0_RESERVED_BIT_32);
	const uint64_t high_vector = kernel_fault.vector;
	const bool ok = low == 0 && after_low == cr0 && high == -1 && high_vector == VECTOR_GP && read_cr0() == cr0;
	test_report("cr0_reserved_low_bits_ignored", ok,
		    "bit 6: %s, CR0 then %#llx (was %#llx); bit 32: %s (vector %llu)", low ? "faulted" : "accepted",
		    (unsigned long long)after_low, (unsigned long long)cr0, high ? "faulted" : "accepted",
		    (unsigned long long)high_vector);
	priv_write_cr0(cr0);
}

/*
 * With CR0.WP=0 the kernel may write a read-only user page (with RFLAGS.AC under SMAP); that write
 * must not open the page to later supervisor reads with AC=0, which SMAP refuses with #PF(P)
 * (SDM Vol. 3A 4.6.1).  Shadow paging maps the write through a supervisor-only leaf that must live
 * for that one instruction only.  The kernel must not see the monitor's single-stepping either.
 */
static void test_wp0_write_keeps_smap(void)
{
	const char *name = "wp0_write_keeps_smap";
	if (!(priv_cpuid(CPUID_LEAF_EXT_FEATURES, 0).ebx & CPUID_7_EBX_SMAP)) {
		test_skip(name, "CPUID says no SMAP");
		return;
	}
	const uint64_t frame = frame_alloc(), va = SMAP_TEST_VA;
	if (!frame || pt_map(kernel_aspace.cr3, va, frame, PTE_U)) {
		test_report(name, false, "cannot map a user page");
		return;
	}
	const uint64_t cr0 = read_cr0(), cr4 = read_cr4();
	priv_write_cr4(cr4 | CR4_SMAP);
	priv_write_cr0(cr0 & ~CR0_WP);
	const uint64_t before = kernel_fault.count;
	__asm__ volatile("stac\n1: movb %0, (%1)\n2:\n\tclac\n\t" EX_TABLE_ENTRY("1b", "2b")
			 ::"r"((uint8_t)TEST_BYTE), "r"(va) : "memory");
	const uint64_t rflags = read_rflags();
	const bool written = kernel_fault.count == before && ((volatile uint8_t *)phys_to_virt(frame))[0] == TEST_BYTE;
	const uint8_t value = read_byte_safe(va);
	const bool refused = page_fault_seen(before, PF_ERR_P, va);
	priv_write_cr0(cr0);
	priv_write_cr4(cr4);
	aspace_clear_user_half(&kernel_aspace);
	test_report(name, written && refused && !(rflags & RFLAGS_TF),
		    "write %s; read with AC=0: faults +%llu error %#llx, read %#x; TF %s after the write",
		    written ? "landed" : "refused", (unsigned long long)(kernel_fault.count - before),
		    (unsigned long long)kernel_fault.error_code, value, (rflags & RFLAGS_TF) ? "set" : "clear");
}

void tests_paging(void)
{
	test_reserved_above_maxphyaddr();
	test_pdpte_page_size();
	test_mov_cr0_rules();
	test_wp0_write_keeps_smap();
	aspace_clear_user_half(&kernel_aspace); /* the test pages and the tables that map them */
}
