/*
 * libFuzzer harness: the 8259A PIC pair (vmm/dev/pic8259.c), driven by what a guest controls (any
 * byte to any of its six ports, reads) and by device lines and acknowledges.
 * Input: a sequence of operations (an opcode byte, then its operands).
 * Properties (8259A datasheet): the acknowledge delivers exactly the vector the PIC said was
 * pending, or the master's spurious IR7 vector when none was; a pending vector is one of a chip's
 * eight; with the lines and requests dropped and every level EOI'd, nothing stays pending.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/pic8259.h"

#define MAX_OPS 512
#define SPECIFIC_EOI 0x60u
enum { OP_WRITE, OP_READ, OP_LINE, OP_ACK, OPS };

static const uint16_t ports[] = { PIC_MASTER_CMD, PIC_MASTER_DATA, PIC_SLAVE_CMD, PIC_SLAVE_DATA,
				  PIC_ELCR_MASTER, PIC_ELCR_SLAVE };
#define NPORTS (sizeof(ports) / sizeof(ports[0]))

static bool chip_vector(const struct pic_chip *c, int v)
{
	return v >= c->vector_base && v < c->vector_base + PIC_IRQS_PER_CHIP;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	static struct pic8259 p;
	pic_reset(&p);
	for (unsigned n = 0; n < MAX_OPS && in.size; n++) {
		const uint8_t op = fuzz_u8(&in) % OPS;
		switch (op) {
		case OP_WRITE: {
			const uint16_t port = ports[fuzz_u8(&in) % NPORTS];
			pic_write(&p, port, fuzz_u8(&in));
			break;
		}
		case OP_READ:
			(void)pic_read(&p, ports[fuzz_u8(&in) % NPORTS]);
			break;
		case OP_LINE: {
			const uint8_t b = fuzz_u8(&in);
			pic_set_irq(&p, b % (PIC_IRQS + 1), b & 0x80); /* one past the last line: ignored */
			break;
		}
		case OP_ACK: {
			const int want = pic_pending_vector(&p);
			FUZZ_CHECK(want == -1 || chip_vector(&p.chip[0], want) || chip_vector(&p.chip[1], want));
			const uint8_t got = pic_acknowledge(&p);
			FUZZ_CHECK(want >= 0 ? got == want : got == p.chip[0].vector_base + PIC_SPURIOUS_IR);
			break;
		}
		}
	}
	/* Every line low, every in-service level ended, the initialisation finished: quiet. */
	for (unsigned irq = 0; irq < PIC_IRQS; irq++)
		pic_set_irq(&p, irq, false);
	for (unsigned chip = 0; chip < 2; chip++) {
		p.chip[chip].init_step = 0;
		for (unsigned ir = 0; ir < PIC_IRQS_PER_CHIP; ir++)
			pic_write(&p, chip ? PIC_SLAVE_CMD : PIC_MASTER_CMD, (uint8_t)(SPECIFIC_EOI | ir));
	}
	FUZZ_CHECK(pic_pending_vector(&p) == -1);
	FUZZ_CHECK(p.chip[0].isr == 0 && p.chip[1].isr == 0);
	return 0;
}
