/*
 * evil: does one thing a user program may not do.  The guest kernel's
 * exception handlers (not the monitor) catch it and kill the program.
 */
#include "ulib.h"

#define POISON 0xdeadbeefull
#define X86_RET 0xc3 /* the one-byte RET instruction */
#define POST_PORT 0x80

extern char _start[];                       /* guest/user/crt0.asm: our own code */
static uint8_t data_code[16] = { X86_RET }; /* in .data: writable, not executable */

int64_t umain(uint64_t mode, uint64_t address);
int64_t umain(uint64_t mode, uint64_t address)
{
	volatile uint64_t *kernel = (volatile uint64_t *)(uintptr_t)address;
	switch (mode) {
	case EVIL_KERNEL_WRITE:
		uprintf("writing kernel memory at %#llx\n", (unsigned long long)address);
		*kernel = POISON;
		break;
	case EVIL_KERNEL_READ:
		uprintf("reading kernel memory at %#llx\n", (unsigned long long)address);
		uprintf("read %#llx\n", (unsigned long long)*kernel);
		break;
	case EVIL_HLT:
		uprintf("executing HLT in ring 3\n");
		__asm__ volatile("hlt");
		break;
	case EVIL_CLI:
		uprintf("executing CLI in ring 3\n");
		__asm__ volatile("cli");
		break;
	case EVIL_OUT:
		uprintf("executing OUT in ring 3\n");
		__asm__ volatile("outb %%al, %1" ::"a"(0), "N"(POST_PORT));
		break;
	case EVIL_TEXT_WRITE:
		uprintf("writing my own code at %p\n", (void *)_start);
		*(volatile char *)_start = 0;
		break;
	case EVIL_EXEC_DATA:
		uprintf("jumping to data at %p\n", (void *)data_code);
		__asm__ volatile("call *%0" ::"r"(data_code) : "memory");
		break;
	default:
		return UTEST_BAD_MODE;
	}
	uprintf("survived!\n");
	return UTEST_SURVIVED;
}
