# Host fuzzing with libFuzzer (clang).  Included by the top-level Makefile.
#   make fuzz         run every harness for FUZZ_TIME seconds, from its seed corpus
#   make fuzz-smoke   run every harness for FUZZ_SMOKE_RUNS executions (part of make test)
#   make fuzz-build   build the harnesses only
# Harnesses: tests/fuzz/fuzz_<name>.c, built with the monitor sources listed in
# FUZZ_SRCS_<name> (as tests/unit/unit.mk does for the unit tests), seeds in
# tests/fuzz/corpus/<name>/.  A run's new inputs go to $(BUILD)/fuzz/corpus/<name>/,
# crashes to $(BUILD)/fuzz/artifacts/.

FUZZ_CC         ?= clang
FUZZ_TIME       ?= 60
FUZZ_SMOKE_RUNS ?= 20000
FUZZ_SANITIZERS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS     := -std=c11 -g -O1 -Wall -Wextra -Werror -fno-omit-frame-pointer $(FUZZ_SANITIZERS) \
	-Ivmm/include -Iarch/include -Itests/fuzz
FUZZ_DIR        := $(BUILD)/fuzz
FUZZ_MK         := $(lastword $(MAKEFILE_LIST))

FUZZ_NAMES := cmdline boot_mb2 boot_mb1 efi_cmdline efi_memmap elf gpt ept memmap pmm vmx_caps dtable_check mmio_decode vlapic pic8259 \
	exit_decode acpi mptable realmode_decode
FUZZ_SRCS_cmdline     := vmm/platform/cmdline.c vmm/lib/format.c
FUZZ_SRCS_boot_mb2    := vmm/loader/boot_mb2.c vmm/lib/format.c
FUZZ_SRCS_boot_mb1    := vmm/loader/boot_mb1.c vmm/loader/boot_mb2.c vmm/loader/elf.c vmm/lib/format.c
FUZZ_SRCS_efi_cmdline := boot/efi/cmdline.c
FUZZ_SRCS_efi_memmap  := boot/efi/memmap.c
FUZZ_SRCS_elf         := vmm/loader/elf.c
FUZZ_SRCS_gpt         := vmm/mm/guest/gpt.c
FUZZ_SRCS_ept         := vmm/mm/guest/ept.c vmm/mm/guest/ept_mtrr.c vmm/mm/guest/mtrr.c
FUZZ_SRCS_memmap      := vmm/mm/host/memmap.c
FUZZ_SRCS_pmm         := vmm/mm/host/pmm.c vmm/mm/host/memmap.c
FUZZ_SRCS_dtable_check := vmm/exit/dtable_check.c
FUZZ_SRCS_mmio_decode := vmm/dev/mmio_decode.c
FUZZ_SRCS_realmode_decode := vmm/dev/realmode_decode.c vmm/lib/format.c
FUZZ_SRCS_vlapic      := vmm/dev/vlapic.c
FUZZ_SRCS_pic8259     := vmm/dev/pic8259.c
FUZZ_SRCS_exit_decode := vmm/vmx/exit_decode.c vmm/exit/operand.c
FUZZ_SRCS_acpi        := vmm/platform/acpi.c vmm/lib/format.c
FUZZ_SRCS_mptable     := vmm/platform/mptable.c vmm/lib/format.c
FUZZ_SRCS_vmx_caps    := vmm/platform/vmx_caps.c vmm/platform/vmx_support.c vmm/lib/format.c
# The loader's files are #included by their harnesses, over the host stand-ins of gnu-efi
# (tests/efi_host/efi_host.h): not compiled apart.
FUZZ_LINK_efi_cmdline :=
FUZZ_LINK_efi_memmap  :=
FUZZ_FLAGS_efi_cmdline := -fshort-wchar -Itests/efi_host
FUZZ_FLAGS_efi_memmap  := -fshort-wchar -Itests/efi_host
FUZZ_FLAGS_exit_decode := -Ivmm/vmx # the VT-x backend's decoders

FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_HDRS  = $(wildcard vmm/include/vmm/*.h arch/include/arch/*.h tests/fuzz/*.h tests/efi_host/*.h)

.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build: $(FUZZ_BINS)

.SECONDEXPANSION:
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRCS_$$*) $$(FUZZ_HDRS) $(FUZZ_MK)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_FLAGS_$*) -o $@ $< \
		$(if $(filter undefined,$(origin FUZZ_LINK_$*)),$(FUZZ_SRCS_$*),$(FUZZ_LINK_$*))

# Runs every harness with the libFuzzer options in $(1); prints each one's figures.
# New inputs go to $(FUZZ_DIR)/corpus/<name>/ (never to the seeds), crashes to $(FUZZ_DIR)/artifacts/.
define fuzz_run_all
	@mkdir -p $(FUZZ_DIR)/artifacts; failed=""; \
	for n in $(FUZZ_NAMES); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$n; \
		echo "== fuzz_$$n"; \
		$(FUZZ_DIR)/fuzz_$$n $(1) -artifact_prefix=$(FUZZ_DIR)/artifacts/$$n- -print_final_stats=1 \
			$(FUZZ_DIR)/corpus/$$n tests/fuzz/corpus/$$n > $(FUZZ_DIR)/$$n.log 2>&1 || failed="$$failed $$n"; \
		grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec)|ERROR|SUMMARY|fuzz property|runtime error' \
			$(FUZZ_DIR)/$$n.log; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzzing FAILED:$$failed (logs in $(FUZZ_DIR)/<name>.log, inputs in $(FUZZ_DIR)/artifacts/)"; exit 1; fi
endef

fuzz-smoke: $(FUZZ_BINS)
	$(call fuzz_run_all,-runs=$(FUZZ_SMOKE_RUNS) -seed=1)
	@echo "fuzz-smoke: every harness passed $(FUZZ_SMOKE_RUNS) runs"

fuzz: $(FUZZ_BINS)
	$(call fuzz_run_all,-max_total_time=$(FUZZ_TIME))
	@echo "fuzz: every harness ran for $(FUZZ_TIME) s"
