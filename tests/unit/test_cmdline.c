/* Host unit tests for vmm/platform/cmdline.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/cmdline.h"

#define MiB (1024ull * 1024ull)
#define GiB (1024ull * MiB)

/* Collects what the parser reports. */
struct reports {
	int count;
	char msg[40][400];
};

static struct reports REP;

static void collect(void *ctx, const char *msg)
{
	struct reports *r = ctx;
	assert_non_null(msg);
	if (r->count < 40)
		snprintf(r->msg[r->count], sizeof(r->msg[0]), "%s", msg);
	r->count++;
}

static struct hv_config CFG;

/* Defaults, then parse; returns the problem count. */
static int parse(const char *line)
{
	memset(&REP, 0, sizeof(REP));
	hv_config_defaults(&CFG);
	return hv_cmdline_parse(line, &CFG, collect, &REP);
}

/* Parse a line that must have exactly one problem; return its message. */
static const char *one_problem(const char *line)
{
	int n = parse(line);
	if (n != 1)
		for (int i = 0; i < REP.count && i < 40; i++)
			print_message("report %d: %s\n", i, REP.msg[i]);
	assert_int_equal(n, 1);
	assert_int_equal(REP.count, 1);
	return REP.msg[0];
}

static void assert_defaults_except(uint32_t mask)
{
	if (!(mask & (1u << HV_OPTIDX_log)))
		assert_int_equal(CFG.log, HV_LOG_INFO);
	if (!(mask & (1u << HV_OPTIDX_mem)))
		assert_int_equal(CFG.mem, HV_MEM_EPT);
	if (!(mask & (1u << HV_OPTIDX_guest_mem)))
		assert_int_equal(CFG.guest_mem, 64 * MiB);
	if (!(mask & (1u << HV_OPTIDX_ept_scatter)))
		assert_int_equal(CFG.ept_scatter, 0);
	if (!(mask & (1u << HV_OPTIDX_vpid)))
		assert_int_equal(CFG.vpid, 1);
	if (!(mask & (1u << HV_OPTIDX_apicv)))
		assert_int_equal(CFG.apicv, 1);
	if (!(mask & (1u << HV_OPTIDX_watchdog)))
		assert_int_equal(CFG.watchdog, 4000);
	if (!(mask & (1u << HV_OPTIDX_trace)))
		assert_int_equal(CFG.trace, HV_TRACE_OFF);
	if (!(mask & (1u << HV_OPTIDX_trace_max)))
		assert_int_equal(CFG.trace_max, 1000);
	if (!(mask & (1u << HV_OPTIDX_strict_io)))
		assert_int_equal(CFG.strict_io, 0);
	if (!(mask & (1u << HV_OPTIDX_break)))
		assert_int_equal(CFG.brk, HV_BREAK_NONE);
	if (!(mask & (1u << HV_OPTIDX_serial))) {
		assert_int_equal(HV_SERIAL_PORT(CFG.serial), 0x3f8);
		assert_int_equal(HV_SERIAL_BAUD(CFG.serial), 115200);
	}
	if (!(mask & (1u << HV_OPTIDX_efi_wait)))
		assert_int_equal(CFG.efi_wait, 10);
	if (!(mask & (1u << HV_OPTIDX_cpus)))
		assert_int_equal(CFG.cpus, 0);
	if (!(mask & (1u << HV_OPTIDX_vcpus)))
		assert_int_equal(CFG.vcpus, 0);
	if (!(mask & (1u << HV_OPTIDX_cpu_tables)))
		assert_int_equal(CFG.cpu_tables, HV_CPU_TABLES_AUTO);
}

static void test_defaults(void **state)
{
	(void)state;
	memset(&CFG, 0xa5, sizeof(CFG));
	hv_config_defaults(&CFG);
	assert_defaults_except(0);
	assert_int_equal(CFG.explicit_mask, 0);
	assert_string_equal(CFG.guest_args, "");
	assert_int_equal(HV_OPTION_COUNT, 16);
}

