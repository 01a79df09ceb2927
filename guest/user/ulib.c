/* The user programs' little library. */
#include <stdarg.h>
#include <arch/vmcs_fields.h>
#include <vmm/format.h>
#include "ulib.h"

#define LINE_MAX 200
#define PID_PREFIX_MAX 16

int uprintf(const char *fmt, ...)
{
	char line[LINE_MAX];
	int n = hv_snprintf(line, PID_PREFIX_MAX, "[pid %lld] ", (long long)sys_getpid());
	va_list ap;
	va_start(ap, fmt);
	int m = hv_vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (size_t)m;
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	sys_write(line, len);
	return (int)len;
}

static const char *const exit_names[HV_STATS_REASONS] = {
#define X(name, nr) [nr] = #name,
	VMX_EXIT_REASONS(X)
#undef X
};

const char *exit_name(unsigned reason)
{
	return reason < HV_STATS_REASONS && exit_names[reason] ? exit_names[reason] : "reason?";
}

uint64_t unexpected_exits(const struct hv_stats *before, const struct hv_stats *after, unsigned *reason)
{
	const bool shadow = sys_info(INFO_MEM_SHADOW) == 1;
	uint64_t extra = 0;
	for (unsigned r = 0; r < HV_STATS_REASONS; r++) {
		uint64_t d = after->count[r] - before->count[r];
		if (r == EXIT_REASON_VMCALL)
			d -= 1; /* the read of `after` */
		if (r == EXIT_REASON_EXTERNAL_INTERRUPT) /* the host's, not ours */
			continue;
		if (shadow && (r == EXIT_REASON_EXCEPTION_NMI || r == EXIT_REASON_INVLPG))
			continue;
		if (d && !extra)
			*reason = r;
		extra += d;
	}
	return extra;
}
