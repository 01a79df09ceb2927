/*
 * Host unit tests for vmm/platform/vmx_caps.c: decoding of the VMX capability MSRs
 * (SDM Vol. 3C Appendix A), computing control words from them, bit names and
 * the capability report.
 *
 * The "tigerlake" MSR values are those read from Bochs 2.7 (cpu model
 * tigerlake): IA32_VMX_BASIC and the decoded allowed settings per control word.
 * The raw MSRs are rebuilt from them: a control MSR holds the allowed
 * 0-settings (bits that must be 1) in bits 31:0 and the allowed 1-settings
 * (bits that may be 1) in bits 63:32 (SDM A.3-A.5).  The non-TRUE MSRs also
 * report the "default1" bits as must-be-1 (SDM A.2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arch/vmx_controls.h>
#include "arch/msr.h"
#include "vmm/vmx_caps.h"

static uint64_t ctl_msr(uint32_t must_be_1, uint32_t may_be_1)
{
	return (uint64_t)may_be_1 << 32 | must_be_1;
}

/* Bochs 2.7 tigerlake, decoded values (TRUE MSRs). */
#define TGL_BASIC          0x01d8100000000004ull
#define TGL_PIN_MUST       0x00000016u
#define TGL_PIN_MAY        0x0000007fu
#define TGL_PROC_MUST      0x04006172u
#define TGL_PROC_MAY       0xfff9fffeu
#define TGL_PROC2_MUST     0x00000000u
#define TGL_PROC2_MAY      0x02977fffu
#define TGL_EXIT_MUST      0x00036dfbu
#define TGL_EXIT_MAY       0x107fffffu
#define TGL_ENTRY_MUST     0x000011fbu
#define TGL_ENTRY_MAY      0x0010ffffu
/* Non-TRUE allowed 0-settings: the default1 classes of SDM A.2 are forced. */
#define TGL_PIN_MUST_OLD   0x00000016u /* pin default1: bits 1, 2, 4 */
#define TGL_PROC_MUST_OLD  0x0401e172u /* + CR3-load/store exiting (bits 15, 16) */
#define TGL_EXIT_MUST_OLD  0x00036dffu /* + save debug controls (bit 2) */
#define TGL_ENTRY_MUST_OLD 0x000011ffu /* + load debug controls (bit 2) */

/* Every EPT/VPID capability the monitor cares about. */
#define EV_FULL                                                                               \
	(VMX_CAP_EPT_EXECUTE_ONLY | VMX_CAP_EPT_PAGE_WALK_4 | VMX_CAP_EPT_MEMTYPE_UC |        \
	 VMX_CAP_EPT_MEMTYPE_WB | VMX_CAP_EPT_2MB_PAGES | VMX_CAP_EPT_1GB_PAGES | VMX_CAP_INVEPT | \
	 VMX_CAP_EPT_ACCESSED_DIRTY | VMX_CAP_INVEPT_SINGLE_CONTEXT | VMX_CAP_INVEPT_ALL_CONTEXT | \
	 VMX_CAP_INVVPID | VMX_CAP_INVVPID_INDIVIDUAL_ADDR | VMX_CAP_INVVPID_SINGLE_CONTEXT |    \
	 VMX_CAP_INVVPID_ALL_CONTEXT | VMX_CAP_INVVPID_SINGLE_CONTEXT_RETAIN_GLOBALS)
/* Sandy Bridge style: no 1 GiB pages, no accessed/dirty bits. */
#define EV_SNB (EV_FULL & ~(uint64_t)(VMX_CAP_EPT_1GB_PAGES | VMX_CAP_EPT_ACCESSED_DIRTY))

/* Synthetic IA32_VMX_MISC: timer rate 5, store LMA, HLT activity state, 4 CR3 targets. */
#define TEST_MISC (5ull | VMX_MISC_STORE_LMA | VMX_MISC_ACTIVITY_HLT | (4ull << 16))

static struct vmx_cap_msrs tigerlake(void)
{
	struct vmx_cap_msrs m = {
		.basic = TGL_BASIC,
		.misc = TEST_MISC,
		.pinbased = ctl_msr(TGL_PIN_MUST_OLD, TGL_PIN_MAY),
		.procbased = ctl_msr(TGL_PROC_MUST_OLD, TGL_PROC_MAY),
		.exit = ctl_msr(TGL_EXIT_MUST_OLD, TGL_EXIT_MAY),
		.entry = ctl_msr(TGL_ENTRY_MUST_OLD, TGL_ENTRY_MAY),
		.true_pinbased = ctl_msr(TGL_PIN_MUST, TGL_PIN_MAY),
		.true_procbased = ctl_msr(TGL_PROC_MUST, TGL_PROC_MAY),
		.true_exit = ctl_msr(TGL_EXIT_MUST, TGL_EXIT_MAY),
		.true_entry = ctl_msr(TGL_ENTRY_MUST, TGL_ENTRY_MAY),
		.procbased2 = ctl_msr(TGL_PROC2_MUST, TGL_PROC2_MAY),
		.ept_vpid_cap = EV_FULL,
		.cr0_fixed0 = 0x80000021,
		.cr0_fixed1 = 0xffffffff,
		.cr4_fixed0 = 0x2000,
		.cr4_fixed1 = 0xf72fff,
		.has_procbased2 = true,
		.has_ept_vpid_cap = true,
	};
	return m;
}

static struct vmx_caps decode(const struct vmx_cap_msrs *m)
{
	struct vmx_caps c;
	memset(&c, 0xa5, sizeof(c)); /* the decoder must set every field */
	vmx_caps_decode(m, &c);
	return c;
}

