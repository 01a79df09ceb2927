/*
 * libFuzzer harness: the monitor's command-line parser (vmm/platform/cmdline.c).
 * The input is the command line (a NUL is appended).
 * Properties: at most HV_CMDLINE_MAX_ERRORS reports, each a non-empty line
 * shorter than the parser's message buffer, and exactly as many as problems
 * when there are fewer; every option value within its table limits (sizes
 * page granular, enums naming a value, booleans 0/1); guest_args
 * NUL-terminated; options not given keep their defaults; and parsing is
 * word by word: feeding the words one at a time gives the same configuration
 * and the same number of problems.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/cmdline.h"

#define MSG_MAX       384 /* vmm/platform/cmdline.c: one report line */
#define SIZE_GRANULE  4096ull
#define CMDLINE_LIMIT 4096 /* longer inputs add nothing but time */

static unsigned reports;

static void report(void *ctx, const char *msg)
{
	(void)ctx;
	FUZZ_CHECK(msg != NULL && msg[0] != '\0' && strlen(msg) < MSG_MAX);
	reports++;
}

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void check_config(const struct hv_config *c)
{
	static const char *const log_names[] = HV_LOG_LEVEL_NAMES;
	static const char *const mem_names[] = HV_MEM_MODE_NAMES;
	static const char *const break_names[] = HV_BREAK_NAMES;
	FUZZ_CHECK(c->log < sizeof(log_names) / sizeof(log_names[0]) - 1);
	FUZZ_CHECK(c->mem < sizeof(mem_names) / sizeof(mem_names[0]) - 1);
	FUZZ_CHECK(c->brk < sizeof(break_names) / sizeof(break_names[0]) - 1);
	FUZZ_CHECK(c->guest_mem >= 8 * HV_MiB && c->guest_mem <= 3072 * HV_MiB && c->guest_mem % SIZE_GRANULE == 0);
	FUZZ_CHECK(c->ept_scatter <= 1 && c->vpid <= 1);
	FUZZ_CHECK(c->watchdog <= 1000000);
	FUZZ_CHECK(memchr(c->guest_args, '\0', sizeof(c->guest_args)) != NULL);
	FUZZ_CHECK(c->explicit_mask < (1u << HV_OPTION_COUNT));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > CMDLINE_LIMIT)
		return 0;
	char *line = malloc(size + 1);
	memcpy(line, data, size);
	line[size] = '\0';

	struct hv_config whole, def;
	hv_config_defaults(&def);
	hv_config_defaults(&whole);
	reports = 0;
	int problems = hv_cmdline_parse(line, &whole, report, NULL);
	FUZZ_CHECK(problems >= 0);
	FUZZ_CHECK(reports == (unsigned)(problems < HV_CMDLINE_MAX_ERRORS ? problems : HV_CMDLINE_MAX_ERRORS));
	check_config(&whole);
	if ((whole.explicit_mask & (1u << HV_OPTIDX_guest_mem)) == 0)
		FUZZ_CHECK(whole.guest_mem == def.guest_mem);
	if ((whole.explicit_mask & (1u << HV_OPTIDX_log)) == 0)
		FUZZ_CHECK(whole.log == def.log);
	if ((whole.explicit_mask & (1u << HV_OPTIDX_watchdog)) == 0)
		FUZZ_CHECK(whole.watchdog == def.watchdog);

	/* Word by word (a NUL inside the input ends the line, as in C). */
	struct hv_config byword;
	hv_config_defaults(&byword);
	int sum = 0;
	const size_t len = strlen(line);
	for (size_t i = 0; i < len;) {
		while (i < len && is_sep(line[i]))
			i++;
		size_t j = i;
		while (j < len && !is_sep(line[j]))
			j++;
		if (j > i) {
			char save = line[j];
			line[j] = '\0';
			sum += hv_cmdline_parse(line + i, &byword, NULL, NULL);
			line[j] = save;
		}
		i = j;
	}
	FUZZ_CHECK(sum == problems);
	FUZZ_CHECK(memcmp(&byword, &whole, sizeof(whole)) == 0);
	free(line);
	return 0;
}
