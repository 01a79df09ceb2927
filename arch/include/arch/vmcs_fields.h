/*
 * VMCS fields: one table, X(name, encoding, width).  SDM Vol. 3C Appendix B.
 * The access width is also encoded in bits 14:13 of the encoding (SDM 25.11.2);
 * a static assertion below checks every row against it, and the accessors in
 * vmm/vmx/vmcs.h check the width of constant fields at compile time.
 */
#ifndef ARCH_VMCS_FIELDS_H
#define ARCH_VMCS_FIELDS_H

#define VMCS_W16  0
#define VMCS_W64  1
#define VMCS_W32  2
#define VMCS_WNAT 3
#define VMCS_FIELD_WIDTH(enc) (((enc) >> 13) & 3)
#define VMCS_FIELD_IS_HIGH(enc) ((enc) & 1) /* "high" half of a 64-bit field */
#define VMCS_FIELD_TYPE(enc) (((enc) >> 10) & 3) /* 0 control, 1 read-only data, 2 guest, 3 host */

#define VMCS_FIELDS(X)                                                   \
	/* 16-bit control fields (B.1.1) */                              \
	X(VIRTUAL_PROCESSOR_ID,            0x0000, VMCS_W16)             \
	X(POSTED_INTR_NOTIFICATION_VECTOR, 0x0002, VMCS_W16)             \
	X(EPTP_INDEX,                      0x0004, VMCS_W16)             \
	X(HLAT_PREFIX_SIZE,                0x0006, VMCS_W16)             \
	X(LAST_PID_POINTER_INDEX,          0x0008, VMCS_W16)             \
	/* 16-bit guest-state fields (B.1.2) */                          \
	X(GUEST_ES_SELECTOR,               0x0800, VMCS_W16)             \
	X(GUEST_CS_SELECTOR,               0x0802, VMCS_W16)             \
	X(GUEST_SS_SELECTOR,               0x0804, VMCS_W16)             \
	X(GUEST_DS_SELECTOR,               0x0806, VMCS_W16)             \
	X(GUEST_FS_SELECTOR,               0x0808, VMCS_W16)             \
	X(GUEST_GS_SELECTOR,               0x080a, VMCS_W16)             \
	X(GUEST_LDTR_SELECTOR,             0x080c, VMCS_W16)             \
	X(GUEST_TR_SELECTOR,               0x080e, VMCS_W16)             \
	X(GUEST_INTERRUPT_STATUS,          0x0810, VMCS_W16)             \
	X(GUEST_PML_INDEX,                 0x0812, VMCS_W16)             \
	X(GUEST_UINV,                      0x0814, VMCS_W16)             \
	/* 16-bit host-state fields (B.1.3) */                           \
	X(HOST_ES_SELECTOR,                0x0c00, VMCS_W16)             \
	X(HOST_CS_SELECTOR,                0x0c02, VMCS_W16)             \
	X(HOST_SS_SELECTOR,                0x0c04, VMCS_W16)             \
	X(HOST_DS_SELECTOR,                0x0c06, VMCS_W16)             \
	X(HOST_FS_SELECTOR,                0x0c08, VMCS_W16)             \
	X(HOST_GS_SELECTOR,                0x0c0a, VMCS_W16)             \
	X(HOST_TR_SELECTOR,                0x0c0c, VMCS_W16)             \
	/* 64-bit control fields (B.2.1) */                              \
	X(IO_BITMAP_A,                     0x2000, VMCS_W64)             \
	X(IO_BITMAP_B,                     0x2002, VMCS_W64)             \
	X(MSR_BITMAP,                      0x2004, VMCS_W64)             \
	X(VM_EXIT_MSR_STORE_ADDR,          0x2006, VMCS_W64)             \
	X(VM_EXIT_MSR_LOAD_ADDR,           0x2008, VMCS_W64)             \
	X(VM_ENTRY_MSR_LOAD_ADDR,          0x200a, VMCS_W64)             \
	X(EXECUTIVE_VMCS_POINTER,          0x200c, VMCS_W64)             \
	X(PML_ADDRESS,                     0x200e, VMCS_W64)             \
	X(TSC_OFFSET,                      0x2010, VMCS_W64)             \
	X(VIRTUAL_APIC_PAGE_ADDR,          0x2012, VMCS_W64)             \
	X(APIC_ACCESS_ADDR,                0x2014, VMCS_W64)             \
	X(POSTED_INTR_DESC_ADDR,           0x2016, VMCS_W64)             \
	X(VM_FUNCTION_CONTROL,             0x2018, VMCS_W64)             \
	X(EPT_POINTER,                     0x201a, VMCS_W64)             \
	X(EOI_EXIT_BITMAP0,                0x201c, VMCS_W64)             \
	X(EOI_EXIT_BITMAP1,                0x201e, VMCS_W64)             \
	X(EOI_EXIT_BITMAP2,                0x2020, VMCS_W64)             \
	X(EOI_EXIT_BITMAP3,                0x2022, VMCS_W64)             \
	X(EPTP_LIST_ADDR,                  0x2024, VMCS_W64)             \
	X(VMREAD_BITMAP,                   0x2026, VMCS_W64)             \
	X(VMWRITE_BITMAP,                  0x2028, VMCS_W64)             \
	X(VE_INFORMATION_ADDR,             0x202a, VMCS_W64)             \
	X(XSS_EXIT_BITMAP,                 0x202c, VMCS_W64)             \
	X(ENCLS_EXITING_BITMAP,            0x202e, VMCS_W64)             \
	X(SPP_TABLE_POINTER,               0x2030, VMCS_W64)             \
	X(TSC_MULTIPLIER,                  0x2032, VMCS_W64)             \
	X(TERTIARY_VM_EXEC_CONTROL,        0x2034, VMCS_W64)             \
	X(ENCLV_EXITING_BITMAP,            0x2036, VMCS_W64)             \
	X(LOW_PASID_DIRECTORY,             0x2038, VMCS_W64)             \
	X(HIGH_PASID_DIRECTORY,            0x203a, VMCS_W64)             \
	X(SHARED_EPT_POINTER,              0x203c, VMCS_W64)             \
	X(PCONFIG_EXITING_BITMAP,          0x203e, VMCS_W64)             \
	X(HLAT_POINTER,                    0x2040, VMCS_W64)             \
	X(PID_POINTER_TABLE,               0x2042, VMCS_W64)             \
	X(SECONDARY_VM_EXIT_CONTROLS,      0x2044, VMCS_W64)             \
	/* 64-bit read-only data field (B.2.2) */                        \
	X(GUEST_PHYSICAL_ADDRESS,          0x2400, VMCS_W64)             \
	/* 64-bit guest-state fields (B.2.3) */                          \
	X(VMCS_LINK_POINTER,               0x2800, VMCS_W64)             \
	X(GUEST_IA32_DEBUGCTL,             0x2802, VMCS_W64)             \
	X(GUEST_IA32_PAT,                  0x2804, VMCS_W64)             \
	X(GUEST_IA32_EFER,                 0x2806, VMCS_W64)             \
	X(GUEST_IA32_PERF_GLOBAL_CTRL,     0x2808, VMCS_W64)             \
	X(GUEST_PDPTE0,                    0x280a, VMCS_W64)             \
	X(GUEST_PDPTE1,                    0x280c, VMCS_W64)             \
	X(GUEST_PDPTE2,                    0x280e, VMCS_W64)             \
	X(GUEST_PDPTE3,                    0x2810, VMCS_W64)             \
	X(GUEST_IA32_BNDCFGS,              0x2812, VMCS_W64)             \
	X(GUEST_IA32_RTIT_CTL,             0x2814, VMCS_W64)             \
	X(GUEST_IA32_LBR_CTL,              0x2816, VMCS_W64)             \
	X(GUEST_IA32_PKRS,                 0x2818, VMCS_W64)             \
	/* 64-bit host-state fields (B.2.4) */                           \
	X(HOST_IA32_PAT,                   0x2c00, VMCS_W64)             \
	X(HOST_IA32_EFER,                  0x2c02, VMCS_W64)             \
	X(HOST_IA32_PERF_GLOBAL_CTRL,      0x2c04, VMCS_W64)             \
	X(HOST_IA32_PKRS,                  0x2c06, VMCS_W64)             \
	/* 32-bit control fields (B.3.1) */                              \
	X(PIN_BASED_VM_EXEC_CONTROL,       0x4000, VMCS_W32)             \
	X(CPU_BASED_VM_EXEC_CONTROL,       0x4002, VMCS_W32)             \
	X(EXCEPTION_BITMAP,                0x4004, VMCS_W32)             \
	X(PAGE_FAULT_ERROR_CODE_MASK,      0x4006, VMCS_W32)             \
	X(PAGE_FAULT_ERROR_CODE_MATCH,     0x4008, VMCS_W32)             \
	X(CR3_TARGET_COUNT,                0x400a, VMCS_W32)             \
	X(VM_EXIT_CONTROLS,                0x400c, VMCS_W32)             \
	X(VM_EXIT_MSR_STORE_COUNT,         0x400e, VMCS_W32)             \
	X(VM_EXIT_MSR_LOAD_COUNT,          0x4010, VMCS_W32)             \
	X(VM_ENTRY_CONTROLS,               0x4012, VMCS_W32)             \
	X(VM_ENTRY_MSR_LOAD_COUNT,         0x4014, VMCS_W32)             \
	X(VM_ENTRY_INTR_INFO_FIELD,        0x4016, VMCS_W32)             \
	X(VM_ENTRY_EXCEPTION_ERROR_CODE,   0x4018, VMCS_W32)             \
	X(VM_ENTRY_INSTRUCTION_LEN,        0x401a, VMCS_W32)             \
	X(TPR_THRESHOLD,                   0x401c, VMCS_W32)             \
	X(SECONDARY_VM_EXEC_CONTROL,       0x401e, VMCS_W32)             \
	X(PLE_GAP,                         0x4020, VMCS_W32)             \
	X(PLE_WINDOW,                      0x4022, VMCS_W32)             \
	X(INSTRUCTION_TIMEOUT_CONTROL,     0x4024, VMCS_W32)             \
	/* 32-bit read-only data fields (B.3.2) */                       \
	X(VM_INSTRUCTION_ERROR,            0x4400, VMCS_W32)             \
	X(VM_EXIT_REASON,                  0x4402, VMCS_W32)             \
	X(VM_EXIT_INTR_INFO,               0x4404, VMCS_W32)             \
	X(VM_EXIT_INTR_ERROR_CODE,         0x4406, VMCS_W32)             \
	X(IDT_VECTORING_INFO_FIELD,        0x4408, VMCS_W32)             \
	X(IDT_VECTORING_ERROR_CODE,        0x440a, VMCS_W32)             \
	X(VM_EXIT_INSTRUCTION_LEN,         0x440c, VMCS_W32)             \
	X(VMX_INSTRUCTION_INFO,            0x440e, VMCS_W32)             \
	/* 32-bit guest-state fields (B.3.3) */                          \
	X(GUEST_ES_LIMIT,                  0x4800, VMCS_W32)             \
	X(GUEST_CS_LIMIT,                  0x4802, VMCS_W32)             \
	X(GUEST_SS_LIMIT,                  0x4804, VMCS_W32)             \
	X(GUEST_DS_LIMIT,                  0x4806, VMCS_W32)             \
	X(GUEST_FS_LIMIT,                  0x4808, VMCS_W32)             \
	X(GUEST_GS_LIMIT,                  0x480a, VMCS_W32)             \
	X(GUEST_LDTR_LIMIT,                0x480c, VMCS_W32)             \
	X(GUEST_TR_LIMIT,                  0x480e, VMCS_W32)             \
	X(GUEST_GDTR_LIMIT,                0x4810, VMCS_W32)             \
	X(GUEST_IDTR_LIMIT,                0x4812, VMCS_W32)             \
	X(GUEST_ES_AR_BYTES,               0x4814, VMCS_W32)             \
	X(GUEST_CS_AR_BYTES,               0x4816, VMCS_W32)             \
	X(GUEST_SS_AR_BYTES,               0x4818, VMCS_W32)             \
	X(GUEST_DS_AR_BYTES,               0x481a, VMCS_W32)             \
	X(GUEST_FS_AR_BYTES,               0x481c, VMCS_W32)             \
	X(GUEST_GS_AR_BYTES,               0x481e, VMCS_W32)             \
	X(GUEST_LDTR_AR_BYTES,             0x4820, VMCS_W32)             \
	X(GUEST_TR_AR_BYTES,               0x4822, VMCS_W32)             \
	X(GUEST_INTERRUPTIBILITY_INFO,     0x4824, VMCS_W32)             \
	X(GUEST_ACTIVITY_STATE,            0x4826, VMCS_W32)             \
	X(GUEST_SMBASE,                    0x4828, VMCS_W32)             \
	X(GUEST_SYSENTER_CS,               0x482a, VMCS_W32)             \
	X(VMX_PREEMPTION_TIMER_VALUE,      0x482e, VMCS_W32)             \
	/* 32-bit host-state field (B.3.4) */                            \
	X(HOST_IA32_SYSENTER_CS,           0x4c00, VMCS_W32)             \
	/* natural-width control fields (B.4.1) */                       \
	X(CR0_GUEST_HOST_MASK,             0x6000, VMCS_WNAT)            \
	X(CR4_GUEST_HOST_MASK,             0x6002, VMCS_WNAT)            \
	X(CR0_READ_SHADOW,                 0x6004, VMCS_WNAT)            \
	X(CR4_READ_SHADOW,                 0x6006, VMCS_WNAT)            \
	X(CR3_TARGET_VALUE0,               0x6008, VMCS_WNAT)            \
	X(CR3_TARGET_VALUE1,               0x600a, VMCS_WNAT)            \
	X(CR3_TARGET_VALUE2,               0x600c, VMCS_WNAT)            \
	X(CR3_TARGET_VALUE3,               0x600e, VMCS_WNAT)            \
	/* natural-width read-only data fields (B.4.2) */                \
	X(EXIT_QUALIFICATION,              0x6400, VMCS_WNAT)            \
	X(IO_RCX,                          0x6402, VMCS_WNAT)            \
	X(IO_RSI,                          0x6404, VMCS_WNAT)            \
	X(IO_RDI,                          0x6406, VMCS_WNAT)            \
	X(IO_RIP,                          0x6408, VMCS_WNAT)            \
	X(GUEST_LINEAR_ADDRESS,            0x640a, VMCS_WNAT)            \
	/* natural-width guest-state fields (B.4.3) */                   \
	X(GUEST_CR0,                       0x6800, VMCS_WNAT)            \
	X(GUEST_CR3,                       0x6802, VMCS_WNAT)            \
	X(GUEST_CR4,                       0x6804, VMCS_WNAT)            \
	X(GUEST_ES_BASE,                   0x6806, VMCS_WNAT)            \
	X(GUEST_CS_BASE,                   0x6808, VMCS_WNAT)            \
	X(GUEST_SS_BASE,                   0x680a, VMCS_WNAT)            \
	X(GUEST_DS_BASE,                   0x680c, VMCS_WNAT)            \
	X(GUEST_FS_BASE,                   0x680e, VMCS_WNAT)            \
	X(GUEST_GS_BASE,                   0x6810, VMCS_WNAT)            \
	X(GUEST_LDTR_BASE,                 0x6812, VMCS_WNAT)            \
	X(GUEST_TR_BASE,                   0x6814, VMCS_WNAT)            \
	X(GUEST_GDTR_BASE,                 0x6816, VMCS_WNAT)            \
	X(GUEST_IDTR_BASE,                 0x6818, VMCS_WNAT)            \
	X(GUEST_DR7,                       0x681a, VMCS_WNAT)            \
	X(GUEST_RSP,                       0x681c, VMCS_WNAT)            \
	X(GUEST_RIP,                       0x681e, VMCS_WNAT)            \
	X(GUEST_RFLAGS,                    0x6820, VMCS_WNAT)            \
	X(GUEST_PENDING_DBG_EXCEPTIONS,    0x6822, VMCS_WNAT)            \
	X(GUEST_SYSENTER_ESP,              0x6824, VMCS_WNAT)            \
	X(GUEST_SYSENTER_EIP,              0x6826, VMCS_WNAT)            \
	X(GUEST_S_CET,                     0x6828, VMCS_WNAT)            \
	X(GUEST_SSP,                       0x682a, VMCS_WNAT)            \
	X(GUEST_INTR_SSP_TABLE_ADDR,       0x682c, VMCS_WNAT)            \
	/* natural-width host-state fields (B.4.4) */                    \
	X(HOST_CR0,                        0x6c00, VMCS_WNAT)            \
	X(HOST_CR3,                        0x6c02, VMCS_WNAT)            \
	X(HOST_CR4,                        0x6c04, VMCS_WNAT)            \
	X(HOST_FS_BASE,                    0x6c06, VMCS_WNAT)            \
	X(HOST_GS_BASE,                    0x6c08, VMCS_WNAT)            \
	X(HOST_TR_BASE,                    0x6c0a, VMCS_WNAT)            \
	X(HOST_GDTR_BASE,                  0x6c0c, VMCS_WNAT)            \
	X(HOST_IDTR_BASE,                  0x6c0e, VMCS_WNAT)            \
	X(HOST_IA32_SYSENTER_ESP,          0x6c10, VMCS_WNAT)            \
	X(HOST_IA32_SYSENTER_EIP,          0x6c12, VMCS_WNAT)            \
	X(HOST_RSP,                        0x6c14, VMCS_WNAT)            \
	X(HOST_RIP,                        0x6c16, VMCS_WNAT)            \
	X(HOST_S_CET,                      0x6c18, VMCS_WNAT)            \
	X(HOST_SSP,                        0x6c1a, VMCS_WNAT)            \
	X(HOST_INTR_SSP_TABLE_ADDR,        0x6c1c, VMCS_WNAT)