static void assert_words(const struct vmx_caps *c, const uint32_t must[VMX_CTL_COUNT],
			 const uint32_t may[VMX_CTL_COUNT])
{
	for (int w = 0; w < VMX_CTL_COUNT; w++) {
		if (c->must_be_1[w] != must[w] || c->may_be_1[w] != may[w])
			print_message("word %d (%s): must %#x may %#x, expected %#x %#x\n", w,
				      vmx_control_word_name(w), c->must_be_1[w], c->may_be_1[w], must[w], may[w]);
		assert_int_equal(c->must_be_1[w], must[w]);
		assert_int_equal(c->may_be_1[w], may[w]);
	}
}

/* ---- the capability-bit enums against the SDM (A.10) ---- */

static void test_ept_vpid_cap_bits_match_sdm(void **state)
{
	(void)state;
	/* Bits 0, 6, 8, 14, 16, 17, 20, 21, 25, 26 and 32, 40-43 (SDM A.10). */
	assert_true(EV_FULL == 0x00000f0106334141ull);
	assert_true(EV_SNB == 0x00000f0106114141ull);
	assert_true(VMX_CAP_INVVPID == 1ull << 32);
	assert_true(VMX_CAP_INVVPID_ALL_CONTEXT == 1ull << 42);
}

/* ---- decode: Bochs tigerlake ---- */

static void test_decode_tigerlake_basic(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	struct vmx_caps c = decode(&m);

	assert_int_equal(c.revision, 4);
	assert_int_equal(c.region_size, 4096);
	assert_true(c.true_ctls);
	assert_memory_equal(&c.raw, &m, sizeof(m));
	assert_int_equal(VMX_BASIC_MEMTYPE(c.raw.basic), VMX_MEMTYPE_WB);
}

static void test_decode_tigerlake_true_controls(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	struct vmx_caps c = decode(&m);
	const uint32_t must[VMX_CTL_COUNT] = {
		[VMX_CTL_PIN] = TGL_PIN_MUST,   [VMX_CTL_PROC] = TGL_PROC_MUST,
		[VMX_CTL_PROC2] = TGL_PROC2_MUST, [VMX_CTL_EXIT] = TGL_EXIT_MUST,
		[VMX_CTL_ENTRY] = TGL_ENTRY_MUST,
	};
	const uint32_t may[VMX_CTL_COUNT] = {
		[VMX_CTL_PIN] = TGL_PIN_MAY,   [VMX_CTL_PROC] = TGL_PROC_MAY,
		[VMX_CTL_PROC2] = TGL_PROC2_MAY, [VMX_CTL_EXIT] = TGL_EXIT_MAY,
		[VMX_CTL_ENTRY] = TGL_ENTRY_MAY,
	};
	assert_words(&c, must, may);
	/* With TRUE MSRs, CR3-load/store exiting and the debug-control bits may be 0. */
	assert_false(c.must_be_1[VMX_CTL_PROC] & (CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING));
	assert_false(c.must_be_1[VMX_CTL_EXIT] & EXIT_SAVE_DEBUG_CONTROLS);
	assert_false(c.must_be_1[VMX_CTL_ENTRY] & ENTRY_LOAD_DEBUG_CONTROLS);
}

static void test_decode_without_true_ctls_uses_plain_msrs(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	m.basic &= ~VMX_BASIC_TRUE_CTLS;
	struct vmx_caps c = decode(&m);
	const uint32_t must[VMX_CTL_COUNT] = {
		[VMX_CTL_PIN] = TGL_PIN_MUST_OLD,   [VMX_CTL_PROC] = TGL_PROC_MUST_OLD,
		[VMX_CTL_PROC2] = TGL_PROC2_MUST,   [VMX_CTL_EXIT] = TGL_EXIT_MUST_OLD,
		[VMX_CTL_ENTRY] = TGL_ENTRY_MUST_OLD,
	};
	const uint32_t may[VMX_CTL_COUNT] = {
		[VMX_CTL_PIN] = TGL_PIN_MAY,   [VMX_CTL_PROC] = TGL_PROC_MAY,
		[VMX_CTL_PROC2] = TGL_PROC2_MAY, [VMX_CTL_EXIT] = TGL_EXIT_MAY,
		[VMX_CTL_ENTRY] = TGL_ENTRY_MAY,
	};
	assert_false(c.true_ctls);
	assert_int_equal(c.revision, 4);
	assert_words(&c, must, may);
	assert_true(c.must_be_1[VMX_CTL_PROC] & CPU_CR3_LOAD_EXITING);
	assert_true(c.must_be_1[VMX_CTL_PROC] & CPU_CR3_STORE_EXITING);
	assert_true(c.must_be_1[VMX_CTL_EXIT] & EXIT_SAVE_DEBUG_CONTROLS);
	assert_true(c.must_be_1[VMX_CTL_ENTRY] & ENTRY_LOAD_DEBUG_CONTROLS);
}

/*
 * Synthetic MSRs in which every TRUE and non-TRUE word differs in both halves,
 * so that taking any one word (or half) from the wrong MSR is caught.
 */
static struct vmx_cap_msrs distinct_words(bool true_ctls)
{
	struct vmx_cap_msrs m = tigerlake();
	m.basic = true_ctls ? (m.basic | VMX_BASIC_TRUE_CTLS) : (m.basic & ~VMX_BASIC_TRUE_CTLS);
	m.pinbased = ctl_msr(0x00000001, 0x00000011);
	m.procbased = ctl_msr(0x00000002, 0x80000022);
	m.exit = ctl_msr(0x00000004, 0x00000044);
	m.entry = ctl_msr(0x00000008, 0x00000088);
	m.true_pinbased = ctl_msr(0x00000100, 0x00001100);
	m.true_procbased = ctl_msr(0x00000200, 0x80002200);
	m.true_exit = ctl_msr(0x00000400, 0x00004400);
	m.true_entry = ctl_msr(0x00000800, 0x00008800);
	m.procbased2 = ctl_msr(0x00010000, 0x00030000);
	return m;
}

