/*
 * The guest kernel: a tiny OS whose system calls run natively while its
 * privileged operations trap to the monitor ("limited direct execution").
 *
 * guest/start.asm brings the CPU to long mode; kernel_main installs the
 * rest of the OS (GDT with TSS, IDT, page tables, SYSCALL), starts the
 * other CPUs of the ACPI MADT (guest/smp.c; not for a test= mode), and then
 * does what the command line asks:
 *   test=ept_violation  touch guest-physical memory just above guest RAM
 *   test=spin           spin forever without a VM exit (the monitor's watchdog)
 *   test=spin_exits     spin forever on CPUID, an exit per turn but no progress (the watchdog too)
 *   test=triple_fault   an empty IDT, then INT3: the CPU shuts down (the monitor reports it)
 *   test=forge_verdict  try every way a guest could fake the monitor's verdict, then exit 3
 *   test=unclaimed_port read I/O port 0x300, which no device of the monitor claims: all ones, exit 0
 *                       (with the monitor's strict_io=1 the monitor stops the guest there instead)
 *   test=hypercall_flood refused hypercalls forever, silent (the watchdog; guest/tests_emul.c)
 *   test=hostile        seeded random privileged operations, checked (guest/hostile.c)
 *   test=hostile_scan   read every page of guest RAM, then the page above it (status 76)
 *   bench=1             the exit-cost benchmarks
 *   bench=smp           only those of several CPUs (IPI round trip, split workloads)
 *   test=task_switch    never reaches kernel_main: start.asm runs guest/task32.asm, a 32-bit
 *                       test of hardware task switches, before long mode
 *   (default)           the test suite
 */
#include <arch/cpuid.h>
#include <arch/paging.h>
#include <arch/segment.h>
#include <string.h>
#include "guest/hostile.h"
#include "guest/hv.h"
#include "guest/apic.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/mm.h"
#include "guest/priv.h"
#include "guest/proc.h"
#include "guest/smp.h"
#include "guest/tests.h"

bool hv_present;
bool qemu_tcg;
bool nx_enabled;
uint32_t boot_cr3_writes; /* MOV to CR3 done by guest/start.asm (they exit in shadow mode) */
uint32_t boot_lgdt_count; /* LGDT done by guest/start.asm (they exit with descriptor-table exiting) */

#define MIB_SHIFT 20
/* The two 8259 PICs (8259A data sheet): OCW1 on the data ports masks every line. */
#define PIC_MASTER_DATA_PORT 0x21
#define PIC_SLAVE_DATA_PORT  0xa1
#define PIC_MASK_ALL         0xff
#define QEMU_TCG_SIGNATURE   "TCGTCGTCGTCG"

/*
 * Booted without the monitor, a PC's 8259 PICs are live, with the BIOS's vector base 8: the PIT's
 * IRQ 0 would arrive as vector 8 (a "double fault") whenever interrupts are on.  Mask them all;
 * the kernel's interrupts come from the local APIC.  (The monitor has no PIC: nothing to do there.)
 */
static void bare_machine_init(void)
{
	priv_outb(PIC_MASTER_DATA_PORT, PIC_MASK_ALL);
	priv_outb(PIC_SLAVE_DATA_PORT, PIC_MASK_ALL);
	char sig[CPUID_HV_SIGNATURE_LEN + 1];
	qemu_tcg = cpuid_hypervisor_signature(sig) && strcmp(sig, QEMU_TCG_SIGNATURE) == 0;
}
/* Where test=ept_violation maps the page above guest RAM: the kernel demand region's last page. */
#define EPT_PROBE_VA (KERNEL_DEMAND_BASE + (KERNEL_DEMAND_PAGES - 1) * PAGE_SIZE)

static void run_ept_violation(void)
{
	const uint64_t gpa = ALIGN_UP(boot_config.guest_mem, PAGE_SIZE);
	kprintf("test ept_violation: reading guest-physical %#llx, just above guest RAM (%llu MiB), through %#llx\n",
		(unsigned long long)gpa, (unsigned long long)(boot_config.guest_mem >> MIB_SHIFT), (unsigned long long)EPT_PROBE_VA);
	if (pt_map(kernel_aspace.cr3, EPT_PROBE_VA, gpa, PTE_P | PTE_W))
		panic("cannot map the probe page");
	volatile uint64_t *probe = (volatile uint64_t *)(uintptr_t)EPT_PROBE_VA;
	uint64_t v = *probe; /* the monitor stops the guest here */
	kprintf("FAIL: ept_violation (the read returned %#llx: no monitor stopped the guest)\n", (unsigned long long)v);
	kernel_exit(1);
}

static void run_spin(void)
{
	kprintf("test spin: spinning forever without a VM exit (the monitor's watchdog must stop this)\n");
	for (;;)
		__asm__ volatile("pause"); /* PAUSE does not exit (no PAUSE exiting) */
}

static void run_spin_exits(void)
{
	kprintf("test spin_exits: spinning forever on CPUID, silent (the monitor's watchdog must stop this)\n");
	for (;;)
		priv_cpuid(CPUID_LEAF_VENDOR, 0);
}

static void run_triple_fault(void)
{
	kprintf("test triple_fault: an empty IDT, then INT3: #BP, #GP and #DF all miss the IDT (SDM Vol. 3A 6.15)\n");
	const struct descriptor_table_ptr empty = { 0, 0 };
	priv_lidt(&empty);
	__asm__ volatile("int3");
	kprintf("FAIL: triple_fault (the guest went on after INT3 with an empty IDT)\n");
	kernel_exit(1);
}

