/*
 * The monitor's command-line parser (see vmm/include/vmm/cmdline.h).
 * Everything about an option comes from the HV_OPTIONS table.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "vmm/cmdline.h"
#include "vmm/format.h"

#define GUEST_PREFIX     "guest."
#define GUEST_PREFIX_LEN (sizeof(GUEST_PREFIX) - 1)
#define MAX_ENUM_NAMES   12
#define MSG_MAX          384 /* one report line */
#define ECHO_MAX         64  /* at most this much of a user's key or value is echoed */
#define SIZE_GRANULE     4096ull /* SIZE values are page granular */

struct enum_names {
	const char *n[MAX_ENUM_NAMES]; /* NULL-terminated */
};

struct option {
	const char *name;
	enum hv_opt_type type;
	size_t offset; /* of the field in struct hv_config */
	size_t size;   /* of the field: 4 or 8 */
	uint64_t def, min, max;
	struct enum_names names;
	const char *help;
};

#define CFG_FIELD_SIZE(f) sizeof(((struct hv_config *)0)->f)

#define X(o_name, o_type, o_field, o_def, o_min, o_max, o_names, o_help)                     \
	_Static_assert(CFG_FIELD_SIZE(o_field) == 4 || CFG_FIELD_SIZE(o_field) == 8,          \
		       "option '" #o_name "': field must be 32 or 64 bits");                 \
	_Static_assert((o_type != HV_OPT_UINT && o_type != HV_OPT_SIZE) ||                    \
		       ((uint64_t)(o_def) >= (uint64_t)(o_min) &&                             \
			(uint64_t)(o_def) <= (uint64_t)(o_max)),                              \
		       "option '" #o_name "': default outside [min, max]");
HV_OPTIONS(X)
#undef X

_Static_assert(HV_OPTION_COUNT <= 32, "explicit_mask has 32 bits");

/*
 * HV_OPTIONS gives enum_names either as a braced list or as a plain 0; both
 * initialise `names`, but the 0 (brace elision into the array) draws
 * -Wmissing-braces, which is harmless here.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-braces"
static const struct option options[HV_OPTION_COUNT] = {
#define X(o_name, o_type, o_field, o_def, o_min, o_max, o_names, o_help)                     \
	[HV_OPTIDX_##o_name] = {                                                              \
		.name = #o_name,                                                              \
		.type = o_type,                                                               \
		.offset = offsetof(struct hv_config, o_field),                                \
		.size = CFG_FIELD_SIZE(o_field),                                              \
		.def = (uint64_t)(o_def),                                                     \
		.min = (uint64_t)(o_min),                                                     \
		.max = (uint64_t)(o_max),                                                     \
		.names = { o_names },                                                         \
		.help = o_help,                                                               \
	},
	HV_OPTIONS(X)
#undef X
};
#pragma GCC diagnostic pop

static void set_field(struct hv_config *cfg, const struct option *o, uint64_t v)
{
	char *f = (char *)cfg + o->offset;
	if (o->size == 4)
		*(uint32_t *)(void *)f = (uint32_t)v;
	else
		*(uint64_t *)(void *)f = v;
}

void hv_config_defaults(struct hv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (unsigned i = 0; i < HV_OPTION_COUNT; i++)
		set_field(cfg, &options[i], options[i].def);
	cfg->explicit_mask = 0;
	cfg->guest_args[0] = '\0';
}

/* ---- small string helpers (only the few libc functions the monitor has) ---- */

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive: is s[0..len) equal to the NUL-terminated word? */
static bool word_eq(const char *s, size_t len, const char *word)
{
	size_t i;
	for (i = 0; i < len; i++)
		if (word[i] == '\0' || lower(s[i]) != lower(word[i]))
			return false;
	return word[i] == '\0';
}

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Append to a NUL-terminated buffer of `size` bytes, truncating. */
static void append(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);
	while (*s && n + 1 < size)
		buf[n++] = *s++;
	buf[n] = '\0';
}

/* Value names joined by `sep` ("error|warn|info|debug"). */
static void join_names(char *buf, size_t size, const struct option *o, const char *sep)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < MAX_ENUM_NAMES && o->names.n[i]; i++) {
		if (i)
			append(buf, size, sep);
		append(buf, size, o->names.n[i]);
	}
}

