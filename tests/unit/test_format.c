/* Host unit tests for vmm/lib/format.c (hv_vformat, hv_vsnprintf, hv_snprintf). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/format.h"

/* Format into a generous buffer; check both the text and the returned length. */
#define CHECK(expected, ...)                                                    \
	do {                                                                    \
		char buf_[256];                                                 \
		memset(buf_, 'Z', sizeof(buf_));                                \
		int n_ = hv_snprintf(buf_, sizeof(buf_), __VA_ARGS__);          \
		assert_string_equal(buf_, (expected));                          \
		assert_int_equal(n_, (int)strlen(expected));                    \
	} while (0)

/* Same, but without the printf format attribute, for deliberately odd formats. */
static int fmt_raw(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = hv_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

#define CHECK_RAW(expected, ...)                                                \
	do {                                                                    \
		char buf_[256];                                                 \
		int n_ = fmt_raw(buf_, sizeof(buf_), __VA_ARGS__);              \
		assert_string_equal(buf_, (expected));                          \
		assert_int_equal(n_, (int)strlen(expected));                    \
	} while (0)

static void test_plain_and_percent(void **state)
{
	(void)state;
	CHECK("", "%s", "");
	CHECK("hello", "hello");
	CHECK("100%", "100%%");
	CHECK("a%b", "a%cb", '%');
}

static void test_signed_decimal(void **state)
{
	(void)state;
	CHECK("0", "%d", 0);
	CHECK("42 -42", "%d %i", 42, -42);
	CHECK("-2147483648", "%d", INT32_MIN);
	CHECK("2147483647", "%d", INT32_MAX);
	CHECK("-9223372036854775808", "%lld", (long long)INT64_MIN);
	CHECK("-9223372036854775808", "%ld", (long)INT64_MIN);
	CHECK("-9223372036854775808", "%jd", (intmax_t)INT64_MIN);
	CHECK("9223372036854775807", "%lld", (long long)INT64_MAX);
	CHECK("+5 -5 +0", "%+d %+d %+d", 5, -5, 0);
	CHECK(" 5 -5", "% d % d", 5, -5);
	CHECK_RAW("+5", "%+ d", 5); /* '+' beats ' ' */
}

static void test_int64_min_with_width(void **state)
{
	(void)state;
	CHECK("  -9223372036854775808", "%22lld", (long long)INT64_MIN);
	CHECK("-009223372036854775808", "%022lld", (long long)INT64_MIN);
	CHECK("-9223372036854775808  |", "%-22lld|", (long long)INT64_MIN);
	CHECK("-0009223372036854775808", "%.22lld", (long long)INT64_MIN);
}

static void test_unsigned_and_bases(void **state)
{
	(void)state;
	CHECK("4294967295", "%u", UINT32_MAX);
	CHECK("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
	CHECK("ffffffffffffffff", "%llx", (unsigned long long)UINT64_MAX);
	CHECK("1777777777777777777777", "%llo", (unsigned long long)UINT64_MAX);
	CHECK("deadbeef DEADBEEF", "%x %X", 0xdeadbeefu, 0xdeadbeefu);
	CHECK("17", "%o", 15u);
	CHECK("0", "%x", 0u);
	/* '+' and ' ' do not apply to unsigned conversions. */
	CHECK_RAW("7 7", "%+u % u", 7u, 7u);
}

static void test_width_and_flags(void **state)
{
	(void)state;
	CHECK("   42", "%5d", 42);
	CHECK("42   |", "%-5d|", 42);
	CHECK("00042", "%05d", 42);
	CHECK("-0042", "%05d", -42);
	CHECK("+0042", "%+05d", 42);
	CHECK_RAW("-42  |", "%-05d|", -42); /* '-' beats '0' */
	CHECK("42", "%1d", 42);         /* width smaller than the number */
	CHECK("      ff", "%8x", 255u);
	CHECK("000000ff", "%08x", 255u);
}

static void test_precision(void **state)
{
	(void)state;
	CHECK("007", "%.3d", 7);
	CHECK("-007", "%.3d", -7);
	CHECK("     007", "%8.3d", 7);
	CHECK_RAW("     007", "%08.3d", 7); /* '0' ignored when a precision is given */
	CHECK("007     |", "%-8.3d|", 7);
	CHECK("", "%.0d", 0);            /* zero with precision 0: no digits */
	CHECK("   ", "%3.0d", 0);
	CHECK("+", "%+.0d", 0);
	CHECK("12345", "%.2d", 12345);
	CHECK("0000ff", "%.6x", 255u);
}

static void test_alternate_form(void **state)
{
	(void)state;
	CHECK("0xff", "%#x", 255u);
	CHECK("0XFF", "%#X", 255u);
	CHECK("0", "%#x", 0u); /* C: no prefix for zero */
	CHECK("0x000000ff", "%#010x", 255u);
	CHECK("      0xff", "%#10x", 255u);
	CHECK("0xff      |", "%-#10x|", 255u);
	CHECK("0x00ff", "%#.4x", 255u);
	CHECK("0xffffffffffffffff", "%#llx", (unsigned long long)UINT64_MAX);
	CHECK("010", "%#o", 8u);
	CHECK("0", "%#o", 0u);
	CHECK("0", "%#.0o", 0u); /* '#' with octal forces a leading 0 */
	CHECK("00010", "%#.5o", 8u);
}

static void test_pointer(void **state)
{
	(void)state;
	CHECK("0x0000000000001234", "%p", (void *)0x1234);
	CHECK("0x0000000000000000", "%p", (void *)0);
	CHECK("0xffffffff80000000", "%p", (void *)(uintptr_t)0xffffffff80000000ull);
	CHECK("  0x00000000000000ab", "%20p", (void *)0xab);
	CHECK("0x00000000000000ab  |", "%-20p|", (void *)0xab);
}

static void test_strings_and_chars(void **state)
{
	(void)state;
	CHECK("abc", "%s", "abc");
	CHECK("  abc", "%5s", "abc");
	CHECK("abc  |", "%-5s|", "abc");
	CHECK("ab", "%.2s", "abc");
	CHECK("    a", "%5.1s", "abc");
	CHECK("abc", "%.10s", "abc");
	CHECK_RAW("(null)", "%s", (char *)NULL);
	CHECK_RAW("  (null)", "%8s", (char *)NULL);
	CHECK("x", "%c", 'x');
	CHECK("  x|x  |", "%3c|%-3c|", 'x', 'x');

	/* Precision bounds the read: the array is not NUL-terminated. */
	char raw[4] = { 'w', 'x', 'y', 'z' };
	CHECK("wxy", "%.3s", raw);
}

static void test_star_width_precision(void **state)
{
	(void)state;
	CHECK("   42", "%*d", 5, 42);
	CHECK("42   |", "%*d|", -5, 42); /* negative width: left-justify */
	CHECK("00042", "%.*d", 5, 42);
	CHECK("42", "%.*d", -3, 42);      /* negative precision: as if omitted */
	CHECK("   ab", "%*.*s", 5, 2, "abcdef");
}

static void test_length_modifiers(void **state)
{
	(void)state;
	CHECK("44 -128 255", "%hhd %hhd %hhu", 300, 128, 255 + 256);
	CHECK("4464 65535", "%hd %hu", 70000, 0x1ffff);
	CHECK("18446744073709551615", "%zu", (size_t)SIZE_MAX);
	CHECK("-3", "%td", (ptrdiff_t)-3);
	CHECK("18446744073709551615", "%ju", (uintmax_t)UINTMAX_MAX);
	CHECK("-1 4294967295", "%ld %lu", -1L, 4294967295UL);
}

static void test_unknown_conversion(void **state)
{
	(void)state;
	CHECK_RAW("%q", "%q");
	CHECK_RAW("a%5qb", "a%5qb");
	CHECK_RAW("%-08.3y!", "%-08.3y!");
	CHECK_RAW("x%", "x%");     /* lone '%' at the end */
	CHECK_RAW("x%-5", "x%-5"); /* unfinished specification */
	/* The unknown conversion consumes no argument: 7 goes to %d. */
	CHECK_RAW("%w 7", "%w %d", 7);
}

static void test_snprintf_truncation(void **state)
{
	(void)state;
	char buf[8];

	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, sizeof(buf), "%s", "hello world"), 11);
	assert_string_equal(buf, "hello w");

	/* Exactly fits (7 chars + NUL) and one too many. */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, sizeof(buf), "%d", 1234567), 7);
	assert_string_equal(buf, "1234567");
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, sizeof(buf), "%d", 12345678), 8);
	assert_string_equal(buf, "1234567");

	/* size 1: only the terminator. */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, 1, "abc"), 3);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'Z');

	/* size 0: nothing written, NULL allowed, length still returned. */
	assert_int_equal(hv_snprintf(NULL, 0, "%d-%s", -12345, "xy"), 9);
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, 0, "abc"), 3);
	assert_int_equal(buf[0], 'Z');

	/* Nothing is written past the buffer. */
	char guard[12];
	memset(guard, 'G', sizeof(guard));
	assert_int_equal(hv_snprintf(guard, 4, "%#x", 0x12345u), 7);
	assert_string_equal(guard, "0x1");
	for (size_t i = 4; i < sizeof(guard); i++)
		assert_int_equal(guard[i], 'G');
}

