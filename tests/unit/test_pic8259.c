/* Host unit tests for vmm/dev/pic8259.c: the 8259A pair, by the 8259A datasheet's rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm/pic8259.h"

#define MASTER_BASE 0x20
#define SLAVE_BASE  0x28
#define OCW3_READ_IRR 0x0a
#define OCW3_READ_ISR 0x0b
#define OCW3_POLL     0x0c
#define EOI           0x20
#define SPECIFIC_EOI(l) (0x60 | (l))

static struct pic8259 pic;

/* As Linux's init_8259A: ICW1=0x11, ICW2=0x20/0x28, ICW3=4/2, ICW4=1 (ICW4=3: auto-EOI), then masks. */
static void linux_init(struct pic8259 *p, uint8_t icw4, uint8_t master_mask, uint8_t slave_mask)
{
	pic_reset(p);
	pic_write(p, PIC_MASTER_DATA, 0xff);
	pic_write(p, PIC_SLAVE_DATA, 0xff);
	pic_write(p, PIC_MASTER_CMD, 0x11);
	pic_write(p, PIC_MASTER_DATA, MASTER_BASE);
	pic_write(p, PIC_MASTER_DATA, 1u << PIC_CASCADE_IRQ);
	pic_write(p, PIC_MASTER_DATA, icw4);
	pic_write(p, PIC_SLAVE_CMD, 0x11);
	pic_write(p, PIC_SLAVE_DATA, SLAVE_BASE);
	pic_write(p, PIC_SLAVE_DATA, PIC_CASCADE_IRQ);
	pic_write(p, PIC_SLAVE_DATA, icw4);
	pic_write(p, PIC_MASTER_DATA, master_mask);
	pic_write(p, PIC_SLAVE_DATA, slave_mask);
}

static uint8_t isr(struct pic8259 *p, uint16_t cmd)
{
	pic_write(p, cmd, OCW3_READ_ISR);
	return pic_read(p, cmd);
}

static uint8_t irr(struct pic8259 *p, uint16_t cmd)
{
	pic_write(p, cmd, OCW3_READ_IRR);
	return pic_read(p, cmd);
}

static void test_init_sequence_and_mask(void **s)
{
	(void)s;
	linux_init(&pic, 1, 0xff, 0xff);
	assert_int_equal(pic_read(&pic, PIC_MASTER_DATA), 0xff); /* Linux's probe reads the mask back */
	assert_int_equal(pic_read(&pic, PIC_SLAVE_DATA), 0xff);
	pic_set_irq(&pic, 0, true);
	assert_int_equal(pic_pending_vector(&pic), -1); /* masked: requested, not delivered */
	assert_int_equal(irr(&pic, PIC_MASTER_CMD), 0x01);
	pic_write(&pic, PIC_MASTER_DATA, 0xfe);
	assert_int_equal(pic_pending_vector(&pic), MASTER_BASE);
	assert_int_equal(pic_acknowledge(&pic), MASTER_BASE);
	assert_int_equal(isr(&pic, PIC_MASTER_CMD), 0x01);
	assert_int_equal(irr(&pic, PIC_MASTER_CMD), 0x00); /* edge: consumed by INTA */
	assert_int_equal(pic_pending_vector(&pic), -1);
	pic_write(&pic, PIC_MASTER_CMD, EOI);
	assert_int_equal(isr(&pic, PIC_MASTER_CMD), 0x00);
	/* The line is still high: no new edge, no new request. */
	assert_int_equal(pic_pending_vector(&pic), -1);
	pic_set_irq(&pic, 0, false);
	pic_set_irq(&pic, 0, true);
	assert_int_equal(pic_pending_vector(&pic), MASTER_BASE);
}