/* A byte count in the largest unit that divides it: "64M", "3G", "4100". */
static void format_size(char *buf, size_t size, uint64_t v)
{
	static const char units[] = "GMK";
	for (unsigned i = 0; i < 3; i++) {
		unsigned shift = 30 - 10 * i;
		if (v != 0 && (v & ((1ull << shift) - 1)) == 0) {
			hv_snprintf(buf, size, "%llu%c", (unsigned long long)(v >> shift), units[i]);
			return;
		}
	}
	hv_snprintf(buf, size, "%llu", (unsigned long long)v);
}

/* How a value of this option reads in messages ("64M", "info", "1", "4000"). */
static void format_value(char *buf, size_t size, const struct option *o, uint64_t v)
{
	if (o->type == HV_OPT_SERIAL)
		hv_serial_describe(buf, size, v);
	else if (o->type == HV_OPT_SIZE)
		format_size(buf, size, v);
	else if (o->type == HV_OPT_ENUM && v < MAX_ENUM_NAMES && o->names.n[v])
		hv_snprintf(buf, size, "%s", o->names.n[v]);
	else
		hv_snprintf(buf, size, "%llu", (unsigned long long)v);
}

/* ---- number parsing ---- */

enum num_status { NUM_OK, NUM_BAD, NUM_TOO_LARGE };

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decimal or 0x-hex; with `suffix`, a decimal may end in K, M or G (KiB, MiB, GiB). */
static enum num_status parse_number(const char *s, size_t len, bool suffix, uint64_t *out)
{
	uint64_t v = 0;
	bool too_large = false;

	if (len == 0)
		return NUM_BAD;
	if (len > 2 && s[0] == '0' && lower(s[1]) == 'x') {
		for (size_t i = 2; i < len; i++) {
			int d = hex_digit(s[i]);
			if (d < 0)
				return NUM_BAD;
			if (v >> 60)
				too_large = true;
			v = (v << 4) | (uint64_t)d;
		}
		*out = v;
		return too_large ? NUM_TOO_LARGE : NUM_OK;
	}

	unsigned shift = 0;
	if (suffix) {
		switch (lower(s[len - 1])) {
		case 'k': shift = 10; break;
		case 'm': shift = 20; break;
		case 'g': shift = 30; break;
		default: break;
		}
		if (shift) {
			len--;
			if (len == 0)
				return NUM_BAD;
		}
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return NUM_BAD;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			too_large = true;
		v = v * 10 + d;
	}
	if (shift && v > (UINT64_MAX >> shift))
		too_large = true;
	*out = v << shift;
	return too_large ? NUM_TOO_LARGE : NUM_OK;
}

/* ---- serial=PORT[,BAUD] ---- */

/* The legacy names of the PC's serial ports, and their I/O bases. */
static const struct {
	const char *name;
	uint16_t port;
} serial_port_names[] = {
	{ "com1", SERIAL_COM1_BASE },
	{ "com2", SERIAL_COM2_BASE },
	{ "com3", SERIAL_COM3_BASE },
	{ "com4", SERIAL_COM4_BASE },
};
#define SERIAL_PORT_NAME_COUNT (sizeof(serial_port_names) / sizeof(serial_port_names[0]))
#define SERIAL_WORD_OFF  "off"
#define SERIAL_WORD_KEEP "keep"
#define SERIAL_SEPARATOR ','

void hv_serial_describe(char *buf, size_t size, uint64_t v)
{
	uint16_t port = HV_SERIAL_PORT(v);
	uint32_t baud = HV_SERIAL_BAUD(v);

	if (port == 0)
		hv_snprintf(buf, size, "%s", SERIAL_WORD_OFF);
	else if (baud == SERIAL_BAUD_KEEP)
		hv_snprintf(buf, size, "%#x,%s", port, SERIAL_WORD_KEEP);
	else
		hv_snprintf(buf, size, "%#x,%u", port, baud);
}

/* ---- problem reporting ---- */

struct parser {
	void (*report)(void *ctx, const char *msg);
	void *ctx;
	int problems;
	/*
	 * At most HV_CMDLINE_MAX_ERRORS report() calls.  The last one is held
	 * back: if yet another problem follows, it is replaced by a summary.
	 */
	char held[MSG_MAX];
};

