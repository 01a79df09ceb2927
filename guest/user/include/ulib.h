/* The user programs' little library: system-call wrappers and printing (guest/user/ulib.c). */
#ifndef ULIB_H
#define ULIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "guest/abi.h"
#include <vmm/hypercall.h>

static inline int64_t syscall3(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	int64_t ret;
	/* SYSCALL overwrites RCX and R11 (SDM Vol. 2B, SYSCALL). */
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "rcx", "r11", "memory");
	return ret;
}

static inline int64_t sys_write(const void *buf, uint64_t len)
{
	return syscall3(SYS_WRITE, SYS_FD_CONSOLE, (uint64_t)(uintptr_t)buf, len);
}
static inline int64_t sys_getpid(void) { return syscall3(SYS_GETPID, 0, 0, 0); }
static inline int64_t sys_yield(void) { return syscall3(SYS_YIELD, 0, 0, 0); }
static inline __attribute__((noreturn)) void sys_exit(int64_t status)
{
	syscall3(SYS_EXIT, (uint64_t)status, 0, 0);
	__builtin_unreachable();
}
static inline int64_t sys_mmap(uint64_t addr, uint64_t len, uint64_t flags)
{
	return syscall3(SYS_MMAP, addr, len, flags);
}
static inline int64_t sys_munmap(uint64_t addr, uint64_t len) { return syscall3(SYS_MUNMAP, addr, len, 0); }
static inline int64_t sys_hvstats(struct hv_stats *s)
{
	return syscall3(SYS_HVSTATS, (uint64_t)(uintptr_t)s, sizeof(*s), 0);
}
static inline int64_t sys_info(enum sys_info_key key) { return syscall3(SYS_INFO, key, 0, 0); }
static inline int64_t sys_sleep(uint64_t cycles) { return syscall3(SYS_SLEEP, cycles, 0, 0); }

static inline uint64_t user_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); /* allowed in ring 3 while CR4.TSD = 0 */
	return ((uint64_t)hi << 32) | lo;
}

/* printf to the console, prefixed with "[pid N] ". */
int uprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Exits between two SYS_HVSTATS snapshots, beyond the reading VMCALL:
 * 0 when none; the first offending reason in *reason.  External-interrupt
 * exits (the host's) and, when the kernel says mem=shadow, the #PF and
 * INVLPG exits of shadow paging are not the program's doing: ignored.
 */
uint64_t unexpected_exits(const struct hv_stats *before, const struct hv_stats *after, unsigned *reason);

const char *exit_name(unsigned reason); /* "CPUID" for basic exit reason 10 */

#endif