static void test_decode_picks_each_word_from_the_right_msr(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = distinct_words(true);
	struct vmx_caps c = decode(&m);
	const uint32_t must_t[VMX_CTL_COUNT] = { 0x100, 0x200, 0x10000, 0x400, 0x800 };
	const uint32_t may_t[VMX_CTL_COUNT] = { 0x1100, 0x80002200, 0x30000, 0x4400, 0x8800 };
	assert_words(&c, must_t, may_t);

	m = distinct_words(false);
	c = decode(&m);
	const uint32_t must_p[VMX_CTL_COUNT] = { 0x1, 0x2, 0x10000, 0x4, 0x8 };
	const uint32_t may_p[VMX_CTL_COUNT] = { 0x11, 0x80000022, 0x30000, 0x44, 0x88 };
	assert_words(&c, must_p, may_p);
}

static void test_decode_tigerlake_features(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	struct vmx_caps c = decode(&m);

	assert_true(c.secondary);
	assert_true(c.ept);
	assert_true(c.ept_4level);
	assert_true(c.ept_wb);
	assert_true(c.ept_2m);
	assert_true(c.ept_1g);
	assert_true(c.ept_ad);
	assert_true(c.invept);
	assert_true(c.invept_single);
	assert_true(c.invept_all);
	assert_true(c.vpid);
	assert_true(c.invvpid);
	assert_true(c.invvpid_single);
	assert_true(c.invvpid_all);
	assert_true(c.invvpid_addr);
	assert_true(c.unrestricted_guest);
	assert_true(c.desc_table_exiting);
	assert_true(c.wbinvd_exiting);
	assert_true(c.preemption_timer);
	assert_true(c.msr_bitmaps);
	assert_true(c.io_bitmaps);
	assert_true(c.store_lma);
	assert_int_equal(c.preemption_timer_rate, 5);
	assert_int_equal(c.cr3_targets, 4);
}

static void test_decode_each_ept_vpid_bit_individually(void **state)
{
	(void)state;
	/* Removing one capability bit turns off exactly the matching feature. */
	static const struct {
		uint64_t bit;
		size_t offset;
	} map[] = {
		{ VMX_CAP_EPT_PAGE_WALK_4, offsetof(struct vmx_caps, ept_4level) },
		{ VMX_CAP_EPT_MEMTYPE_WB, offsetof(struct vmx_caps, ept_wb) },
		{ VMX_CAP_EPT_2MB_PAGES, offsetof(struct vmx_caps, ept_2m) },
		{ VMX_CAP_EPT_1GB_PAGES, offsetof(struct vmx_caps, ept_1g) },
		{ VMX_CAP_EPT_ACCESSED_DIRTY, offsetof(struct vmx_caps, ept_ad) },
		{ VMX_CAP_INVEPT_SINGLE_CONTEXT, offsetof(struct vmx_caps, invept_single) },
		{ VMX_CAP_INVEPT_ALL_CONTEXT, offsetof(struct vmx_caps, invept_all) },
		{ VMX_CAP_INVVPID_INDIVIDUAL_ADDR, offsetof(struct vmx_caps, invvpid_addr) },
		{ VMX_CAP_INVVPID_SINGLE_CONTEXT, offsetof(struct vmx_caps, invvpid_single) },
		{ VMX_CAP_INVVPID_ALL_CONTEXT, offsetof(struct vmx_caps, invvpid_all) },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		struct vmx_cap_msrs m = tigerlake();
		m.ept_vpid_cap &= ~map[i].bit;
		struct vmx_caps c = decode(&m);
		for (size_t j = 0; j < sizeof(map) / sizeof(map[0]); j++) {
			bool v = *(const bool *)((const char *)&c + map[j].offset);
			if (v != (i != j))
				print_message("cleared cap bit %#llx: feature %zu is %d\n",
					      (unsigned long long)map[i].bit, j, v);
			assert_true(v == (i != j));
		}
		assert_true(c.ept);
		assert_true(c.vpid);
	}
}

static void test_decode_invept_and_invvpid_types_need_the_instruction(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	m.ept_vpid_cap &= ~(uint64_t)(VMX_CAP_INVEPT | VMX_CAP_INVVPID);
	struct vmx_caps c = decode(&m);
	assert_true(c.ept);
	assert_true(c.vpid);
	assert_false(c.invept);
	assert_false(c.invept_single);
	assert_false(c.invept_all);
	assert_false(c.invvpid);
	assert_false(c.invvpid_single);
	assert_false(c.invvpid_all);
	assert_false(c.invvpid_addr);
}

static void test_decode_sandy_bridge_style(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	/* Secondary controls 0-7 only (no VM functions, PML, ...); no 1G pages, no A/D. */
	m.procbased2 = ctl_msr(0, 0x000000ff);
	m.ept_vpid_cap = EV_SNB;
	struct vmx_caps c = decode(&m);

	assert_true(c.secondary);
	assert_int_equal(c.may_be_1[VMX_CTL_PROC2], 0xff);
	assert_true(c.ept);
	assert_true(c.ept_4level);
	assert_true(c.ept_wb);
	assert_true(c.ept_2m);
	assert_false(c.ept_1g);
	assert_false(c.ept_ad);
	assert_true(c.invept);
	assert_true(c.invept_single);
	assert_true(c.invept_all);
	assert_true(c.vpid);
	assert_true(c.invvpid_all);
	assert_true(c.unrestricted_guest);
}

