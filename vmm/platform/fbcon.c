/* The screen console's pure core: see vmm/include/vmm/fbcon.h. */
#include <stddef.h>
#include <string.h>
#include "vmm/fbcon.h"

#define BITS_PER_BYTE    8
#define COLOUR_BITS      8   /* fbcon_rgb channels */
#define MAX_CHANNEL_BITS 32
#define FALLBACK_GLYPH   '?'

/* The bright colours of the VGA text palette, on black. */
const struct fbcon_rgb fbcon_palette[FBCON_COLOURS] = {
	[FBCON_NORMAL] = { 0xaa, 0xaa, 0xaa },
	[FBCON_ERROR] = { 0xff, 0x55, 0x55 },
	[FBCON_WARN] = { 0xff, 0xff, 0x55 },
	[FBCON_GOOD] = { 0x55, 0xff, 0x55 },
};
const struct fbcon_rgb fbcon_background = { 0, 0, 0 };

/* A channel of COLOUR_BITS bits scaled to `size` bits, at `position`. */
static uint32_t channel(uint8_t value, uint8_t position, uint8_t size)
{
	uint32_t v;
	if (size == 0)
		return 0;
	v = size >= COLOUR_BITS ? (uint32_t)value << (size - COLOUR_BITS) : (uint32_t)value >> (COLOUR_BITS - size);
	return v << position;
}

uint32_t fbcon_pack(const struct fbcon_pixel_format *f, struct fbcon_rgb rgb)
{
	return channel(rgb.r, f->red_field_position, f->red_mask_size) |
	       channel(rgb.g, f->green_field_position, f->green_mask_size) |
	       channel(rgb.b, f->blue_field_position, f->blue_mask_size);
}

static int channel_fits(uint8_t position, uint8_t size, uint32_t bits)
{
	return size <= MAX_CHANNEL_BITS && (uint32_t)position + size <= bits;
}

static void put_pixel(struct fbcon *c, uint32_t x, uint32_t y, uint32_t v)
{
	volatile uint8_t *p = c->base + (size_t)y * c->pitch + (size_t)x * c->bytes_per_pixel;
	switch (c->bytes_per_pixel) {
	case 4:
		*(volatile uint32_t *)p = v;
		break;
	case 3:
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> BITS_PER_BYTE);
		p[2] = (uint8_t)(v >> (2 * BITS_PER_BYTE));
		break;
	default:
		*(volatile uint16_t *)p = (uint16_t)v;
		break;
	}
}

static void fill(struct fbcon *c, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h, uint32_t v)
{
	for (uint32_t y = y0; y < y0 + h; y++)
		for (uint32_t x = x0; x < x0 + w; x++)
			put_pixel(c, x, y, v);
}

static const uint8_t *glyph(const struct fbcon *c, uint8_t ch)
{
	const struct fbcon_font *f = c->font;
	if (ch < FBCON_FONT_FIRST || ch > FBCON_FONT_LAST)
		ch = FALLBACK_GLYPH;
	return f->glyphs + (size_t)(ch - FBCON_FONT_FIRST) * f->height * f->bytes_per_row;
}

static void draw_cell(struct fbcon *c, uint32_t row, uint32_t col, struct fbcon_cell cell)
{
	const uint32_t x0 = col * c->cell_width, y0 = row * c->cell_height;
	const struct fbcon_font *f = c->font;
	const uint8_t *g;
	uint32_t fg;

	if (cell.ch == 0 || cell.ch == ' ') {
		fill(c, x0, y0, c->cell_width, c->cell_height, c->background);
		return;
	}
	g = glyph(c, cell.ch);
	fg = c->pixel[cell.colour < FBCON_COLOURS ? cell.colour : FBCON_NORMAL];
	for (uint32_t gy = 0; gy < f->height; gy++) {
		const uint8_t *bits = g + (size_t)gy * f->bytes_per_row;
		for (uint32_t gx = 0; gx < f->width; gx++) {
			int on = (bits[gx / BITS_PER_BYTE] >> (BITS_PER_BYTE - 1 - gx % BITS_PER_BYTE)) & 1;
			fill(c, x0 + gx * c->scale, y0 + gy * c->scale, c->scale, c->scale, on ? fg : c->background);
		}
	}
}

static int same_cell(struct fbcon_cell a, struct fbcon_cell b)
{
	/* Two blanks look the same whatever their colour. */
	if ((a.ch == 0 || a.ch == ' ') && (b.ch == 0 || b.ch == ' '))
		return 1;
	return a.ch == b.ch && a.colour == b.colour;
}

