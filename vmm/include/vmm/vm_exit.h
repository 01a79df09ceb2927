/*
 * One VM exit, decoded once by the backend (VT-x: vmm/vmx/exit.c) into a record that names no
 * VMCS field: what happened (the kind), the exiting instruction's length, and the decoded
 * operands of the kinds that have them.  Handlers (vmm/exit/) take (vcpu, exit) and return
 * EXIT_RESUME or the status to stop the guest with.
 */
#ifndef VMM_VM_EXIT_H
#define VMM_VM_EXIT_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/vcpu_regs.h" /* enum vcpu_segment */

/* Decoded operands (the backend fills them from its own formats: VT-x, vmm/vmx/exit_decode.h). */
/* I/O instruction (SDM Vol. 2A IN, OUT, INS, OUTS). */
struct io_exit {
	uint16_t port;
	uint8_t size; /* 1, 2 or 4 bytes */
	bool in;      /* IN/INS, else OUT/OUTS */
	bool string;  /* INS/OUTS */
	bool rep;
};
/* Control-register access (MOV to/from CR0, CR3, CR4, CR8; CLTS; LMSW). */
enum cr_access_type { CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2, CR_LMSW = 3 };
struct cr_exit {
	enum cr_access_type type;
	uint8_t cr;           /* 0, 3, 4 or 8 for MOV; 0 for CLTS and LMSW */
	uint8_t gpr;          /* MOV: the general-purpose register, SDM numbering (0 = RAX .. 15 = R15) */
	bool lmsw_memory;     /* LMSW: the operand was in memory */
	uint16_t lmsw_source; /* LMSW: the source data */
};
/*
 * The operand of LGDT/LIDT/SGDT/SIDT and LLDT/LTR/SLDT/STR, in a register or in memory (as VT-x's
 * instruction information gives it: SDM Tables 28-10 and 28-11).
 */
struct insn_operand {
	uint8_t identity;    /* which instruction: 0-3, as the table of the exit reason lists them */
	bool is_register;    /* reason 47 only: the operand is the register `reg` */
	uint8_t reg;         /* reason 47, register operand */
	bool operand_32bit;  /* reason 46: 32-bit operand size (else 16-bit; ignored in 64-bit mode) */
	uint8_t addr_bytes;  /* memory operand: address size, 2, 4 or 8 */
	uint8_t seg;         /* memory operand: SEG_ES .. SEG_GS */
	bool base_valid, index_valid;
	uint8_t base, index; /* general-purpose registers, SDM numbering */
	uint8_t scale;       /* index multiplier: 1, 2, 4 or 8 */
};

/* What the guest did, independent of the backend; the dispatch table is indexed by it. */
#define EXIT_KINDS(X)                                                                           \
	X(UNKNOWN)            /* nothing the monitor handles: stopped as unexpected */         \
	X(UNDECODABLE)        /* operands in an encoding the SDM does not define: `undecodable` says */ \
	X(EXCEPTION)          /* an intercepted guest exception */                              \
	X(NMI)                /* a host NMI while the guest ran */                              \
	X(EXTERNAL_INTERRUPT) /* a host interrupt while the guest ran */                        \
	X(TRIPLE_FAULT)                                                                         \
	X(TASK_SWITCH)                                                                          \
	X(CPUID) X(HLT) X(CACHE_FLUSH) X(INVLPG) X(RDPMC) X(HYPERCALL)                          \
	X(VIRT_INSTRUCTION)   /* a virtualization instruction of the guest (VMX or SVM): #UD */ \
	X(CR_ACCESS) X(IO) X(RDMSR) X(WRMSR) X(MONITOR_MWAIT) X(DESCRIPTOR_TABLE)              \
	X(NESTED_PAGE_FAULT)  /* second-level translation refused an access (EPT violation) */ \
	X(NESTED_PAGE_MISCONFIG)                                                                \
	X(TIMER)              /* the backend's guest timer expired (VMX-preemption timer) */    \
	X(INTERRUPT_WINDOW) X(NMI_WINDOW)                                                       \
	X(TPR_BELOW_THRESHOLD) /* the TPR shadow fell below the threshold */                    \
	X(XSETBV) X(SINGLE_STEP_TRAP) /* monitor trap flag */

