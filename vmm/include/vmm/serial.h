/*
 * 16550 UART driver, polled: COM1 at 115200 8N1 unless the command line's
 * serial= option names another port, another baud rate, the firmware's own
 * settings (keep) or no serial output at all (off).
 */
#ifndef VMM_SERIAL_H
#define VMM_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

/* The PC's legacy serial ports (I/O base addresses, as PC BIOSes assign them). */
#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM2_BASE 0x2f8
#define SERIAL_COM3_BASE 0x3e8
#define SERIAL_COM4_BASE 0x2e8
/* A 16550 decodes 8 consecutive I/O ports (PC16550D data sheet, table II), on an 8-port boundary. */
#define SERIAL_PORT_SPAN 8u
/* Its 1.8432 MHz crystal divided by 16: the fastest baud rate, reached with divisor 1. */
#define SERIAL_BAUD_MAX 115200u
#define SERIAL_DEFAULT_BAUD SERIAL_BAUD_MAX
/* serial_init()'s baud rate that means: keep the divisor and line settings the firmware left. */
#define SERIAL_BAUD_KEEP 0u

/*
 * Use the UART at I/O port `port` (0: no serial output), programmed to `baud` 8N1, or left as the
 * firmware set it up with SERIAL_BAUD_KEEP.  Returns false when no UART answers at the port
 * (output then goes nowhere).
 */
bool serial_init(uint16_t port, uint32_t baud);
void serial_putc(char c);
void serial_write(const char *s, unsigned long n);
/* Wait (bounded) until the UART has sent every byte, e.g. before powering off. */
void serial_flush(void);

#endif