static void problem(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct parser *ps, const char *fmt, ...)
{
	ps->problems++;
	if (!ps->report || ps->problems > HV_CMDLINE_MAX_ERRORS)
		return;
	char msg[MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	hv_vsnprintf(ps->problems == HV_CMDLINE_MAX_ERRORS ? ps->held : msg, MSG_MAX, fmt, ap);
	va_end(ap);
	if (ps->problems < HV_CMDLINE_MAX_ERRORS)
		ps->report(ps->ctx, msg);
}

static void flush_problems(struct parser *ps)
{
	if (!ps->report || ps->problems < HV_CMDLINE_MAX_ERRORS)
		return;
	if (ps->problems == HV_CMDLINE_MAX_ERRORS) {
		ps->report(ps->ctx, ps->held);
	} else {
		char msg[MSG_MAX];
		hv_snprintf(msg, sizeof(msg),
			    "%d more command-line problems not shown (only the first %d are reported)",
			    ps->problems - (HV_CMDLINE_MAX_ERRORS - 1), HV_CMDLINE_MAX_ERRORS - 1);
		ps->report(ps->ctx, msg);
	}
}

static void known_keys(char *buf, size_t size)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < HV_OPTION_COUNT; i++) {
		append(buf, size, options[i].name);
		append(buf, size, ", ");
	}
	append(buf, size, GUEST_PREFIX "*");
}

/* serial=...: off, keep, PORT, PORT,BAUD or PORT,keep.  Returns false after reporting a problem. */
static bool parse_serial(struct parser *ps, const char *val, size_t vlen, uint64_t *out)
{
	size_t plen = 0;
	uint64_t port = 0, baud = SERIAL_DEFAULT_BAUD;
	int ev = (int)(vlen < ECHO_MAX ? vlen : ECHO_MAX);
	bool named = false;

	if (word_eq(val, vlen, SERIAL_WORD_OFF)) {
		*out = HV_SERIAL_OFF;
		return true;
	}
	if (word_eq(val, vlen, SERIAL_WORD_KEEP)) {
		*out = HV_SERIAL_VALUE(SERIAL_COM1_BASE, SERIAL_BAUD_KEEP);
		return true;
	}
	while (plen < vlen && val[plen] != SERIAL_SEPARATOR)
		plen++;
	for (size_t i = 0; i < SERIAL_PORT_NAME_COUNT && !named; i++) {
		if (word_eq(val, plen, serial_port_names[i].name)) {
			port = serial_port_names[i].port;
			named = true;
		}
	}
	if (!named && parse_number(val, plen, false, &port) != NUM_OK) {
		problem(ps, "serial=%.*s: not a serial port (use com1..com4, an I/O port such as 0x2f8, "
			"optionally followed by ,BAUD or ,keep; or keep, or off)", ev, val);
		return false;
	}
	if (port == 0 || port > UINT16_MAX - (SERIAL_PORT_SPAN - 1) || port % SERIAL_PORT_SPAN != 0) {
		problem(ps, "serial=%.*s: I/O port %#llx cannot hold a 16550 (its %u registers start at a "
			"non-zero multiple of %u below 0x10000, e.g. 0x3f8 or 0x2f8)",
			ev, val, (unsigned long long)port, SERIAL_PORT_SPAN, SERIAL_PORT_SPAN);
		return false;
	}
	if (plen < vlen) {
		const char *b = val + plen + 1;
		size_t blen = vlen - plen - 1;
		if (word_eq(b, blen, SERIAL_WORD_KEEP)) {
			baud = SERIAL_BAUD_KEEP;
		} else if (parse_number(b, blen, false, &baud) != NUM_OK || baud == 0 || baud > SERIAL_BAUD_MAX ||
			   SERIAL_BAUD_MAX % baud != 0) {
			problem(ps, "serial=%.*s: baud rate '%.*s' is not one a 16550 reaches exactly "
				"(%u divided by a whole number: 115200, 57600, 38400, 19200, 9600, ...; "
				"or keep: the firmware's)", ev, val, (int)(blen < ECHO_MAX ? blen : ECHO_MAX), b,
				SERIAL_BAUD_MAX);
			return false;
		}
	}
	*out = HV_SERIAL_VALUE(port, baud);
	return true;
}

