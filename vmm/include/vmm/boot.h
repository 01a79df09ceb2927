/* The monitor's start: both entry paths end in hv_main() with a filled bootinfo. */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stdint.h>
#include "vmm/bootinfo.h"

extern struct bootinfo hv_bootinfo;
extern const uint64_t hv_bootinfo_size;

/*
 * Linker-script symbols (linker.ld): the image's run-time bounds (the code is
 * position-independent, so these are wherever the loader put it).
 */
extern char hv_image_start[], hv_image_end[];

/*
 * Apply the image's R_X86_64_RELATIVE relocations for the address it runs at
 * (vmm/platform/reloc_self.c).  Called once by each entry path in vmm/platform/entry.asm, before
 * anything reads an address from the image's data; halts with a message on a
 * damaged relocation table.
 */
void hv_relocate_self(void);

/*
 * Translate a Multiboot2 boot information structure into *bi.
 * Returns 0, or -1 with a reason in *why when the structure is unusable.
 */
int multiboot2_to_bootinfo(const void *mbi, struct bootinfo *bi, const char **why);

__attribute__((noreturn)) void hv_main(struct bootinfo *bi);

#endif