static void test_decode_without_secondary_controls(void **state)
{
	(void)state;
	/* The procbased2 and EPT/VPID values would allow everything, but the CPU has no secondary controls. */
	struct vmx_cap_msrs m = tigerlake();
	m.has_procbased2 = false;
	struct vmx_caps c = decode(&m);

	assert_false(c.secondary);
	assert_int_equal(c.must_be_1[VMX_CTL_PROC2], 0);
	assert_int_equal(c.may_be_1[VMX_CTL_PROC2], 0);
	assert_false(c.ept);
	assert_false(c.ept_4level);
	assert_false(c.ept_wb);
	assert_false(c.ept_2m);
	assert_false(c.ept_1g);
	assert_false(c.ept_ad);
	assert_false(c.invept);
	assert_false(c.invept_single);
	assert_false(c.invept_all);
	assert_false(c.vpid);
	assert_false(c.invvpid);
	assert_false(c.invvpid_single);
	assert_false(c.invvpid_all);
	assert_false(c.invvpid_addr);
	assert_false(c.unrestricted_guest);
	assert_false(c.desc_table_exiting);
	assert_false(c.wbinvd_exiting);
	/* Features of the other words are unaffected. */
	assert_true(c.msr_bitmaps);
	assert_true(c.io_bitmaps);
	assert_true(c.preemption_timer);
}

static void test_decode_secondary_needs_primary_bit_31(void **state)
{
	(void)state;
	/* has_procbased2 set, but bit 31 of the primary controls may not be 1. */
	struct vmx_cap_msrs m = tigerlake();
	m.true_procbased = ctl_msr(TGL_PROC_MUST, TGL_PROC_MAY & ~(uint32_t)CPU_ACTIVATE_SECONDARY_CONTROLS);
	struct vmx_caps c = decode(&m);
	assert_false(c.secondary);
	assert_int_equal(c.may_be_1[VMX_CTL_PROC2], 0);
	assert_false(c.ept);
	assert_false(c.vpid);
	assert_false(c.unrestricted_guest);
}

static void test_decode_ept_needs_the_cap_msr(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	m.has_ept_vpid_cap = false;
	struct vmx_caps c = decode(&m);
	assert_true(c.secondary);
	assert_false(c.ept);
	assert_false(c.ept_2m);
	assert_false(c.vpid);
	assert_false(c.invvpid);

	/* EPT not allowed by the secondary controls: the EPT features are off, VPID stays. */
	m = tigerlake();
	m.procbased2 = ctl_msr(0, TGL_PROC2_MAY & ~(uint32_t)CPU2_ENABLE_EPT);
	c = decode(&m);
	assert_false(c.ept);
	assert_false(c.ept_4level);
	assert_false(c.ept_1g);
	assert_false(c.invept);
	assert_true(c.vpid);
	assert_true(c.invvpid_single);

	/* VPID not allowed: the VPID features are off, EPT stays. */
	m = tigerlake();
	m.procbased2 = ctl_msr(0, TGL_PROC2_MAY & ~(uint32_t)CPU2_ENABLE_VPID);
	c = decode(&m);
	assert_true(c.ept);
	assert_true(c.invept_all);
	assert_false(c.vpid);
	assert_false(c.invvpid);
	assert_false(c.invvpid_all);
}

static void test_decode_misc_and_pin_features(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	m.misc = 0x1f | (0x1ffull << 16); /* rate 31, 511 CR3 targets, no LMA store */
	m.true_pinbased = ctl_msr(TGL_PIN_MUST, TGL_PIN_MAY & ~(uint32_t)PIN_ACTIVATE_PREEMPTION_TIMER);
	m.true_procbased = ctl_msr(TGL_PROC_MUST, TGL_PROC_MAY & ~(uint32_t)(CPU_USE_MSR_BITMAPS | CPU_USE_IO_BITMAPS));
	struct vmx_caps c = decode(&m);
	assert_int_equal(c.preemption_timer_rate, 31);
	assert_int_equal(c.cr3_targets, 511);
	assert_false(c.store_lma);
	assert_false(c.preemption_timer);
	assert_false(c.msr_bitmaps);
	assert_false(c.io_bitmaps);
	assert_true(c.secondary);
}

/* ---- adjust ---- */

static void test_adjust_required_bit_not_allowed(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	struct vmx_caps c = decode(&m);
	uint32_t result = 0xdeadbeef, missing = 0;

	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_PIN, PIN_NMI_EXITING | PIN_PROCESS_POSTED_INTERRUPTS, 0,
					     &result, &missing),
			 -1);
	assert_int_equal(missing, PIN_PROCESS_POSTED_INTERRUPTS);
	assert_int_equal(missing, 1u << 7);
	assert_string_equal(vmx_control_bit_name(VMX_CTL_PIN, 7), "posted interrupts");

	/* Secondary: mode-based EPT execute (bit 22) is not in 0x02977fff; EPT is. */
	missing = 0;
	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_PROC2, CPU2_ENABLE_EPT | CPU2_MODE_BASED_EPT_EXECUTE,
					     CPU2_ENABLE_PML, &result, &missing),
			 -1);
	assert_int_equal(missing, CPU2_MODE_BASED_EPT_EXECUTE);
	assert_string_equal(vmx_control_bit_name(VMX_CTL_PROC2, 22), "mode-based EPT execute");

	/* Several missing bits are all named; optional disallowed bits are not "missing". */
	missing = 0;
	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_ENTRY, ENTRY_IA32E_MODE_GUEST | (1u << 16) | (1u << 21),
					     1u << 17, &result, &missing),
			 -1);
	assert_int_equal(missing, (1u << 16) | (1u << 21));
}

