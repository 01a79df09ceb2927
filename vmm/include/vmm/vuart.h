/*
 * The guest's virtual COM1: a 16550 register model just rich enough for a
 * polled driver.  Each line the guest writes is printed on the real serial
 * port prefixed "[guest] ", so guest and monitor output are told apart.
 */
#ifndef VMM_VUART_H
#define VMM_VUART_H

#include <stdint.h>
#include "vmm/spinlock.h"

#define VUART_BASE  0x3f8
#define VUART_PORTS 8
#define VUART_LINE_PREFIX "[guest] "

#define VUART_LINE_MAX 200

/* One VM's UART (a device of the VM, struct vm in vmm/vmm.h). */
struct vuart {
	uint8_t regs[VUART_PORTS];
	uint8_t dll, dlm;
	char line[VUART_LINE_MAX + 1];
	unsigned len;
	uint64_t tx_bytes; /* bytes the guest has written to the transmit register */
	struct spinlock lock; /* the VM's vCPUs share the UART: the I/O exits take it (vmm/exit/io.c) */
};

uint32_t vuart_in(struct vuart *u, uint16_t port, unsigned size);
void vuart_out(struct vuart *u, uint16_t port, unsigned size, uint32_t value);
void vuart_flush(struct vuart *u);
static inline uint64_t vuart_bytes_sent(const struct vuart *u) { return __atomic_load_n(&u->tx_bytes, __ATOMIC_RELAXED); }

#endif
