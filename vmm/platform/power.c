#include <stdint.h>
#include <string.h>
#include <arch/cpuid.h>
#include <arch/io.h>
#include "vmm/format.h"
#include "vmm/log.h"
#include "vmm/power.h"
#include "vmm/serial.h"
#include "vmm/status.h"

#define QEMU_ISA_DEBUG_EXIT_PORT 0xf4   /* -device isa-debug-exit,iobase=0xf4 */
#define BOCHS_E9_HACK_PORT       0xe9   /* port_e9_hack: reads back 0xe9 */
#define BOCHS_SHUTDOWN_PORT      0x8900 /* "Shutdown" written here ends Bochs */
#define HV_STATUS_MASK           0x7f   /* isa-debug-exit carries 7 bits */
#define E9_LINE_MAX              128    /* "HV-EXIT status=N (text)" on port 0xe9 */

static int running_under_qemu(void)
{
	char sig[CPUID_HV_SIGNATURE_LEN + 1];
	if (!cpuid_hypervisor_signature(sig))
		return 0;
	return strcmp(sig, CPUID_HV_SIGNATURE_QEMU_TCG) == 0 ||
	       strncmp(sig, CPUID_HV_SIGNATURE_KVM, sizeof(CPUID_HV_SIGNATURE_KVM) - 1) == 0;
}

static int running_under_bochs(void)
{
	return inb(BOCHS_E9_HACK_PORT) == BOCHS_E9_HACK_PORT;
}

/*
 * The verdict again on Bochs's port 0xe9 (it reaches the emulator's own output, not the
 * serial log).  The guest cannot write this port (every guest port access exits and is
 * emulated, vmm/exit/io.c), so scripts/run-bochs.sh trusts a serial verdict only when this
 * copy agrees.
 */
static void bochs_e9_print(const char *s)
{
	for (; *s; s++)
		outb(BOCHS_E9_HACK_PORT, (uint8_t)*s);
}

void hv_power_off(int status)
{
	static const char shutdown[] = "Shutdown";

	status &= HV_STATUS_MASK;
	/* The verdict stays on screen: green for success, red for anything else. */
	hv_print_colour(status == HV_OK ? FBCON_GOOD : FBCON_ERROR, "HV-EXIT status=%d (%s)\n", status,
			hv_status_text(status));
	serial_flush();
	if (running_under_qemu())
		outb(QEMU_ISA_DEBUG_EXIT_PORT, (uint8_t)status);
	if (running_under_bochs()) {
		char line[E9_LINE_MAX];
		hv_snprintf(line, sizeof(line), "HV-EXIT status=%d (%s)\n", status, hv_status_text(status));
		bochs_e9_print(line);
		/* Always the Shutdown port, never the magic breakpoint: a guest can execute XCHG BX,BX too. */
		for (const char *c = shutdown; *c; c++)
			outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*c);
	}
	hv_print("[hv] halted: the monitor has finished; power off or reset the machine\n");
	cpu_halt_forever();
}
