/*
 * Port I/O (exit reason 30; qualification: SDM Vol. 3C 28.2.1, Table 28-5).
 * The I/O bitmaps make every port exit.  One table says what each port
 * range is; the guest never reaches a real device port.  IN/OUT and the
 * string forms INS/OUTS (with REP) are emulated; an access of 2 or 4 bytes
 * reaches each byte's own port, as on the bus.
 */
#include <stddef.h>
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/segment.h>
#include <arch/vmx_controls.h>
#include <arch/vmx_state.h>
#include "vmm/exits.h"
#include "vmm/io_ledger.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/status.h"
#include "vmm/vuart.h"

#define IO_ALL_ONES       0xffffffffu
#define BYTE_BITS         8u
#define BYTE_MASK         0xffu


/*
 * Elements one exit moves at most: a REP INS/OUTS with a larger count is
 * resumed by the CPU (RIP stays, RCX counts down), so the monitor never
 * spends unbounded time in one exit.
 */
#define STRING_IO_BATCH 4096u

typedef uint32_t (*port_in_fn)(struct vcpu *v, uint16_t port, unsigned size);
typedef void (*port_out_fn)(struct vcpu *v, uint16_t port, unsigned size, uint32_t value);

/* The VM's UART, shared by its vCPUs: locked when there is more than one (their number never changes). */
static uint32_t uart_in(struct vcpu *v, uint16_t port, unsigned size)
{
	if (v->group->count == 1)
		return vuart_in(v->uart, port, size);
	spin_lock(&v->uart->lock);
	const uint32_t value = vuart_in(v->uart, port, size);
	spin_unlock(&v->uart->lock);
	return value;
}
static void uart_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t value)
{
	if (v->group->count == 1) {
		vuart_out(v->uart, port, size, value);
		return;
	}
	spin_lock(&v->uart->lock);
	vuart_out(v->uart, port, size, value);
	spin_unlock(&v->uart->lock);
}

struct port_range {
	uint16_t first, last;
	const char *what;
	port_in_fn in;   /* NULL: reads return 0 */
	port_out_fn out; /* NULL: writes are dropped */
};

/* Devices the guest may poke without effect: it has no interrupts and no timer. */
static const struct port_range port_table[] = {
	{ VUART_BASE, VUART_BASE + VUART_PORTS - 1, "virtual COM1 16550", uart_in, uart_out },
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

/* The first byte port of an access that no device claims (each byte reaches its own port), or -1. */
static int first_unclaimed(uint16_t port, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		if (!find_port((uint16_t)(port + i)))
			return (uint16_t)(port + i);
	return -1;
}

/* One access that reached unclaimed `port`, into the VM's ledger (locked when several vCPUs share it). */
static void note_unclaimed(struct vcpu *v, uint16_t port, bool write)
{
	if (v->group->count == 1) {
		io_ledger_note(v->io_ledger, port, write);
		return;
	}
	spin_lock(&v->io_ledger->lock);
	io_ledger_note(v->io_ledger, port, write);
	spin_unlock(&v->io_ledger->lock);
}

/* strict_io=1 and an access of `size` bytes at `port` that reaches an unclaimed port: stop the guest (counted). */
static __attribute__((cold, noinline)) int strict_io_stop(struct vcpu *v, uint16_t port, unsigned size, bool in)
{
	const int p = first_unclaimed(port, size);
	if (p < 0)
		return EXIT_RESUME;
	note_unclaimed(v, (uint16_t)p, !in);
	log_error("strict_io=1: the guest's %s of %u byte(s) %s I/O port %#x at RIP %#llx reaches port %#x, which no "
		  "device claims", in ? "IN" : "OUT", size, in ? "from" : "to", port,
		  (unsigned long long)vcpu_read(v, VCPU_RIP), (unsigned)p);
	log_error("strict_io=1: give the guest a device there (port_table in vmm/exit/io.c), or run without "
		  "strict_io=1: unclaimed reads then return all ones, writes are dropped, and the statistics list "
		  "every such port");
	return exit_report_and_stop(v, HV_ERR_UNCLAIMED_IO, "guest access to an unclaimed I/O port (strict_io=1)");
}

/* strict_io=1: the status to stop with before an access to an unclaimed port, else EXIT_RESUME. */
static inline int strict_io_check(struct vcpu *v, uint16_t port, unsigned size, bool in)
{
	if (__builtin_expect(!v->cfg->strict_io, 1))
		return EXIT_RESUME;
	return strict_io_stop(v, port, size, in);
}

/* One byte from one port: its device, 0 for a claimed port without a reader, all ones unclaimed. */
static uint8_t port_in_byte(struct vcpu *v, uint16_t port)
{
	const struct port_range *r = find_port(port);
	return r ? (r->in ? (uint8_t)r->in(v, port, 1) : 0) : BYTE_MASK;
}

/* IN of `size` bytes: one device access when all bytes are one device's, else byte by byte. */
static uint32_t port_in(struct vcpu *v, uint16_t port, unsigned size)
{
	const struct port_range *r = find_port(port);
	if (r && (unsigned)port + size - 1 <= r->last)
		return r->in ? r->in(v, port, size) : 0;
	uint32_t value = 0;
	for (unsigned i = 0; i < size; i++)
		value |= (uint32_t)port_in_byte(v, (uint16_t)(port + i)) << (i * BYTE_BITS);
	const int p = first_unclaimed(port, size);
	if (p >= 0) {
		note_unclaimed(v, (uint16_t)p, false);
		log_debug("guest IN from unclaimed port %#x: all ones", (unsigned)p);
	}
	return value;
}

static void port_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t value)
{
	const struct port_range *r = find_port(port);
	if (r && (unsigned)port + size - 1 <= r->last) {
		if (r->out)
			r->out(v, port, size, value);
		return;
	}
	for (unsigned i = 0; i < size; i++) {
		const uint16_t p = (uint16_t)(port + i);
		const struct port_range *b = find_port(p);
		if (b && b->out)
			b->out(v, p, 1, (value >> (i * BYTE_BITS)) & BYTE_MASK);
	}
	const int p = first_unclaimed(port, size);
	if (p >= 0) {
		note_unclaimed(v, (uint16_t)p, true);
		log_debug("guest OUT %#x to unclaimed port %#x: dropped", value, (unsigned)p);
	}
}

