# hv: a small bare-metal x86-64 VT-x hypervisor.
#   make        build every image (monitor, guest, UEFI loader, ESP, USB image, GRUB ISO)
#   make test   install missing tools (as root) then run unit tests, fuzz smoke runs and boot tests
#   make fuzz   run every libFuzzer harness for FUZZ_TIME seconds (tests/fuzz/fuzz.mk)
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

HV_C_SRCS := $(wildcard vmm/*.c vmm/lib/*.c vmm/mm/*.c vmm/exit/*.c)
HV_ASM_SRCS := $(wildcard vmm/*.asm)
HV_OBJS := $(HV_C_SRCS:%.c=$(BUILD)/%.o) $(HV_ASM_SRCS:%.asm=$(BUILD)/%.asm.o)

ISO := $(BUILD)/hv.iso

.PHONY: all test unit-test boot-test run bench deps clean fuzz fuzz-smoke
all: $(BUILD)/hv.elf $(BUILD)/guest.elf $(ISO) efi-images

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/%.asm.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -F dwarf -w+all -w+error -MD $(@:.o=.d) -MP $< -o $@

$(BUILD)/hv.elf: $(HV_OBJS) linker.ld
	$(LD) $(HV_LDFLAGS) -T linker.ld -o $@ $(HV_OBJS)

include guest/guest.mk
include boot/efi/efi.mk
include tests/unit/unit.mk
include tests/fuzz/fuzz.mk

efi-images: $(EFI_IMAGES)

$(ISO): $(BUILD)/hv.elf $(BUILD)/guest.elf scripts/mkiso.sh
	scripts/mkiso.sh $@

deps:
	@scripts/deps.sh

test: deps
	$(MAKE) all
	$(MAKE) unit-test
	$(MAKE) fuzz-smoke
	$(MAKE) boot-test

boot-test: all
	$(PYTHON) -m pytest -v -rA tests/boot

run: deps all
	scripts/run.sh

bench: deps all
	$(PYTHON) scripts/bench.py

clean:
	rm -rf $(BUILD)

-include $(HV_OBJS:.o=.d)
