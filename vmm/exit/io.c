/*
 * Port I/O (exit reason 30; qualification: SDM Vol. 3C 28.2.1, Table 28-5).
 * The I/O bitmaps make every port exit.  One table says what each port
 * range is; the guest never reaches a real device port.
 */
#include <stddef.h>
#include "vmm/exits.h"
#include "vmm/log.h"
#include "vmm/status.h"
#include "vmm/vuart.h"

#define IO_QUAL_SIZE(q)   (((q) & 0x7u) + 1) /* 1, 2 or 4 bytes */
#define IO_QUAL_IN        (1u << 3)
#define IO_QUAL_STRING    (1u << 4)
#define IO_QUAL_PORT(q)   (((q) >> 16) & 0xffffu)
#define IO_ALL_ONES       0xffffffffu

typedef uint32_t (*port_in_fn)(uint16_t port, unsigned size);
typedef void (*port_out_fn)(uint16_t port, unsigned size, uint32_t value);

struct port_range {
	uint16_t first, last;
	const char *what;
	port_in_fn in;   /* NULL: reads return 0 */
	port_out_fn out; /* NULL: writes are dropped */
};

/* Devices the guest may poke without effect: it has no interrupts and no timer. */
static const struct port_range port_table[] = {
	{ VUART_BASE, VUART_BASE + VUART_PORTS - 1, "virtual COM1 16550", vuart_in, vuart_out },
	{ 0x20, 0x21, "8259 PIC master (absent: reads 0, writes dropped)", NULL, NULL },
	{ 0xa0, 0xa1, "8259 PIC slave (absent: reads 0, writes dropped)", NULL, NULL },
	{ 0x40, 0x43, "8254 PIT (absent: reads 0, writes dropped)", NULL, NULL },
	{ 0x80, 0x80, "POST diagnostic port (writes dropped)", NULL, NULL },
};

static const struct port_range *find_port(uint16_t port)
{
	for (size_t i = 0; i < sizeof(port_table) / sizeof(port_table[0]); i++)
		if (port >= port_table[i].first && port <= port_table[i].last)
			return &port_table[i];
	return NULL;
}

void handle_io(struct vcpu *v)
{
	const uint64_t q = v->exit_qualification;
	const unsigned size = IO_QUAL_SIZE(q);
	const uint16_t port = IO_QUAL_PORT(q);
	const uint32_t mask = size == 4 ? IO_ALL_ONES : (1u << (size * 8)) - 1;
	const struct port_range *r = find_port(port);

	if (q & IO_QUAL_STRING) {
		log_error("guest used string I/O (INS/OUTS) on port %#x, which the monitor does not emulate", port);
		exit_report_and_stop(v, HV_ERR_GUEST_FAULT, "unsupported guest I/O instruction");
		return;
	}
	if (q & IO_QUAL_IN) {
		uint32_t value = r ? (r->in ? r->in(port, size) : 0) : IO_ALL_ONES;
		if (!r)
			log_debug("guest IN from unclaimed port %#x: all ones", port);
		/* IN writes AL/AX/EAX; a 32-bit IN zero-extends into RAX (SDM Vol. 1 3.4.1.1). */
		v->regs.rax = size == 4 ? value : (v->regs.rax & ~(uint64_t)mask) | (value & mask);
	} else {
		uint32_t value = (uint32_t)v->regs.rax & mask;
		if (r && r->out)
			r->out(port, size, value);
		else if (!r)
			log_debug("guest OUT %#x to unclaimed port %#x: dropped", value, port);
	}
	vcpu_note_io_access(v, port, size); /* I/O breakpoints (SDM Vol. 3B 18.2.4) */
	vcpu_skip_instruction(v);
}
