/* The unclaimed-port ledger (vmm/io_ledger.h). */
#include <stddef.h>
#include "vmm/io_ledger.h"

static struct io_ledger_entry *slot_of(struct io_ledger *l, uint16_t port)
{
	for (unsigned i = 0; i < l->used; i++)
		if (l->entry[i].port == port)
			return &l->entry[i];
	if (l->used == IO_LEDGER_SLOTS)
		return NULL;
	struct io_ledger_entry *e = &l->entry[l->used++];
	e->port = port;
	e->reads = e->writes = 0;
	return e;
}

void io_ledger_note(struct io_ledger *l, uint16_t port, bool write)
{
	struct io_ledger_entry *e = slot_of(l, port);
	if (e)
		write ? e->writes++ : e->reads++;
	else
		write ? l->overflow_writes++ : l->overflow_reads++;
}

const struct io_ledger_entry *io_ledger_find(const struct io_ledger *l, uint16_t port)
{
	for (unsigned i = 0; i < l->used; i++)
		if (l->entry[i].port == port)
			return &l->entry[i];
	return NULL;
}

uint64_t io_ledger_total(const struct io_ledger *l)
{
	uint64_t n = l->overflow_reads + l->overflow_writes;
	for (unsigned i = 0; i < l->used; i++)
		n += l->entry[i].reads + l->entry[i].writes;
	return n;
}
