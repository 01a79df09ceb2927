#include <stdarg.h>
#include "vmm/format.h"
#include "vmm/log.h"
#include "vmm/serial.h"

static enum hv_log_level current_level = HV_LOG_INFO;

static const char *const level_tag[] = {
	[HV_LOG_ERROR] = "ERROR: ",
	[HV_LOG_WARN] = "warning: ",
	[HV_LOG_INFO] = "",
	[HV_LOG_DEBUG] = "debug: ",
};

void log_set_level(enum hv_log_level level) { current_level = level; }
enum hv_log_level log_get_level(void) { return current_level; }

static void serial_sink(void *ctx, char c)
{
	(void)ctx;
	serial_putc(c);
}

void hv_log(enum hv_log_level level, const char *fmt, ...)
{
	va_list ap;
	if (level > current_level)
		return;
	hv_print("[hv] %s", level_tag[level]);
	va_start(ap, fmt);
	hv_vformat(serial_sink, 0, fmt, ap);
	va_end(ap);
	serial_putc('\n');
}

void hv_print(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hv_vformat(serial_sink, 0, fmt, ap);
	va_end(ap);
}
