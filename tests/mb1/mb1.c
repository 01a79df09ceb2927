/*
 * A tiny Multiboot1 kernel (Multiboot Specification 0.6.96) that reports what its loader gave it on
 * COM1 and exits through the monitor's exit hypercall with the status its command line asks for
 * ("status=N", from the monitor's guest.status=N; 0 without it).  Lines, for tests/boot/test_mb1.py:
 *   MB1: form=<elf32|aout> magic=0x2badb002 info=0x...
 *   MB1: flags=0x... mem_lower=<KiB> mem_upper=<KiB>
 *   MB1: mmap[i] base=0x... length=0x... type=N size=N
 *   MB1: cmdline="..."
 *   MB1: boot_loader_name="..."
 *   MB1: done status=N
 * A wrong magic or missing information is reported ("MB1: FAIL ...") and ends with MB1_FAIL_STATUS.
 */
#include <stdint.h>
#include "vmm/hypercall.h"
#include "vmm/multiboot1.h"

#ifndef MB1_FORM
#define MB1_FORM "unknown"
#endif

#define COM1             0x3F8
#define COM1_LSR         (COM1 + 5)
#define LSR_THR_EMPTY    (1u << 5)
#define MB1_FAIL_STATUS  63 /* HV_GUEST_STATUS_MAX: no test asks for it */
#define MB1_MMAP_MAX     16
#define HEX_BASE         16u
#define DEC_BASE         10u
#define STATUS_KEY       "status="

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putc_com1(char c)
{
	while (!(inb(COM1_LSR) & LSR_THR_EMPTY))
		;
	outb(COM1, (uint8_t)c);
}

static void puts_com1(const char *s)
{
	while (*s)
		putc_com1(*s++);
}

static void put_num(uint32_t v, unsigned base)
{
	char tmp[12];
	unsigned n = 0;
	if (base == HEX_BASE)
		puts_com1("0x");
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		putc_com1(tmp[--n]);
}

/* A 64-bit value in hex without 64-bit division (no libgcc here). */
static void put_hex64(uint64_t v)
{
	const uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v;
	puts_com1("0x");
	for (int shift = 28; hi && shift >= 0; shift -= 4)
		putc_com1("0123456789abcdef"[(hi >> shift) & 0xF]);
	for (int shift = 28; shift >= 0; shift -= 4)
		if (hi || (lo >> shift) || shift == 0)
			putc_com1("0123456789abcdef"[(lo >> shift) & 0xF]);
}

static __attribute__((noreturn)) void hv_exit(uint32_t status)
{
	puts_com1("MB1: done status=");
	put_num(status, DEC_BASE);
	puts_com1("\n");
	/* In 32-bit mode the monitor reads the low halves of RAX and RBX (vmm/include/vmm/hypercall.h). */
	__asm__ volatile("vmcall" : : "a"((uint32_t)HC_EXIT), "b"(status) : "memory");
	for (;;)
		__asm__ volatile("cli; hlt");
}

static __attribute__((noreturn)) void fail(const char *what)
{
	puts_com1("MB1: FAIL ");
	puts_com1(what);
	puts_com1("\n");
	hv_exit(MB1_FAIL_STATUS);
}

/* The N of the first "status=N" word of the command line, or 0. */
static uint32_t status_from(const char *cmdline)
{
	for (const char *p = cmdline; *p; p++) {
		if (p != cmdline && p[-1] != ' ')
			continue;
		const char *k = STATUS_KEY, *q = p;
		while (*k && *q == *k)
			k++, q++;
		if (*k)
			continue;
		uint32_t v = 0;
		while (*q >= '0' && *q <= '9')
			v = v * DEC_BASE + (uint32_t)(*q++ - '0');
		return v;
	}
	return 0;
}

__attribute__((noreturn)) void mb1_main(uint32_t magic, const struct mb1_info *info);

__attribute__((noreturn)) void mb1_main(uint32_t magic, const struct mb1_info *info)
{
	puts_com1("MB1: form=" MB1_FORM " magic=");
	put_num(magic, HEX_BASE);
	puts_com1(" info=");
	put_num((uint32_t)(uintptr_t)info, HEX_BASE);
	puts_com1("\n");
	if (magic != MB1_BOOTLOADER_MAGIC)
		fail("EAX is not the Multiboot1 boot loader magic 0x2badb002");

	puts_com1("MB1: flags=");
	put_num(info->flags, HEX_BASE);
	puts_com1(" mem_lower=");
	put_num(info->mem_lower, DEC_BASE);
	puts_com1(" mem_upper=");
	put_num(info->mem_upper, DEC_BASE);
	puts_com1("\n");
	/* The header asked for memory information (flag 1): the loader must give it (3.1.2). */
	if (!(info->flags & MB1_INFO_MEMORY))
		fail("no mem_lower/mem_upper (information flag 0)");
	if (!(info->flags & MB1_INFO_MEM_MAP))
		fail("no memory map (information flag 6)");

	/* 3.3: each entry's size field counts the bytes after it; the next entry is size + 4 further. */
	uint32_t at = info->mmap_addr;
	for (unsigned i = 0; at < info->mmap_addr + info->mmap_length && i < MB1_MMAP_MAX; i++) {
		const struct mb1_mmap_entry *e = (const struct mb1_mmap_entry *)(uintptr_t)at;
		puts_com1("MB1: mmap[");
		put_num(i, DEC_BASE);
		puts_com1("] base=");
		put_hex64(e->base_addr);
		puts_com1(" length=");
		put_hex64(e->length);
		puts_com1(" type=");
		put_num(e->type, DEC_BASE);
		puts_com1(" size=");
		put_num(e->size, DEC_BASE);
		puts_com1("\n");
		at += e->size + sizeof(e->size);
	}

	const char *cmdline = "";
	if (info->flags & MB1_INFO_CMDLINE)
		cmdline = (const char *)(uintptr_t)info->cmdline;
	puts_com1("MB1: cmdline=\"");
	puts_com1(cmdline);
	puts_com1("\"\n");
	if (info->flags & MB1_INFO_BOOT_LOADER_NAME) {
		puts_com1("MB1: boot_loader_name=\"");
		puts_com1((const char *)(uintptr_t)info->boot_loader_name);
		puts_com1("\"\n");
	}
	hv_exit(status_from(cmdline));
}
