/*
 * System calls: SYSCALL/SYSRET (SDM Vol. 2B; Vol. 3A 5.8.8 "Fast system
 * calls in 64-bit mode").  Installing them takes privileged MSR writes that
 * exit to the monitor; using them afterwards never does: a system call is
 * a ring 3 -> ring 0 -> ring 3 round trip inside the guest.
 */
#include <string.h>
#include <arch/msr.h>
#include "guest/abi.h"
#include "guest/hv.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/priv.h"
#include "guest/proc.h"
#include "guest/spinlock.h"

/* RFLAGS bits SYSCALL clears through IA32_FMASK (SDM Vol. 1 3.4.3). */
#define RFLAGS_TF (1ull << 8)
#define RFLAGS_IF (1ull << 9)
#define RFLAGS_DF (1ull << 10)
#define RFLAGS_NT (1ull << 14)
#define RFLAGS_AC (1ull << 18)
#define SYSCALL_RFLAGS_MASK (RFLAGS_TF | RFLAGS_IF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC)

#define WRITE_CHUNK   128
#define MMAP_MAX_LEN  (256ull << 20)
#define MMAP_GUARD    PAGE_SIZE /* an unmapped page between regions SYS_MMAP places */

/* What guest/entry.asm's syscall_entry pushes, lowest address first. */
struct syscall_frame {
	uint64_t r15, r14, r13, r12, rbp, rbx;
	uint64_t r9, r8, r10, rdx, rsi, rdi;
	uint64_t rax; /* the call number */
	uint64_t rip, rflags, rsp;
};

extern char syscall_entry[];
static struct hv_stats stats_buffer; /* the hypercall's buffer, one CPU at a time */
static struct spinlock stats_lock = SPINLOCK_INIT;

void syscall_init(void)
{
	priv_wrmsr(MSR_IA32_EFER, priv_rdmsr(MSR_IA32_EFER) | EFER_SCE);
	priv_wrmsr(MSR_IA32_STAR, ((uint64_t)STAR_SYSRET_BASE << STAR_SYSRET_SHIFT) |
					  ((uint64_t)SEL_KERNEL_CODE << STAR_SYSCALL_SHIFT));
	priv_wrmsr(MSR_IA32_LSTAR, (uint64_t)(uintptr_t)syscall_entry);
	priv_wrmsr(MSR_IA32_FMASK, SYSCALL_RFLAGS_MASK);
}

/* [addr, addr + len) lies in the user half (so the kernel never touches its own memory for a user). */
static bool user_range_ok(uint64_t addr, uint64_t len)
{
	return addr >= USER_BASE && addr <= USER_END && len <= USER_END - addr;
}

static int64_t sys_write(uint64_t fd, uint64_t buf, uint64_t len)
{
	char chunk[WRITE_CHUNK];
	if (fd != SYS_FD_CONSOLE)
		return SYS_ERR_INVAL;
	if (!user_range_ok(buf, len))
		return SYS_ERR_FAULT;
	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < WRITE_CHUNK ? len - done : WRITE_CHUNK;
		if (user_copy(chunk, (const void *)(uintptr_t)(buf + done), n))
			return done ? (int64_t)done : SYS_ERR_FAULT;
		console_write(chunk, n);
		done += n;
	}
	return (int64_t)len;
}

static bool in_mmap_area(uint64_t addr, uint64_t len)
{
	return addr >= USER_MMAP_BASE && addr <= USER_MMAP_END && len <= USER_MMAP_END - addr;
}

static int64_t sys_mmap(uint64_t addr, uint64_t len, uint64_t flags)
{
	struct aspace *as = &current->as;
	if (flags & ~(uint64_t)MMAP_FLAGS_ALL || !len || len > MMAP_MAX_LEN || addr & ~PAGE_MASK)
		return SYS_ERR_INVAL;
	len = ALIGN_UP(len, PAGE_SIZE);
	const bool fixed = addr != 0;
	if (!fixed) {
		addr = as->mmap_next;
		while (in_mmap_area(addr, len) && aspace_overlaps(as, addr, addr + len))
			addr += len + MMAP_GUARD;
	}
	if (!in_mmap_area(addr, len))
		return fixed ? SYS_ERR_INVAL : SYS_ERR_NOMEM;
	int rc = aspace_add_region(as, addr, addr + len, VMA_USER | VMA_WRITE, flags & MMAP_POPULATE);
	if (rc)
		return rc;
	if (!fixed)
		as->mmap_next = addr + len + MMAP_GUARD;
	return (int64_t)addr;
}

static int64_t sys_munmap(uint64_t addr, uint64_t len)
{
	if (!len || addr & ~PAGE_MASK || len > MMAP_MAX_LEN)
		return SYS_ERR_INVAL;
	len = ALIGN_UP(len, PAGE_SIZE);
	if (!in_mmap_area(addr, len))
		return SYS_ERR_INVAL;
	return aspace_remove_range(&current->as, addr, addr + len);
}

static int64_t sys_hvstats(uint64_t buf, uint64_t size)
{
	if (!hv_present)
		return SYS_ERR_NOSYS;
	if (size < sizeof(stats_buffer))
		return SYS_ERR_INVAL;
	if (!user_range_ok(buf, sizeof(stats_buffer)))
		return SYS_ERR_FAULT;
	spin_lock(&stats_lock); /* interrupts are off in a system call */
	int64_t n = hv_get_stats(&stats_buffer);
	const bool copied = n >= 0 && !user_copy((void *)(uintptr_t)buf, &stats_buffer, sizeof(stats_buffer));
	spin_unlock(&stats_lock);
	if (n < 0)
		return SYS_ERR_NOSYS;
	return copied ? (int64_t)sizeof(stats_buffer) : SYS_ERR_FAULT;
}

static int64_t sys_info(uint64_t key)
{
	switch (key) {
	case INFO_DEMAND_FAULTS: return (int64_t)current->as.demand_faults;
	case INFO_FREE_FRAMES: return (int64_t)frames_free_count();
	case INFO_MEM_SHADOW: return boot_config.mem_shadow;
	case INFO_HYPERVISOR: return hv_present;
	case INFO_NX: return nx_enabled;
	case INFO_CPU: return this_cpu_index();
	case INFO_PREEMPTIONS: return (int64_t)current->preemptions;
	default: return SYS_ERR_INVAL;
	}
}

int64_t syscall_dispatch(struct syscall_frame *f)
{
	struct proc *p = current;
	p->syscalls++;
	p->syscall_cpus |= 1ull << this_cpu_index(); /* one bit: a process never leaves its CPU */
	switch (f->rax) {
	case SYS_WRITE: return sys_write(f->rdi, f->rsi, f->rdx);
	case SYS_GETPID: return p->pid;
	case SYS_YIELD: proc_yield(); return 0;
	case SYS_EXIT: proc_exit((int64_t)f->rdi);
	case SYS_MMAP: return sys_mmap(f->rdi, f->rsi, f->rdx);
	case SYS_MUNMAP: return sys_munmap(f->rdi, f->rsi);
	case SYS_HVSTATS: return sys_hvstats(f->rdi, f->rsi);
	case SYS_INFO: return sys_info(f->rdi);
	case SYS_SLEEP: proc_sleep(f->rdi); return 0;
	default: return SYS_ERR_NOSYS;
	}
}