static void test_empty_and_null(void **state)
{
	(void)state;
	assert_int_equal(parse(NULL), 0);
	assert_defaults_except(0);
	assert_int_equal(parse(""), 0);
	assert_int_equal(parse("  \t  "), 0);
	assert_defaults_except(0);
	assert_int_equal(CFG.explicit_mask, 0);
	assert_int_equal(REP.count, 0);
	/* A NULL report function is allowed: problems are only counted. */
	hv_config_defaults(&CFG);
	assert_int_equal(hv_cmdline_parse("nope=1 log=x", &CFG, NULL, NULL), 2);
}

static void test_enums(void **state)
{
	(void)state;
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	for (unsigned i = 0; i < 4; i++) {
		char line[32];
		snprintf(line, sizeof(line), "log=%s", levels[i]);
		assert_int_equal(parse(line), 0);
		assert_int_equal(CFG.log, i);
		assert_int_equal(CFG.explicit_mask, 1u << HV_OPTIDX_log);
		assert_defaults_except(1u << HV_OPTIDX_log);
	}
	assert_int_equal(parse("mem=shadow"), 0);
	assert_int_equal(CFG.mem, HV_MEM_SHADOW);
	assert_int_equal(parse("mem=ept"), 0);
	assert_int_equal(CFG.mem, HV_MEM_EPT);
	assert_int_equal(parse("break=guest_state"), 0);
	assert_int_equal(CFG.brk, HV_BREAK_GUEST_STATE);
	assert_int_equal(parse("break=controls"), 0);
	assert_int_equal(CFG.brk, HV_BREAK_CONTROLS);
	assert_int_equal(CFG.explicit_mask, 1u << HV_OPTIDX_break);
	/* Values are matched without regard to case. */
	assert_int_equal(parse("log=DEBUG"), 0);
	assert_int_equal(CFG.log, HV_LOG_DEBUG);
}

static void test_bools(void **state)
{
	(void)state;
	static const char *const on[] = { "1", "yes", "on", "true", "YES", "True" };
	static const char *const off[] = { "0", "no", "off", "false", "NO", "Off" };
	char line[32];
	for (unsigned i = 0; i < 6; i++) {
		snprintf(line, sizeof(line), "ept_scatter=%s vpid=%s", on[i], off[i]);
		assert_int_equal(parse(line), 0);
		assert_int_equal(CFG.ept_scatter, 1);
		assert_int_equal(CFG.vpid, 0);
		snprintf(line, sizeof(line), "ept_scatter=%s vpid=%s", off[i], on[i]);
		assert_int_equal(parse(line), 0);
		assert_int_equal(CFG.ept_scatter, 0);
		assert_int_equal(CFG.vpid, 1);
		assert_int_equal(CFG.explicit_mask,
				 (1u << HV_OPTIDX_ept_scatter) | (1u << HV_OPTIDX_vpid));
	}
}

static void test_bare_keys(void **state)
{
	(void)state;
	/* A bare boolean means 1. */
	assert_int_equal(parse("ept_scatter"), 0);
	assert_int_equal(CFG.ept_scatter, 1);
	assert_int_equal(CFG.explicit_mask, 1u << HV_OPTIDX_ept_scatter);

	/* A bare key of any other type is an error naming the key and its values. */
	assert_string_equal(one_problem("log"),
			    "command-line key 'log' needs a value: log=error|warn|info|debug");
	assert_int_equal(CFG.log, HV_LOG_INFO);
	assert_int_equal(CFG.explicit_mask, 0);
	assert_string_equal(one_problem("guest_mem"),
			    "command-line key 'guest_mem' needs a value: guest_mem=<size> (e.g. guest_mem=64M)");
	assert_string_equal(one_problem("watchdog"),
			    "command-line key 'watchdog' needs a value: watchdog=<number>");

	/* "key=" is a value, and an empty one is bad. */
	assert_string_equal(one_problem("vpid="),
			    "vpid=: not a boolean (use 1/0, yes/no, on/off or true/false)");
	assert_int_equal(CFG.vpid, 1);
}