static void test_adjust_success_forces_must_be_1(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	struct vmx_caps c = decode(&m);
	uint32_t result, missing;

	missing = 0xffffffff;
	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_PIN, PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING,
					     PIN_ACTIVATE_PREEMPTION_TIMER, &result, &missing),
			 0);
	assert_int_equal(missing, 0);
	assert_int_equal(result, 0x5f);

	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_PROC,
					     CPU_HLT_EXITING | CPU_USE_MSR_BITMAPS | CPU_ACTIVATE_SECONDARY_CONTROLS,
					     CPU_USE_IO_BITMAPS, &result, &missing),
			 0);
	assert_int_equal(result, 0x960061f2);

	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_EXIT,
					     EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER_EXIT,
					     EXIT_ACKNOWLEDGE_INTERRUPT_ON_EXIT, &result, &missing),
			 0);
	assert_int_equal(result, 0x0033effb);

	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_ENTRY, ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_IA32_EFER_ENTRY,
					     0, &result, &missing),
			 0);
	assert_int_equal(result, 0x000093fb);

	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_PROC2,
					     CPU2_ENABLE_EPT | CPU2_ENABLE_VPID | CPU2_UNRESTRICTED_GUEST, 0, &result,
					     &missing),
			 0);
	assert_int_equal(result, CPU2_ENABLE_EPT | CPU2_ENABLE_VPID | CPU2_UNRESTRICTED_GUEST);
}

static void test_adjust_nothing_requested_gives_must_be_1(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			m.basic &= ~VMX_BASIC_TRUE_CTLS;
		struct vmx_caps c = decode(&m);
		for (int w = 0; w < VMX_CTL_COUNT; w++) {
			uint32_t result = 0, missing = 1;
			assert_int_equal(vmx_adjust_controls(&c, w, 0, 0, &result, &missing), 0);
			assert_int_equal(missing, 0);
			assert_int_equal(result, c.must_be_1[w]);
		}
	}
	/* Non-TRUE: CR3 exiting is forced even though nobody asked for it. */
	struct vmx_caps c = decode(&m);
	uint32_t result, missing;
	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_PROC, CPU_HLT_EXITING, 0, &result, &missing), 0);
	assert_int_equal(result, TGL_PROC_MUST_OLD | CPU_HLT_EXITING);
	assert_true(result & CPU_CR3_LOAD_EXITING);
}

static void test_adjust_must_be_1_present_even_on_failure(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	struct vmx_caps c = decode(&m);
	uint32_t result = 0, missing = 0;
	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_EXIT, 1u << 31, EXIT_SAVE_IA32_PAT, &result, &missing), -1);
	assert_int_equal(missing, 1u << 31);
	assert_int_equal(result & TGL_EXIT_MUST, TGL_EXIT_MUST);
	assert_false(result & (1u << 31));
}

static void test_adjust_optional_disallowed_dropped(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	struct vmx_caps c = decode(&m);
	uint32_t result = 0, missing = 0xffffffff;

	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_PIN, PIN_NMI_EXITING,
					     PIN_PROCESS_POSTED_INTERRUPTS | PIN_VIRTUAL_NMIS, &result, &missing),
			 0);
	assert_int_equal(missing, 0);
	assert_false(result & PIN_PROCESS_POSTED_INTERRUPTS);
	assert_int_equal(result, TGL_PIN_MUST | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS);

	/* Primary bits 0, 17, 18 may not be 1 on this model. */
	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_PROC, 0, (1u << 0) | (1u << 17) | (1u << 18) | CPU_PAUSE_EXITING,
					     &result, &missing),
			 0);
	assert_int_equal(missing, 0);
	assert_int_equal(result, TGL_PROC_MUST | CPU_PAUSE_EXITING);

	/* Everything optional: exactly the may-be-1 set. */
	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_PROC2, 0, 0xffffffff, &result, &missing), 0);
	assert_int_equal(result, TGL_PROC2_MAY);
}

static void test_adjust_secondary_absent(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	m.has_procbased2 = false;
	struct vmx_caps c = decode(&m);
	uint32_t result = 0xffffffff, missing = 0;

	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_PROC2, CPU2_ENABLE_EPT, 0, &result, &missing), -1);
	assert_int_equal(missing, CPU2_ENABLE_EPT);
	assert_int_equal(vmx_adjust_controls(&c, VMX_CTL_PROC2, 0, CPU2_ENABLE_EPT | CPU2_ENABLE_VPID, &result,
					     &missing),
			 0);
	assert_int_equal(result, 0);
}

/* ---- names ---- */

