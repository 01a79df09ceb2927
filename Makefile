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
HV_LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments
# The monitor runs wherever its loader puts it (linker.ld): position-independent code
# (-fpie: RIP-relative addressing, no GOT), linked as a PIE without a dynamic linker; its
# only dynamic relocations are R_X86_64_RELATIVE, which it applies itself (vmm/platform/reloc_self.c).
# -z text refuses relocations in read-only segments; -z norelro keeps linker.ld's layout.
HV_CFLAGS := $(filter-out -fno-pic -fno-pie,$(FREESTANDING_CFLAGS)) -fpie \
	-Ivmm/include -Iarch/include -Ivmm/include/libc
HV_MONITOR_LDFLAGS := -nostdlib -pie --no-dynamic-linker -z text -z norelro -z max-page-size=4096 \
	-z noexecstack --no-warn-rwx-segments --hash-style=gnu
# Code that runs before the relocations are applied must not read addresses from data:
# no switch statements turned into tables of pointers.
HV_PRE_RELOCATION_CFLAGS := -fno-tree-switch-conversion -fno-jump-tables

HV_DIRS := vmm vmm/lib vmm/platform vmm/mm/host vmm/mm/guest vmm/dev vmm/core vmm/mmu vmm/exit vmm/loader vmm/vmx
HV_C_SRCS := $(foreach d,$(HV_DIRS),$(wildcard $(d)/*.c))
HV_ASM_SRCS := $(foreach d,$(HV_DIRS),$(wildcard $(d)/*.asm))
HV_OBJS := $(HV_C_SRCS:%.c=$(BUILD)/%.o) $(HV_ASM_SRCS:%.asm=$(BUILD)/%.asm.o) $(BUILD)/gen/font.o

# The screen console's font: a PSF console font from Debian's console-setup-linux, converted
# into a C array at build time (scripts/psf2c.py).  The boot tests render text with the same file.
FONT_PSF := /usr/share/consolefonts/Lat15-Terminus16.psf.gz

ISO := $(BUILD)/hv.iso

.PHONY: all test unit-test boot-test run bench deps clean help fuzz fuzz-smoke
all: $(BUILD)/hv.elf $(BUILD)/guest.elf $(ISO) efi-images mb1-images

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

$(BUILD)/%.asm.o: %.asm $(BUILD)/gen/asm_offsets.inc
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -F dwarf -w+all -w+error -I$(BUILD)/gen/ -MD $(@:.o=.d) -MP $< -o $@

# Structure offsets and VMCS encodings the assembly uses, generated from the C definitions
# (vmm/gen/asm_offsets.c): compiled to assembly, its "@@ %define" lines kept.
$(BUILD)/gen/asm_offsets.inc: vmm/gen/asm_offsets.c $(BUILD)/hv-cflags.txt
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) -MF $(BUILD)/gen/asm_offsets.d -MT $@ -S $< -o $(BUILD)/gen/asm_offsets.s
	sed -n 's/^.*"@@ \(%define [A-Z0-9_]* [0-9]*\)".*$$/\1/p' $(BUILD)/gen/asm_offsets.s > $@.tmp
	@test -s $@.tmp || { echo "asm_offsets.inc came out empty" >&2; exit 1; }
	mv $@.tmp $@

$(BUILD)/vmm/platform/reloc_self.o $(BUILD)/vmm/lib/elf_rela.o: HV_CFLAGS += $(HV_PRE_RELOCATION_CFLAGS)

# The monitor's objects are rebuilt when its compiler flags change (make tracks files, not flags:
# objects from before the switch to -fpie would not link).
HV_FLAGS_STAMP := $(BUILD)/hv-cflags.txt
$(HV_FLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(HV_CFLAGS)' | cmp -s - $@ || echo '$(HV_CFLAGS)' > $@
$(HV_OBJS) $(BUILD)/gen/font.o: $(HV_FLAGS_STAMP)
.PHONY: FORCE
FORCE:

# Checked before it replaces the previous image: only R_X86_64_RELATIVE relocations, and a
# file layout GRUB can load through the Multiboot2 address tag (scripts/check-monitor-elf.py).
$(BUILD)/hv.elf: $(HV_OBJS) linker.ld scripts/check-monitor-elf.py
	$(LD) $(HV_MONITOR_LDFLAGS) -T linker.ld -o $@.tmp $(HV_OBJS)
	$(PYTHON) scripts/check-monitor-elf.py $@.tmp
	mv $@.tmp $@

include guest/guest.mk
include tests/mb1/mb1.mk
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

# Boot tests are independent: they run on every core (pytest-xdist), each boot single-threaded.
BOOT_TEST_JOBS ?= $(shell nproc)
boot-test: all
	$(PYTHON) -m pytest -v -rfEs -n $(BOOT_TEST_JOBS) tests/boot

run: deps all
	scripts/run.sh

bench: deps all
	$(PYTHON) scripts/bench.py

clean:
	rm -rf $(BUILD)

-include $(HV_OBJS:.o=.d) $(BUILD)/gen/asm_offsets.d

help:
	@echo "make            build every image (monitor, guest, UEFI loader, ESP, USB image, GRUB ISO)"
	@echo "make test       install missing packages (as root), then unit tests and boot tests"
	@echo "make run        boot monitor + guest here: QEMU/KVM with nested VT-x if usable, else Bochs"
	@echo "                  ARGS='monitor options'  CPU=bochs-model  TIMEOUT=seconds (default 600)"
	@echo "make bench      the guest's exit-cost benchmarks in Bochs (docs/benchmarks.md)"
	@echo "make unit-test  host unit tests (cmocka) only"
	@echo "make fuzz       every libFuzzer harness for FUZZ_TIME seconds (default 60; docs/robustness.md)"
	@echo "make fuzz-smoke every harness for FUZZ_SMOKE_RUNS executions from its seed corpus (part of make test)"
	@echo "make boot-test  boot tests only (pytest; one test: see README 'Harnesses')"
	@echo "make deps       check for (as root: install) the Debian packages"
	@echo "make clean      remove build/"