static void test_uint(void **state)
{
	(void)state;
	assert_int_equal(parse("watchdog=0"), 0);
	assert_int_equal(CFG.watchdog, 0);
	assert_int_equal(CFG.explicit_mask, 1u << HV_OPTIDX_watchdog);
	assert_int_equal(parse("watchdog=1000000"), 0); /* the maximum */
	assert_int_equal(CFG.watchdog, 1000000);
	assert_int_equal(parse("watchdog=0x10"), 0);
	assert_int_equal(CFG.watchdog, 16);
	assert_int_equal(parse("watchdog=0XfF"), 0);
	assert_int_equal(CFG.watchdog, 255);
	assert_int_equal(parse("watchdog=007"), 0);
	assert_int_equal(CFG.watchdog, 7);
}

static void test_uint_errors(void **state)
{
	(void)state;
	assert_string_equal(one_problem("watchdog=1000001"),
			    "watchdog=1000001: out of range (allowed 0 to 1000000)");
	assert_int_equal(CFG.watchdog, 4000);
	assert_int_equal(CFG.explicit_mask, 0);
	assert_string_equal(one_problem("watchdog=abc"),
			    "watchdog=abc: not a number (use decimal or 0x-hex, 0 to 1000000)");
	assert_non_null(strstr(one_problem("watchdog=-1"), "watchdog=-1: not a number"));
	assert_non_null(strstr(one_problem("watchdog=12k"), "watchdog=12k: not a number"));
	assert_non_null(strstr(one_problem("watchdog=0x"), "watchdog=0x: not a number"));
	assert_non_null(strstr(one_problem("watchdog=0x1g"), "watchdog=0x1g: not a number"));
	assert_non_null(strstr(one_problem("watchdog=1 2"), "unknown command-line key '2'"));
	assert_int_equal(CFG.watchdog, 1);
	/* 2^64 and beyond: overflow is detected, not wrapped. */
	assert_string_equal(one_problem("watchdog=18446744073709551616"),
			    "watchdog=18446744073709551616: number too large (allowed 0 to 1000000)");
	assert_non_null(strstr(one_problem("watchdog=0x10000000000000000"), "number too large"));
	/* 2^64 - 1 parses, and is then out of range. */
	assert_non_null(strstr(one_problem("watchdog=18446744073709551615"), "out of range"));
	assert_non_null(strstr(one_problem("watchdog=0xffffffffffffffff"), "out of range"));
	assert_int_equal(CFG.watchdog, 4000);
}

static void test_sizes(void **state)
{
	(void)state;
	struct { const char *line; uint64_t bytes; } ok[] = {
		{ "guest_mem=64M", 64 * MiB },
		{ "guest_mem=8M", 8 * MiB },             /* the minimum */
		{ "guest_mem=3G", 3 * GiB },             /* the maximum */
		{ "guest_mem=3072M", 3 * GiB },
		{ "guest_mem=1g", GiB },
		{ "guest_mem=128m", 128 * MiB },
		{ "guest_mem=16384K", 16 * MiB },
		{ "guest_mem=16384k", 16 * MiB },
		{ "guest_mem=33554432", 32 * MiB },      /* plain bytes */
		{ "guest_mem=0x800000", 8 * MiB },       /* hex bytes */
		{ "guest_mem=8392704", 8 * MiB + 4096 }, /* 4 KiB granular */
	};
	for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(parse(ok[i].line), 0);
		assert_int_equal(CFG.guest_mem, ok[i].bytes);
		assert_int_equal(CFG.explicit_mask, 1u << HV_OPTIDX_guest_mem);
	}
}

static void test_size_errors(void **state)
{
	(void)state;
	assert_string_equal(one_problem("guest_mem=12Q"),
			    "guest_mem=12Q: not a size (use e.g. 64M: a number with an optional K, M or G suffix, or 0x-hex bytes)");
	assert_int_equal(CFG.guest_mem, 64 * MiB);
	assert_int_equal(CFG.explicit_mask, 0);
	assert_string_equal(one_problem("guest_mem=4M"),
			    "guest_mem=4M: out of range (allowed 8M to 3G)");
	assert_string_equal(one_problem("guest_mem=3073M"),
			    "guest_mem=3073M: out of range (allowed 8M to 3G)");
	assert_string_equal(one_problem("guest_mem=8388609"),
			    "guest_mem=8388609: not a multiple of 4K (4096 bytes)");
	assert_non_null(strstr(one_problem("guest_mem=M"), "guest_mem=M: not a size"));
	assert_non_null(strstr(one_problem("guest_mem=64MB"), "guest_mem=64MB: not a size"));
	assert_non_null(strstr(one_problem("guest_mem=64MiB"), "not a size"));
	assert_non_null(strstr(one_problem("guest_mem=1.5G"), "not a size"));
	assert_non_null(strstr(one_problem("guest_mem=0x800000M"), "not a size"));
	/* Overflow in the digits and in the suffix multiplication. */
	assert_string_equal(one_problem("guest_mem=17179869184G"),
			    "guest_mem=17179869184G: number too large (allowed 8M to 3G)");
	assert_non_null(strstr(one_problem("guest_mem=99999999999999999999"), "number too large"));
	/* 2^34 G = 2^64 overflows, 2^34 - 1 G does not (and is out of range). */
	assert_non_null(strstr(one_problem("guest_mem=17179869183G"), "out of range"));
	assert_int_equal(CFG.guest_mem, 64 * MiB);
}

