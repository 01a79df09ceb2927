/* Unit tests of the screen console's core (vmm/platform/fbcon.c) on a memory framebuffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "vmm/fbcon.h"

/* A 4x4 test font: row 0 of a glyph is the high nibble of its character code, row 3 is full. */
#define FW 4
#define FH 4
#define NGLYPHS (FBCON_FONT_LAST - FBCON_FONT_FIRST + 1)
static uint8_t glyph_bits[NGLYPHS * FH];
static const struct fbcon_font font = { FW, FH, 1, glyph_bits };

static void make_font(void)
{
	memset(glyph_bits, 0, sizeof(glyph_bits));
	for (int ch = FBCON_FONT_FIRST; ch <= FBCON_FONT_LAST; ch++) {
		uint8_t *g = glyph_bits + (ch - FBCON_FONT_FIRST) * FH;
		if (ch == ' ')
			continue;
		g[0] = (uint8_t)(ch & 0xf0);
		g[3] = 0xf0;
	}
}

/* UEFI PixelBlueGreenRedReserved8BitPerColor: blue in byte 0. */
static const struct fbcon_pixel_format bgrx = { 32, 16, 8, 8, 8, 0, 8 };
static const struct fbcon_pixel_format rgbx = { 32, 0, 8, 8, 8, 16, 8 };
static const struct fbcon_pixel_format rgb24 = { 24, 16, 8, 8, 8, 0, 8 };
static const struct fbcon_pixel_format rgb565 = { 16, 11, 5, 5, 6, 0, 5 };

#define W 40 /* 10 columns of FW */
#define H 16 /* 4 rows of FH */
static struct fbcon con, ref;
static uint32_t fb[H][W], fb_ref[H][W];

static uint32_t px(uint32_t (*b)[W], int x, int y) { return b[y][x]; }

static void setup_console(struct fbcon *c, uint32_t (*b)[W])
{
	make_font();
	memset(b, 0x5a, sizeof(fb)); /* init must clear it */
	assert_null(fbcon_init(c, b, W, H, W * 4, &bgrx, &font));
}

static void puts_con(struct fbcon *c, const char *s)
{
	while (*s)
		fbcon_putc(c, *s++);
}

static void test_pack(void **state)
{
	(void)state;
	const struct fbcon_rgb red = { 0xff, 0, 0 }, blue = { 0, 0, 0xff }, grey = { 0xaa, 0xaa, 0xaa };
	assert_int_equal(fbcon_pack(&bgrx, red), 0x00ff0000);
	assert_int_equal(fbcon_pack(&bgrx, blue), 0x000000ff);
	assert_int_equal(fbcon_pack(&rgbx, red), 0x000000ff);
	assert_int_equal(fbcon_pack(&rgbx, blue), 0x00ff0000);
	assert_int_equal(fbcon_pack(&rgb565, red), 0xf800);
	assert_int_equal(fbcon_pack(&rgb565, grey), (0xaa >> 3) << 11 | (0xaa >> 2) << 5 | (0xaa >> 3));
}

static void test_init_refuses(void **state)
{
	(void)state;
	struct fbcon_pixel_format bad = bgrx;
	make_font();
	assert_non_null(fbcon_init(&con, NULL, W, H, W * 4, &bgrx, &font));
	assert_non_null(fbcon_init(&con, fb, W, H, W * 4 - 1, &bgrx, &font)); /* pitch too short */
	bad.bits_per_pixel = 8;
	assert_non_null(fbcon_init(&con, fb, W, H, W * 4, &bad, &font));
	bad = bgrx;
	bad.red_field_position = 30; /* 30 + 8 > 32 */
	assert_non_null(fbcon_init(&con, fb, W, H, W * 4, &bad, &font));
	assert_non_null(fbcon_init(&con, fb, FW - 1, H, W * 4, &bgrx, &font));
	/* refused: output goes nowhere */
	fbcon_putc(&con, 'A');
}

static void test_glyph_and_colour(void **state)
{
	(void)state;
	setup_console(&con, fb);
	assert_int_equal(con.cols, W / FW);
	assert_int_equal(con.rows, H / FH);
	assert_int_equal(px(fb, 39, 15), 0); /* cleared */
	fbcon_set_colour(&con, FBCON_ERROR);
	fbcon_putc(&con, 'A'); /* 0x41: row 0 = 0100 */
	const uint32_t red = fbcon_pack(&bgrx, fbcon_palette[FBCON_ERROR]);
	assert_int_equal(px(fb, 0, 0), 0);
	assert_int_equal(px(fb, 1, 0), red);
	assert_int_equal(px(fb, 2, 0), 0);
	assert_int_equal(px(fb, 3, 3), red);
	assert_int_equal(px(fb, 1, 1), 0);
	fbcon_set_colour(&con, FBCON_NORMAL);
	fbcon_putc(&con, 'p'); /* 0x70: 0111 */
	const uint32_t grey = fbcon_pack(&bgrx, fbcon_palette[FBCON_NORMAL]);
	assert_int_equal(px(fb, 4, 0), 0);
	assert_int_equal(px(fb, 5, 0), grey);
	assert_int_equal(px(fb, 7, 0), grey);
	/* a character the font lacks is '?' (0x3f: 0011) */
	fbcon_putc(&con, '\x01');
	assert_int_equal(px(fb, 8, 0), 0);
	assert_int_equal(px(fb, 9, 0), 0);
	assert_int_equal(px(fb, 10, 0), grey);
}

