/*
 * The console: COM1, a 16550 UART driven by polling (no interrupts exist).
 * Under the monitor every IN/OUT exits and COM1 is its virtual 16550 (LSR
 * always says "transmitter empty"); booted directly, it is a real (emulated)
 * one.  Each character costs two exits: the LSR poll and the THR write.
 *
 * With several CPUs, output goes through the console lock: a kprintf is written whole, never
 * mixed with another CPU's.  The lock is recursive on one CPU (an exception or NMI handler that
 * prints while its CPU holds it goes on), and console_lock() holds it across several calls.
 */
#include <stdarg.h>
#include <vmm/format.h>
#include "guest/hv.h"
#include "guest/kernel.h"
#include "guest/percpu.h"
#include "guest/priv.h"
#include "guest/spinlock.h"

/* 16550 registers and bits (PC16550D data sheet). */
#define COM1_BASE     0x3f8
#define UART_THR      0 /* transmit holding register (DLAB = 0) */
#define UART_DLL      0 /* divisor latch low (DLAB = 1) */
#define UART_IER      1
#define UART_DLM      1 /* divisor latch high (DLAB = 1) */
#define UART_FCR      2
#define UART_LCR      3
#define UART_MCR      4
#define UART_LSR      5
#define LCR_8N1       0x03
#define LCR_DLAB      0x80
#define FCR_ENABLE_CLEAR 0x07 /* enable FIFOs, clear both */
#define MCR_DTR_RTS   0x03
#define LSR_THRE      0x20
#define DIVISOR_115200 1
#define THRE_POLL_MAX 100000

/* QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4): exit code (v << 1) | 1. */
#define DEBUG_EXIT_PORT 0xf4
#define PANIC_STATUS    2

void console_init(void)
{
	priv_outb(COM1_BASE + UART_IER, 0);
	priv_outb(COM1_BASE + UART_LCR, LCR_DLAB);
	priv_outb(COM1_BASE + UART_DLL, DIVISOR_115200);
	priv_outb(COM1_BASE + UART_DLM, 0);
	priv_outb(COM1_BASE + UART_LCR, LCR_8N1);
	priv_outb(COM1_BASE + UART_FCR, FCR_ENABLE_CLEAR);
	priv_outb(COM1_BASE + UART_MCR, MCR_DTR_RTS);
}

static struct spinlock console_spin = SPINLOCK_INIT;
static volatile int console_owner = -1; /* the CPU holding it, -1 for none */
static unsigned console_depth;

void console_lock(void)
{
	const int me = (int)this_cpu_index();
	if (console_owner == me) { /* only this CPU writes its own number there */
		console_depth++;
		return;
	}
	spin_lock(&console_spin);
	console_owner = me;
	console_depth = 1;
}

void console_unlock(void)
{
	if (--console_depth)
		return;
	console_owner = -1;
	spin_unlock(&console_spin);
}

void console_putc(char c)
{
	for (unsigned i = 0; i < THRE_POLL_MAX; i++)
		if (priv_inb(COM1_BASE + UART_LSR) & LSR_THRE)
			break;
	priv_outb(COM1_BASE + UART_THR, (uint8_t)c);
}

void console_write(const char *s, size_t n)
{
	console_lock();
	for (size_t i = 0; i < n; i++)
		console_putc(s[i]);
	console_unlock();
}

static void format_putc(void *ctx, char c)
{
	(void)ctx;
	console_putc(c);
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	console_lock();
	int n = hv_vformat(format_putc, NULL, fmt, ap);
	console_unlock();
	va_end(ap);
	return n;
}

void kernel_exit(int status)
{
	if (hv_present)
		hv_call(HC_EXIT, (uint64_t)status, 0, 0);
	else
		priv_outb(DEBUG_EXIT_PORT, (uint8_t)status);
	for (;;) /* neither took effect: there is nothing left to do */
		__asm__ volatile("cli; hlt");
}

void panic(const char *fmt, ...)
{
	va_list ap;
	console_lock(); /* kept: the line is this CPU's last */
	kprintf("PANIC: ");
	if (this_cpu_index())
		kprintf("(CPU %u) ", this_cpu_index());
	va_start(ap, fmt);
	hv_vformat(format_putc, NULL, fmt, ap);
	va_end(ap);
	kprintf("\n");
	kernel_exit(PANIC_STATUS);
}