struct sink {
	char text[64];
	int calls;
};

static void sink_putc(void *ctx, char c)
{
	struct sink *s = ctx;
	if (s->calls < (int)sizeof(s->text) - 1)
		s->text[s->calls] = c;
	s->calls++;
}

static int format_to_sink(struct sink *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = hv_vformat(sink_putc, s, fmt, ap);
	va_end(ap);
	return n;
}

static void test_vformat_sink(void **state)
{
	(void)state;
	struct sink s;
	memset(&s, 0, sizeof(s));
	int n = format_to_sink(&s, "[%s:%04x]", "id", 0xbeefu);
	assert_int_equal(n, 9);
	assert_int_equal(s.calls, 9); /* no terminator emitted */
	assert_string_equal(s.text, "[id:beef]");

	memset(&s, 0, sizeof(s));
	assert_int_equal(format_to_sink(&s, ""), 0);
	assert_int_equal(s.calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_percent),
		cmocka_unit_test(test_signed_decimal),
		cmocka_unit_test(test_int64_min_with_width),
		cmocka_unit_test(test_unsigned_and_bases),
		cmocka_unit_test(test_width_and_flags),
		cmocka_unit_test(test_precision),
		cmocka_unit_test(test_alternate_form),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_strings_and_chars),
		cmocka_unit_test(test_star_width_precision),
		cmocka_unit_test(test_length_modifiers),
		cmocka_unit_test(test_unknown_conversion),
		cmocka_unit_test(test_snprintf_truncation),
		cmocka_unit_test(test_vformat_sink),
	};
	return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
