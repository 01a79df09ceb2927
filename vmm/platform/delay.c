/* TSC-based delays on the physical machine (see vmm/include/vmm/delay.h). */
#include <arch/cpuid.h>
#include <arch/io.h>
#include <arch/msr.h>
#include <arch/pit.h>
#include "vmm/delay.h"
#include "vmm/log.h"

#define CALIBRATION_MS    10u
#define MS_PER_S          1000u
#define US_PER_S          1000000u
#define HZ_PER_MHZ        1000000u
/* Port reads before the PIT is declared absent: far more than 10 ms on any CPU (a port read costs >= 100 ns). */
#define PIT_POLL_LIMIT    (1u << 24)
/*
 * Without a PIT or CPUID's word: assume a TSC faster than any shipped so far, so that every delay
 * lasts at least as long as asked (too long is harmless in the start-up protocol, too short is not).
 */
#define TSC_HZ_ASSUMED_MAX (10000ull * HZ_PER_MHZ)

/* The machine's TSC frequency: written once by delay_calibrate on the bootstrap processor. */
static uint64_t tsc_hz = TSC_HZ_ASSUMED_MAX;

/* TSC cycles in CALIBRATION_MS of the 8254's channel 2 (mode 0), or 0 when its output never rises. */
static uint64_t measure_against_pit(void)
{
	const uint32_t count = PIT_HZ / (MS_PER_S / CALIBRATION_MS);
	const uint8_t port_b = inb(PC_PORT_B);

	/* Gate off and speaker off while programming; mode 0 drives OUT2 low until the count runs out. */
	outb(PC_PORT_B, (uint8_t)(port_b & ~(PC_PORT_B_GATE2 | PC_PORT_B_SPEAKER)));
	outb(PIT_PORT_COMMAND, PIT_CMD_CHANNEL2 | PIT_CMD_LOHI | PIT_CMD_MODE0);
	outb(PIT_PORT_CHANNEL2, (uint8_t)(count & 0xff));
	outb(PIT_PORT_CHANNEL2, (uint8_t)(count >> 8));
	const uint64_t start = rdtsc();
	outb(PC_PORT_B, (uint8_t)((port_b & ~PC_PORT_B_SPEAKER) | PC_PORT_B_GATE2));
	uint32_t polls = 0;
	while (!(inb(PC_PORT_B) & PC_PORT_B_OUT2))
		if (++polls == PIT_POLL_LIMIT)
			break;
	const uint64_t end = rdtsc();
	outb(PC_PORT_B, port_b);
	/* No polls at all: OUT2 was high at once (a port that reads all ones: no PIT). */
	if (polls == 0 || polls == PIT_POLL_LIMIT)
		return 0;
	return end - start;
}

void delay_calibrate(void)
{
	const uint64_t cycles = measure_against_pit();
	if (cycles) {
		tsc_hz = cycles * (MS_PER_S / CALIBRATION_MS);
		log_info("TSC: %llu kHz, measured against the 8254 PIT", (unsigned long long)(tsc_hz / MS_PER_S));
		return;
	}
	const uint32_t max_leaf = cpuid(CPUID_LEAF_VENDOR, 0).eax;
	if (max_leaf >= CPUID_LEAF_TSC) {
		/* SDM Vol. 2A CPUID leaf 15h: TSC = crystal (ECX Hz) * EBX / EAX. */
		struct cpuid_regs r = cpuid(CPUID_LEAF_TSC, 0);
		if (r.eax && r.ebx && r.ecx) {
			tsc_hz = (uint64_t)r.ecx * r.ebx / r.eax;
			log_info("TSC: %llu kHz, from CPUID leaf 15h (the 8254 PIT does not count)",
				 (unsigned long long)(tsc_hz / MS_PER_S));
			return;
		}
	}
	if (max_leaf >= CPUID_LEAF_FREQUENCY && (cpuid(CPUID_LEAF_FREQUENCY, 0).eax & 0xffff)) {
		tsc_hz = (uint64_t)(cpuid(CPUID_LEAF_FREQUENCY, 0).eax & 0xffff) * HZ_PER_MHZ;
		log_info("TSC: about %llu MHz, the base frequency of CPUID leaf 16h (the 8254 PIT does not count)",
			 (unsigned long long)(tsc_hz / HZ_PER_MHZ));
		return;
	}
	log_warn("TSC: frequency unknown (no counting 8254 PIT, no CPUID leaf 15h/16h): delays assume %llu MHz "
		 "and last longer than asked", (unsigned long long)(TSC_HZ_ASSUMED_MAX / HZ_PER_MHZ));
}

uint64_t delay_tsc_hz(void) { return tsc_hz; }

uint64_t delay_deadline(uint64_t now, uint64_t us)
{
	return now + tsc_hz / US_PER_S * us + tsc_hz % US_PER_S * us / US_PER_S;
}

void delay_us(uint64_t us)
{
	const uint64_t end = delay_deadline(rdtsc(), us);
	while (rdtsc() < end)
		__asm__ volatile("pause");
}
