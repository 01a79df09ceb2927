# hv: a small bare-metal x86-64 VT-x hypervisor.
#   make        build every image (monitor, guest, UEFI loader, ESP, USB image, GRUB ISO)
#   make test   install missing tools (as root) then run unit tests and boot tests
#   make run    boot interactively: QEMU/KVM when this host has VT-x, else Bochs
#   make bench  run the guest's benchmarks in Bochs

BUILD := build
CC := gcc
HOSTCC := gcc
NASM := nasm
LD := ld
PYTHON := /usr/bin/python3

# The monitor and the guest are freestanding: no libc, no red zone (interrupts
# and VM exits use the stack), no SSE (the monitor never saves guest FPU state).
FREESTANDING_CFLAGS := -std=c11 -O2 -g -ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie \
	-mno-red-zone -mgeneral-regs-only -mcmodel=small -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fcf-protection=none -Wall -Wextra -Werror -MMD -MP
HV_CFLAGS := $(FREESTANDING_CFLAGS) -Ivmm/include -Iarch/include -Ivmm/include/libc
HV_LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments

HV_C_SRCS := $(wildcard vmm/*.c vmm/lib/*.c vmm/mm/*.c vmm/exit/*.c vmm/console/*.c vmm/apic/*.c)
HV_ASM_SRCS := $(wildcard vmm/*.asm)
HV_OBJS := $(HV_C_SRCS:%.c=$(BUILD)/%.o) $(HV_ASM_SRCS:%.asm=$(BUILD)/%.asm.o) $(BUILD)/gen/font.o

# The screen console's font: a PSF console font from Debian's console-setup-linux, converted
# into a C array at build time (scripts/psf2c.py).  The boot tests render text with the same file.
FONT_PSF := /usr/share/consolefonts/Lat15-Terminus16.psf.gz

ISO := $(BUILD)/hv.iso

.PHONY: all test unit-test boot-test run bench deps clean
all: $(BUILD)/hv.elf $(BUILD)/guest.elf $(ISO) efi-images

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) -c $< -o $@

$(FONT_PSF):
	@echo "$(FONT_PSF) is missing: install console-setup-linux ('make deps', or scripts/deps.sh)" >&2; exit 1

$(BUILD)/gen/font.c: $(FONT_PSF) scripts/psf2c.py scripts/psf.py
	@mkdir -p $(dir $@)
	$(PYTHON) scripts/psf2c.py $(FONT_PSF) $@

$(BUILD)/gen/font.o: $(BUILD)/gen/font.c
	$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/%.asm.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -F dwarf -w+all -w+error -MD $(@:.o=.d) -MP $< -o $@

$(BUILD)/hv.elf: $(HV_OBJS) linker.ld
	$(LD) $(HV_LDFLAGS) -T linker.ld -o $@ $(HV_OBJS)

include guest/guest.mk
include boot/efi/efi.mk
include tests/unit/unit.mk

efi-images: $(EFI_IMAGES)

$(ISO): $(BUILD)/hv.elf $(BUILD)/guest.elf scripts/mkiso.sh
	scripts/mkiso.sh $@

deps:
	@scripts/deps.sh

test: deps
	$(MAKE) all
	$(MAKE) unit-test
	$(MAKE) boot-test

boot-test: all
	$(PYTHON) -m pytest -v -rfEs tests/boot

run: deps all
	scripts/run.sh

bench: deps all
	$(PYTHON) scripts/bench.py

clean:
	rm -rf $(BUILD)

-include $(HV_OBJS:.o=.d)
