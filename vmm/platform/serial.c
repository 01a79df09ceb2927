/* 16550 UART (National Semiconductor PC16550D data sheet), polled. */
#include <stdint.h>
#include <arch/io.h>
#include "vmm/serial.h"

enum uart_reg {
	UART_THR = 0, /* transmit holding (DLAB=0) */
	UART_DLL = 0, /* divisor latch low (DLAB=1) */
	UART_IER = 1, /* interrupt enable (DLAB=0) */
	UART_DLM = 1, /* divisor latch high (DLAB=1) */
	UART_FCR = 2, /* FIFO control */
	UART_LCR = 3, /* line control */
	UART_MCR = 4, /* modem control */
	UART_LSR = 5, /* line status */
	UART_SCR = 7, /* scratch */
};

#define UART_LCR_8N1      0x03u
#define UART_LCR_DLAB     0x80u
#define UART_FCR_ENABLE   0x01u
#define UART_FCR_CLEAR    0x06u /* clear receive and transmit FIFOs */
#define UART_MCR_DTR_RTS  0x03u
#define UART_LSR_THRE     0x20u /* transmit holding register empty */
#define UART_LSR_TEMT     0x40u /* transmitter empty: every byte has left */
#define UART_SCRATCH_TEST 0xa5u
#define UART_SPIN_LIMIT   100000u

static bool serial_present;
static uint16_t serial_base = SERIAL_COM1_BASE;

bool serial_init(uint16_t port, uint32_t baud)
{
	const uint16_t base = port;

	serial_flush(); /* whatever is still leaving the previous port */
	serial_base = port;
	serial_present = false;
	if (port == 0)
		return false;
	outb(base + UART_SCR, UART_SCRATCH_TEST);
	if (inb(base + UART_SCR) != UART_SCRATCH_TEST)
		return false;
	if (baud == SERIAL_BAUD_KEEP)
		return serial_present = true; /* the firmware's divisor, LCR, FIFO and MCR settings stay */
	/* Divisor = 1.8432 MHz / (16 * baud) (PC16550D, "programmable baud generator"). */
	const uint16_t divisor = (uint16_t)(SERIAL_BAUD_MAX / baud);
	outb(base + UART_IER, 0);
	outb(base + UART_LCR, UART_LCR_DLAB);
	outb(base + UART_DLL, divisor & 0xff);
	outb(base + UART_DLM, divisor >> 8);
	outb(base + UART_LCR, UART_LCR_8N1);
	outb(base + UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR);
	outb(base + UART_MCR, UART_MCR_DTR_RTS);
	return serial_present = true;
}

static void serial_raw_putc(char c)
{
	/* Bounded wait: a wedged UART must not hang the monitor. */
	for (unsigned i = 0; i < UART_SPIN_LIMIT; i++)
		if (inb(serial_base + UART_LSR) & UART_LSR_THRE)
			break;
	outb(serial_base + UART_THR, (uint8_t)c);
}

void serial_putc(char c)
{
	if (!serial_present)
		return;
	if (c == '\n')
		serial_raw_putc('\r');
	serial_raw_putc(c);
}

void serial_write(const char *s, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		serial_putc(s[i]);
}

void serial_flush(void)
{
	if (!serial_present)
		return;
	for (unsigned i = 0; i < UART_SPIN_LIMIT; i++)
		if (inb(serial_base + UART_LSR) & UART_LSR_TEMT)
			return;
}
