#include <stdbool.h>
#include "vmm/log.h"
#include "vmm/vuart.h"

/* 16550 register offsets and bits (PC16550D data sheet). */
enum { REG_DATA = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3, REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7 };
#define LCR_DLAB        0x80u
#define LSR_THRE        0x20u
#define LSR_TEMT        0x40u
#define IIR_NO_INTERRUPT 0x01u
void vuart_flush(struct vuart *u)
{
	if (!u->len)
		return;
	u->line[u->len] = 0;
	hv_print(VUART_LINE_PREFIX "%s\n", u->line);
	u->len = 0;
}

static void put_char(struct vuart *u, char c)
{
	if (c == '\r')
		return;
	if (c == '\n') {
		if (!u->len) /* keep empty lines visible */
			u->line[u->len++] = ' ';
		vuart_flush(u);
		return;
	}
	u->line[u->len++] = (c >= ' ' && c <= '~') || c == '\t' ? c : '?';
	if (u->len == VUART_LINE_MAX)
		vuart_flush(u);
}

uint32_t vuart_in(struct vuart *u, uint16_t port, unsigned size)
{
	const unsigned reg = port - VUART_BASE;
	const bool dlab = u->regs[REG_LCR] & LCR_DLAB;
	(void)size;
	switch (reg) {
	case REG_DATA: return dlab ? u->dll : 0; /* nothing is ever received */
	case REG_IER: return dlab ? u->dlm : u->regs[REG_IER];
	case REG_IIR_FCR: return IIR_NO_INTERRUPT;
	case REG_LSR: return LSR_THRE | LSR_TEMT; /* always ready to send */
	case REG_MSR: return 0;
	default: return u->regs[reg];
	}
}

void vuart_out(struct vuart *u, uint16_t port, unsigned size, uint32_t value)
{
	const unsigned reg = port - VUART_BASE;
	const bool dlab = u->regs[REG_LCR] & LCR_DLAB;
	(void)size;
	if (reg == REG_DATA && !dlab) {
		put_char(u, (char)value);
		u->tx_bytes++;
	}
	else if (reg == REG_DATA)
		u->dll = (uint8_t)value;
	else if (reg == REG_IER && dlab)
		u->dlm = (uint8_t)value;
	else if (reg != REG_LSR && reg != REG_MSR)
		u->regs[reg] = (uint8_t)value;
}
