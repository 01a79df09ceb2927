/* The 8259A pair (vmm/pic8259.h); the rules cite the 8259A datasheet. */
#include <stddef.h>
#include "vmm/pic8259.h"

#define ICW1_IC4   0x01u /* ICW4 needed */
#define ICW1_SNGL  0x02u /* single: no ICW3 */
#define ICW1_LTIM  0x08u /* level-triggered mode */
#define ICW1_INIT  0x10u /* A0=0 and D4=1: ICW1 */
#define OCW3_SEL   0x08u /* A0=0, D4=0, D3=1: OCW3 (else OCW2) */
#define OCW3_RIS   0x01u
#define OCW3_RR    0x02u
#define OCW3_POLL  0x04u
#define OCW3_SMM   0x20u
#define OCW3_ESMM  0x40u
#define ICW4_AEOI  0x02u
#define ICW4_SFNM  0x10u
#define ICW2_VECTOR_MASK 0xf8u
#define OCW2_LEVEL_MASK  0x07u
#define OCW2_CMD_SHIFT   5
#define POLL_INT   0x80u /* poll word: I bit, an interrupt is pending; W2-W0 its level */
/* ELCR bits that exist: IRQ0, 1, 2 (master) and 8, 13 (slave) are always edge (PIIX4 ELCR1/2). */
#define ELCR_MASTER_MASK 0xf8u
#define ELCR_SLAVE_MASK  0xdeu
#define NO_IRQ     8
#define NO_DEVICE_READ 0xffu /* a port of no register here */

/* OCW2 R, SL, EOI (8259A datasheet, OCW2 table). */
enum ocw2_cmd {
	OCW2_ROTATE_AEOI_CLEAR = 0, OCW2_EOI = 1, OCW2_NOP = 2, OCW2_SPECIFIC_EOI = 3,
	OCW2_ROTATE_AEOI_SET = 4, OCW2_ROTATE_EOI = 5, OCW2_SET_PRIORITY = 6, OCW2_ROTATE_SPECIFIC_EOI = 7,
};

enum { MASTER, SLAVE };

static uint8_t bit(unsigned ir) { return (uint8_t)(1u << ir); }

/* Priority rank of the highest-priority bit of `mask` (0: highest), NO_IRQ if none. */
static unsigned highest_rank(const struct pic_chip *c, uint8_t mask)
{
	for (unsigned rank = 0; rank < PIC_IRQS_PER_CHIP; rank++)
		if (mask & bit((c->lowest_prio + 1 + rank) % PIC_IRQS_PER_CHIP))
			return rank;
	return NO_IRQ;
}

static unsigned rank_to_ir(const struct pic_chip *c, unsigned rank)
{
	return (c->lowest_prio + 1 + rank) % PIC_IRQS_PER_CHIP;
}

/* The IR a chip requests on INT (fully nested: above every in-service level), or NO_IRQ. */
static unsigned chip_pending(const struct pic_chip *c)
{
	const unsigned req = highest_rank(c, c->irr & (uint8_t)~c->imr);
	if (req == NO_IRQ || req >= highest_rank(c, c->isr))
		return NO_IRQ;
	return rank_to_ir(c, req);
}

static bool level_triggered(const struct pic_chip *c, unsigned ir)
{
	return c->ltim || (c->elcr & bit(ir));
}

/* An IR input to `level`: edge-triggered inputs latch a low-to-high transition, level ones follow. */
static void chip_set_line(struct pic_chip *c, unsigned ir, bool level)
{
	const uint8_t b = bit(ir);
	if (level) {
		if (level_triggered(c, ir) || !(c->lines & b))
			c->irr |= b;
		c->lines |= b;
	} else {
		c->irr &= (uint8_t)~b; /* a request withdrawn before INTA: the acknowledge is spurious */
		c->lines &= (uint8_t)~b;
	}
}

