/*
 * The PC's pair of 8259A programmable interrupt controllers (8259A datasheet), master at ports
 * 0x20-0x21 with the slave cascaded on its IR2 at 0xA0-0xA1, and the PIIX edge/level control
 * registers (ELCR) at 0x4D0-0x4D1 (82371AB PIIX4 datasheet 12.1.x ELCR1/ELCR2).
 *
 * Modelled: ICW1-ICW4 (8086 mode; single or cascaded; LTIM), OCW1 (IMR), OCW2 (non-specific and
 * specific EOI, the rotations, set priority), OCW3 (IRR/ISR read, poll); fully nested priority with
 * rotation, auto-EOI, the cascade on IR2, spurious IRQ7/IRQ15 when a request goes away before the
 * acknowledge.  Not modelled: special mask mode and special fully nested mode (stored, no effect),
 * buffered mode, 8080 mode.
 *
 * Devices call pic_set_irq (a line's level, 0..15); the monitor asks pic_pending_vector ("does the
 * PIC drive INTR, with which vector") and pic_acknowledge (the INTA cycle).  Pure state and rules:
 * unit-tested on the host (tests/unit/test_pic8259.c).  Not yet registered in the port table: the
 * interrupt it would raise has no path into the guest yet (see docs/architecture.md).
 * The caller serialises access (the VM's lock when several vCPUs share it).
 */
#ifndef VMM_PIC8259_H
#define VMM_PIC8259_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/spinlock.h"

#define PIC_MASTER_CMD   0x20
#define PIC_MASTER_DATA  0x21
#define PIC_SLAVE_CMD    0xa0
#define PIC_SLAVE_DATA   0xa1
#define PIC_ELCR_MASTER  0x4d0
#define PIC_ELCR_SLAVE   0x4d1
#define PIC_IRQS         16
#define PIC_IRQS_PER_CHIP 8
#define PIC_CASCADE_IRQ  2  /* the master's IR2 is the slave's INT */
#define PIC_SPURIOUS_IR  7  /* the IR level a chip answers when the request vanished before INTA */

/* One 8259A. */
struct pic_chip {
	uint8_t irr, isr, imr;
	uint8_t lines;        /* the IR inputs' current levels (for edge detection) */
	uint8_t elcr;         /* level-triggered inputs (ELCR); LTIM makes them all level */
	uint8_t vector_base;  /* ICW2 T7-T3 */
	uint8_t icw3;
	uint8_t init_step;    /* 0: operational, else the ICW expected next (2, 3, 4) */
	bool need_icw4, single, ltim;
	bool auto_eoi, rotate_on_aeoi, sfnm, special_mask;
	bool read_isr;        /* OCW3 RR/RIS: an even-port read gives the ISR, else the IRR */
	bool poll;            /* OCW3 P: the next even-port read is a poll */
	uint8_t lowest_prio;  /* the IR level of lowest priority (7 until rotated) */
};

/* One VM's PIC pair (would be a device of struct vm, vmm/vmm.h). */
struct pic8259 {
	struct pic_chip chip[2]; /* 0: master, 1: slave */
	struct spinlock lock;
};

void pic_reset(struct pic8259 *p);
uint8_t pic_read(struct pic8259 *p, uint16_t port);
void pic_write(struct pic8259 *p, uint16_t port, uint8_t value);
/* A device's interrupt line `irq` (0..15) goes to `level`. */
void pic_set_irq(struct pic8259 *p, unsigned irq, bool level);
/* The vector the PIC would deliver now (it drives INTR), or -1. */
int pic_pending_vector(const struct pic8259 *p);
/* The INTA cycle: the vector delivered (a spurious IR7 vector when nothing is pending); ISR updated. */
uint8_t pic_acknowledge(struct pic8259 *p);

#endif
