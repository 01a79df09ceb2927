#include <stdarg.h>
#include "vmm/format.h"
#include "vmm/log.h"
#include "vmm/screen.h"
#include "vmm/serial.h"
#include "vmm/spinlock.h"

static enum hv_log_level current_level = HV_LOG_INFO;
/* One line at a time on the consoles, whichever CPU prints it. */
static struct spinlock console_lock;

static const char *const level_tag[] = {
	[HV_LOG_ERROR] = "ERROR: ",
	[HV_LOG_WARN] = "warning: ",
	[HV_LOG_INFO] = "",
	[HV_LOG_DEBUG] = "debug: ",
};

/* On screen, errors are red and warnings yellow. */
static const enum fbcon_colour level_colour[] = {
	[HV_LOG_ERROR] = FBCON_ERROR,
	[HV_LOG_WARN] = FBCON_WARN,
	[HV_LOG_INFO] = FBCON_NORMAL,
	[HV_LOG_DEBUG] = FBCON_NORMAL,
};

void log_set_level(enum hv_log_level level) { current_level = level; }
enum hv_log_level log_get_level(void) { return current_level; }

/* Everything goes to serial (the primary channel) and to the screen console, when there is one. */
static void console_sink(void *ctx, char c)
{
	(void)ctx;
	serial_putc(c);
	screen_putc(c);
}

static void print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void print(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hv_vformat(console_sink, 0, fmt, ap);
	va_end(ap);
}

void hv_log(enum hv_log_level level, const char *fmt, ...)
{
	va_list ap;
	if (level > current_level)
		return;
	spin_lock(&console_lock);
	screen_set_colour(level_colour[level]);
	print("[hv] %s", level_tag[level]);
	va_start(ap, fmt);
	hv_vformat(console_sink, 0, fmt, ap);
	va_end(ap);
	console_sink(0, '\n');
	screen_set_colour(FBCON_NORMAL);
	spin_unlock(&console_lock);
}

void hv_print(const char *fmt, ...)
{
	va_list ap;
	spin_lock(&console_lock);
	va_start(ap, fmt);
	hv_vformat(console_sink, 0, fmt, ap);
	va_end(ap);
	spin_unlock(&console_lock);
}

void hv_print_colour(enum fbcon_colour colour, const char *fmt, ...)
{
	va_list ap;
	spin_lock(&console_lock);
	screen_set_colour(colour);
	va_start(ap, fmt);
	hv_vformat(console_sink, 0, fmt, ap);
	va_end(ap);
	screen_set_colour(FBCON_NORMAL);
	spin_unlock(&console_lock);
}

void log_lock_break(void) { spin_lock_break(&console_lock); }