/* The slave's INT drives the master's IR2, as a level: the request is there while the slave has one. */
static void update_cascade(struct pic8259 *p)
{
	struct pic_chip *m = &p->chip[MASTER];
	if (chip_pending(&p->chip[SLAVE]) != NO_IRQ)
		m->irr |= bit(PIC_CASCADE_IRQ);
	else
		m->irr &= (uint8_t)~bit(PIC_CASCADE_IRQ);
}

static void chip_reset(struct pic_chip *c)
{
	const uint8_t elcr = c->elcr, lines = c->lines;
	*c = (struct pic_chip){ 0 };
	c->elcr = elcr;
	c->lines = lines;
	c->lowest_prio = PIC_SPURIOUS_IR;
}

void pic_reset(struct pic8259 *p)
{
	for (unsigned i = 0; i < 2; i++) {
		p->chip[i] = (struct pic_chip){ 0 };
		chip_reset(&p->chip[i]);
	}
}

/* INTA on one chip for `ir`: into service (unless auto-EOI), an edge request consumed. */
static void chip_accept(struct pic_chip *c, unsigned ir)
{
	if (!level_triggered(c, ir))
		c->irr &= (uint8_t)~bit(ir);
	if (c->auto_eoi) {
		if (c->rotate_on_aeoi)
			c->lowest_prio = (uint8_t)ir;
	} else {
		c->isr |= bit(ir);
	}
}

int pic_pending_vector(const struct pic8259 *p)
{
	const unsigned ir = chip_pending(&p->chip[MASTER]);
	if (ir == NO_IRQ)
		return -1;
	if (ir == PIC_CASCADE_IRQ && !p->chip[MASTER].single) {
		const unsigned sir = chip_pending(&p->chip[SLAVE]);
		return sir == NO_IRQ ? -1 : p->chip[SLAVE].vector_base + (int)sir;
	}
	return p->chip[MASTER].vector_base + (int)ir;
}

uint8_t pic_acknowledge(struct pic8259 *p)
{
	struct pic_chip *m = &p->chip[MASTER], *s = &p->chip[SLAVE];
	const unsigned ir = chip_pending(m);
	uint8_t vector;
	if (ir == NO_IRQ) {
		vector = (uint8_t)(m->vector_base + PIC_SPURIOUS_IR); /* spurious IRQ7: no ISR bit */
	} else if (ir == PIC_CASCADE_IRQ && !m->single) {
		chip_accept(m, ir);
		const unsigned sir = chip_pending(s);
		if (sir == NO_IRQ) {
			vector = (uint8_t)(s->vector_base + PIC_SPURIOUS_IR); /* spurious IRQ15: the master's IR2 stays in service */
		} else {
			chip_accept(s, sir);
			vector = (uint8_t)(s->vector_base + sir);
		}
	} else {
		chip_accept(m, ir);
		vector = (uint8_t)(m->vector_base + ir);
	}
	update_cascade(p);
	return vector;
}

void pic_set_irq(struct pic8259 *p, unsigned irq, bool level)
{
	if (irq >= PIC_IRQS)
		return;
	if (irq >= PIC_IRQS_PER_CHIP)
		chip_set_line(&p->chip[SLAVE], irq - PIC_IRQS_PER_CHIP, level);
	else if (irq != PIC_CASCADE_IRQ) /* IR2 is the cascade's */
		chip_set_line(&p->chip[MASTER], irq, level);
	update_cascade(p);
}

static void ocw2(struct pic_chip *c, uint8_t value)
{
	const unsigned level = value & OCW2_LEVEL_MASK;
	const unsigned in_service = highest_rank(c, c->isr);
	switch ((enum ocw2_cmd)(value >> OCW2_CMD_SHIFT)) {
	case OCW2_EOI:
	case OCW2_ROTATE_EOI:
		if (in_service == NO_IRQ)
			break;
		c->isr &= (uint8_t)~bit(rank_to_ir(c, in_service));
		if (value >> OCW2_CMD_SHIFT == OCW2_ROTATE_EOI)
			c->lowest_prio = (uint8_t)rank_to_ir(c, in_service);
		break;
	case OCW2_SPECIFIC_EOI:
		c->isr &= (uint8_t)~bit(level);
		break;
	case OCW2_ROTATE_SPECIFIC_EOI:
		c->isr &= (uint8_t)~bit(level);
		c->lowest_prio = (uint8_t)level;
		break;
	case OCW2_SET_PRIORITY:
		c->lowest_prio = (uint8_t)level;
		break;
	case OCW2_ROTATE_AEOI_SET:
		c->rotate_on_aeoi = true;
		break;
	case OCW2_ROTATE_AEOI_CLEAR:
		c->rotate_on_aeoi = false;
		break;
	case OCW2_NOP:
		break;
	}
}