/* ---- one item ---- */

static void parse_guest(struct parser *ps, struct hv_config *cfg, const char *tok, size_t len)
{
	const char *arg = tok + GUEST_PREFIX_LEN;
	size_t alen = len - GUEST_PREFIX_LEN;
	if (alen == 0 || arg[0] == '=') {
		problem(ps, "command-line item '%.*s' names no guest key (use guest.<key> or guest.<key>=<value>)",
			(int)(len < ECHO_MAX ? len : ECHO_MAX), tok);
		return;
	}
	size_t used = strlen(cfg->guest_args);
	size_t need = alen + (used ? 1 : 0);
	if (need > HV_GUEST_ARGS_MAX - 1 - used) {
		problem(ps, "guest arguments too long: '%.*s' does not fit (at most %d bytes in all)",
			(int)(len < ECHO_MAX ? len : ECHO_MAX), tok, HV_GUEST_ARGS_MAX - 1);
		return;
	}
	if (used)
		cfg->guest_args[used++] = ' ';
	memcpy(cfg->guest_args + used, arg, alen);
	cfg->guest_args[used + alen] = '\0';
}

static void parse_item(struct parser *ps, struct hv_config *cfg, const char *tok, size_t len)
{
	size_t klen = 0;
	while (klen < len && tok[klen] != '=')
		klen++;
	bool has_value = klen < len;
	const char *val = tok + klen + (has_value ? 1 : 0);
	size_t vlen = has_value ? len - klen - 1 : 0;
	int ek = (int)(klen < ECHO_MAX ? klen : ECHO_MAX);
	int ev = (int)(vlen < ECHO_MAX ? vlen : ECHO_MAX);

	if (klen == 0) {
		problem(ps, "command-line item '%.*s' has no key before '=' (use key=value)",
			(int)(len < ECHO_MAX ? len : ECHO_MAX), tok);
		return;
	}
	if (klen >= GUEST_PREFIX_LEN && strncmp(tok, GUEST_PREFIX, GUEST_PREFIX_LEN) == 0) {
		parse_guest(ps, cfg, tok, len);
		return;
	}

	const struct option *o = 0;
	unsigned idx = 0;
	for (idx = 0; idx < HV_OPTION_COUNT; idx++) {
		if (strlen(options[idx].name) == klen && strncmp(options[idx].name, tok, klen) == 0) {
			o = &options[idx];
			break;
		}
	}
	if (!o) {
		char keys[MSG_MAX / 2];
		known_keys(keys, sizeof(keys));
		problem(ps, "unknown command-line key '%.*s' (known keys: %s)", ek, tok, keys);
		return;
	}

	char allowed[MSG_MAX / 2];
	uint64_t v = 0;

	if (!has_value && o->type != HV_OPT_BOOL) {
		switch (o->type) {
		case HV_OPT_ENUM:
			join_names(allowed, sizeof(allowed), o, "|");
			problem(ps, "command-line key '%s' needs a value: %s=%s", o->name, o->name, allowed);
			break;
		case HV_OPT_SIZE:
			problem(ps, "command-line key '%s' needs a value: %s=<size> (e.g. %s=64M)",
				o->name, o->name, o->name);
			break;
		case HV_OPT_SERIAL:
			problem(ps, "command-line key '%s' needs a value: %s=PORT[,BAUD] (e.g. %s=0x2f8,115200), "
				"%s=keep or %s=off", o->name, o->name, o->name, o->name, o->name);
			break;
		default:
			problem(ps, "command-line key '%s' needs a value: %s=<number>", o->name, o->name);
			break;
		}
		return;
	}

	switch (o->type) {
	case HV_OPT_BOOL: {
		static const char *const yes[] = { "1", "yes", "on", "true" };
		static const char *const no[] = { "0", "no", "off", "false" };
		bool ok = false;
		if (!has_value) {
			v = 1;
			ok = true;
		}
		for (unsigned i = 0; i < 4 && !ok; i++) {
			if (word_eq(val, vlen, yes[i])) {
				v = 1;
				ok = true;
			} else if (word_eq(val, vlen, no[i])) {
				v = 0;
				ok = true;
			}
		}
		if (!ok) {
			problem(ps, "%s=%.*s: not a boolean (use 1/0, yes/no, on/off or true/false)",
				o->name, ev, val);
			return;
		}
		break;
	}
	case HV_OPT_ENUM: {
		bool ok = false;
		for (unsigned i = 0; i < MAX_ENUM_NAMES && o->names.n[i]; i++) {
			if (word_eq(val, vlen, o->names.n[i])) {
				v = i;
				ok = true;
				break;
			}
		}
		if (!ok) {
			join_names(allowed, sizeof(allowed), o, ", ");
			problem(ps, "%s=%.*s: unknown value (allowed: %s)", o->name, ev, val, allowed);
			return;
		}
		break;
	}
	case HV_OPT_SERIAL:
		if (!parse_serial(ps, val, vlen, &v))
			return;
		break;
	case HV_OPT_UINT:
	case HV_OPT_SIZE: {
		bool is_size = o->type == HV_OPT_SIZE;
		char lo[32], hi[32];
		format_value(lo, sizeof(lo), o, o->min);
		format_value(hi, sizeof(hi), o, o->max);
		switch (parse_number(val, vlen, is_size, &v)) {
		case NUM_BAD:
			if (is_size)
				problem(ps, "%s=%.*s: not a size (use e.g. 64M: a number with an optional K, M or G suffix, or 0x-hex bytes)",
					o->name, ev, val);
			else
				problem(ps, "%s=%.*s: not a number (use decimal or 0x-hex, %s to %s)",
					o->name, ev, val, lo, hi);
			return;
		case NUM_TOO_LARGE:
			problem(ps, "%s=%.*s: number too large (allowed %s to %s)", o->name, ev, val, lo, hi);
			return;
		case NUM_OK:
			break;
		}
		if (v < o->min || v > o->max) {
			problem(ps, "%s=%.*s: out of range (allowed %s to %s)", o->name, ev, val, lo, hi);
			return;
		}
		if (is_size && v % SIZE_GRANULE != 0) {
			problem(ps, "%s=%.*s: not a multiple of 4K (4096 bytes)", o->name, ev, val);
			return;
		}
		break;
	}
	}

	/* A repeated key: the last one wins. */
	set_field(cfg, o, v);
	cfg->explicit_mask |= 1u << idx;
}