static void test_control_bit_names(void **state)
{
	(void)state;
	assert_string_equal(vmx_control_bit_name(VMX_CTL_PIN, 0), "external-interrupt exiting");
	assert_string_equal(vmx_control_bit_name(VMX_CTL_PROC, 31), "secondary controls");
	assert_string_equal(vmx_control_bit_name(VMX_CTL_PROC, 7), "HLT exiting");
	assert_string_equal(vmx_control_bit_name(VMX_CTL_PROC2, 1), "EPT");
	assert_string_equal(vmx_control_bit_name(VMX_CTL_PROC2, 7), "unrestricted guest");
	assert_string_equal(vmx_control_bit_name(VMX_CTL_EXIT, 9), "host address-space size (64-bit host)");
	assert_string_equal(vmx_control_bit_name(VMX_CTL_ENTRY, 9), "IA-32e mode guest");
	/* The same bit number means different things in different words. */
	assert_string_equal(vmx_control_bit_name(VMX_CTL_EXIT, 15), "acknowledge interrupt on exit");
	assert_string_equal(vmx_control_bit_name(VMX_CTL_ENTRY, 15), "load IA32_EFER");
	/* Unnamed (reserved/default1) bits and unknown words. */
	assert_null(vmx_control_bit_name(VMX_CTL_PIN, 1));
	assert_null(vmx_control_bit_name(VMX_CTL_PIN, 8));
	assert_null(vmx_control_bit_name(VMX_CTL_PROC, 0));
	assert_null(vmx_control_bit_name(VMX_CTL_ENTRY, 0));
	assert_null(vmx_control_bit_name(VMX_CTL_PROC2, 32));
	assert_null(vmx_control_bit_name(VMX_CTL_COUNT, 0));
}

/* Every row of every table is found under its own word with its own text, and nothing else is named. */
static unsigned check_table_row(enum vmx_control_word w, unsigned bit, const char *text)
{
	const char *s = vmx_control_bit_name(w, bit);
	if (!s || strcmp(s, text) != 0)
		print_message("%s bit %u: '%s', expected '%s'\n", vmx_control_word_name(w), bit, s ? s : "(null)",
			      text);
	assert_non_null(s);
	assert_string_equal(s, text);
	return 1;
}

static unsigned named_bits(enum vmx_control_word w)
{
	unsigned n = 0;
	for (unsigned b = 0; b < 64; b++)
		n += vmx_control_bit_name(w, b) != NULL;
	return n;
}

static void test_control_bit_names_whole_tables(void **state)
{
	(void)state;
	unsigned rows;
#define ROW(name, bit, text) rows += check_table_row(CUR_WORD, bit, text);
#define CHECK_TABLE(word, table, expected_rows)                \
	do {                                                   \
		rows = 0;                                      \
		table(ROW)                                     \
		assert_int_equal(rows, expected_rows);         \
		assert_int_equal(named_bits(word), rows);      \
	} while (0)
#define CUR_WORD VMX_CTL_PIN
	CHECK_TABLE(VMX_CTL_PIN, PIN_BASED_CONTROLS, 5);
#undef CUR_WORD
#define CUR_WORD VMX_CTL_PROC
	CHECK_TABLE(VMX_CTL_PROC, PRIMARY_PROC_CONTROLS, 21);
#undef CUR_WORD
#define CUR_WORD VMX_CTL_PROC2
	CHECK_TABLE(VMX_CTL_PROC2, SECONDARY_PROC_CONTROLS, 22);
#undef CUR_WORD
#define CUR_WORD VMX_CTL_EXIT
	CHECK_TABLE(VMX_CTL_EXIT, VM_EXIT_CONTROLS, 9);
#undef CUR_WORD
#define CUR_WORD VMX_CTL_ENTRY
	CHECK_TABLE(VMX_CTL_ENTRY, VM_ENTRY_CONTROLS, 6);
#undef CUR_WORD
#undef CHECK_TABLE
#undef ROW
}

static void test_control_word_names(void **state)
{
	(void)state;
	assert_string_equal(vmx_control_word_name(VMX_CTL_PIN), "pin-based");
	assert_string_equal(vmx_control_word_name(VMX_CTL_PROC), "primary processor-based");
	assert_string_equal(vmx_control_word_name(VMX_CTL_PROC2), "secondary processor-based");
	assert_string_equal(vmx_control_word_name(VMX_CTL_EXIT), "VM-exit");
	assert_string_equal(vmx_control_word_name(VMX_CTL_ENTRY), "VM-entry");
	assert_string_equal(vmx_control_word_name(VMX_CTL_COUNT), "unknown");
}

/* ---- report ---- */

#define MAX_LINES 64
struct lines {
	int count;
	char text[MAX_LINES][256];
};

static void collect(void *ctx, const char *text)
{
	struct lines *l = ctx;
	assert_non_null(text);
	assert_true(strlen(text) < sizeof(l->text[0]));
	if (l->count < MAX_LINES)
		strcpy(l->text[l->count], text);
	l->count++;
}

static void dump(const struct lines *l)
{
	print_message("the report was:\n");
	for (int i = 0; i < l->count && i < MAX_LINES; i++)
		print_message("[%s]\n", l->text[i]);
}

/* Exactly one line reads "  <label padded to 34> <value>". */
static void assert_row(const struct lines *l, const char *label, const char *value)
{
	char want[256];
	int found = 0;
	snprintf(want, sizeof(want), "  %-34s %s", label, value);
	for (int i = 0; i < l->count && i < MAX_LINES; i++)
		found += strcmp(l->text[i], want) == 0;
	if (found != 1) {
		print_message("expected once: [%s], found %d times\n", want, found);
		dump(l);
	}
	assert_int_equal(found, 1);
}