const char *fbcon_init(struct fbcon *c, void *base, uint32_t width, uint32_t height, uint32_t pitch,
		       const struct fbcon_pixel_format *format, const struct fbcon_font *font)
{
	const uint32_t bits = format->bits_per_pixel;

	memset(c, 0, sizeof(*c));
	if (base == NULL || width == 0 || height == 0)
		return "the framebuffer has no address or no size";
	if (bits != 15 && bits != 16 && bits != 24 && bits != 32)
		return "the framebuffer's pixels are not 15, 16, 24 or 32 bits wide";
	c->bytes_per_pixel = (bits + BITS_PER_BYTE - 1) / BITS_PER_BYTE;
	if ((uint64_t)width * c->bytes_per_pixel > pitch)
		return "the framebuffer's pitch is shorter than a line of pixels";
	if (!channel_fits(format->red_field_position, format->red_mask_size, bits) ||
	    !channel_fits(format->green_field_position, format->green_mask_size, bits) ||
	    !channel_fits(format->blue_field_position, format->blue_mask_size, bits))
		return "a colour field of the framebuffer lies outside its pixel";
	if (font->width == 0 || font->height == 0 || font->bytes_per_row * BITS_PER_BYTE < font->width)
		return "the font has no glyph size";
	if (width < font->width || height < font->height)
		return "the framebuffer is smaller than one character";

	c->base = base;
	c->width = width;
	c->height = height;
	c->pitch = pitch;
	c->format = *format;
	c->font = font;
	/* The smallest scale that fits the cell array. */
	for (c->scale = 1; c->scale < FBCON_MAX_SCALE; c->scale++)
		if (width / (font->width * c->scale) <= FBCON_MAX_COLS && height / (font->height * c->scale) <= FBCON_MAX_ROWS)
			break;
	c->cell_width = font->width * c->scale;
	c->cell_height = font->height * c->scale;
	c->cols = width / c->cell_width;
	c->rows = height / c->cell_height;
	if (c->cols > FBCON_MAX_COLS)
		c->cols = FBCON_MAX_COLS;
	if (c->rows > FBCON_MAX_ROWS)
		c->rows = FBCON_MAX_ROWS;
	for (unsigned i = 0; i < FBCON_COLOURS; i++)
		c->pixel[i] = fbcon_pack(format, fbcon_palette[i]);
	c->background = fbcon_pack(format, fbcon_background);
	c->colour = FBCON_NORMAL;
	fill(c, 0, 0, width, height, c->background);
	return NULL;
}

void fbcon_set_colour(struct fbcon *c, enum fbcon_colour colour)
{
	c->colour = colour < FBCON_COLOURS ? (uint8_t)colour : FBCON_NORMAL;
}

/* Move every row up by one: redraw only the cells whose content changes, then blank the last row. */
static void scroll(struct fbcon *c)
{
	const struct fbcon_cell blank = { 0, FBCON_NORMAL };
	for (uint32_t r = 0; r + 1 < c->rows; r++) {
		uint32_t n = c->row_len[r] > c->row_len[r + 1] ? c->row_len[r] : c->row_len[r + 1];
		for (uint32_t col = 0; col < n; col++) {
			if (!same_cell(c->cells[r][col], c->cells[r + 1][col]))
				draw_cell(c, r, col, c->cells[r + 1][col]);
			c->cells[r][col] = c->cells[r + 1][col];
		}
		c->row_len[r] = c->row_len[r + 1];
	}
	for (uint32_t col = 0; col < c->row_len[c->rows - 1]; col++) {
		if (!same_cell(c->cells[c->rows - 1][col], blank))
			draw_cell(c, c->rows - 1, col, blank);
		c->cells[c->rows - 1][col] = blank;
	}
	c->row_len[c->rows - 1] = 0;
}

static void newline(struct fbcon *c)
{
	c->col = 0;
	if (c->row + 1 < c->rows)
		c->row++;
	else
		scroll(c);
}

static void put_cell(struct fbcon *c, uint8_t ch)
{
	struct fbcon_cell cell = { ch, c->colour };
	if (c->col == c->cols)
		newline(c);
	if (!same_cell(c->cells[c->row][c->col], cell))
		draw_cell(c, c->row, c->col, cell);
	c->cells[c->row][c->col] = cell;
	c->col++;
	if (c->col > c->row_len[c->row])
		c->row_len[c->row] = (uint16_t)c->col;
}

void fbcon_putc(struct fbcon *c, char ch)
{
	if (c->base == NULL)
		return;
	switch (ch) {
	case '\n':
		newline(c);
		break;
	case '\r':
		c->col = 0;
		break;
	case '\t':
		do
			put_cell(c, ' ');
		while (c->col % FBCON_TAB_STOP != 0 && c->col < c->cols);
		break;
	default:
		put_cell(c, (uint8_t)ch);
		break;
	}
}