static void test_priority_and_nesting(void **s)
{
	(void)s;
	linux_init(&pic, 1, 0x00, 0xff);
	pic_set_irq(&pic, 3, true);
	pic_set_irq(&pic, 1, true);
	assert_int_equal(pic_acknowledge(&pic), MASTER_BASE + 1); /* IR1 before IR3 */
	assert_int_equal(pic_pending_vector(&pic), -1);            /* IR3 waits below IR1 in service */
	pic_set_irq(&pic, 0, true);
	assert_int_equal(pic_acknowledge(&pic), MASTER_BASE + 0);  /* IR0 nests above IR1 */
	assert_int_equal(isr(&pic, PIC_MASTER_CMD), 0x03);
	pic_write(&pic, PIC_MASTER_CMD, EOI);                      /* non-specific: the highest, IR0 */
	assert_int_equal(isr(&pic, PIC_MASTER_CMD), 0x02);
	assert_int_equal(pic_pending_vector(&pic), -1);
	pic_write(&pic, PIC_MASTER_CMD, SPECIFIC_EOI(1));
	assert_int_equal(isr(&pic, PIC_MASTER_CMD), 0x00);
	assert_int_equal(pic_acknowledge(&pic), MASTER_BASE + 3);
	/* Specific rotation: IR3 lowest makes IR4 the highest. */
	pic_write(&pic, PIC_MASTER_CMD, 0xe0 | 3); /* rotate on specific EOI, level 3 */
	pic_set_irq(&pic, 1, false);
	pic_set_irq(&pic, 1, true);
	pic_set_irq(&pic, 5, true);
	assert_int_equal(pic_acknowledge(&pic), MASTER_BASE + 5);
}

static void test_cascade_on_ir2(void **s)
{
	(void)s;
	linux_init(&pic, 1, 0xfb, 0xfb); /* IR2 open on the master, IRQ10 on the slave */
	pic_set_irq(&pic, 10, true);
	assert_int_equal(irr(&pic, PIC_MASTER_CMD), 1u << PIC_CASCADE_IRQ);
	assert_int_equal(pic_pending_vector(&pic), SLAVE_BASE + 2);
	assert_int_equal(pic_acknowledge(&pic), SLAVE_BASE + 2);
	assert_int_equal(isr(&pic, PIC_MASTER_CMD), 1u << PIC_CASCADE_IRQ);
	assert_int_equal(isr(&pic, PIC_SLAVE_CMD), 0x04);
	/* Linux's EOI of a slave IRQ: the slave, then the master's cascade. */
	pic_write(&pic, PIC_SLAVE_CMD, SPECIFIC_EOI(2));
	pic_write(&pic, PIC_MASTER_CMD, SPECIFIC_EOI(PIC_CASCADE_IRQ));
	assert_int_equal(isr(&pic, PIC_SLAVE_CMD), 0);
	assert_int_equal(isr(&pic, PIC_MASTER_CMD), 0);
	assert_int_equal(pic_pending_vector(&pic), -1);
	/* The slave masked: nothing reaches the master. */
	pic_write(&pic, PIC_SLAVE_DATA, 0xff);
	pic_set_irq(&pic, 10, false);
	pic_set_irq(&pic, 10, true);
	assert_int_equal(pic_pending_vector(&pic), -1);
	assert_int_equal(irr(&pic, PIC_MASTER_CMD), 0);
}

static void test_spurious_irq7_and_irq15(void **s)
{
	(void)s;
	linux_init(&pic, 1, 0x00, 0x00);
	pic_set_irq(&pic, 3, true);
	assert_int_equal(pic_pending_vector(&pic), MASTER_BASE + 3);
	pic_set_irq(&pic, 3, false); /* the request goes away before INTA */
	assert_int_equal(pic_acknowledge(&pic), MASTER_BASE + PIC_SPURIOUS_IR);
	assert_int_equal(isr(&pic, PIC_MASTER_CMD), 0); /* a spurious IRQ7 sets no ISR bit */
	/*
	 * On the slave: its request withdrawn also withdraws its INT (the master's IR2 follows it as a
	 * level here), so the acknowledge is the master's spurious IRQ7, with nothing in service.
	 */
	pic_set_irq(&pic, 12, true);
	assert_int_equal(pic_pending_vector(&pic), SLAVE_BASE + 4);
	pic_write(&pic, PIC_SLAVE_DATA, 0xff); /* masked between INTR and INTA */
	pic_write(&pic, PIC_SLAVE_DATA, 0x00);
	pic_set_irq(&pic, 12, false);
	assert_int_equal(pic_acknowledge(&pic), MASTER_BASE + PIC_SPURIOUS_IR);
	assert_int_equal(isr(&pic, PIC_MASTER_CMD), 0);
	assert_int_equal(isr(&pic, PIC_SLAVE_CMD), 0);
}

