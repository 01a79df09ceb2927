# hv-efi-loader: the UEFI application (gnu-efi) that embeds and starts the
# monitor, and the disk images that carry it.  Included by the top-level
# Makefile, which defines BUILD, CC, LD and the rules for $(BUILD)/hv.elf and
# $(BUILD)/guest.elf.
#
#   $(BUILD)/BOOTX64.EFI   the loader, monitor and guest embedded
#   $(BUILD)/efi/BOOTX64.so  the same before PE conversion, with symbols (for gdb)
#   $(BUILD)/esp.img       FAT32 EFI System Partition image: EFI/BOOT/BOOTX64.EFI, EFI/BOOT/CMDLINE.TXT
#   $(BUILD)/usb.img       GPT disk: one EFI System Partition holding esp.img (dd it to a USB stick)

EFI_DIR := $(BUILD)/efi
EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
EFI_CRT0 := $(EFI_LIB)/crt0-efi-x86_64.o
EFI_LDS := $(EFI_LIB)/elf_x86_64_efi.lds
OBJCOPY ?= objcopy
# Not every user has /usr/sbin on PATH.
MKFS_FAT := $(or $(shell command -v mkfs.fat 2>/dev/null),/usr/sbin/mkfs.fat)
SGDISK := $(or $(shell command -v sgdisk 2>/dev/null),/usr/sbin/sgdisk)

# gnu-efi: position-independent, MS ABI for firmware calls, UTF-16 L"" strings.
EFI_CFLAGS := -std=c11 -O2 -g -ffreestanding -fno-stack-protector -fpic -fshort-wchar -mno-red-zone \
	-fno-strict-aliasing -maccumulate-outgoing-args -DEFI_FUNCTION_WRAPPER -DGNU_EFI_USE_MS_ABI \
	-I$(EFI_INC) -I$(EFI_INC)/x86_64 -I$(EFI_INC)/protocol -Ivmm/include -Iarch/include \
	-Wall -Wextra -Werror -MMD -MP
EFI_LDFLAGS := -nostdlib -znocombreloc -T $(EFI_LDS) -shared -Bsymbolic -L$(EFI_LIB)
# The PE sections an EFI application needs (gnu-efi's layout).
EFI_PE_SECTIONS := .text .sdata .data .rodata .dynamic .dynsym .rel .rela .rel.* .rela.* .reloc

