# Host unit tests (cmocka).  Included by the top-level Makefile; also works alone:
#   make -f tests/unit/unit.mk BUILD=build unit-test
#
# To add a test: write tests/unit/test_foo.c, add $(BUILD)/unit/test_foo to
# UNIT_TESTS and list the monitor sources it needs in UNIT_SRCS_test_foo.

BUILD ?= build
PYTHON ?= /usr/bin/python3
UNIT_MK := $(lastword $(MAKEFILE_LIST))

# Keep whatever default goal the including Makefile has (or will have);
# used alone, the default goal is unit-test.
UNIT_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)
ifeq ($(words $(MAKEFILE_LIST)),1)
UNIT_SAVED_DEFAULT_GOAL := unit-test
endif

UNIT_TESTS := \
	$(BUILD)/unit/test_format \
	$(BUILD)/unit/test_memmap \
	$(BUILD)/unit/test_pmm \
	$(BUILD)/unit/test_cmdline \
	$(BUILD)/unit/test_ept \
	$(BUILD)/unit/test_ept_mtrr \
	$(BUILD)/unit/test_gpt \
	$(BUILD)/unit/test_elf \
	$(BUILD)/unit/test_mtrr \
	$(BUILD)/unit/test_guest_mem \
	$(BUILD)/unit/test_cr_rules

UNIT_SRCS_test_format  := vmm/lib/format.c
UNIT_SRCS_test_memmap  := vmm/mm/host/memmap.c
UNIT_SRCS_test_pmm     := vmm/mm/host/pmm.c vmm/mm/host/memmap.c
UNIT_SRCS_test_cmdline := vmm/platform/cmdline.c vmm/lib/format.c
UNIT_SRCS_test_ept       := vmm/mm/guest/ept.c
UNIT_SRCS_test_ept_mtrr  := vmm/mm/guest/ept_mtrr.c vmm/mm/guest/ept.c vmm/mm/guest/mtrr.c
UNIT_SRCS_test_gpt       := vmm/mm/guest/gpt.c
UNIT_SRCS_test_elf       := vmm/loader/elf.c
UNIT_SRCS_test_mtrr      := vmm/mm/guest/mtrr.c
UNIT_SRCS_test_guest_mem := vmm/mm/guest/guest_mem.c vmm/mm/guest/gpt.c
UNIT_SRCS_test_cr_rules  := vmm/exit/cr_rules.c

UNIT_TESTS += $(BUILD)/unit/test_vmx_caps $(BUILD)/unit/test_vmcs_names $(BUILD)/unit/test_boot_mb2
UNIT_SRCS_test_vmx_caps   := vmm/platform/vmx_caps.c vmm/platform/vmx_support.c vmm/lib/format.c
UNIT_SRCS_test_vmcs_names := vmm/vmx/vmcs_names.c
UNIT_FLAGS_test_vmcs_names := -Ivmm/vmx # a test of the VT-x backend's own tables
UNIT_SRCS_test_boot_mb2   := vmm/loader/boot_mb2.c vmm/lib/format.c
# Multiboot1 kernel images: header search and checks, load plan, boot information (Multiboot 0.6.96).
UNIT_TESTS += $(BUILD)/unit/test_boot_mb1
UNIT_SRCS_test_boot_mb1   := vmm/loader/boot_mb1.c vmm/loader/elf.c vmm/lib/format.c

UNIT_TESTS += $(BUILD)/unit/test_dr_match $(BUILD)/unit/test_dtable_check
UNIT_SRCS_test_dr_match     := vmm/core/dr_match.c
UNIT_SRCS_test_dtable_check := vmm/exit/dtable_check.c
UNIT_TESTS += $(BUILD)/unit/test_task
UNIT_SRCS_test_task := vmm/exit/task_check.c
UNIT_TESTS += $(BUILD)/unit/test_elf_rela
UNIT_SRCS_test_elf_rela := vmm/lib/elf_rela.c
UNIT_TESTS += $(BUILD)/unit/test_fbcon
UNIT_SRCS_test_fbcon := vmm/platform/fbcon.c
UNIT_TESTS += $(BUILD)/unit/test_vlapic
UNIT_SRCS_test_vlapic := vmm/dev/vlapic.c
# The unclaimed-port ledger (vmm/io_ledger.h).
UNIT_TESTS += $(BUILD)/unit/test_io_ledger
UNIT_SRCS_test_io_ledger := vmm/dev/io_ledger.c
# The 8259A PIC pair (vmm/pic8259.h).
UNIT_TESTS += $(BUILD)/unit/test_pic8259
UNIT_SRCS_test_pic8259 := vmm/dev/pic8259.c
UNIT_TESTS += $(BUILD)/unit/test_mmio_decode
UNIT_SRCS_test_mmio_decode := vmm/dev/mmio_decode.c
# The real-mode instruction decoder; its cases come from the GNU assembler and objdump
# (tests/unit/gen_realmode_cases.py writes them into $(BUILD)/unit/gen/).
UNIT_TESTS += $(BUILD)/unit/test_realmode_decode
UNIT_SRCS_test_realmode_decode := vmm/dev/realmode_decode.c vmm/lib/format.c
UNIT_FLAGS_test_realmode_decode := -I$(BUILD)/unit/gen
$(BUILD)/unit/test_realmode_decode: $(BUILD)/unit/gen/realmode_asm_cases.h
$(BUILD)/unit/gen/realmode_asm_cases.h: tests/unit/gen_realmode_cases.py
	@mkdir -p $(@D)
	$(PYTHON) $< $@
