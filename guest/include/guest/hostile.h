/*
 * The hostile guest (guest.test=hostile, guest.test=hostile_scan): seeded
 * random and edge-case privileged operations thrown at the monitor, each
 * outcome checked against the architecture.  Rules: docs/hostile-guest.md.
 *
 * Command line (after the monitor strips "guest."):
 *   seed=N        PRNG seed (default 1); printed first, so a run can be replayed
 *   ops=N         number of operations (default HOSTILE_OPS_DEFAULT)
 *   classes=a,b   operation classes to run (default: every class but strio)
 *   trace=1       print every operation before it runs (to find the one a monitor stop ends on)
 */
#ifndef GUEST_HOSTILE_H
#define GUEST_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOSTILE_OPS_DEFAULT 100000ull

/* Guest exit statuses of the hostile modes (<= HV_GUEST_STATUS_MAX). */
#define HOSTILE_STATUS_OK 0
#define HOSTILE_STATUS_BAD 1          /* at least one outcome contradicted the architecture */
#define HOSTILE_STATUS_SCAN_SURVIVED 2 /* hostile_scan: the read above guest RAM returned */
#define HOSTILE_STATUS_SETUP 3         /* the mode could not set itself up (no frame, no mapping) */

/* One key=value word of the guest command line; true when it was a hostile-mode key (*ok: value valid). */
bool hostile_option(const char *key, size_t key_len, const char *value, size_t value_len, bool *ok);

__attribute__((noreturn)) void hostile_run(void);
__attribute__((noreturn)) void hostile_scan_run(void);

#endif