static void test_unknown_key(void **state)
{
	(void)state;
	assert_string_equal(one_problem("foo=1"),
			    "unknown command-line key 'foo' (known keys: log, mem, guest_mem, "
			    "ept_scatter, vpid, apicv, watchdog, trace, trace_max, strict_io, break, cpus, vcpus, cpu_tables, serial, efi_wait, guest.*)");
	assert_non_null(strstr(one_problem("bar"), "unknown command-line key 'bar'"));
	/* Keys are exact: no prefixes, no case folding. */
	assert_non_null(strstr(one_problem("lo=info"), "unknown command-line key 'lo'"));
	assert_non_null(strstr(one_problem("logx=info"), "unknown command-line key 'logx'"));
	assert_non_null(strstr(one_problem("LOG=info"), "unknown command-line key 'LOG'"));
	assert_non_null(strstr(one_problem("guest=1"), "unknown command-line key 'guest'"));
	assert_string_equal(one_problem("=5"),
			    "command-line item '=5' has no key before '=' (use key=value)");
	/* A very long key is echoed shortened, and the message is still whole. */
	char line[300];
	memset(line, 'k', 200);
	strcpy(line + 200, "=1");
	const char *m = one_problem(line);
	assert_non_null(strstr(m, "unknown command-line key 'kkkk"));
	assert_non_null(strstr(m, "guest.*)"));
	assert_defaults_except(0);
}

static void test_bad_enum_and_bool_values(void **state)
{
	(void)state;
	assert_string_equal(one_problem("log=verbose"),
			    "log=verbose: unknown value (allowed: error, warn, info, debug)");
	assert_string_equal(one_problem("mem=npt"), "mem=npt: unknown value (allowed: ept, shadow)");
	assert_string_equal(one_problem("break=all"),
			    "break=all: unknown value (allowed: none, guest_state, controls, no_hlt_exiting, exit_storm, monitor_fault, "
			    "ap_silent, ap_vmx)");
	assert_string_equal(one_problem("vpid=maybe"),
			    "vpid=maybe: not a boolean (use 1/0, yes/no, on/off or true/false)");
	assert_non_null(strstr(one_problem("vpid=2"), "vpid=2: not a boolean"));
	assert_non_null(strstr(one_problem("log=infoo"), "log=infoo: unknown value"));
	assert_defaults_except(0);
	assert_int_equal(CFG.explicit_mask, 0);
}

static void test_guest_passthrough(void **state)
{
	(void)state;
	assert_int_equal(parse("guest.console=ttyS0 log=debug guest.quiet guest.a=b=c"), 0);
	assert_string_equal(CFG.guest_args, "console=ttyS0 quiet a=b=c");
	assert_int_equal(CFG.log, HV_LOG_DEBUG);
	/* guest.* sets no explicit_mask bit. */
	assert_int_equal(CFG.explicit_mask, 1u << HV_OPTIDX_log);

	/* A guest key that looks like a monitor key is still the guest's. */
	assert_int_equal(parse("guest.log=error"), 0);
	assert_string_equal(CFG.guest_args, "log=error");
	assert_int_equal(CFG.log, HV_LOG_INFO);

	assert_non_null(strstr(one_problem("guest."), "'guest.' names no guest key"));
	assert_non_null(strstr(one_problem("guest.=1"), "'guest.=1' names no guest key"));
	assert_string_equal(CFG.guest_args, "");
}