static void test_auto_eoi(void **s)
{
	(void)s;
	linux_init(&pic, 3, 0x00, 0xff);
	pic_set_irq(&pic, 4, true);
	assert_int_equal(pic_acknowledge(&pic), MASTER_BASE + 4);
	assert_int_equal(isr(&pic, PIC_MASTER_CMD), 0);
	pic_set_irq(&pic, 6, true);
	assert_int_equal(pic_pending_vector(&pic), MASTER_BASE + 6); /* nothing in service blocks it */
}

static void test_level_triggered_by_elcr(void **s)
{
	(void)s;
	linux_init(&pic, 1, 0x00, 0x00);
	pic_write(&pic, PIC_ELCR_MASTER, 0xff);
	assert_int_equal(pic_read(&pic, PIC_ELCR_MASTER), 0xf8); /* IRQ0-2 are always edge */
	pic_write(&pic, PIC_ELCR_SLAVE, 0xff);
	assert_int_equal(pic_read(&pic, PIC_ELCR_SLAVE), 0xde); /* IRQ8 and IRQ13 too */
	pic_set_irq(&pic, 5, true);
	assert_int_equal(pic_acknowledge(&pic), MASTER_BASE + 5);
	pic_write(&pic, PIC_MASTER_CMD, EOI);
	assert_int_equal(pic_pending_vector(&pic), MASTER_BASE + 5); /* the line is still high */
	pic_set_irq(&pic, 5, false);
	assert_int_equal(pic_pending_vector(&pic), -1);
}

static void test_poll_mode(void **s)
{
	(void)s;
	linux_init(&pic, 1, 0x00, 0xff);
	pic_write(&pic, PIC_MASTER_CMD, OCW3_POLL);
	assert_int_equal(pic_read(&pic, PIC_MASTER_CMD), 0); /* nothing pending */
	pic_set_irq(&pic, 6, true);
	pic_write(&pic, PIC_MASTER_CMD, OCW3_POLL);
	assert_int_equal(pic_read(&pic, PIC_MASTER_CMD), 0x80 | 6);
	assert_int_equal(isr(&pic, PIC_MASTER_CMD), 1u << 6);
	/* The poll is one read: the next read is the register OCW3 selected. */
	assert_int_equal(pic_read(&pic, PIC_MASTER_CMD), 1u << 6);
}

static void test_icw1_resets_mask_and_service(void **s)
{
	(void)s;
	linux_init(&pic, 1, 0x00, 0xff);
	pic_set_irq(&pic, 1, true);
	pic_acknowledge(&pic);
	pic_write(&pic, PIC_MASTER_CMD, 0x11);
	assert_int_equal(pic_read(&pic, PIC_MASTER_DATA), 0);
	assert_int_equal(isr(&pic, PIC_MASTER_CMD), 0);
	/* Mid-initialisation, a data write is ICW2 (the vector base), not the mask. */
	pic_write(&pic, PIC_MASTER_DATA, 0x30);
	pic_write(&pic, PIC_MASTER_DATA, 0x04);
	pic_write(&pic, PIC_MASTER_DATA, 0x01);
	assert_int_equal(pic_read(&pic, PIC_MASTER_DATA), 0);
	pic_set_irq(&pic, 1, false);
	pic_set_irq(&pic, 1, true);
	assert_int_equal(pic_acknowledge(&pic), 0x31);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_sequence_and_mask),
		cmocka_unit_test(test_priority_and_nesting),
		cmocka_unit_test(test_cascade_on_ir2),
		cmocka_unit_test(test_spurious_irq7_and_irq15),
		cmocka_unit_test(test_auto_eoi),
		cmocka_unit_test(test_level_triggered_by_elcr),
		cmocka_unit_test(test_poll_mode),
		cmocka_unit_test(test_icw1_resets_mask_and_service),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
