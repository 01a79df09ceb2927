/*
 * Raw output to the PC's first serial port (COM1, a 16550-compatible UART at
 * I/O port 0x3f8), 115200 baud, 8 data bits, no parity, 1 stop bit.  Works
 * with or without boot services: after ExitBootServices this is the loader's
 * only output.  Register names follow the 16550 data sheet.
 */
#include "loader.h"

#define COM1_BASE 0x3f8

/* Register offsets from the base port. */
#define UART_THR 0 /* transmit holding register (DLAB=0) */
#define UART_DLL 0 /* divisor latch, low byte (DLAB=1) */
#define UART_IER 1 /* interrupt enable register (DLAB=0) */
#define UART_DLM 1 /* divisor latch, high byte (DLAB=1) */
#define UART_FCR 2 /* FIFO control register (write) */
#define UART_LCR 3 /* line control register */
#define UART_MCR 4 /* modem control register */
#define UART_LSR 5 /* line status register */

#define UART_IER_NONE       0x00 /* no interrupts: the loader polls */
#define UART_LCR_DLAB       0x80 /* divisor latch access */
#define UART_LCR_8N1        0x03 /* 8 data bits, no parity, 1 stop bit */
#define UART_FCR_ENABLE     0x01
#define UART_FCR_CLEAR_RX   0x02
#define UART_FCR_CLEAR_TX   0x04
#define UART_MCR_DTR        0x01
#define UART_MCR_RTS        0x02
#define UART_LSR_THRE       0x20 /* transmit holding register empty */

#define UART_INPUT_CLOCK_DIV16 115200u /* 1.8432 MHz crystal / 16 */
#define UART_BAUD              115200u
#define UART_DIVISOR           (UART_INPUT_CLOCK_DIV16 / UART_BAUD)

/* Give up waiting for a transmitter that never empties (no UART at 0x3f8). */
#define UART_TX_POLL_LIMIT 100000u

#define DECIMAL_DIGITS_MAX 20 /* 2^64 - 1 has 20 decimal digits */
#define HEX_DIGITS_MAX     16

static inline void port_out8(UINT16 port, UINT8 value)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline UINT8 port_in8(UINT16 port)
{
	UINT8 value;
	__asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

void com1_init(void)
{
	port_out8(COM1_BASE + UART_IER, UART_IER_NONE);
	port_out8(COM1_BASE + UART_LCR, UART_LCR_DLAB);
	port_out8(COM1_BASE + UART_DLL, UART_DIVISOR & 0xff);
	port_out8(COM1_BASE + UART_DLM, UART_DIVISOR >> 8);
	port_out8(COM1_BASE + UART_LCR, UART_LCR_8N1);
	port_out8(COM1_BASE + UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX);
	port_out8(COM1_BASE + UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
}

static void com1_put(char c)
{
	for (UINT32 i = 0; i < UART_TX_POLL_LIMIT; i++) {
		if (port_in8(COM1_BASE + UART_LSR) & UART_LSR_THRE)
			break;
	}
	port_out8(COM1_BASE + UART_THR, (UINT8)c);
}

void com1_write(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			com1_put('\r');
		com1_put(*s);
	}
}

void com1_write_dec(UINT64 value)
{
	char digits[DECIMAL_DIGITS_MAX + 1];
	int i = DECIMAL_DIGITS_MAX;

	digits[i] = '\0';
	do {
		digits[--i] = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0);
	com1_write(&digits[i]);
}

void com1_write_hex(UINT64 value)
{
	static const char hex[] = "0123456789abcdef";
	char digits[HEX_DIGITS_MAX + 1];
	int i = HEX_DIGITS_MAX;

	digits[i] = '\0';
	do {
		digits[--i] = hex[value & 0xf];
		value >>= 4;
	} while (value != 0);
	com1_write("0x");
	com1_write(&digits[i]);
}
