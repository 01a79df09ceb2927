/*
 * The 8254 programmable interval timer as PCs wire it (Intel 8254 datasheet; the PC/AT's port 0x61):
 * channel 2 is gated by port 0x61 bit 0 and its output is read back in bit 5, so that software can
 * time an interval without an interrupt.
 */
#ifndef ARCH_PIT_H
#define ARCH_PIT_H

#define PIT_HZ              1193182u /* the input clock: 14.31818 MHz / 12 */
#define PIT_PORT_CHANNEL2   0x42
#define PIT_PORT_COMMAND    0x43
/* Command byte: channel 2 (bits 7:6 = 10), lobyte/hibyte (5:4 = 11), mode 0 "interrupt on terminal count" (3:1 = 000), binary. */
#define PIT_CMD_CHANNEL2    (2u << 6)
#define PIT_CMD_LOHI        (3u << 4)
#define PIT_CMD_MODE0       (0u << 1)
#define PIT_COUNT_MAX       0xffffu

/* The PC/AT system control port B. */
#define PC_PORT_B               0x61
#define PC_PORT_B_GATE2         (1u << 0) /* channel 2 counts while 1 */
#define PC_PORT_B_SPEAKER       (1u << 1) /* channel 2's output drives the speaker while 1 */
#define PC_PORT_B_OUT2          (1u << 5) /* read: channel 2's output */

#endif