UNIT_TESTS += $(BUILD)/unit/test_exit_decode
UNIT_SRCS_test_exit_decode := vmm/vmx/exit_decode.c vmm/exit/operand.c
UNIT_FLAGS_test_exit_decode := -Ivmm/vmx
# The event-merging rules (SDM Vol. 3A Tables 6-4, 6-5), pure.
UNIT_TESTS += $(BUILD)/unit/test_events
UNIT_SRCS_test_events := vmm/core/event_merge.c
# The exit handlers through exit_dispatch(), over a fake backend (tests/unit/fake_backend.c).
UNIT_TESTS += $(BUILD)/unit/test_exit_handlers
UNIT_SRCS_test_exit_handlers := tests/unit/fake_backend.c \
	vmm/exit/dispatch.c vmm/exit/cpuid.c vmm/exit/msr.c vmm/exit/cr.c vmm/exit/cr_rules.c vmm/exit/io.c \
	vmm/exit/dtable.c vmm/exit/dtable_check.c vmm/exit/operand.c vmm/exit/misc.c vmm/exit/npf.c \
	vmm/exit/task.c vmm/exit/task_check.c vmm/dev/vuart.c vmm/dev/io_ledger.c vmm/exit/hypercall.c vmm/core/vcpu.c \
	vmm/core/event_merge.c vmm/core/dr_match.c vmm/core/guest_cr.c vmm/core/report.c vmm/dev/vlapic.c \
	vmm/mm/guest/gpt.c vmm/mm/guest/guest_mem.c vmm/mm/guest/ept.c vmm/mmu/ept_mmu.c vmm/mmu/shadow_mmu.c \
	vmm/core/ipi.c vmm/exit/vm86.c vmm/dev/realmode_decode.c vmm/lib/format.c

UNIT_TESTS += $(BUILD)/unit/test_acpi
UNIT_SRCS_test_acpi := vmm/platform/acpi.c vmm/lib/format.c
# The guest's ACPI tables, read back through the host-table parser above.
UNIT_TESTS += $(BUILD)/unit/test_acpi_tables
UNIT_SRCS_test_acpi_tables := vmm/loader/acpi_tables.c vmm/platform/acpi.c vmm/lib/format.c
UNIT_TESTS += $(BUILD)/unit/test_mptable
UNIT_SRCS_test_mptable := vmm/platform/mptable.c vmm/lib/format.c
UNIT_TESTS += $(BUILD)/unit/test_ap_page
UNIT_SRCS_test_ap_page := vmm/platform/ap_page.c

# The UEFI loader's pure parts: #included by the test over the host stand-ins of gnu-efi.
UNIT_TESTS += $(BUILD)/unit/test_efi_memmap
UNIT_SRCS_test_efi_memmap :=
UNIT_FLAGS_test_efi_memmap := -fshort-wchar -Itests/efi_host
$(BUILD)/unit/test_efi_memmap: boot/efi/memmap.c tests/efi_host/efi_host.h

UNIT_CC      ?= gcc
UNIT_CFLAGS  := -std=c11 -Wall -Wextra -Werror -g -Ivmm/include -Iarch/include
UNIT_EXTRA_CFLAGS ?=
UNIT_LDLIBS  := -lcmocka
# Any header change rebuilds the tests (they are small).
UNIT_HDRS     = $(wildcard vmm/include/vmm/*.h vmm/vmx/*.h arch/include/arch/*.h tests/unit/*.h)

.PHONY: unit-test unit-build

unit-build: $(UNIT_TESTS)

# Runs every test binary, then fails if any failed.
unit-test: $(UNIT_TESTS)
	@failed=""; \
	for t in $(UNIT_TESTS); do \
		echo "== $$t"; \
		$$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "unit tests FAILED:$$failed"; exit 1; fi; \
	echo "unit tests: all passed"

# One generic rule: test source + the sources named in UNIT_SRCS_test_<name>.
.SECONDEXPANSION:
$(BUILD)/unit/test_%: tests/unit/test_%.c $$(UNIT_SRCS_test_$$*) $$(UNIT_HDRS) $(UNIT_MK)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_EXTRA_CFLAGS) $(UNIT_FLAGS_test_$*) -o $@ $< $(UNIT_SRCS_test_$*) $(UNIT_LDLIBS)

.DEFAULT_GOAL := $(UNIT_SAVED_DEFAULT_GOAL)
