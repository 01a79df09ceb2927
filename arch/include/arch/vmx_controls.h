/*
 * VMX execution/exit/entry control bits and capability-MSR fields.
 * One X-macro table per control word: X(name, bit, description).
 * SDM Vol. 3C 25.6 (execution controls), 25.7 (exit), 25.8 (entry),
 * Appendix A (capability MSRs).
 */
#ifndef ARCH_VMX_CONTROLS_H
#define ARCH_VMX_CONTROLS_H

#include <stdint.h>

/* SDM 25.6.1, Table 25-5 */
#define PIN_BASED_CONTROLS(X)                                     \
	X(EXTERNAL_INTERRUPT_EXITING, 0, "external-interrupt exiting") \
	X(NMI_EXITING,                3, "NMI exiting")               \
	X(VIRTUAL_NMIS,               5, "virtual NMIs")              \
	X(ACTIVATE_PREEMPTION_TIMER,  6, "VMX preemption timer")      \
	X(PROCESS_POSTED_INTERRUPTS,  7, "posted interrupts")

/* SDM 25.6.2, Table 25-6 */
#define PRIMARY_PROC_CONTROLS(X)                                   \
	X(INTERRUPT_WINDOW_EXITING, 2,  "interrupt-window exiting")    \
	X(USE_TSC_OFFSETTING,       3,  "TSC offsetting")              \
	X(HLT_EXITING,              7,  "HLT exiting")                 \
	X(INVLPG_EXITING,           9,  "INVLPG exiting")              \
	X(MWAIT_EXITING,            10, "MWAIT exiting")               \
	X(RDPMC_EXITING,            11, "RDPMC exiting")               \
	X(RDTSC_EXITING,            12, "RDTSC exiting")               \
	X(CR3_LOAD_EXITING,         15, "CR3-load exiting")            \
	X(CR3_STORE_EXITING,        16, "CR3-store exiting")           \
	X(CR8_LOAD_EXITING,         19, "CR8-load exiting")            \
	X(CR8_STORE_EXITING,        20, "CR8-store exiting")           \
	X(USE_TPR_SHADOW,           21, "TPR shadow")                  \
	X(NMI_WINDOW_EXITING,       22, "NMI-window exiting")          \
	X(MOV_DR_EXITING,           23, "MOV-DR exiting")              \
	X(UNCONDITIONAL_IO_EXITING, 24, "unconditional I/O exiting")   \
	X(USE_IO_BITMAPS,           25, "I/O bitmaps")                 \
	X(MONITOR_TRAP_FLAG,        27, "monitor trap flag")           \
	X(USE_MSR_BITMAPS,          28, "MSR bitmaps")                 \
	X(MONITOR_EXITING,          29, "MONITOR exiting")             \
	X(PAUSE_EXITING,            30, "PAUSE exiting")               \
	X(ACTIVATE_SECONDARY_CONTROLS, 31, "secondary controls")

/* SDM 25.6.2, Table 25-7 */
#define SECONDARY_PROC_CONTROLS(X)                                        \
	X(VIRTUALIZE_APIC_ACCESSES,      0,  "virtualize APIC accesses")      \
	X(ENABLE_EPT,                    1,  "EPT")                           \
	X(DESCRIPTOR_TABLE_EXITING,      2,  "descriptor-table exiting")      \
	X(ENABLE_RDTSCP,                 3,  "RDTSCP")                        \
	X(VIRTUALIZE_X2APIC_MODE,        4,  "virtualize x2APIC mode")        \
	X(ENABLE_VPID,                   5,  "VPID")                          \
	X(WBINVD_EXITING,                6,  "WBINVD exiting")                \
	X(UNRESTRICTED_GUEST,            7,  "unrestricted guest")            \
	X(APIC_REGISTER_VIRTUALIZATION,  8,  "APIC-register virtualization")  \
	X(VIRTUAL_INTERRUPT_DELIVERY,    9,  "virtual-interrupt delivery")    \
	X(PAUSE_LOOP_EXITING,            10, "PAUSE-loop exiting")            \
	X(RDRAND_EXITING,                11, "RDRAND exiting")                \
	X(ENABLE_INVPCID,                12, "INVPCID")                       \
	X(ENABLE_VM_FUNCTIONS,           13, "VM functions")                  \
	X(VMCS_SHADOWING,                14, "VMCS shadowing")                \
	X(RDSEED_EXITING,                16, "RDSEED exiting")                \
	X(ENABLE_PML,                    17, "page-modification logging")     \
	X(EPT_VIOLATION_VE,              18, "EPT-violation #VE")             \
	X(ENABLE_XSAVES_XRSTORS,         20, "XSAVES/XRSTORS")                \
	X(MODE_BASED_EPT_EXECUTE,        22, "mode-based EPT execute")        \
	X(SUB_PAGE_WRITE_PERMISSIONS,    23, "sub-page write permissions")    \
	X(USE_TSC_SCALING,               25, "TSC scaling")