static void test_report_tigerlake(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	struct vmx_caps c = decode(&m);
	struct lines l = { 0 };
	vmx_caps_report(&c, collect, &l);

	assert_true(l.count > 10 && l.count <= MAX_LINES);
	assert_string_equal(l.text[0], "VMX capabilities (IA32_VMX_BASIC=0x01d8100000000004)");
	assert_row(&l, "VMCS revision identifier", "4");
	assert_row(&l, "VMXON/VMCS region size", "4096 bytes");
	assert_row(&l, "TRUE capability MSRs (bit 55)", "yes");
	assert_row(&l, "pin-based", "must-be-1 00000016  may-be-1 0000007f");
	assert_row(&l, "primary processor-based", "must-be-1 04006172  may-be-1 fff9fffe");
	assert_row(&l, "secondary processor-based", "must-be-1 00000000  may-be-1 02977fff");
	assert_row(&l, "VM-exit", "must-be-1 00036dfb  may-be-1 107fffff");
	assert_row(&l, "VM-entry", "must-be-1 000011fb  may-be-1 0010ffff");
	assert_row(&l, "EPT large pages", "2M yes, 1G yes");
	assert_row(&l, "EPT accessed/dirty bits", "yes");
	assert_row(&l, "EPT 4-level walk, WB", "yes");
	assert_row(&l, "INVEPT types", "single-context yes, all-context yes");
	assert_row(&l, "VPID", "yes");
	assert_row(&l, "INVVPID types", "individual-address yes, single-context yes, all-context yes");
	assert_row(&l, "unrestricted guest", "yes");
	assert_row(&l, "VMX-preemption timer", "yes (rate: TSC >> 5)");
	assert_row(&l, "bitmaps", "MSR yes, I/O yes");
	assert_row(&l, "CR3-target values", "4");
	assert_row(&l, "CR0", "fixed0 0x80000021 fixed1 0xffffffff");
	assert_row(&l, "CR4", "fixed0 0x2000 fixed1 0xf72fff");
	assert_row(&l, "EPT", "yes");
	assert_row(&l, "descriptor-table exiting", "yes");
}

static void test_report_old_cpu(void **state)
{
	(void)state;
	struct vmx_cap_msrs m = tigerlake();
	m.basic &= ~VMX_BASIC_TRUE_CTLS;
	m.ept_vpid_cap = EV_SNB;
	struct vmx_caps c = decode(&m);
	struct lines l = { 0 };
	vmx_caps_report(&c, collect, &l);
	assert_string_equal(l.text[0], "VMX capabilities (IA32_VMX_BASIC=0x0158100000000004)");
	assert_row(&l, "TRUE capability MSRs (bit 55)", "no");
	assert_row(&l, "primary processor-based", "must-be-1 0401e172  may-be-1 fff9fffe");
	assert_row(&l, "EPT large pages", "2M yes, 1G no");
	assert_row(&l, "EPT accessed/dirty bits", "no");

	m = tigerlake();
	m.has_procbased2 = false;
	c = decode(&m);
	l.count = 0;
	vmx_caps_report(&c, collect, &l);
	assert_row(&l, "secondary processor-based", "must-be-1 00000000  may-be-1 00000000");
	assert_row(&l, "VPID", "no");
	assert_row(&l, "unrestricted guest", "no");
	assert_row(&l, "INVVPID types", "individual-address no, single-context no, all-context no");
	assert_row(&l, "EPT", "no");
	assert_row(&l, "EPT large pages", "2M no, 1G no");
}