enum vmcs_field {
#define X(name, enc, width) name = enc,
	VMCS_FIELDS(X)
#undef X
};

/* Every row's declared width must match the width bits of its encoding. */
#define X(name, enc, width) _Static_assert(VMCS_FIELD_WIDTH(enc) == (width), #name ": width does not match encoding");
VMCS_FIELDS(X)
#undef X

/*
 * Basic exit reasons: X(name, number).  SDM Vol. 3C Appendix C.
 */
#define VMX_EXIT_REASONS(X)                      \
	X(EXCEPTION_NMI,            0)           \
	X(EXTERNAL_INTERRUPT,       1)           \
	X(TRIPLE_FAULT,             2)           \
	X(INIT_SIGNAL,              3)           \
	X(STARTUP_IPI,              4)           \
	X(IO_SMI,                   5)           \
	X(OTHER_SMI,                6)           \
	X(INTERRUPT_WINDOW,         7)           \
	X(NMI_WINDOW,               8)           \
	X(TASK_SWITCH,              9)           \
	X(CPUID,                    10)          \
	X(GETSEC,                   11)          \
	X(HLT,                      12)          \
	X(INVD,                     13)          \
	X(INVLPG,                   14)          \
	X(RDPMC,                    15)          \
	X(RDTSC,                    16)          \
	X(RSM,                      17)          \
	X(VMCALL,                   18)          \
	X(VMCLEAR,                  19)          \
	X(VMLAUNCH,                 20)          \
	X(VMPTRLD,                  21)          \
	X(VMPTRST,                  22)          \
	X(VMREAD,                   23)          \
	X(VMRESUME,                 24)          \
	X(VMWRITE,                  25)          \
	X(VMXOFF,                   26)          \
	X(VMXON,                    27)          \
	X(CR_ACCESS,                28)          \
	X(DR_ACCESS,                29)          \
	X(IO_INSTRUCTION,           30)          \
	X(RDMSR,                    31)          \
	X(WRMSR,                    32)          \
	X(INVALID_GUEST_STATE,      33)          \
	X(MSR_LOADING,              34)          \
	X(MWAIT,                    36)          \
	X(MONITOR_TRAP_FLAG,        37)          \
	X(MONITOR,                  39)          \
	X(PAUSE,                    40)          \
	X(MCE_DURING_ENTRY,         41)          \
	X(TPR_BELOW_THRESHOLD,      43)          \
	X(APIC_ACCESS,              44)          \
	X(VIRTUALIZED_EOI,          45)          \
	X(GDTR_IDTR_ACCESS,         46)          \
	X(LDTR_TR_ACCESS,           47)          \
	X(EPT_VIOLATION,            48)          \
	X(EPT_MISCONFIG,            49)          \
	X(INVEPT,                   50)          \
	X(RDTSCP,                   51)          \
	X(PREEMPTION_TIMER,         52)          \
	X(INVVPID,                  53)          \
	X(WBINVD,                   54)          \
	X(XSETBV,                   55)          \
	X(APIC_WRITE,               56)          \
	X(RDRAND,                   57)          \
	X(INVPCID,                  58)          \
	X(VMFUNC,                   59)          \
	X(ENCLS,                    60)          \
	X(RDSEED,                   61)          \
	X(PML_FULL,                 62)          \
	X(XSAVES,                   63)          \
	X(XRSTORS,                  64)