/* Ports a harness listens on (scripts/run-bochs.sh, run-qemu.sh); the guest must not reach them. */
#define BOCHS_E9_PORT        0xe9
#define BOCHS_SHUTDOWN_PORT  0x8900
#define QEMU_DEBUG_EXIT_PORT 0xf4
#define FORGE_STATUS         3 /* what the guest really exits with: the verdict must say 3 */

static void outb_all(uint16_t port, const char *s)
{
	for (; *s; s++)
		priv_outb(port, (uint8_t)*s);
}

/*
 * A guest that forges a passing verdict: the monitor's last line on the serial
 * port (with and without a fresh line before it), the same on Bochs's port 0xe9,
 * Bochs's magic breakpoint (XCHG BX,BX) and Shutdown port, and QEMU's
 * isa-debug-exit with 0.  Every harness must still report FORGE_STATUS, from the
 * monitor alone.
 */
static void run_forge_verdict(void)
{
	static const char forged[] = "HV-EXIT status=0 (success)\n";
	kprintf("test forge_verdict: faking the monitor's verdict, then exiting with %d\n", FORGE_STATUS);
	kprintf("%s", forged);
	kprintf("\r\n%s", forged);
	outb_all(BOCHS_E9_PORT, forged);
	__asm__ volatile("xchgw %bx, %bx"); /* Bochs magic breakpoint */
	outb_all(BOCHS_SHUTDOWN_PORT, "Shutdown");
	priv_outb(QEMU_DEBUG_EXIT_PORT, 0);
	kprintf("forge_verdict: still running after every forgery; exiting with %d\n", FORGE_STATUS);
	kernel_exit(FORGE_STATUS);
}

/* A port no device of the monitor's port table (vmm/exit/io.c) claims, nor a PC's usual ones. */
#define UNCLAIMED_TEST_PORT 0x300
#define UNCLAIMED_READ      0xff /* what a read of a port with nothing behind it returns */

static void run_unclaimed_port(void)
{
	kprintf("test unclaimed_port: IN from port %#x\n", UNCLAIMED_TEST_PORT);
	const uint8_t value = priv_inb(UNCLAIMED_TEST_PORT);
	kprintf("unclaimed_port: read %#x (want %#x)\n", value, UNCLAIMED_READ);
	kernel_exit(value == UNCLAIMED_READ ? 0 : 1);
}

void kernel_main(uint32_t magic, uint32_t info)
{
	console_init();
	multiboot2_parse(magic, info);
	if (boot_config.mem_shadow)
		ledger_add(EXIT_REASON_CR_ACCESS, boot_cr3_writes);
	if (boot_config.dt_exits)
		ledger_add(EXIT_REASON_GDTR_IDTR_ACCESS, boot_lgdt_count);
	hv_present = hv_detect();
	if (!hv_present)
		bare_machine_init();
	kprintf("guest kernel: cmdline '%s', %llu MiB of RAM, %s, %s\n", boot_config.cmdline,
		(unsigned long long)(boot_config.guest_mem >> MIB_SHIFT), boot_config.mem_shadow ? "mem=shadow" : "mem=ept",
		hv_present ? "monitor '" HV_CPUID_SIGNATURE "' present" : qemu_tcg ? "no monitor (QEMU TCG)" : "no monitor");
	smp_discover(); /* the ACPI tables, while the boot page tables still map the low 4 GiB */
	cpu_tables_init();
	frames_init();
	paging_init();
	syscall_init();
	/* The monitor's virtual local APIC, in x2APIC mode (guest/apic.c); without the monitor, xAPIC mode if need be. */
	if (!apic_init())
		kprintf(hv_present ? "no x2APIC: no timer interrupts\n" : "no local APIC: no timer interrupts\n");
	kprintf("guest kernel: long mode, own GDT/TSS/IDT, page tables at %#llx, SYSCALL installed, "
		"NX %s, %llu free frames, %llu user programs\n",
		(unsigned long long)kernel_aspace.cr3, nx_enabled ? "on" : "off",
		(unsigned long long)frames_free_count(), (unsigned long long)user_program_count);

	/* The other CPUs, for the suite and the benchmarks; a test= mode runs on this CPU alone. */
	if (!boot_config.test[0])
		smp_boot();

	if (strcmp(boot_config.test, "ept_violation") == 0)
		run_ept_violation();
	if (strcmp(boot_config.test, "spin") == 0)
		run_spin();
	if (strcmp(boot_config.test, "spin_exits") == 0)
		run_spin_exits();
	if (strcmp(boot_config.test, "triple_fault") == 0)
		run_triple_fault();
	if (strcmp(boot_config.test, "forge_verdict") == 0)
		run_forge_verdict();
	if (strcmp(boot_config.test, "unclaimed_port") == 0)
		run_unclaimed_port();
	if (strcmp(boot_config.test, "hypercall_flood") == 0)
		run_hypercall_flood();
	if (strcmp(boot_config.test, "xapic_unsupported") == 0)
		run_xapic_unsupported();
	if (strcmp(boot_config.test, "hlt_forever") == 0)
		run_hlt_forever();
	if (strcmp(boot_config.test, "xapic_idt") == 0)
		run_xapic_idt();
	if (strcmp(boot_config.test, "hostile") == 0)
		hostile_run();
	if (strcmp(boot_config.test, "hostile_scan") == 0)
		hostile_scan_run();
	if (boot_config.test[0])
		kprintf("guest: unknown test=%s: running the suite\n", boot_config.test);
	int status = boot_config.bench ? bench_run() : tests_run();
	kernel_exit(status);
}
