/*
 * The monitor relocates itself: both entries (vmm/platform/entry.asm) call
 * hv_relocate_self() once they run on the boot page tables and stack, before
 * any code reads an address stored in the image's data (a pointer in a
 * table, a string in an array).
 *
 * linker.ld links the image at 0 and puts its R_X86_64_RELATIVE entries
 * between hv_rela_start and hv_rela_end; code reaches those symbols
 * RIP-relative, so at run time they are where the image is.  With a link
 * address of 0 the psABI's base address B is the load address.
 *
 * Built with HV_PRE_RELOCATION_CFLAGS (Makefile): no switch tables, and the
 * failure report below writes COM1 directly from string literals
 * (RIP-relative), without the logger, whose tables are not relocated yet.
 */
#include <stdint.h>
#include <arch/io.h>
#include "vmm/boot.h"
#include "vmm/elf_rela.h"
#include "vmm/serial.h"

#define HV_LINK_ADDRESS 0 /* linker.ld */
#define HEX_DIGITS_64   16
#define NIBBLE_BITS     4
#define NIBBLE_MASK     0xfu

extern const struct elf64_rela hv_rela_start[] __attribute__((visibility("hidden")));
extern const struct elf64_rela hv_rela_end[] __attribute__((visibility("hidden")));

static void early_puts(const char *s)
{
	for (; *s; s++)
		outb(SERIAL_COM1_BASE, (uint8_t)*s);
}

static void early_put_hex(uint64_t v)
{
	early_puts("0x");
	for (int shift = (HEX_DIGITS_64 - 1) * NIBBLE_BITS; shift >= 0; shift -= NIBBLE_BITS)
		outb(SERIAL_COM1_BASE, (uint8_t)"0123456789abcdef"[(v >> shift) & NIBBLE_MASK]);
}

void hv_relocate_self(void)
{
	uint64_t load_base = (uint64_t)(uintptr_t)hv_image_start;
	uint64_t size = (uint64_t)(hv_image_end - hv_image_start);
	uint64_t count = (uint64_t)(hv_rela_end - hv_rela_start);
	struct elf_rela_error err;

	if (elf_rela_apply(hv_image_start, HV_LINK_ADDRESS, load_base, size, hv_rela_start, count, &err) == 0)
		return;
	/* scripts/check-monitor-elf.py and the UEFI loader refuse such an image: it was changed after the build. */
	early_puts("[hv] ERROR: the monitor cannot relocate itself to ");
	early_put_hex(load_base);
	early_puts(": relocation entry ");
	early_put_hex(err.index);
	early_puts(" (type ");
	early_put_hex(err.type);
	early_puts(", r_offset ");
	early_put_hex(err.offset);
	early_puts(") is refused: ");
	if (err.status == ELF_RELA_BAD_TYPE)
		early_puts("only R_X86_64_RELATIVE is supported");
	else if (err.status == ELF_RELA_BAD_SYMBOL)
		early_puts("an R_X86_64_RELATIVE entry names a symbol");
	else
		early_puts("its field lies outside the image");
	early_puts("; the image is damaged: rebuild it with 'make' (scripts/check-monitor-elf.py checks it)\r\n");
	cpu_halt_forever();
}