enum vmx_exit_reason {
#define X(name, nr) EXIT_REASON_##name = nr,
	VMX_EXIT_REASONS(X)
#undef X
	EXIT_REASON_MAX = 65 /* size of per-reason tables */
};

#define VM_EXIT_REASON_BASIC(r)        ((r) & 0xffffu)
#define VM_EXIT_REASON_ENTRY_FAILURE   (1u << 31) /* SDM 25.9.1: "VM-entry failure" bit of the exit reason */

/*
 * VM-instruction error numbers: X(name, number, description).  SDM Vol. 3C 31.4, Table 31-1.
 */
#define VM_INSTRUCTION_ERRORS(X)                                                                  \
	X(VMCALL_IN_ROOT,                  1,  "VMCALL executed in VMX root operation")            \
	X(VMCLEAR_INVALID_ADDRESS,         2,  "VMCLEAR with invalid physical address")            \
	X(VMCLEAR_VMXON_POINTER,           3,  "VMCLEAR with VMXON pointer")                       \
	X(VMLAUNCH_NONCLEAR_VMCS,          4,  "VMLAUNCH with non-clear VMCS")                     \
	X(VMRESUME_NONLAUNCHED_VMCS,       5,  "VMRESUME with non-launched VMCS")                  \
	X(VMRESUME_AFTER_VMXOFF,           6,  "VMRESUME after VMXOFF")                            \
	X(ENTRY_INVALID_CONTROL_FIELD,     7,  "VM entry with invalid control field(s)")           \
	X(ENTRY_INVALID_HOST_STATE,        8,  "VM entry with invalid host-state field(s)")        \
	X(VMPTRLD_INVALID_ADDRESS,         9,  "VMPTRLD with invalid physical address")            \
	X(VMPTRLD_VMXON_POINTER,           10, "VMPTRLD with VMXON pointer")                       \
	X(VMPTRLD_INCORRECT_REVISION,      11, "VMPTRLD with incorrect VMCS revision identifier")  \
	X(VMREAD_VMWRITE_UNSUPPORTED,      12, "VMREAD/VMWRITE from/to unsupported VMCS component")\
	X(VMWRITE_READ_ONLY,               13, "VMWRITE to read-only VMCS component")              \
	X(VMXON_IN_ROOT,                   15, "VMXON executed in VMX root operation")             \
	X(ENTRY_INVALID_EXECUTIVE_VMCS,    16, "VM entry with invalid executive-VMCS pointer")     \
	X(ENTRY_NONLAUNCHED_EXECUTIVE_VMCS,17, "VM entry with non-launched executive VMCS")        \
	X(ENTRY_EXECUTIVE_NOT_VMXON,       18, "VM entry with executive-VMCS pointer not VMXON pointer") \
	X(VMCALL_NONCLEAR_VMCS,            19, "VMCALL with non-clear VMCS")                       \
	X(VMCALL_INVALID_EXIT_CONTROLS,    20, "VMCALL with invalid VM-exit control fields")       \
	X(VMCALL_INCORRECT_MSEG_REVISION,  22, "VMCALL with incorrect MSEG revision identifier")   \
	X(VMXOFF_DUAL_MONITOR,             23, "VMXOFF under dual-monitor treatment of SMIs and SMM") \
	X(VMCALL_INVALID_SMM_FEATURES,     24, "VMCALL with invalid SMM-monitor features")         \
	X(ENTRY_INVALID_EXECUTIVE_CONTROLS,25, "VM entry with invalid VM-execution control fields in executive VMCS") \
	X(ENTRY_EVENTS_BLOCKED_BY_MOV_SS,  26, "VM entry with events blocked by MOV SS")           \
	X(INVALID_INVEPT_INVVPID_OPERAND,  28, "invalid operand to INVEPT/INVVPID")

enum vm_instruction_error {
#define X(name, nr, text) VMXERR_##name = nr,
	VM_INSTRUCTION_ERRORS(X)
#undef X
};

#endif
