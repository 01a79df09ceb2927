/* 16550 UART driver for COM1, polled, 115200 8N1. */
#ifndef VMM_SERIAL_H
#define VMM_SERIAL_H

#include <stdbool.h>

#define SERIAL_COM1_BASE 0x3f8

/* Program the UART; returns false when no UART answers at the port (output then goes nowhere). */
bool serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, unsigned long n);
/* Wait (bounded) until the UART has sent every byte, e.g. before powering off. */
void serial_flush(void);

#endif