static void test_guest_args_overflow(void **state)
{
	(void)state;
	/* Exactly HV_GUEST_ARGS_MAX - 1 bytes fit. */
	char line[1024], arg[HV_GUEST_ARGS_MAX];
	memset(arg, 'a', sizeof(arg));
	arg[HV_GUEST_ARGS_MAX - 1] = '\0';
	snprintf(line, sizeof(line), "guest.%s", arg);
	assert_int_equal(parse(line), 0);
	assert_int_equal(strlen(CFG.guest_args), HV_GUEST_ARGS_MAX - 1);

	/* One byte more does not, and nothing of it is kept. */
	snprintf(line, sizeof(line), "guest.x=1 guest.%s", arg + 2); /* 3 + 1 + 253 = 257 > 255 */
	const char *m = one_problem(line);
	assert_non_null(strstr(m, "guest arguments too long"));
	assert_non_null(strstr(m, "'guest.aaaa"));
	assert_string_equal(CFG.guest_args, "x=1");

	/* 3 + 1 + 252 = 256 bytes: one too many (the NUL needs the last byte). */
	snprintf(line, sizeof(line), "guest.x=1 guest.%s", arg + 3);
	assert_non_null(strstr(one_problem(line), "guest arguments too long"));
	assert_string_equal(CFG.guest_args, "x=1");
	/* 3 + 1 + 251 = 255 bytes fit. */
	snprintf(line, sizeof(line), "guest.x=1 guest.%s", arg + 4);
	assert_int_equal(parse(line), 0);
	assert_int_equal(strlen(CFG.guest_args), HV_GUEST_ARGS_MAX - 1);

	/* Many short ones: those that fit are kept in order, the rest reported. */
	line[0] = '\0';
	for (int i = 0; i < 30; i++) {
		char item[32];
		snprintf(item, sizeof(item), "guest.arg%02d=value ", i); /* 11 bytes + space */
		strcat(line, item);
	}
	int n = parse(line);
	/* 21 items take 21 * 11 + 20 = 251 bytes; the 22nd would need 12 more. */
	assert_int_equal(n, 9);
	assert_int_equal(strlen(CFG.guest_args), 251);
	assert_int_equal(strncmp(CFG.guest_args, "arg00=value arg01=value", 23), 0);
	assert_non_null(strstr(CFG.guest_args, "arg20=value"));
	assert_null(strstr(CFG.guest_args, "arg21"));
	assert_non_null(strstr(REP.msg[0], "'guest.arg21=value'"));
}

static void test_explicit_mask_and_repeats(void **state)
{
	(void)state;
	assert_int_equal(parse("log=warn log=debug"), 0); /* last wins, no error */
	assert_int_equal(CFG.log, HV_LOG_DEBUG);
	assert_int_equal(parse("guest_mem=16M vpid=0 guest_mem=32M"), 0);
	assert_int_equal(CFG.guest_mem, 32 * MiB);
	assert_int_equal(CFG.explicit_mask, (1u << HV_OPTIDX_guest_mem) | (1u << HV_OPTIDX_vpid));

	/* Given with its default value: still explicit. */
	assert_int_equal(parse("log=info"), 0);
	assert_int_equal(CFG.explicit_mask, 1u << HV_OPTIDX_log);

	/* A bad repeat keeps the earlier good value. */
	assert_int_equal(parse("watchdog=10 watchdog=oops"), 1);
	assert_int_equal(CFG.watchdog, 10);
	assert_int_equal(CFG.explicit_mask, 1u << HV_OPTIDX_watchdog);

	/* Everything at once, separated by spaces and tabs. */
	assert_int_equal(parse(" log=error\tmem=shadow  guest_mem=1G\t\tept_scatter vpid=no "
			       "apicv=0 watchdog=0x20 trace=exits trace_max=7 strict_io break=guest_state serial=com2,9600 efi_wait=0 "
			       "cpus=3 vcpus=2 cpu_tables=mptable guest.init=/bin/sh "), 0);
	assert_int_equal(CFG.log, HV_LOG_ERROR);
	assert_int_equal(CFG.mem, HV_MEM_SHADOW);
	assert_int_equal(CFG.guest_mem, GiB);
	assert_int_equal(CFG.ept_scatter, 1);
	assert_int_equal(CFG.vpid, 0);
	assert_int_equal(CFG.apicv, 0);
	assert_int_equal(CFG.watchdog, 32);
	assert_int_equal(CFG.trace, HV_TRACE_EXITS);
	assert_int_equal(CFG.trace_max, 7);
	assert_int_equal(CFG.strict_io, 1);
	assert_int_equal(CFG.brk, HV_BREAK_GUEST_STATE);
	assert_int_equal(CFG.serial, HV_SERIAL_VALUE(0x2f8, 9600));
	assert_int_equal(CFG.efi_wait, 0);
	assert_int_equal(CFG.cpus, 3);
	assert_int_equal(CFG.vcpus, 2);
	assert_int_equal(CFG.cpu_tables, HV_CPU_TABLES_MPTABLE);
	assert_int_equal(CFG.explicit_mask, (1u << HV_OPTION_COUNT) - 1);
	assert_string_equal(CFG.guest_args, "init=/bin/sh");
}

