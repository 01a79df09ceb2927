/*
 * printf-style formatter for the freestanding monitor and the host unit tests.
 * Only 64-bit integer arithmetic; no floating point, no libc beyond <string.h>.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/format.h"

#define F_LEFT  0x01u /* '-' */
#define F_ZERO  0x02u /* '0' */
#define F_PLUS  0x04u /* '+' */
#define F_SPACE 0x08u /* ' ' */
#define F_ALT   0x10u /* '#' */

/* Width and precision are clamped to this so they never overflow an int. */
#define FMT_MAX_FIELD 1000000

enum length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T };

struct out {
	hv_putc_fn putc;
	void *ctx;
	int count;
};

static void emit(struct out *o, char c)
{
	o->putc(o->ctx, c);
	if (o->count < INT32_MAX)
		o->count++;
}

static void emit_repeat(struct out *o, char c, int n)
{
	while (n-- > 0)
		emit(o, c);
}

static void emit_n(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		emit(o, s[i]);
}

/* Emit `len` bytes of s padded to `width` (spaces; left or right). */
static void emit_padded(struct out *o, const char *s, size_t len, int width, unsigned flags)
{
	int pad = (size_t)width > len ? width - (int)len : 0;
	if (!(flags & F_LEFT))
		emit_repeat(o, ' ', pad);
	emit_n(o, s, len);
	if (flags & F_LEFT)
		emit_repeat(o, ' ', pad);
}

/*
 * Format an integer magnitude in `base` with an optional sign character.
 * prec < 0: no precision given.
 */
static void emit_integer(struct out *o, uint64_t mag, char sign, unsigned base, bool upper,
			 unsigned flags, int width, int prec)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24]; /* 64 bits in octal: 22 digits */
	int nd = 0;

	while (mag != 0) {
		buf[sizeof(buf) - 1 - nd] = digits[mag % base];
		mag /= base;
		nd++;
	}
	bool zero_value = nd == 0;
	/* Default precision is 1: the value 0 prints as "0" unless precision is 0. */
	if (zero_value && prec != 0) {
		buf[sizeof(buf) - 1] = '0';
		nd = 1;
	}

	int zeros = prec > nd ? prec - nd : 0; /* leading zeros from the precision */

	/* '#' with hex: "0x"/"0X" before a non-zero value. */
	bool hex_prefix = (flags & F_ALT) && base == 16 && !zero_value;
	/* '#' with octal: the first digit must be 0. */
	if ((flags & F_ALT) && base == 8 && zeros == 0 &&
	    (nd == 0 || buf[sizeof(buf) - nd] != '0'))
		zeros = 1;

	int body = (sign ? 1 : 0) + (hex_prefix ? 2 : 0) + zeros + nd;
	int pad = width > body ? width - body : 0;
	/* '0' flag: pad with zeros after the sign/prefix, unless '-' or a precision is given. */
	bool zero_pad = (flags & F_ZERO) && !(flags & F_LEFT) && prec < 0;

	if (!(flags & F_LEFT) && !zero_pad)
		emit_repeat(o, ' ', pad);
	if (sign)
		emit(o, sign);
	if (hex_prefix) {
		emit(o, '0');
		emit(o, upper ? 'X' : 'x');
	}
	if (zero_pad)
		emit_repeat(o, '0', pad);
	emit_repeat(o, '0', zeros);
	emit_n(o, buf + sizeof(buf) - nd, (size_t)nd);
	if (flags & F_LEFT)
		emit_repeat(o, ' ', pad);
}

static int parse_num(const char **pp)
{
	const char *p = *pp;
	int v = 0;
	while (*p >= '0' && *p <= '9') {
		if (v < FMT_MAX_FIELD)
			v = v * 10 + (*p - '0');
		p++;
	}
	*pp = p;
	return v > FMT_MAX_FIELD ? FMT_MAX_FIELD : v;
}