/*
 * Address size (bytes) and segment of an INS/OUTS: from the instruction information when the CPU
 * gives it (IA32_VMX_BASIC[54], decoded by the backend), else the mode's default address size and
 * DS (a segment override on OUTS is then not seen).
 */
static void string_io_operands(struct vcpu *v, const struct vm_exit *e, bool long64, unsigned *addr_bytes,
			       unsigned *seg)
{
	if (e->string_info_valid) {
		*addr_bytes = e->string_addr_bytes;
		*seg = e->string_seg;
	} else {
		*addr_bytes = long64 ? 8 : (vcpu_read(v, VCPU_CS_AR_BYTES) & VMX_AR_DB) ? 4 : 2;
		*seg = e->io.in ? SEG_ES : SEG_DS;
	}
}

/*
 * INS/OUTS, with or without REP (SDM Vol. 2B INS/OUTS, REP): ES:[RDI] or seg:[RSI],
 * stepping by the element size up or down with RFLAGS.DF, RCX counting REP elements.
 * Faults on an element are the guest's (#PF, #GP(0)/#SS(0) for a non-canonical address)
 * and leave the registers at that element, as the CPU does; the monitor moves at most
 * STRING_IO_BATCH elements per exit and lets the CPU re-execute the rest.
 */
static int handle_string_io(struct vcpu *v, const struct vm_exit *e, uint16_t port, unsigned size, bool in, bool rep)
{
	const bool long64 = vcpu_long64(v);
	unsigned addr_bytes, seg;
	string_io_operands(v, e, long64, &addr_bytes, &seg);
	const uint64_t amask = addr_bytes == 8 ? ~0ull : addr_bytes == 4 ? 0xffffffffull : 0xffffull;
	const uint64_t base = (!long64 || seg == SEG_FS || seg == SEG_GS) ? vcpu_read(v, vcpu_seg_reg(seg, SEGF_BASE)) : 0;
	const bool down = (vcpu_read(v, VCPU_RFLAGS) & RFLAGS_DF) != 0;
	uint64_t *index = in ? &v->regs.rdi : &v->regs.rsi;
	uint64_t count = rep ? v->regs.rcx & amask : 1;
	unsigned done = 0;
	if (count) {
		const int stop = strict_io_check(v, port, size, in);
		if (stop != EXIT_RESUME)
			return stop;
	}

	for (; count && done < STRING_IO_BATCH; done++) {
		uint64_t gva = base + (*index & amask), pf_addr;
		uint32_t pf_error, value = 0;
		int r;
		if (!long64)
			gva &= 0xffffffffull;
		if (long64 && (!is_canonical(gva) || !is_canonical(gva + size - 1))) {
			if (seg == SEG_SS)
				vcpu_inject_exception(v, VECTOR_SS, true, 0);
			else
				vcpu_inject_gp0(v);
			return EXIT_RESUME;
		}
		if (in) {
			value = port_in(v, port, size);
			r = vmm_guest_virt_write(v, gva, &value, size, &pf_addr, &pf_error);
		} else {
			r = vmm_guest_virt_read(v, gva, &value, size, &pf_addr, &pf_error);
		}
		if (r == GUEST_ACCESS_PAGE_FAULT) {
			vcpu_inject_pf(v, pf_addr, pf_error);
			return EXIT_RESUME;
		}
		if (r != GUEST_ACCESS_OK) {
			log_error("guest %s at guest-virtual %#llx: outside guest RAM", in ? "INS" : "OUTS",
				  (unsigned long long)gva);
			return exit_report_and_stop(v, HV_ERR_EPT_VIOLATION, "string I/O outside guest RAM");
		}
		if (!in)
			port_out(v, port, size, value);
		vcpu_note_data_access(v, gva, size, in);
		vcpu_note_io_access(v, port, size);
		*index = (*index & ~amask) | ((down ? *index - size : *index + size) & amask);
		count--;
		if (rep)
			v->regs.rcx = (v->regs.rcx & ~amask) | (count & amask);
	}
	if (count)
		return EXIT_RESUME; /* REP not finished: RIP stays, the CPU executes the instruction again */
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}

int handle_io(struct vcpu *v, const struct vm_exit *e)
{
	const struct io_exit io = e->io;
	const unsigned size = io.size;
	const uint16_t port = io.port;
	const uint32_t mask = size == 4 ? IO_ALL_ONES : (1u << (size * BYTE_BITS)) - 1;

	if (io.string)
		return handle_string_io(v, e, port, size, io.in, io.rep);
	const int stop = strict_io_check(v, port, size, io.in);
	if (stop != EXIT_RESUME)
		return stop;
	if (io.in) {
		const uint32_t value = port_in(v, port, size);
		/* IN writes AL/AX/EAX; a 32-bit IN zero-extends into RAX (SDM Vol. 1 3.4.1.1). */
		v->regs.rax = size == 4 ? value : (v->regs.rax & ~(uint64_t)mask) | (value & mask);
	} else {
		port_out(v, port, size, (uint32_t)v->regs.rax & mask);
	}
	vcpu_note_io_access(v, port, size); /* I/O breakpoints (SDM Vol. 3B 18.2.4) */
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}
