/*
 * The monitor's screen console: its log drawn on the framebuffer the loader found
 * (UEFI GOP, or GRUB's Multiboot2 framebuffer tag), beside serial (the primary channel).
 */
#ifndef VMM_SCREEN_H
#define VMM_SCREEN_H

#include <stdint.h>
#include "vmm/bootinfo.h"
#include "vmm/fbcon.h"

/*
 * Start the console on bi->fb if the whole framebuffer lies below `mapped_end` (the end of
 * the identity map in force).  Does nothing when the console is already on, or when there is
 * no usable direct-colour framebuffer (it says why once, on serial).
 */
void screen_init(const struct bootinfo *bi, uint64_t mapped_end);
/* The framebuffer's bytes, [addr, addr + size): 0 when there is none. */
uint64_t screen_fb_size(const struct bootinfo_framebuffer *fb);
void screen_putc(char c);
void screen_set_colour(enum fbcon_colour colour);

#endif