/* IA32_FEATURE_CONTROL before VMXON (SDM Vol. 3C 23.7). */
static void test_feature_control_verdict(void **state)
{
	(void)state;
	uint64_t w;
	/* Unlocked (as Bochs and many hypervisors leave it): enable VMX outside SMX and lock, keep other bits. */
	assert_int_equal(vmx_feature_control_verdict(0, &w), FC_LOCK_AND_ENABLE);
	assert_int_equal(w, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	assert_int_equal(vmx_feature_control_verdict(FEATURE_CONTROL_VMX_INSIDE_SMX | (1ull << 20), &w),
			 FC_LOCK_AND_ENABLE);
	assert_int_equal(w, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX |
				    FEATURE_CONTROL_VMX_INSIDE_SMX | (1ull << 20));
	/* Locked with VMX outside SMX on (firmware with VT-x enabled): nothing to write. */
	assert_int_equal(vmx_feature_control_verdict(FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX, &w),
			 FC_READY);
	assert_int_equal(w, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	/* Locked with it off (VT-x disabled in the firmware), even with VMX inside SMX on: only the setup can help. */
	assert_int_equal(vmx_feature_control_verdict(FEATURE_CONTROL_LOCKED, &w), FC_DISABLED_IN_FIRMWARE);
	assert_int_equal(vmx_feature_control_verdict(FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_INSIDE_SMX, &w),
			 FC_DISABLED_IN_FIRMWARE);
}

static void test_hypervisor_names(void **state)
{
	(void)state;
	assert_string_equal(vmx_hypervisor_name("TCGTCGTCGTCG"), "QEMU TCG");
	assert_string_equal(vmx_hypervisor_name("KVMKVMKVM"), "KVM");
	assert_string_equal(vmx_hypervisor_name("Microsoft Hv"), "Microsoft Hyper-V");
	assert_string_equal(vmx_hypervisor_name("VMwareVMware"), "VMware");
	assert_null(vmx_hypervisor_name("KVMKVMKVMKVM"));
	assert_null(vmx_hypervisor_name(""));
	assert_non_null(strstr(vmx_nested_hint("KVM"), "nested=1"));
	assert_non_null(strstr(vmx_nested_hint("QEMU TCG"), "no Intel VMX"));
	/* An unknown hypervisor still gets advice. */
	assert_non_null(strstr(vmx_nested_hint(NULL), "nested virtualization"));
	assert_string_equal(vmx_nested_hint("Bochs"), vmx_nested_hint(NULL));
}

/* ---- another core's MSRs against the bootstrap processor's (vmx_caps_compare) ---- */

static void test_compare_equal_cores(void **state)
{
	(void)state;
	struct vmx_cap_msrs bsp = tigerlake(), ap = tigerlake();
	char why[200] = "untouched";
	assert_int_equal(vmx_caps_compare(&bsp, &ap, why, sizeof(why)), 0);
}

/* Each MSR, changed alone by one bit, is found and named with both values. */
static void test_compare_names_each_differing_msr(void **state)
{
	(void)state;
	static const struct {
		size_t offset;
		const char *name;
	} fields[] = {
		{ offsetof(struct vmx_cap_msrs, basic), "IA32_VMX_BASIC" },
		{ offsetof(struct vmx_cap_msrs, misc), "IA32_VMX_MISC" },
		{ offsetof(struct vmx_cap_msrs, pinbased), "IA32_VMX_PINBASED_CTLS" },
		{ offsetof(struct vmx_cap_msrs, procbased), "IA32_VMX_PROCBASED_CTLS" },
		{ offsetof(struct vmx_cap_msrs, exit), "IA32_VMX_EXIT_CTLS" },
		{ offsetof(struct vmx_cap_msrs, entry), "IA32_VMX_ENTRY_CTLS" },
		{ offsetof(struct vmx_cap_msrs, true_pinbased), "IA32_VMX_TRUE_PINBASED_CTLS" },
		{ offsetof(struct vmx_cap_msrs, true_procbased), "IA32_VMX_TRUE_PROCBASED_CTLS" },
		{ offsetof(struct vmx_cap_msrs, true_exit), "IA32_VMX_TRUE_EXIT_CTLS" },
		{ offsetof(struct vmx_cap_msrs, true_entry), "IA32_VMX_TRUE_ENTRY_CTLS" },
		{ offsetof(struct vmx_cap_msrs, procbased2), "IA32_VMX_PROCBASED_CTLS2" },
		{ offsetof(struct vmx_cap_msrs, ept_vpid_cap), "IA32_VMX_EPT_VPID_CAP" },
		{ offsetof(struct vmx_cap_msrs, vmfunc), "IA32_VMX_VMFUNC" },
		{ offsetof(struct vmx_cap_msrs, cr0_fixed0), "IA32_VMX_CR0_FIXED0" },
		{ offsetof(struct vmx_cap_msrs, cr0_fixed1), "IA32_VMX_CR0_FIXED1" },
		{ offsetof(struct vmx_cap_msrs, cr4_fixed0), "IA32_VMX_CR4_FIXED0" },
		{ offsetof(struct vmx_cap_msrs, cr4_fixed1), "IA32_VMX_CR4_FIXED1" },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		struct vmx_cap_msrs bsp = tigerlake(), ap = tigerlake();
		uint64_t *f = (uint64_t *)((char *)&ap + fields[i].offset);
		const uint64_t bsp_value = *f;
		char why[200] = "", expect[200];
		*f ^= 1ull << 40;
		assert_int_equal(vmx_caps_compare(&bsp, &ap, why, sizeof(why)), -1);
		snprintf(expect, sizeof(expect), "its %s is %#llx, the bootstrap processor's %#llx", fields[i].name,
			 (unsigned long long)*f, (unsigned long long)bsp_value);
		assert_string_equal(why, expect);
	}
}

static void test_compare_msr_presence(void **state)
{
	(void)state;
	struct vmx_cap_msrs bsp = tigerlake(), ap = tigerlake();
	char why[200] = "";
	ap.has_vmfunc = true;
	assert_int_equal(vmx_caps_compare(&bsp, &ap, why, sizeof(why)), -1);
	assert_string_equal(why, "it has IA32_VMX_PROCBASED_CTLS2 / EPT_VPID_CAP / VMFUNC 1/1/1, the bootstrap "
				 "processor 1/1/0 (1: the MSR exists)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ept_vpid_cap_bits_match_sdm),
		cmocka_unit_test(test_decode_tigerlake_basic),
		cmocka_unit_test(test_decode_tigerlake_true_controls),
		cmocka_unit_test(test_decode_without_true_ctls_uses_plain_msrs),
		cmocka_unit_test(test_decode_picks_each_word_from_the_right_msr),
		cmocka_unit_test(test_decode_tigerlake_features),
		cmocka_unit_test(test_decode_each_ept_vpid_bit_individually),
		cmocka_unit_test(test_decode_invept_and_invvpid_types_need_the_instruction),
		cmocka_unit_test(test_decode_sandy_bridge_style),
		cmocka_unit_test(test_decode_without_secondary_controls),
		cmocka_unit_test(test_decode_secondary_needs_primary_bit_31),
		cmocka_unit_test(test_decode_ept_needs_the_cap_msr),
		cmocka_unit_test(test_decode_misc_and_pin_features),
		cmocka_unit_test(test_adjust_required_bit_not_allowed),
		cmocka_unit_test(test_adjust_success_forces_must_be_1),
		cmocka_unit_test(test_adjust_nothing_requested_gives_must_be_1),
		cmocka_unit_test(test_adjust_must_be_1_present_even_on_failure),
		cmocka_unit_test(test_adjust_optional_disallowed_dropped),
		cmocka_unit_test(test_adjust_secondary_absent),
		cmocka_unit_test(test_control_bit_names),
		cmocka_unit_test(test_control_bit_names_whole_tables),
		cmocka_unit_test(test_control_word_names),
		cmocka_unit_test(test_report_tigerlake),
		cmocka_unit_test(test_report_old_cpu),
		cmocka_unit_test(test_feature_control_verdict),
		cmocka_unit_test(test_hypervisor_names),
		cmocka_unit_test(test_compare_equal_cores),
		cmocka_unit_test(test_compare_names_each_differing_msr),
		cmocka_unit_test(test_compare_msr_presence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
