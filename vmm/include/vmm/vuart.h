/*
 * The guest's virtual COM1: a 16550 register model just rich enough for a
 * polled driver.  Each line the guest writes is printed on the real serial
 * port prefixed "[guest] ", so guest and monitor output are told apart.
 */
#ifndef VMM_VUART_H
#define VMM_VUART_H

#include <stdint.h>

#define VUART_BASE  0x3f8
#define VUART_PORTS 8
#define VUART_LINE_PREFIX "[guest] "

uint32_t vuart_in(uint16_t port, unsigned size);
void vuart_out(uint16_t port, unsigned size, uint32_t value);
void vuart_flush(void);
extern uint64_t vuart_tx_bytes; /* bytes the guest has written to the transmit register */
static inline uint64_t vuart_bytes_sent(void) { return vuart_tx_bytes; }

#endif
