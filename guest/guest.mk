# The guest kernel (guest/) and its user programs (guest/user/).
#
#   build/guest.elf          the kernel: ELF64, linked and loaded at guest-physical 1 MiB,
#                            32-bit entry, Multiboot2 header (GRUB can boot it directly)
#   build/guest-user/*.elf   the user programs (static ELF64 at USER_TEXT), embedded
#                            stripped into the kernel by guest/user/programs.asm
#
# The kernel uses the monitor's freestanding string and format code (vmm/lib/),
# compiled again here so the guest does not depend on the monitor's objects.

GUEST_INCLUDES := -Iguest/include -Iarch/include -Ivmm/include -Ivmm/include/libc
GUEST_CFLAGS := $(FREESTANDING_CFLAGS) $(GUEST_INCLUDES)
GUEST_LIB_SRCS := vmm/lib/string.c vmm/lib/format.c
GUEST_C_SRCS := $(wildcard guest/*.c)
GUEST_ASM_SRCS := $(wildcard guest/*.asm)
GUEST_OBJS := $(GUEST_C_SRCS:%.c=$(BUILD)/%.o) $(GUEST_ASM_SRCS:%.asm=$(BUILD)/%.asm.o) \
	$(GUEST_LIB_SRCS:vmm/lib/%.c=$(BUILD)/guest-lib/%.o) $(BUILD)/guest-user/programs.asm.o

# User programs live above 2 GiB (guest/include/guest/abi.h), out of reach of
# -mcmodel=small absolute addressing: compile them position-independent and
# link them static at their fixed address.
GUEST_USER_PROGRAMS := $(shell sed -n 's/^PROGRAM[[:space:]]\{1,\}\([A-Za-z0-9_]\{1,\}\).*/\1/p' guest/user/programs.asm)
GUEST_USER_CFLAGS := $(FREESTANDING_CFLAGS) -fpie -Iguest/user/include $(GUEST_INCLUDES)
GUEST_USER_LIB_OBJS := $(BUILD)/guest-user/crt0.asm.o $(BUILD)/guest-user/ulib.o \
	$(GUEST_LIB_SRCS:vmm/lib/%.c=$(BUILD)/guest-user/lib/%.o)
GUEST_USER_ELFS := $(GUEST_USER_PROGRAMS:%=$(BUILD)/guest-user/%.elf)
GUEST_USER_EMBED := $(GUEST_USER_PROGRAMS:%=$(BUILD)/guest-user/embed/%.elf)
GUEST_USER_OBJS := $(GUEST_USER_LIB_OBJS) $(GUEST_USER_PROGRAMS:%=$(BUILD)/guest-user/%.o)

$(BUILD)/guest/%.o: guest/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest-lib/%.o: vmm/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest-user/%.o: guest/user/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_USER_CFLAGS) -c $< -o $@

$(BUILD)/guest-user/lib/%.o: vmm/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_USER_CFLAGS) -c $< -o $@

$(BUILD)/guest-user/%.asm.o: guest/user/%.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -F dwarf -w+all -w+error -MD $(@:.o=.d) -MP $< -o $@

$(BUILD)/guest-user/%.elf: $(BUILD)/guest-user/%.o $(GUEST_USER_LIB_OBJS) guest/user/user.ld
	$(LD) $(HV_LDFLAGS) -T guest/user/user.ld -o $@ $< $(GUEST_USER_LIB_OBJS)

$(BUILD)/guest-user/embed/%.elf: $(BUILD)/guest-user/%.elf
	@mkdir -p $(dir $@)
	objcopy --strip-all $< $@

# The embedding: incbin finds the stripped programs through -i.
$(BUILD)/guest-user/programs.asm.o: guest/user/programs.asm $(GUEST_USER_EMBED)
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -w+all -w+error -i $(BUILD)/guest-user/embed/ $< -o $@

$(BUILD)/guest.elf: $(GUEST_OBJS) guest/guest.ld
	$(LD) $(HV_LDFLAGS) -T guest/guest.ld -o $@ $(GUEST_OBJS)

.PHONY: guest
guest: $(BUILD)/guest.elf

-include $(GUEST_OBJS:.o=.d) $(GUEST_USER_OBJS:.o=.d)

# Keep the user programs' objects and ELF files (make would delete them as intermediates).
.SECONDARY: $(GUEST_USER_OBJS) $(GUEST_USER_ELFS) $(GUEST_USER_EMBED)
