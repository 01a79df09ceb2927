#include <stdint.h>
#include <string.h>
#include <arch/cpuid.h>
#include <arch/io.h>
#include "vmm/log.h"
#include "vmm/power.h"
#include "vmm/serial.h"
#include "vmm/status.h"

#define QEMU_ISA_DEBUG_EXIT_PORT 0xf4   /* -device isa-debug-exit,iobase=0xf4 */
#define BOCHS_E9_HACK_PORT       0xe9   /* port_e9_hack: reads back 0xe9 */
#define BOCHS_SHUTDOWN_PORT      0x8900 /* "Shutdown" written here ends Bochs */
#define HV_STATUS_MASK           0x7f   /* isa-debug-exit carries 7 bits */

static int running_under_qemu(void)
{
	struct cpuid_regs r = cpuid(CPUID_LEAF_FEATURES, 0);
	char sig[13];
	if (!(r.ecx & CPUID_1_ECX_HYPERVISOR))
		return 0;
	r = cpuid(CPUID_LEAF_HYPERVISOR, 0);
	memcpy(sig + 0, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = 0;
	return strcmp(sig, "TCGTCGTCGTCG") == 0 || strncmp(sig, "KVMKVMKVM", 9) == 0;
}

static int running_under_bochs(void)
{
	return inb(BOCHS_E9_HACK_PORT) == BOCHS_E9_HACK_PORT;
}

void hv_power_off(int status)
{
	static const char shutdown[] = "Shutdown";

	status &= HV_STATUS_MASK;
	hv_print("HV-EXIT status=%d (%s)\n", status, hv_status_text(status));
	serial_flush();
	if (running_under_qemu())
		outb(QEMU_ISA_DEBUG_EXIT_PORT, (uint8_t)status);
	if (running_under_bochs()) {
		if (status == HV_OK)
			__asm__ volatile("xchgw %bx, %bx"); /* magic_break: Bochs exits with 0 */
		for (const char *c = shutdown; *c; c++)
			outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*c);
	}
	hv_print("[hv] halted: the monitor has finished; power off or reset the machine\n");
	cpu_halt_forever();
}
