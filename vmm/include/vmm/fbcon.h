/*
 * A text console drawn into a linear framebuffer with a bitmap font: the monitor's log on
 * screen, for machines without a serial port.  This core is pure (it writes only into the
 * buffer it is given), so the host unit tests run it on a plain memory buffer.
 *
 * Pixels are direct colour as Multiboot2 describes them (specification 1.0, 3.6.12
 * "Framebuffer info", framebuffer_type 1: a position and a size for each of red, green
 * and blue); the UEFI loader converts the GOP pixel formats (UEFI 2.10, 12.9
 * EFI_GRAPHICS_PIXEL_FORMAT) into the same description.
 *
 * A shadow array of text cells remembers what is on screen: the console never reads the
 * framebuffer (often uncached memory), and a scroll redraws only the cells that change.
 */
#ifndef VMM_FBCON_H
#define VMM_FBCON_H

#include <stdint.h>

#define FBCON_FONT_FIRST 0x20 /* the built-in font holds printable ASCII */
#define FBCON_FONT_LAST  0x7e
#define FBCON_MAX_COLS   256  /* a larger screen gets glyphs scaled up */
#define FBCON_MAX_ROWS   128
#define FBCON_TAB_STOP   8
#define FBCON_MAX_SCALE  8

/* A bitmap font: glyphs FBCON_FONT_FIRST..FBCON_FONT_LAST, `height` rows of bytes_per_row
 * bytes each, most significant bit leftmost (the PSF layout). */
struct fbcon_font {
	uint32_t width, height, bytes_per_row;
	const uint8_t *glyphs;
};

/* Generated at build time from a PSF console font (scripts/psf2c.py). */
extern const struct fbcon_font fbcon_builtin_font;

/* Multiboot2 3.6.12 colour_info for framebuffer_type 1, with the pixel's width in bits. */
struct fbcon_pixel_format {
	uint8_t bits_per_pixel; /* 15, 16, 24 or 32 */
	uint8_t red_field_position, red_mask_size;
	uint8_t green_field_position, green_mask_size;
	uint8_t blue_field_position, blue_mask_size;
};

/* Text colours; the log gives ERROR lines FBCON_ERROR and warnings FBCON_WARN. */
enum fbcon_colour {
	FBCON_NORMAL,
	FBCON_ERROR,
	FBCON_WARN,
	FBCON_GOOD,
	FBCON_COLOURS
};

struct fbcon_rgb {
	uint8_t r, g, b;
};
extern const struct fbcon_rgb fbcon_palette[FBCON_COLOURS];
extern const struct fbcon_rgb fbcon_background;

struct fbcon_cell {
	uint8_t ch, colour; /* ch 0: blank */
};

struct fbcon {
	volatile uint8_t *base;
	uint32_t width, height, pitch, bytes_per_pixel;
	struct fbcon_pixel_format format;
	const struct fbcon_font *font;
	uint32_t scale;               /* each font pixel is scale x scale screen pixels */
	uint32_t cell_width, cell_height;
	uint32_t cols, rows, col, row;
	uint8_t colour;               /* enum fbcon_colour of the next characters */
	uint32_t pixel[FBCON_COLOURS], background;
	uint16_t row_len[FBCON_MAX_ROWS]; /* cells up to the last non-blank one, per row */
	struct fbcon_cell cells[FBCON_MAX_ROWS][FBCON_MAX_COLS];
};

/*
 * Set up a console on the framebuffer at `base` and clear the screen.  Returns NULL, or why
 * the framebuffer cannot be used (the console then stays off: fbcon_putc does nothing).
 */
const char *fbcon_init(struct fbcon *c, void *base, uint32_t width, uint32_t height, uint32_t pitch,
		       const struct fbcon_pixel_format *format, const struct fbcon_font *font);
/* The framebuffer value of a colour in this pixel format. */
uint32_t fbcon_pack(const struct fbcon_pixel_format *f, struct fbcon_rgb rgb);
void fbcon_set_colour(struct fbcon *c, enum fbcon_colour colour);
/* One character: '\n' ends the line (scrolling at the bottom), '\r' returns, '\t' goes to the
 * next tab stop, a full line wraps; a character the font lacks is drawn as '?'. */
void fbcon_putc(struct fbcon *c, char ch);

#endif