/* SDM 25.7.1, Table 25-13 */
#define VM_EXIT_CONTROLS(X)                                                 \
	X(SAVE_DEBUG_CONTROLS,              2,  "save debug controls")          \
	X(HOST_ADDRESS_SPACE_SIZE,          9,  "host address-space size (64-bit host)") \
	X(LOAD_IA32_PERF_GLOBAL_CTRL_EXIT,  12, "load IA32_PERF_GLOBAL_CTRL")   \
	X(ACKNOWLEDGE_INTERRUPT_ON_EXIT,    15, "acknowledge interrupt on exit")\
	X(SAVE_IA32_PAT,                    18, "save IA32_PAT")                \
	X(LOAD_IA32_PAT_EXIT,               19, "load IA32_PAT")                \
	X(SAVE_IA32_EFER,                   20, "save IA32_EFER")               \
	X(LOAD_IA32_EFER_EXIT,              21, "load IA32_EFER")               \
	X(SAVE_VMX_PREEMPTION_TIMER,        22, "save VMX-preemption timer value")

/* SDM 25.8.1, Table 25-15 */
#define VM_ENTRY_CONTROLS(X)                                                \
	X(LOAD_DEBUG_CONTROLS,              2,  "load debug controls")          \
	X(IA32E_MODE_GUEST,                 9,  "IA-32e mode guest")            \
	X(ENTRY_TO_SMM,                     10, "entry to SMM")                 \
	X(LOAD_IA32_PERF_GLOBAL_CTRL_ENTRY, 13, "load IA32_PERF_GLOBAL_CTRL")   \
	X(LOAD_IA32_PAT_ENTRY,              14, "load IA32_PAT")                \
	X(LOAD_IA32_EFER_ENTRY,             15, "load IA32_EFER")

#define X(name, bit, text) PIN_##name = 1u << bit,
enum pin_based_control { PIN_BASED_CONTROLS(X) };
#undef X
#define X(name, bit, text) CPU_##name = 1u << bit,
enum primary_proc_control { PRIMARY_PROC_CONTROLS(X) };
#undef X
#define X(name, bit, text) CPU2_##name = 1u << bit,
enum secondary_proc_control { SECONDARY_PROC_CONTROLS(X) };
#undef X
#define X(name, bit, text) EXIT_##name = 1u << bit,
enum vm_exit_control { VM_EXIT_CONTROLS(X) };
#undef X
#define X(name, bit, text) ENTRY_##name = 1u << bit,
enum vm_entry_control { VM_ENTRY_CONTROLS(X) };
#undef X

/* IA32_VMX_BASIC (SDM Appendix A.1) */
#define VMX_BASIC_REVISION_MASK      0x7fffffffull
#define VMX_BASIC_REGION_SIZE(b)     (((b) >> 32) & 0x1fffu)
#define VMX_BASIC_PHYS_ADDR_32BIT    (1ull << 48)
#define VMX_BASIC_MEMTYPE(b)         (((b) >> 50) & 0xfu)
#define VMX_BASIC_INS_OUTS_INFO      (1ull << 54)
#define VMX_BASIC_TRUE_CTLS          (1ull << 55)
#define VMX_BASIC_ENTRY_ERRCODE_ANY  (1ull << 56)
#define VMX_MEMTYPE_WB               6u

/* IA32_VMX_MISC (SDM Appendix A.6) */
#define VMX_MISC_PREEMPT_TIMER_RATE(m) ((m) & 0x1fu)
#define VMX_MISC_STORE_LMA           (1ull << 5)
#define VMX_MISC_ACTIVITY_HLT        (1ull << 6)
#define VMX_MISC_ACTIVITY_SHUTDOWN   (1ull << 7)
#define VMX_MISC_ACTIVITY_WAIT_SIPI  (1ull << 8)
#define VMX_MISC_CR3_TARGETS(m)      (((m) >> 16) & 0x1ffu)
#define VMX_MISC_VMWRITE_ANY_FIELD   (1ull << 29)
#define VMX_MISC_INJECT_ZERO_LENGTH  (1ull << 30)

/* IA32_VMX_EPT_VPID_CAP (SDM Appendix A.10): X(name, bit, description) */
#define EPT_VPID_CAPS(X)                                           \
	X(EPT_EXECUTE_ONLY,        0,  "EPT execute-only pages")   \
	X(EPT_PAGE_WALK_4,         6,  "4-level EPT")              \
	X(EPT_PAGE_WALK_5,         7,  "5-level EPT")              \
	X(EPT_MEMTYPE_UC,          8,  "EPT memory type UC")       \
	X(EPT_MEMTYPE_WB,          14, "EPT memory type WB")       \
	X(EPT_2MB_PAGES,           16, "EPT 2 MiB pages")          \
	X(EPT_1GB_PAGES,           17, "EPT 1 GiB pages")          \
	X(INVEPT,                  20, "INVEPT")                   \
	X(EPT_ACCESSED_DIRTY,      21, "EPT accessed/dirty bits")  \
	X(EPT_ADVANCED_EXIT_INFO,  22, "EPT advanced exit info")   \
	X(INVEPT_SINGLE_CONTEXT,   25, "INVEPT single-context")    \
	X(INVEPT_ALL_CONTEXT,      26, "INVEPT all-context")       \
	X(INVVPID,                 32, "INVVPID")                  \
	X(INVVPID_INDIVIDUAL_ADDR, 40, "INVVPID individual-address") \
	X(INVVPID_SINGLE_CONTEXT,  41, "INVVPID single-context")   \
	X(INVVPID_ALL_CONTEXT,     42, "INVVPID all-context")      \
	X(INVVPID_SINGLE_CONTEXT_RETAIN_GLOBALS, 43, "INVVPID single-context-retaining-globals")

#define X(name, bit, text) VMX_CAP_##name = 1ull << bit,
enum ept_vpid_cap { EPT_VPID_CAPS(X) };
#undef X

#endif
