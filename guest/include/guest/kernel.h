/* The guest kernel: boot configuration, console, panic. */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)   (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))

/* Multiboot2 loader handoff (Multiboot2 specification 1.0, 3.3 "I386 machine state"). */
#include "vmm/multiboot2.h"

#define CMDLINE_MAX   256
#define MEMMAP_MAX    32
#define TEST_NAME_MAX 32
#define ACPI_RSDP_COPY_MAX 64 /* an ACPI 2.0+ RSDP is 36 bytes */

struct mem_region {
	uint64_t base, length;
};

/* What the kernel learnt from the Multiboot2 information and its command line. */
struct boot_config {
	char cmdline[CMDLINE_MAX];
	bool mem_shadow;            /* mem=shadow (else mem=ept) */
	bool dt_exits;              /* LGDT/LIDT/SGDT/SIDT/LLDT/LTR/SLDT/STR exit (not: no_dt_exits) */
	bool apicv;                 /* apicv: in x2APIC mode, TPR/EOI/SELF IPI writes and most reads do not exit */
	bool apicv_tpr;             /* apicv_tpr: in x2APIC mode, only the TPR (MSR and CR8) does not exit */
	bool bench;                 /* bench=1 (every benchmark) or bench=smp */
	bool bench_smp_only;        /* bench=smp: only the benchmarks of several CPUs */
	unsigned bench_budget_log2; /* budget=N: cycle budget 2^N per benchmark */
	char test[TEST_NAME_MAX];   /* test=NAME ("" for the suite) */
	uint64_t guest_mem;         /* end of the highest available RAM region */
	struct mem_region ram[MEMMAP_MAX]; /* available regions, as the loader reported them */
	unsigned nr_ram;
	uint64_t info_base, info_size;     /* where the Multiboot2 information was (guest-physical) */
	unsigned acpi_tag;                 /* MB2_TAG_ACPI_NEW (preferred) or MB2_TAG_ACPI_OLD; 0: none */
	uint32_t acpi_rsdp_len;            /* bytes of the tag's RSDP copy (may exceed what is kept) */
	uint8_t acpi_rsdp[ACPI_RSDP_COPY_MAX]; /* the RSDP, as the loader copied it into the tag */
	unsigned cpus_max;                 /* cpus=N: start at most N CPUs (0: every CPU of the MADT) */
};

extern struct boot_config boot_config;
extern bool hv_present; /* the monitor is there (CPUID.40000000h signature) */
extern bool qemu_tcg;   /* no monitor, and QEMU's TCG emulates the machine (signature TCGTCGTCGTCG) */
extern bool nx_enabled; /* EFER.NXE set: PTE_NX is honoured */

/* Linker-script symbols (guest/guest.ld). */
extern char guest_image_start[], guest_image_end[], guest_bss_start[], guest_bss_end[];

/* boot.c */
void multiboot2_parse(uint32_t magic, uint32_t info);

/* console.c: COM1, polled (the monitor's virtual 16550, or a real one). */
void console_init(void);
void console_putc(char c);
void console_write(const char *s, size_t n);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* whole, under the console lock */
/* The console lock, recursive on one CPU: hold it to keep several kprintf calls together. */
void console_lock(void);
void console_unlock(void);

/* Power off: HC_EXIT under the monitor, else QEMU's isa-debug-exit port. */
__attribute__((noreturn)) void kernel_exit(int status);
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

#endif
