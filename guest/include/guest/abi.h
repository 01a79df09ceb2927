/*
 * The guest kernel's system-call ABI, shared by the kernel (guest/) and its
 * user programs (guest/user/).
 *
 * SYSCALL with the call number in RAX and arguments in RDI, RSI, RDX; the
 * result comes back in RAX (>= 0 success, < 0 one of enum sys_error).  As on
 * any x86-64 SYSCALL ABI, RCX and R11 are clobbered (SYSCALL stores the return
 * RIP and RFLAGS there: SDM Vol. 2B, SYSCALL); every other register survives.
 */
#ifndef GUEST_ABI_H
#define GUEST_ABI_H

#include <stdint.h>

enum sys_number {
	SYS_WRITE = 0,   /* (fd, buf, len): len written; fd must be SYS_FD_CONSOLE */
	SYS_GETPID = 1,  /* (): the caller's process id */
	SYS_YIELD = 2,   /* (): let the next runnable process run; 0 */
	SYS_EXIT = 3,    /* (status): never returns; status is a full 64-bit value */
	SYS_MMAP = 4,    /* (addr or 0, len, flags): the start of a new region of user pages */
	SYS_MUNMAP = 5,  /* (addr, len): unmaps and frees the pages, forgets the region; 0 */
	SYS_HVSTATS = 6, /* (buf, size): copies the monitor's struct hv_stats; bytes copied */
	SYS_INFO = 7,    /* (key): one number about the kernel or the caller (enum sys_info_key) */
	SYS_SLEEP = 8,   /* (cycles): blocks for at least that many TSC cycles (needs the timer); 0 */
	SYS_COUNT
};

enum sys_error {
	SYS_ERR_NOSYS = -1, /* no such call, or it needs the monitor and there is none */
	SYS_ERR_FAULT = -2, /* a pointer argument is not user memory of the caller */
	SYS_ERR_INVAL = -3, /* an argument is out of range, misaligned or overlaps */
	SYS_ERR_NOMEM = -4, /* out of frames or region slots */
};

#define SYS_FD_CONSOLE 1

/* SYS_MMAP flags.  Regions are always user read/write and never executable. */
#define MMAP_POPULATE (1u << 0) /* map zeroed frames now; without it pages are demand-faulted */
#define MMAP_FLAGS_ALL MMAP_POPULATE

enum sys_info_key {
	INFO_DEMAND_FAULTS = 0, /* page faults the kernel resolved for the caller */
	INFO_FREE_FRAMES = 1,   /* free physical frames in the kernel's allocator */
	INFO_MEM_SHADOW = 2,    /* 1 when the monitor runs in shadow-paging mode (mem=shadow) */
	INFO_HYPERVISOR = 3,    /* 1 when the monitor is present */
	INFO_NX = 4,            /* 1 when no-execute pages are enforced (EFER.NXE) */
	INFO_CPU = 5,           /* the number of the CPU running the caller (0: the bootstrap processor) */
	INFO_PREEMPTIONS = 6,   /* times the timer took the CPU from the caller */
	INFO_COUNT
};

/*
 * The user half of every address space: PML4 slot 1, i.e. the 512 GiB from
 * USER_BASE (PML4 slot 0 holds the kernel half, identical in every address
 * space and supervisor-only).  Programs are linked at USER_TEXT.
 */
#define USER_BASE       0x0000008000000000ull
#define USER_END        0x0000010000000000ull
#define USER_TEXT       (USER_BASE + 0x400000ull)
#define USER_MMAP_BASE  (USER_BASE + 0x1000000000ull) /* where SYS_MMAP(0, ...) places regions */
#define USER_MMAP_END   (USER_BASE + 0x7000000000ull)
#define USER_STACK_TOP  (USER_END - 0x1000ull)       /* one unmapped guard page above */
#define USER_STACK_SIZE 0x10000ull                   /* demand-paged below the top */

/* What the test programs do, passed as their first argument (RDI at entry). */
enum syscalls_mode {
	SYSCALLS_CHECK = 0, /* SYSCALLS_COUNT getpid calls between two SYS_HVSTATS: zero exits */
	SYSCALLS_BENCH = 1, /* arg1 getpid calls; exit status = rdtsc cycles they took */
};
#define SYSCALLS_COUNT 10000

enum memory_mode {
	MEMORY_MMAP = 0,         /* populated mmap / munmap, fixed addresses, overlaps */
	MEMORY_DEMAND = 1,       /* demand paging: MEMORY_DEMAND_PAGES faults, zero exits (EPT) */
	MEMORY_UNMAPPED = 2,     /* touches a page after munmap: must be killed (#PF) */
	MEMORY_SPREAD = 3,       /* one of several at once, one per CPU (arg1: MEMORY_SPREAD_ARG_*): exits
				    with MEMORY_SPREAD_DONE(the CPU SYS_INFO said it ran on), or a UTEST_ status */
};
#define MEMORY_DEMAND_PAGES 8
#define MEMORY_SPREAD_PAGES 16          /* demand-faulted, then rewritten each round */
#define MEMORY_SPREAD_MIN_ROUNDS 8      /* each round: every page written, a getpid, a CPU check */
#define MEMORY_SPREAD_MAX_ROUNDS 200000 /* the bound when waiting for a preemption */
#define MEMORY_SPREAD_ARG_GS_MASK 0xffffull          /* first loads GS with this selector (0: does not) */
#define MEMORY_SPREAD_ARG_UNTIL_PREEMPTED (1ull << 16) /* works on until the timer has preempted it once */
#define MEMORY_SPREAD_DONE_BASE 0x100
#define MEMORY_SPREAD_DONE(cpu) (MEMORY_SPREAD_DONE_BASE + (int64_t)(cpu))

enum evil_mode {
	EVIL_KERNEL_WRITE = 0, /* writes arg1 (a kernel address) */
	EVIL_KERNEL_READ = 1,  /* reads arg1 */
	EVIL_HLT = 2,
	EVIL_CLI = 3,
	EVIL_OUT = 4,          /* OUT to port 0x80 */
	EVIL_TEXT_WRITE = 5,   /* writes its own (read-only) code */
	EVIL_EXEC_DATA = 6,    /* jumps into a data page (no-execute when NX is on) */
};

/* Exit statuses of the test programs (the kernel prints these names). */
#define UTEST_STATUS_TABLE(X)                                                   \
	X(UTEST_OK, 0, "ok")                                                    \
	X(UTEST_EXITS_MOVED, 1, "VM-exit counters moved during the measurement") \
	X(UTEST_BAD_RESULT, 2, "a system call returned a wrong value")          \
	X(UTEST_FAULT_COUNT, 3, "wrong number of demand faults")                \
	X(UTEST_BAD_DATA, 4, "memory did not hold what was written")            \
	X(UTEST_SURVIVED, 5, "the forbidden operation did not fault")           \
	X(UTEST_ISOLATION, 6, "another process's data appeared in this address space") \
	X(UTEST_BAD_MODE, 7, "unknown mode argument")                          \
	X(UTEST_WOKE_EARLY, 8, "SYS_SLEEP returned before its time")           \
	X(UTEST_MIGRATED, 9, "SYS_INFO(INFO_CPU) changed while the program ran")

enum utest_status {
#define X(name, value, text) name = value,
	UTEST_STATUS_TABLE(X)
#undef X
};

#endif