static void test_parse_over_existing_config(void **state)
{
	(void)state;
	hv_config_defaults(&CFG);
	memset(&REP, 0, sizeof(REP));
	assert_int_equal(hv_cmdline_parse("log=debug guest.a", &CFG, collect, &REP), 0);
	assert_int_equal(hv_cmdline_parse("vpid=0 guest.b", &CFG, collect, &REP), 0);
	/* The second parse keeps the first one's results and adds to them. */
	assert_int_equal(CFG.log, HV_LOG_DEBUG);
	assert_int_equal(CFG.vpid, 0);
	assert_int_equal(CFG.explicit_mask, (1u << HV_OPTIDX_log) | (1u << HV_OPTIDX_vpid));
	assert_string_equal(CFG.guest_args, "a b");
}

static void test_error_cap(void **state)
{
	(void)state;
	char line[1024] = "";
	/* Exactly HV_CMDLINE_MAX_ERRORS problems: all reported as they are. */
	for (int i = 0; i < HV_CMDLINE_MAX_ERRORS; i++) {
		char item[16];
		snprintf(item, sizeof(item), "bad%d ", i);
		strcat(line, item);
	}
	assert_int_equal(parse(line), HV_CMDLINE_MAX_ERRORS);
	assert_int_equal(REP.count, HV_CMDLINE_MAX_ERRORS);
	assert_non_null(strstr(REP.msg[HV_CMDLINE_MAX_ERRORS - 1], "'bad15'"));

	/* More: every problem counted, at most HV_CMDLINE_MAX_ERRORS reports, the last a summary. */
	strcat(line, "bad16 bad17 log=x bad19");
	int n = parse(line);
	assert_int_equal(n, HV_CMDLINE_MAX_ERRORS + 4);
	assert_int_equal(REP.count, HV_CMDLINE_MAX_ERRORS);
	assert_non_null(strstr(REP.msg[0], "'bad0'"));
	assert_non_null(strstr(REP.msg[HV_CMDLINE_MAX_ERRORS - 2], "'bad14'"));
	assert_string_equal(REP.msg[HV_CMDLINE_MAX_ERRORS - 1],
			    "5 more command-line problems not shown (only the first 15 are reported)");
}