static void write_cmd(struct pic_chip *c, uint8_t value)
{
	if (value & ICW1_INIT) {
		/* ICW1: IMR and ISR cleared, IR7 lowest, special mask off, IRR read; edge sense reset (datasheet). */
		chip_reset(c);
		c->need_icw4 = value & ICW1_IC4;
		c->single = value & ICW1_SNGL;
		c->ltim = value & ICW1_LTIM;
		c->init_step = 2;
	} else if (value & OCW3_SEL) {
		if (value & OCW3_RR)
			c->read_isr = value & OCW3_RIS;
		c->poll = value & OCW3_POLL;
		if (value & OCW3_ESMM)
			c->special_mask = value & OCW3_SMM;
	} else {
		ocw2(c, value);
	}
}

static void write_data(struct pic_chip *c, uint8_t value)
{
	switch (c->init_step) {
	case 2: /* ICW2 */
		c->vector_base = value & ICW2_VECTOR_MASK;
		c->init_step = !c->single ? 3 : c->need_icw4 ? 4 : 0;
		break;
	case 3: /* ICW3 */
		c->icw3 = value;
		c->init_step = c->need_icw4 ? 4 : 0;
		break;
	case 4: /* ICW4 */
		c->auto_eoi = value & ICW4_AEOI;
		c->sfnm = value & ICW4_SFNM;
		c->init_step = 0;
		break;
	default: /* OCW1 */
		c->imr = value;
	}
}

/* Poll command (OCW3 P): the read is the acknowledge, without an INTA cycle. */
static uint8_t poll_read(struct pic8259 *p, unsigned which)
{
	struct pic_chip *c = &p->chip[which];
	c->poll = false;
	const unsigned ir = chip_pending(c);
	if (ir == NO_IRQ)
		return 0;
	chip_accept(c, ir);
	if (which == SLAVE)
		update_cascade(p);
	return (uint8_t)(POLL_INT | ir);
}

uint8_t pic_read(struct pic8259 *p, uint16_t port)
{
	switch (port) {
	case PIC_MASTER_CMD:
	case PIC_SLAVE_CMD: {
		const unsigned which = port == PIC_SLAVE_CMD ? SLAVE : MASTER;
		const struct pic_chip *c = &p->chip[which];
		if (c->poll)
			return poll_read(p, which);
		return c->read_isr ? c->isr : c->irr;
	}
	case PIC_MASTER_DATA: return p->chip[MASTER].imr;
	case PIC_SLAVE_DATA: return p->chip[SLAVE].imr;
	case PIC_ELCR_MASTER: return p->chip[MASTER].elcr;
	case PIC_ELCR_SLAVE: return p->chip[SLAVE].elcr;
	default: return NO_DEVICE_READ;
	}
}

void pic_write(struct pic8259 *p, uint16_t port, uint8_t value)
{
	switch (port) {
	case PIC_MASTER_CMD: write_cmd(&p->chip[MASTER], value); break;
	case PIC_SLAVE_CMD: write_cmd(&p->chip[SLAVE], value); break;
	case PIC_MASTER_DATA: write_data(&p->chip[MASTER], value); break;
	case PIC_SLAVE_DATA: write_data(&p->chip[SLAVE], value); break;
	case PIC_ELCR_MASTER: p->chip[MASTER].elcr = value & ELCR_MASTER_MASK; break;
	case PIC_ELCR_SLAVE: p->chip[SLAVE].elcr = value & ELCR_SLAVE_MASK; break;
	default: return;
	}
	update_cascade(p);
}
