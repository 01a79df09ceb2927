#include <stdbool.h>
#include "vmm/log.h"
#include "vmm/vuart.h"

/* 16550 register offsets and bits (PC16550D data sheet). */
enum { REG_DATA = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3, REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7 };
#define LCR_DLAB        0x80u
#define LSR_THRE        0x20u
#define LSR_TEMT        0x40u
#define IIR_NO_INTERRUPT 0x01u
#define LINE_MAX        200

static struct {
	uint8_t regs[VUART_PORTS];
	uint8_t dll, dlm;
	char line[LINE_MAX + 1];
	unsigned len;
} uart;

uint64_t vuart_tx_bytes;

void vuart_flush(void)
{
	if (!uart.len)
		return;
	uart.line[uart.len] = 0;
	hv_print(VUART_LINE_PREFIX "%s\n", uart.line);
	uart.len = 0;
}

static void put_char(char c)
{
	if (c == '\r')
		return;
	if (c == '\n') {
		if (!uart.len) /* keep empty lines visible */
			uart.line[uart.len++] = ' ';
		vuart_flush();
		return;
	}
	uart.line[uart.len++] = (c >= ' ' && c <= '~') || c == '\t' ? c : '?';
	if (uart.len == LINE_MAX)
		vuart_flush();
}

uint32_t vuart_in(uint16_t port, unsigned size)
{
	const unsigned reg = port - VUART_BASE;
	const bool dlab = uart.regs[REG_LCR] & LCR_DLAB;
	(void)size;
	switch (reg) {
	case REG_DATA: return dlab ? uart.dll : 0; /* nothing is ever received */
	case REG_IER: return dlab ? uart.dlm : uart.regs[REG_IER];
	case REG_IIR_FCR: return IIR_NO_INTERRUPT;
	case REG_LSR: return LSR_THRE | LSR_TEMT; /* always ready to send */
	case REG_MSR: return 0;
	default: return uart.regs[reg];
	}
}

void vuart_out(uint16_t port, unsigned size, uint32_t value)
{
	const unsigned reg = port - VUART_BASE;
	const bool dlab = uart.regs[REG_LCR] & LCR_DLAB;
	(void)size;
	if (reg == REG_DATA && !dlab) {
		put_char((char)value);
		vuart_tx_bytes++;
	}
	else if (reg == REG_DATA)
		uart.dll = (uint8_t)value;
	else if (reg == REG_IER && dlab)
		uart.dlm = (uint8_t)value;
	else if (reg != REG_LSR && reg != REG_MSR)
		uart.regs[reg] = (uint8_t)value;
}