static void test_messages_are_sentences_naming_the_key(void **state)
{
	(void)state;
	static const struct { const char *line, *key; } cases[] = {
		{ "log=1", "log" }, { "mem=", "mem" }, { "guest_mem=1", "guest_mem" },
		{ "ept_scatter=x", "ept_scatter" }, { "vpid=x", "vpid" },
		{ "watchdog=x", "watchdog" }, { "break=x", "break" }, { "xyz", "xyz" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *m = one_problem(cases[i].line);
		assert_non_null(strstr(m, cases[i].key));
		assert_true(strlen(m) > 20);
		assert_null(strchr(m, '\n'));
	}
}

static void test_help(void **state)
{
	(void)state;
	memset(&REP, 0, sizeof(REP));
	hv_cmdline_help(collect, &REP);
	assert_int_equal(REP.count, HV_OPTION_COUNT + 1);
	assert_string_equal(REP.msg[HV_OPTIDX_log],
			    "  log=error|warn|info|debug (default info): log level: error|warn|info|debug");
	assert_string_equal(REP.msg[HV_OPTIDX_guest_mem],
			    "  guest_mem=<size> (default 64M): guest RAM size, multiple of 4K (e.g. 64M)");
	assert_string_equal(REP.msg[HV_OPTIDX_vpid],
			    "  vpid=0|1 (default 1): use VPID when the CPU offers it");
	assert_non_null(strstr(REP.msg[HV_OPTIDX_watchdog], "  watchdog=<number> (default 4000): "));
	assert_non_null(strstr(REP.msg[HV_OPTIDX_break], "  break=none|guest_state|controls|no_hlt_exiting|exit_storm|monitor_fault|ap_silent|ap_vmx "
						      "(default none): "));
	assert_non_null(strstr(REP.msg[HV_OPTIDX_serial], "  serial=PORT[,BAUD|,keep]|keep|off (default 0x3f8,115200): "));
	assert_non_null(strstr(REP.msg[HV_OPTIDX_efi_wait], "  efi_wait=<number> (default 10): UEFI loader: "));
	assert_non_null(strstr(REP.msg[HV_OPTION_COUNT], "guest."));
}

static void test_serial_values(void **state)
{
	(void)state;
	/* A port alone keeps the default baud rate; hex, decimal and the legacy names all work. */
	assert_int_equal(parse("serial=0x2f8"), 0);
	assert_int_equal(CFG.serial, HV_SERIAL_VALUE(0x2f8, 115200));
	assert_int_equal(CFG.explicit_mask, 1u << HV_OPTIDX_serial);
	assert_defaults_except(1u << HV_OPTIDX_serial);
	assert_int_equal(parse("serial=0x2f8,115200"), 0);
	assert_int_equal(CFG.serial, HV_SERIAL_VALUE(0x2f8, 115200));
	assert_int_equal(parse("serial=1016,57600"), 0);
	assert_int_equal(CFG.serial, HV_SERIAL_VALUE(0x3f8, 57600));
	assert_int_equal(parse("serial=COM2"), 0);
	assert_int_equal(CFG.serial, HV_SERIAL_VALUE(0x2f8, 115200));
	assert_int_equal(parse("serial=com3,9600"), 0);
	assert_int_equal(CFG.serial, HV_SERIAL_VALUE(0x3e8, 9600));
	assert_int_equal(parse("serial=com4,keep"), 0);
	assert_int_equal(CFG.serial, HV_SERIAL_VALUE(0x2e8, SERIAL_BAUD_KEEP));
	/* A PCI UART's I/O BAR anywhere below 0x10000. */
	assert_int_equal(parse("serial=0xe010,115200"), 0);
	assert_int_equal(CFG.serial, HV_SERIAL_VALUE(0xe010, 115200));
	assert_int_equal(parse("serial=0xfff8,1"), 0);
	assert_int_equal(CFG.serial, HV_SERIAL_VALUE(0xfff8, 1));
	/* keep: COM1 as the firmware left it; off: no serial output at all. */
	assert_int_equal(parse("serial=keep"), 0);
	assert_int_equal(CFG.serial, HV_SERIAL_VALUE(0x3f8, SERIAL_BAUD_KEEP));
	assert_int_equal(HV_SERIAL_BAUD(CFG.serial), SERIAL_BAUD_KEEP);
	assert_int_equal(parse("serial=OFF"), 0);
	assert_int_equal(CFG.serial, HV_SERIAL_OFF);
	assert_int_equal(HV_SERIAL_PORT(CFG.serial), 0);
	/* The last one wins. */
	assert_int_equal(parse("serial=off serial=com2"), 0);
	assert_int_equal(CFG.serial, HV_SERIAL_VALUE(0x2f8, 115200));
}

static void test_serial_errors(void **state)
{
	(void)state;
	assert_string_equal(one_problem("serial"),
			    "command-line key 'serial' needs a value: serial=PORT[,BAUD] (e.g. serial=0x2f8,115200), "
			    "serial=keep or serial=off");
	assert_non_null(strstr(one_problem("serial=com5"), "serial=com5: not a serial port"));
	assert_non_null(strstr(one_problem("serial=ttyS0"), "serial=ttyS0: not a serial port"));
	assert_non_null(strstr(one_problem("serial="), "serial=: not a serial port"));
	assert_non_null(strstr(one_problem("serial=,9600"), "serial=,9600: not a serial port"));
	assert_string_equal(one_problem("serial=0x3f9"),
			    "serial=0x3f9: I/O port 0x3f9 cannot hold a 16550 (its 8 registers start at a non-zero "
			    "multiple of 8 below 0x10000, e.g. 0x3f8 or 0x2f8)");
	assert_non_null(strstr(one_problem("serial=0"), "I/O port 0 cannot hold a 16550"));
	assert_non_null(strstr(one_problem("serial=0x10000"), "I/O port 0x10000 cannot hold a 16550"));
	assert_non_null(strstr(one_problem("serial=0x3f8,110"),
			       "serial=0x3f8,110: baud rate '110' is not one a 16550 reaches exactly"));
	assert_non_null(strstr(one_problem("serial=0x3f8,230400"), "baud rate '230400'"));
	assert_non_null(strstr(one_problem("serial=0x3f8,0"), "baud rate '0'"));
	assert_non_null(strstr(one_problem("serial=0x3f8,"), "baud rate ''"));
	assert_non_null(strstr(one_problem("serial=0x3f8,fast"), "baud rate 'fast'"));
	assert_non_null(strstr(one_problem("serial=0x3f8,9600,8n1"), "baud rate '9600,8n1'"));
	/* A refused value leaves the default in place. */
	assert_int_equal(CFG.serial, HV_SERIAL_DEFAULT);
	assert_int_equal(CFG.explicit_mask, 0);
}

static void test_serial_describe(void **state)
{
	(void)state;
	char buf[32];
	hv_serial_describe(buf, sizeof(buf), HV_SERIAL_DEFAULT);
	assert_string_equal(buf, "0x3f8,115200");
	hv_serial_describe(buf, sizeof(buf), HV_SERIAL_VALUE(0x2f8, SERIAL_BAUD_KEEP));
	assert_string_equal(buf, "0x2f8,keep");
	hv_serial_describe(buf, sizeof(buf), HV_SERIAL_OFF);
	assert_string_equal(buf, "off");
}

static void test_efi_wait(void **state)
{
	(void)state;
	assert_int_equal(parse("efi_wait=0"), 0);
	assert_int_equal(CFG.efi_wait, 0);
	assert_int_equal(parse("efi_wait=3600"), 0);
	assert_int_equal(CFG.efi_wait, 3600);
	assert_non_null(strstr(one_problem("efi_wait=3601"), "efi_wait=3601: out of range (allowed 0 to 3600)"));
}

static void test_cpus(void **state)
{
	(void)state;
	assert_int_equal(parse("cpus=1"), 0);
	assert_int_equal(CFG.cpus, 1);
	assert_int_equal(parse("cpus=64"), 0);
	assert_int_equal(CFG.cpus, 64);
	assert_non_null(strstr(one_problem("cpus=65"), "cpus=65: out of range (allowed 0 to 64)"));
	assert_non_null(strstr(one_problem("cpus=two"), "cpus=two: not a number"));
	assert_int_equal(parse("vcpus=16"), 0);
	assert_int_equal(CFG.vcpus, 16);
	assert_non_null(strstr(one_problem("vcpus=17"), "vcpus=17: out of range (allowed 0 to 16)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_and_null),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_bare_keys),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_uint_errors),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_size_errors),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_bad_enum_and_bool_values),
		cmocka_unit_test(test_guest_passthrough),
		cmocka_unit_test(test_guest_args_overflow),
		cmocka_unit_test(test_explicit_mask_and_repeats),
		cmocka_unit_test(test_parse_over_existing_config),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_messages_are_sentences_naming_the_key),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_serial_values),
		cmocka_unit_test(test_serial_errors),
		cmocka_unit_test(test_serial_describe),
		cmocka_unit_test(test_efi_wait),
		cmocka_unit_test(test_cpus),
	};
	return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