enum exit_kind {
#define EXIT_KIND_ENUM(name) EXIT_##name,
	EXIT_KINDS(EXIT_KIND_ENUM)
#undef EXIT_KIND_ENUM
	EXIT_KIND_COUNT
};

/* Name of an exit kind ("CPUID"). */
const char *exit_kind_name(enum exit_kind kind);

/* A handler's verdict: resume the guest, or a status (enum hv_status, >= 0) to stop it with. */
#define EXIT_RESUME (-1)

/* An event (interrupt, NMI, exception) as the CPU delivers it (types: SDM Vol. 3C Table 25-17). */
enum event_type {
	EVENT_EXTERNAL_INTERRUPT = 0, EVENT_NMI = 2, EVENT_HARD_EXCEPTION = 3, EVENT_SOFT_INTERRUPT = 4,
	EVENT_PRIV_SOFT_EXCEPTION = 5, EVENT_SOFT_EXCEPTION = 6,
};
struct event {
	bool valid;
	uint8_t type;          /* enum event_type */
	uint8_t vector;
	bool has_error_code;
	uint32_t error_code;
	uint32_t insn_len;     /* software interrupts and exceptions: their instruction's length (SDM 27.6.1.3) */
};

/* Access to a guest-physical address that second-level translation refused (SDM Table 28-7). */
struct npf_exit {
	uint64_t gpa;
	uint64_t gla;          /* valid when gla_valid */
	bool read, write, fetch;
	bool readable, writable, executable; /* what the entry allowed */
	bool gla_valid;        /* a linear address was being accessed (else: a PDPTE load) */
	bool gla_is_final;     /* the access was to that address (else: to a paging structure of its walk) */
	bool nmi_unblocking;   /* "NMI unblocking due to IRET" (SDM 28.2.3) */
};

struct vm_exit {
	enum exit_kind kind;
	uint32_t reason;        /* the backend's own reason (VT-x: basic exit reason), for statistics and reports */
	uint32_t insn_len;      /* exits caused by an instruction: its length */
	uint64_t qualification; /* the backend's raw qualification, for reports and the kinds that use it as is */
	const char *undecodable; /* EXIT_UNDECODABLE: why the backend could not decode the operands */
	/* An event whose delivery this exit interrupted (SDM 28.2.4); the backend queues it again. */
	struct event vectoring;
	union {
		struct io_exit io;  /* IO; string forms also: */
		struct cr_exit cr;  /* CR_ACCESS */
		struct npf_exit npf; /* NESTED_PAGE_FAULT, NESTED_PAGE_MISCONFIG (gpa only) */
		struct {            /* EXCEPTION, NMI, EXTERNAL_INTERRUPT */
			struct event event;
			bool nmi_unblocking; /* a faulting IRET had unblocked NMIs (SDM 28.2.2) */
		} intr;
		struct {            /* DESCRIPTOR_TABLE */
			struct insn_operand op;
			uint32_t info;  /* the raw instruction information, for reports */
			uint64_t displacement; /* a memory operand's displacement */
			bool ldtr_tr;   /* LLDT/LTR/SLDT/STR (else LGDT/LIDT/SGDT/SIDT) */
			bool decoded;   /* the instruction information has an encoding the SDM defines */
		} dt;
		struct {            /* TASK_SWITCH (SDM Table 28-2) */
			uint16_t selector;
			uint8_t source; /* enum task_switch_source (vmm/task.h) */
		} task;
		uint64_t linear;    /* INVLPG: the address; EXCEPTION #PF: CR2 in qualification */
		uint32_t msr;       /* RDMSR, WRMSR: the MSR (ECX, SDM Vol. 2B RDMSR) */
	};
	/* INS/OUTS (IO with io.string): address size (2, 4, 8 bytes) and segment; 0 when not given. */
	uint8_t string_addr_bytes, string_seg;
	bool string_info_valid;
};

#endif
