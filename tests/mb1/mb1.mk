# A tiny Multiboot1 kernel of our own, to test the monitor's Multiboot1 loader (tests/boot/test_mb1.py):
#   build/mb1.elf   ELF32 with a Multiboot1 header (the loader reads the ELF program headers)
#   build/mb1.bin   the same kernel as a flat binary whose header has the address fields (flag 16,
#                   the "a.out kludge", Multiboot 0.6.96 3.1.3)
# 32-bit code; it includes vmm/include/vmm/multiboot1.h and hypercall.h (the exit hypercall's number).

MB1_CFLAGS := -m32 -std=c11 -O2 -ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie -mgeneral-regs-only \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none -Wall -Wextra -Werror \
	-MMD -MP -Ivmm/include
MB1_LDFLAGS := -m elf_i386 -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments

$(BUILD)/mb1/%.o: tests/mb1/%.c
	@mkdir -p $(dir $@)
	$(CC) $(MB1_CFLAGS) -c $< -o $@

$(BUILD)/mb1/entry-elf.asm.o: tests/mb1/entry.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf32 -w+all -w+error $< -o $@

$(BUILD)/mb1/entry-aout.asm.o: tests/mb1/entry.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf32 -w+all -w+error -DAOUT_KLUDGE $< -o $@

$(BUILD)/mb1/mb1-elf.o: CPPFLAGS_MB1_FORM = -DMB1_FORM='"elf32"'
$(BUILD)/mb1/mb1-aout.o: CPPFLAGS_MB1_FORM = -DMB1_FORM='"aout"'
$(BUILD)/mb1/mb1-%.o: tests/mb1/mb1.c
	@mkdir -p $(dir $@)
	$(CC) $(MB1_CFLAGS) $(CPPFLAGS_MB1_FORM) -MF $(@:.o=.d) -c $< -o $@

$(BUILD)/mb1.elf: $(BUILD)/mb1/entry-elf.asm.o $(BUILD)/mb1/mb1-elf.o tests/mb1/mb1.ld
	$(LD) $(MB1_LDFLAGS) -T tests/mb1/mb1.ld -o $@ $(filter %.o,$^)

$(BUILD)/mb1-aout.elf: $(BUILD)/mb1/entry-aout.asm.o $(BUILD)/mb1/mb1-aout.o tests/mb1/mb1.ld
	$(LD) $(MB1_LDFLAGS) -T tests/mb1/mb1.ld -o $@ $(filter %.o,$^)

$(BUILD)/mb1.bin: $(BUILD)/mb1-aout.elf
	objcopy -O binary $< $@

mb1-images: $(BUILD)/mb1.elf $(BUILD)/mb1.bin
.PHONY: mb1-images

# Dependency files are made by the compiler, never by a rule (the pattern above would match them).
$(BUILD)/mb1/%.d: ;
-include $(BUILD)/mb1/mb1-elf.d $(BUILD)/mb1/mb1-aout.d
