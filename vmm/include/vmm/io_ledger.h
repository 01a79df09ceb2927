/*
 * The unclaimed-port ledger: I/O ports the guest reached that no device of the port table
 * (vmm/exit/io.c) claims.  Such a read returns all ones and a write is dropped, as on a PC bus
 * with nothing behind the port; the ledger says which ports that was, so that a guest which
 * expects hardware the monitor does not model is seen at the end of the run (print_statistics,
 * vmm/vmm.c) instead of failing quietly.  A small fixed table: the first IO_LEDGER_SLOTS ports
 * are itemised, accesses to any port after them are only counted.
 * Pure state and rules: unit-tested on the host (tests/unit/test_io_ledger.c).
 */
#ifndef VMM_IO_LEDGER_H
#define VMM_IO_LEDGER_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/spinlock.h"

#define IO_LEDGER_SLOTS 32

struct io_ledger_entry {
	uint16_t port;
	uint64_t reads, writes; /* accesses (an IN or OUT, each element of INS/OUTS) */
};

/* One VM's ledger (a device-side record of the VM, struct vm in vmm/vmm.h). */
struct io_ledger {
	unsigned used;                          /* entries in use, in the order their ports were first seen */
	struct io_ledger_entry entry[IO_LEDGER_SLOTS];
	uint64_t overflow_reads, overflow_writes; /* accesses to ports that found the table full */
	struct spinlock lock; /* the VM's vCPUs share it: the I/O exits take it when there are several */
};

/* One access to unclaimed `port`: a write when `write`, else a read. */
void io_ledger_note(struct io_ledger *l, uint16_t port, bool write);

/* The entry of `port`, or NULL when it is not itemised. */
const struct io_ledger_entry *io_ledger_find(const struct io_ledger *l, uint16_t port);

/* Accesses noted in all (itemised and overflow). */
uint64_t io_ledger_total(const struct io_ledger *l);

#endif
