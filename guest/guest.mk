# The guest kernel (guest/): freestanding, linked at guest-physical 1 MiB.
GUEST_CFLAGS := $(FREESTANDING_CFLAGS) -Iguest/include -Iarch/include -Ivmm/include/libc
GUEST_C_SRCS := $(wildcard guest/*.c)
GUEST_ASM_SRCS := $(wildcard guest/*.asm)
GUEST_OBJS := $(GUEST_C_SRCS:%.c=$(BUILD)/%.o) $(GUEST_ASM_SRCS:%.asm=$(BUILD)/%.asm.o)

$(BUILD)/guest/%.o: guest/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest.elf: $(GUEST_OBJS) guest/guest.ld
	$(LD) $(HV_LDFLAGS) -T guest/guest.ld -o $@ $(GUEST_OBJS)

-include $(GUEST_OBJS:.o=.d)
