/*
 * printf-style formatting for a freestanding monitor (and the host unit tests).
 * Supports %d %i %u %x %X %o %p %s %c %%, flags '-' '0' '+' ' ' '#', width and
 * precision (also '*'), length modifiers hh h l ll z j t.
 */
#ifndef VMM_FORMAT_H
#define VMM_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

typedef void (*hv_putc_fn)(void *ctx, char c);

/* Core formatter: emits each character through putc; returns the count emitted. */
int hv_vformat(hv_putc_fn putc, void *ctx, const char *fmt, va_list ap);

/* C99 snprintf semantics: always NUL-terminates when size > 0; returns the full length. */
int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int hv_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