EFI_C_SRCS := $(wildcard boot/efi/*.c)
# The monitor's own pure code, built once more for the loader so both take the same decisions:
# the command-line parser (efi_wait=, serial=, and the problems shown before the firmware is left),
# the IA32_FEATURE_CONTROL verdict and hypervisor names, the check of the monitor's relocations
# (vmm/include/vmm/elf_rela.h), and their small libc.
EFI_SHARED_SRCS := vmm/platform/cmdline.c vmm/platform/vmx_support.c vmm/lib/elf_rela.c vmm/lib/format.c vmm/lib/string.c
EFI_SHARED_CFLAGS := -std=c11 -O2 -g -ffreestanding -fno-builtin -fno-stack-protector -fpic -mno-red-zone \
	-Ivmm/include -Iarch/include -Ivmm/include/libc -Wall -Wextra -Werror -MMD -MP
EFI_SHARED_OBJS := $(EFI_SHARED_SRCS:%.c=$(EFI_DIR)/shared/%.o)
EFI_OBJS := $(EFI_C_SRCS:boot/efi/%.c=$(EFI_DIR)/%.o) $(EFI_DIR)/images.o $(EFI_SHARED_OBJS)

# FAT32 needs at least 65525 clusters: 64 MiB with 512-byte clusters is comfortably above.
ESP_SIZE_MIB := 64
SECTOR_SIZE := 512
# The partition starts at 1 MiB (sector 2048), the usual alignment; 1 MiB spare at the end holds the backup GPT.
USB_ALIGN_SECTORS := 2048
USB_ESP_START_SECTOR := 2048
USB_TAIL_SECTORS := 2048
GPT_TYPE_EFI_SYSTEM := ef00
ESP_LABEL := HV-ESP

EFI_IMAGES := $(BUILD)/BOOTX64.EFI $(BUILD)/esp.img $(BUILD)/usb.img

$(EFI_DIR)/%.o: boot/efi/%.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -c $< -o $@

# gnu-efi's libefi defines memset and memcpy in the same member as InitializeLib: the shared
# libc's symbols are made weak, so libefi's copies win and the others still link.
$(EFI_DIR)/shared/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_SHARED_CFLAGS) -c $< -o $@
	$(OBJCOPY) --weaken $@

# The embedded images, without debug information (build/hv.elf keeps it for gdb).
$(EFI_DIR)/%.stripped.elf: $(BUILD)/%.elf
	@mkdir -p $(dir $@)
	$(OBJCOPY) --strip-debug $< $@

# Rebuilt whenever the monitor or the guest changes.
$(EFI_DIR)/images.o: boot/efi/images.S $(EFI_DIR)/hv.stripped.elf $(EFI_DIR)/guest.stripped.elf
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -DHV_MONITOR_ELF='"$(EFI_DIR)/hv.stripped.elf"' \
		-DHV_GUEST_ELF='"$(EFI_DIR)/guest.stripped.elf"' -c $< -o $@

$(EFI_DIR)/BOOTX64.so: $(EFI_OBJS) $(EFI_CRT0) $(EFI_LDS)
	$(LD) $(EFI_LDFLAGS) $(EFI_CRT0) $(EFI_OBJS) -o $@ -lefi -lgnuefi

$(BUILD)/BOOTX64.EFI: $(EFI_DIR)/BOOTX64.so
	$(OBJCOPY) $(foreach s,$(EFI_PE_SECTIONS),-j $(s)) --target efi-app-x86_64 --subsystem=10 $< $@

$(BUILD)/esp.img: $(BUILD)/BOOTX64.EFI boot/efi/CMDLINE.TXT
	@command -v mcopy >/dev/null || { echo "efi.mk: mtools is not installed: run 'make deps'" >&2; exit 1; }
	@test -x $(MKFS_FAT) || { echo "efi.mk: mkfs.fat (dosfstools) is not installed: run 'make deps'" >&2; exit 1; }
	rm -f $@.tmp
	truncate -s $(ESP_SIZE_MIB)M $@.tmp
	$(MKFS_FAT) -F 32 -n $(ESP_LABEL) $@.tmp >/dev/null
	mmd -i $@.tmp ::/EFI ::/EFI/BOOT
	mcopy -i $@.tmp $(BUILD)/BOOTX64.EFI ::/EFI/BOOT/BOOTX64.EFI
	mcopy -i $@.tmp boot/efi/CMDLINE.TXT ::/EFI/BOOT/CMDLINE.TXT
	mv $@.tmp $@

$(BUILD)/usb.img: $(BUILD)/esp.img
	@test -x $(SGDISK) || { echo "efi.mk: sgdisk is not installed (Debian package gdisk): run 'make deps'" >&2; exit 1; }
	rm -f $@.tmp
	esp_sectors=$$(( $$(stat -c %s $<) / $(SECTOR_SIZE) )); \
	truncate -s $$(( ($(USB_ESP_START_SECTOR) + esp_sectors + $(USB_TAIL_SECTORS)) * $(SECTOR_SIZE) )) $@.tmp && \
	$(SGDISK) --clear --set-alignment=$(USB_ALIGN_SECTORS) \
		--new=1:$(USB_ESP_START_SECTOR):$$(( $(USB_ESP_START_SECTOR) + esp_sectors - 1 )) \
		--typecode=1:$(GPT_TYPE_EFI_SYSTEM) --change-name=1:"EFI System Partition" $@.tmp >/dev/null
	dd if=$< of=$@.tmp bs=1M seek=$$(( $(USB_ESP_START_SECTOR) * $(SECTOR_SIZE) )) oflag=seek_bytes \
		conv=notrunc,sparse status=none
	mv $@.tmp $@

-include $(EFI_OBJS:.o=.d)
