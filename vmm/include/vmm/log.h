/*
 * The monitor's logger: every line starts with "[hv] " so tests and people can tell it from guest output.
 * Output goes to COM1 and to the screen console (vmm/include/vmm/screen.h).
 */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include "vmm/cmdline.h"
#include "vmm/fbcon.h"

void log_set_level(enum hv_log_level level);
enum hv_log_level log_get_level(void);
void hv_log(enum hv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raw output (no prefix, no level): tables, dumps continued on one line. */
void hv_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* hv_print in a colour on the screen console (serial gets the same text). */
void hv_print_colour(enum fbcon_colour colour, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) hv_log(HV_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  hv_log(HV_LOG_WARN, __VA_ARGS__)
#define log_info(...)  hv_log(HV_LOG_INFO, __VA_ARGS__)
/* Debug lines sit on exit paths (an unknown hypercall, a refused MSR): the level is checked before the call. */
#define log_debug(...)                                       \
	do {                                                 \
		if (log_get_level() >= HV_LOG_DEBUG)         \
			hv_log(HV_LOG_DEBUG, __VA_ARGS__);   \
	} while (0)

/* The monitor faulted, perhaps while printing: the fatal report goes out whoever held the consoles. */
void log_lock_break(void);

#endif