int hv_vformat(hv_putc_fn putc, void *ctx, const char *fmt, va_list ap)
{
	struct out o = { putc, ctx, 0 };
	const char *p = fmt;

	if (!fmt)
		return 0;

	while (*p) {
		if (*p != '%') {
			emit(&o, *p++);
			continue;
		}
		const char *spec = p++; /* start of the conversion, for unknown ones */
		unsigned flags = 0;
		int width = 0;
		int prec = -1;
		enum length len = LEN_NONE;

		/* Flags. */
		for (;; p++) {
			if (*p == '-')
				flags |= F_LEFT;
			else if (*p == '0')
				flags |= F_ZERO;
			else if (*p == '+')
				flags |= F_PLUS;
			else if (*p == ' ')
				flags |= F_SPACE;
			else if (*p == '#')
				flags |= F_ALT;
			else
				break;
		}

		/* Width. */
		if (*p == '*') {
			p++;
			width = va_arg(ap, int);
			if (width < 0) {
				flags |= F_LEFT;
				width = width == INT32_MIN ? FMT_MAX_FIELD : -width;
			}
			if (width > FMT_MAX_FIELD)
				width = FMT_MAX_FIELD;
		} else {
			width = parse_num(&p);
		}

		/* Precision. */
		if (*p == '.') {
			p++;
			if (*p == '*') {
				p++;
				prec = va_arg(ap, int);
				if (prec < 0)
					prec = -1; /* negative: as if omitted */
				else if (prec > FMT_MAX_FIELD)
					prec = FMT_MAX_FIELD;
			} else {
				prec = parse_num(&p);
			}
		}

		/* Length modifier. */
		switch (*p) {
		case 'h':
			p++;
			len = LEN_H;
			if (*p == 'h') {
				p++;
				len = LEN_HH;
			}
			break;
		case 'l':
			p++;
			len = LEN_L;
			if (*p == 'l') {
				p++;
				len = LEN_LL;
			}
			break;
		case 'z':
			p++;
			len = LEN_Z;
			break;
		case 'j':
			p++;
			len = LEN_J;
			break;
		case 't':
			p++;
			len = LEN_T;
			break;
		default:
			break;
		}

		char conv = *p;
		switch (conv) {
		case 'd':
		case 'i': {
			int64_t v;
			switch (len) {
			case LEN_HH: v = (signed char)va_arg(ap, int); break;
			case LEN_H:  v = (short)va_arg(ap, int); break;
			case LEN_L:  v = va_arg(ap, long); break;
			case LEN_LL: v = va_arg(ap, long long); break;
			case LEN_Z:  v = (int64_t)va_arg(ap, size_t); break;
			case LEN_J:  v = va_arg(ap, intmax_t); break;
			case LEN_T:  v = va_arg(ap, ptrdiff_t); break;
			default:     v = va_arg(ap, int); break;
			}
			char sign = 0;
			/* Negate in unsigned arithmetic so INT64_MIN is exact. */
			uint64_t mag = (uint64_t)v;
			if (v < 0) {
				sign = '-';
				mag = (uint64_t)0 - mag;
			} else if (flags & F_PLUS) {
				sign = '+';
			} else if (flags & F_SPACE) {
				sign = ' ';
			}
			emit_integer(&o, mag, sign, 10, false, flags, width, prec);
			p++;
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			uint64_t v;
			switch (len) {
			case LEN_HH: v = (unsigned char)va_arg(ap, unsigned int); break;
			case LEN_H:  v = (unsigned short)va_arg(ap, unsigned int); break;
			case LEN_L:  v = va_arg(ap, unsigned long); break;
			case LEN_LL: v = va_arg(ap, unsigned long long); break;
			case LEN_Z:  v = va_arg(ap, size_t); break;
			case LEN_J:  v = va_arg(ap, uintmax_t); break;
			case LEN_T:  v = (uint64_t)va_arg(ap, ptrdiff_t); break;
			default:     v = va_arg(ap, unsigned int); break;
			}
			unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
			emit_integer(&o, v, 0, base, conv == 'X', flags & ~(unsigned)(F_PLUS | F_SPACE),
				     width, prec);
			p++;
			break;
		}
		case 'p': {
			/* Always "0x" and 16 hex digits; only width and '-' apply. */
			uint64_t v = (uint64_t)(uintptr_t)va_arg(ap, void *);
			char buf[18];
			buf[0] = '0';
			buf[1] = 'x';
			for (int i = 0; i < 16; i++)
				buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
			emit_padded(&o, buf, sizeof(buf), width, flags);
			p++;
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			size_t n = 0;
			/* Never read past `prec` bytes: the string need not be terminated. */
			while ((prec < 0 || n < (size_t)prec) && s[n])
				n++;
			emit_padded(&o, s, n, width, flags);
			p++;
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			emit_padded(&o, &c, 1, width, flags);
			p++;
			break;
		}
		case '%':
			emit(&o, '%');
			p++;
			break;
		default:
			/*
			 * Unknown conversion: print the specification literally,
			 * including the offending character (unless it is the end).
			 */
			if (conv != '\0')
				p++;
			emit_n(&o, spec, (size_t)(p - spec));
			break;
		}
	}
	return o.count;
}

struct sn_ctx {
	char *buf;
	size_t size;
	size_t pos;
};

static void sn_putc(void *ctx, char c)
{
	struct sn_ctx *s = ctx;
	if (s->pos + 1 < s->size)
		s->buf[s->pos] = c;
	s->pos++;
}

int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sn_ctx s = { buf, size, 0 };
	int n = hv_vformat(sn_putc, &s, fmt, ap);
	if (size > 0)
		buf[s.pos < size ? s.pos : size - 1] = '\0';
	return n;
}

int hv_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = hv_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
