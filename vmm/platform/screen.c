/* The screen console of the monitor: bootinfo's framebuffer -> fbcon (vmm/include/vmm/screen.h). */
#include <stddef.h>
#include <stdint.h>
#include "vmm/log.h"
#include "vmm/screen.h"

static struct fbcon screen;
static int screen_on, screen_refused;

uint64_t screen_fb_size(const struct bootinfo_framebuffer *fb)
{
	return fb->addr ? (uint64_t)fb->pitch * fb->height : 0;
}

void screen_init(const struct bootinfo *bi, uint64_t mapped_end)
{
	const struct bootinfo_framebuffer *fb = &bi->fb;
	const struct fbcon_pixel_format format = {
		.bits_per_pixel = (uint8_t)fb->bpp,
		.red_field_position = fb->red_field_position,
		.red_mask_size = fb->red_mask_size,
		.green_field_position = fb->green_field_position,
		.green_mask_size = fb->green_mask_size,
		.blue_field_position = fb->blue_field_position,
		.blue_mask_size = fb->blue_mask_size,
	};
	const char *why;

	if (screen_on || screen_refused || fb->addr == 0)
		return;
	if (fb->type != BI_FB_TYPE_RGB) {
		screen_refused = 1;
		/* GRUB in text mode passes its EGA text screen: the usual case, so only at log=debug. */
		hv_log(fb->type == BI_FB_TYPE_EGA_TEXT ? HV_LOG_DEBUG : HV_LOG_INFO, "screen: the framebuffer is not direct RGB colour (Multiboot2 framebuffer_type %u): "
			 "no screen console, serial only", fb->type);
		return;
	}
	if (fb->addr + screen_fb_size(fb) > mapped_end)
		return; /* not mapped yet: again after paging_init */
	why = fbcon_init(&screen, (void *)(uintptr_t)fb->addr, fb->width, fb->height, fb->pitch, &format,
			 &fbcon_builtin_font);
	if (why) {
		screen_refused = 1;
		log_info("screen: no screen console (%s), serial only", why);
		return;
	}
	screen_on = 1;
	log_info("screen: console of %ux%u characters on the %ux%u framebuffer at %#llx (%u bpp, pitch %u)",
		 screen.cols, screen.rows, fb->width, fb->height, (unsigned long long)fb->addr, fb->bpp, fb->pitch);
}

void screen_putc(char c)
{
	if (screen_on)
		fbcon_putc(&screen, c);
}

void screen_set_colour(enum fbcon_colour colour)
{
	if (screen_on)
		fbcon_set_colour(&screen, colour);
}