int hv_cmdline_parse(const char *cmdline, struct hv_config *cfg,
		     void (*report)(void *ctx, const char *msg), void *ctx)
{
	struct parser ps;
	ps.report = report;
	ps.ctx = ctx;
	ps.problems = 0;
	ps.held[0] = '\0';

	const char *p = cmdline ? cmdline : "";
	for (;;) {
		while (is_sep(*p))
			p++;
		if (!*p)
			break;
		const char *tok = p;
		while (*p && !is_sep(*p))
			p++;
		parse_item(&ps, cfg, tok, (size_t)(p - tok));
	}
	flush_problems(&ps);
	return ps.problems;
}

void hv_cmdline_help(void (*report)(void *ctx, const char *msg), void *ctx)
{
	char msg[MSG_MAX], values[MSG_MAX / 2], def[32];
	for (unsigned i = 0; i < HV_OPTION_COUNT; i++) {
		const struct option *o = &options[i];
		switch (o->type) {
		case HV_OPT_BOOL:
			hv_snprintf(values, sizeof(values), "0|1");
			break;
		case HV_OPT_UINT:
			hv_snprintf(values, sizeof(values), "<number>");
			break;
		case HV_OPT_SIZE:
			hv_snprintf(values, sizeof(values), "<size>");
			break;
		case HV_OPT_ENUM:
			join_names(values, sizeof(values), o, "|");
			break;
		case HV_OPT_SERIAL:
			hv_snprintf(values, sizeof(values), "PORT[,BAUD|,keep]|keep|off");
			break;
		}
		format_value(def, sizeof(def), o, o->def);
		hv_snprintf(msg, sizeof(msg), "  %s=%s (default %s): %s", o->name, values, def, o->help);
		report(ctx, msg);
	}
	report(ctx, "  " GUEST_PREFIX "<key>[=<value>]: passed to the guest as <key>[=<value>]");
}