/* After scrolling, the screen equals a fresh console that was given only the visible lines. */
static void test_scroll_matches_fresh_render(void **state)
{
	(void)state;
	setup_console(&con, fb);
	puts_con(&con, "first\nsecond\n");
	fbcon_set_colour(&con, FBCON_WARN);
	puts_con(&con, "third line\n");
	fbcon_set_colour(&con, FBCON_NORMAL);
	puts_con(&con, "4\n5th");
	/* 5 lines on 4 rows: "first" scrolled away */
	setup_console(&ref, fb_ref);
	puts_con(&ref, "second\n");
	fbcon_set_colour(&ref, FBCON_WARN);
	puts_con(&ref, "third line\n");
	fbcon_set_colour(&ref, FBCON_NORMAL);
	puts_con(&ref, "4\n5th");
	assert_memory_equal(fb, fb_ref, sizeof(fb));
	assert_int_equal(con.row, 3);
	assert_int_equal(con.col, 3);
	/* one more scroll: the last row blank */
	puts_con(&con, "\n");
	setup_console(&ref, fb_ref);
	fbcon_set_colour(&ref, FBCON_WARN);
	puts_con(&ref, "third line\n");
	fbcon_set_colour(&ref, FBCON_NORMAL);
	puts_con(&ref, "4\n5th\n");
	assert_memory_equal(fb, fb_ref, sizeof(fb));
}

static void test_wrap_tab_and_return(void **state)
{
	(void)state;
	setup_console(&con, fb);
	puts_con(&con, "0123456789AB"); /* 10 columns: "AB" wraps */
	setup_console(&ref, fb_ref);
	puts_con(&ref, "0123456789\nAB");
	assert_memory_equal(fb, fb_ref, sizeof(fb));
	setup_console(&con, fb);
	puts_con(&con, "a\tb\rc");
	assert_int_equal(con.col, 1);
	setup_console(&ref, fb_ref);
	puts_con(&ref, "c       b");
	assert_memory_equal(fb, fb_ref, sizeof(fb));
}

static void test_24_and_16_bpp(void **state)
{
	(void)state;
	static uint8_t buf24[H * W * 3], buf16[H * W * 2];
	make_font();
	memset(buf24, 0x77, sizeof(buf24));
	assert_null(fbcon_init(&con, buf24, W, H, W * 3, &rgb24, &font));
	fbcon_set_colour(&con, FBCON_ERROR); /* ff 55 55: bytes b, g, r */
	fbcon_putc(&con, 'A');
	assert_int_equal(buf24[0], 0);
	assert_int_equal(buf24[3 + 0], 0x55);
	assert_int_equal(buf24[3 + 1], 0x55);
	assert_int_equal(buf24[3 + 2], 0xff);
	assert_int_equal(buf24[6], 0);
	assert_int_equal(buf24[H * W * 3 - 1], 0);
	memset(buf16, 0x77, sizeof(buf16));
	assert_null(fbcon_init(&con, buf16, W, H, W * 2, &rgb565, &font));
	fbcon_set_colour(&con, FBCON_ERROR);
	fbcon_putc(&con, 'A');
	uint16_t v;
	memcpy(&v, buf16 + 2, sizeof(v));
	assert_int_equal(v, fbcon_pack(&rgb565, fbcon_palette[FBCON_ERROR]));
	assert_int_equal(buf16[H * W * 2 - 1], 0);
}

static void test_large_screen_scales_glyphs(void **state)
{
	(void)state;
	const uint32_t w = FW * FBCON_MAX_COLS * 2 + 3, h = FH * 8;
	uint32_t *big = calloc((size_t)w * h, sizeof(uint32_t));
	make_font();
	assert_null(fbcon_init(&con, big, w, h, w * 4, &bgrx, &font));
	assert_int_equal(con.scale, 2);
	assert_int_equal(con.cols, FBCON_MAX_COLS);
	assert_int_equal(con.rows, 4);
	fbcon_putc(&con, 'A'); /* font pixel (1, 0) -> screen pixels (2..3, 0..1) */
	const uint32_t grey = fbcon_pack(&bgrx, fbcon_palette[FBCON_NORMAL]);
	assert_int_equal(big[1], 0);
	assert_int_equal(big[2], grey);
	assert_int_equal(big[3], grey);
	assert_int_equal(big[w + 3], grey);
	assert_int_equal(big[4], 0);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack),
		cmocka_unit_test(test_init_refuses),
		cmocka_unit_test(test_glyph_and_colour),
		cmocka_unit_test(test_scroll_matches_fresh_render),
		cmocka_unit_test(test_wrap_tab_and_return),
		cmocka_unit_test(test_24_and_16_bpp),
		cmocka_unit_test(test_large_screen_scales_glyphs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
