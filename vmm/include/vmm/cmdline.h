/*
 * The monitor's command line: "key=value key2=value2 ...".
 * One table (HV_OPTIONS) describes every option: name, type, field, default,
 * limits, help.  Unknown keys and bad values are reported, never ignored.
 * Keys starting with "guest." are not the monitor's: they are collected,
 * prefix stripped, into config.guest_args and handed to the guest.
 * Pure logic: unit-tested on the host (tests/unit/test_cmdline.c).
 */
#ifndef VMM_CMDLINE_H
#define VMM_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/serial.h"

enum hv_log_level { HV_LOG_ERROR, HV_LOG_WARN, HV_LOG_INFO, HV_LOG_DEBUG };
#define HV_LOG_LEVEL_NAMES { "error", "warn", "info", "debug", 0 }

enum hv_mem_mode { HV_MEM_EPT, HV_MEM_SHADOW };
#define HV_MEM_MODE_NAMES { "ept", "shadow", 0 }

/* Test-only switches that break something on purpose, to prove the diagnostics. */
enum hv_break {
	HV_BREAK_NONE, HV_BREAK_GUEST_STATE, HV_BREAK_CONTROLS, HV_BREAK_NO_HLT_EXITING, HV_BREAK_EXIT_STORM,
	HV_BREAK_MONITOR_FAULT, HV_BREAK_AP_SILENT, HV_BREAK_AP_VMX
};
#define HV_BREAK_NAMES { "none", "guest_state", "controls", "no_hlt_exiting", "exit_storm", "monitor_fault", "ap_silent", "ap_vmx", 0 }

/* The exit trace (trace=exits): one line per VM exit, at most trace_max of them. */
enum hv_trace { HV_TRACE_OFF, HV_TRACE_EXITS };
#define HV_TRACE_NAMES { "off", "exits", 0 }

/* Where the monitor looks for the machine's processors (cpu_tables=). */
enum hv_cpu_tables { HV_CPU_TABLES_AUTO, HV_CPU_TABLES_MADT, HV_CPU_TABLES_MPTABLE, HV_CPU_TABLES_EFI, HV_CPU_TABLES_NONE };
#define HV_CPU_TABLES_NAMES { "auto", "madt", "mptable", "efi", "none", 0 }
#define HV_TRACE_MAX_DEFAULT 1000
#define HV_TRACE_MAX_LIMIT   1000000

enum hv_opt_type { HV_OPT_BOOL, HV_OPT_UINT, HV_OPT_SIZE, HV_OPT_ENUM, HV_OPT_SERIAL };

/*
 * An HV_OPT_SERIAL value: the UART's I/O port in bits 15:0 (HV_SERIAL_OFF: none) and its baud
 * rate in bits 47:16 (SERIAL_BAUD_KEEP: the firmware's settings), as serial_init() takes them.
 */
#define HV_SERIAL_PORT_BITS     16
#define HV_SERIAL_PORT_MASK     0xffffull
#define HV_SERIAL_VALUE(port, baud) (((uint64_t)(baud) << HV_SERIAL_PORT_BITS) | (uint64_t)(port))
#define HV_SERIAL_PORT(v)       ((uint16_t)((v) & HV_SERIAL_PORT_MASK))
#define HV_SERIAL_BAUD(v)       ((uint32_t)((v) >> HV_SERIAL_PORT_BITS))
#define HV_SERIAL_OFF           0ull
#define HV_SERIAL_DEFAULT       HV_SERIAL_VALUE(SERIAL_COM1_BASE, SERIAL_DEFAULT_BAUD)
/* The UEFI loader's pause after a problem it found (no VT-x, VT-x disabled, Secure Boot), seconds. */
#define HV_EFI_WAIT_DEFAULT_S   10
#define HV_EFI_WAIT_MAX_S       3600

#define HV_MiB (1024ull * 1024ull)

/*
 * X(name, type, field, default, min, max, enum_names, help)
 *  HV_OPT_BOOL: accepts 0/1/yes/no/on/off/true/false; a bare "key" means 1.
 *  HV_OPT_UINT: decimal or 0x-hex.
 *  HV_OPT_SIZE: decimal with optional K/M/G suffix (KiB/MiB/GiB), or 0x-hex bytes.
 *  HV_OPT_ENUM: one of the names in enum_names (index = value).
 *  HV_OPT_SERIAL: PORT[,BAUD] (PORT: 0x-hex or decimal I/O port, or com1..com4), PORT,keep,
 *               keep (COM1 as the firmware set it up) or off; see HV_SERIAL_VALUE.
 * min/max bound UINT and SIZE values (inclusive).
 */
#define HV_OPTIONS(X)                                                                              \
	X(log,         HV_OPT_ENUM, log,         HV_LOG_INFO,   0, 0, HV_LOG_LEVEL_NAMES,         \
	  "log level: error|warn|info|debug")                                                      \
	X(mem,         HV_OPT_ENUM, mem,         HV_MEM_EPT,    0, 0, HV_MEM_MODE_NAMES,          \
	  "memory virtualisation: ept|shadow (ept falls back to shadow without EPT)")              \
	X(guest_mem,   HV_OPT_SIZE, guest_mem,   64 * HV_MiB,   8 * HV_MiB, 3072 * HV_MiB, 0,     \
	  "guest RAM size, multiple of 4K (e.g. 64M)")                                            \
	X(ept_scatter, HV_OPT_BOOL, ept_scatter, 0,             0, 1, 0,                          \
	  "back guest RAM with shuffled 4K frames (proves GPA != HPA)")                           \
	X(vpid,        HV_OPT_BOOL, vpid,        1,             0, 1, 0,                          \
	  "use VPID when the CPU offers it")                                                       \
	X(apicv,       HV_OPT_BOOL, apicv,       1,             0, 1, 0,                          \
	  "x2APIC virtualization in hardware when the CPU offers it (0: the software path)")       \
	X(watchdog,    HV_OPT_UINT, watchdog,    4000,          0, 1000000, 0,                    \
	  "stop a guest that makes no progress (no console output, no successful hypercall) "    \
	  "for this many million TSC cycles, exits or not (0: off)")                              \
	X(trace,       HV_OPT_ENUM, trace,       HV_TRACE_OFF,  0, 0, HV_TRACE_NAMES,             \
	  "exits: print one line per VM exit (kind, RIP, decoded operands, what the monitor did)") \
	X(trace_max,   HV_OPT_UINT, trace_max,   HV_TRACE_MAX_DEFAULT, 1, HV_TRACE_MAX_LIMIT, 0,  \
	  "the exit trace stops after this many lines (it cannot flood a run)")                   \
	X(strict_io,   HV_OPT_BOOL, strict_io,   0,             0, 1, 0,                          \
	  "stop the guest at its first access to an I/O port no device claims (0: all ones, dropped)") \
	X(break,       HV_OPT_ENUM, brk,         HV_BREAK_NONE, 0, 0, HV_BREAK_NAMES,             \
	  "test only: break guest_state|controls|no_hlt_exiting|exit_storm|monitor_fault|ap_silent|ap_vmx " \
	  "on purpose (ap_*: the last processor gets no STARTUP IPI / fails its VMX check)")              \
	X(cpus,        HV_OPT_UINT, cpus,        0,             0, 64, 0,                         \
	  "use at most this many physical CPUs, the bootstrap one included (0: every CPU found)")      \
	X(vcpus,       HV_OPT_UINT, vcpus,       0,             0, 16, 0,                         \
	  "the guest's vCPUs, each pinned to a physical CPU of its own (0: one per CPU in VMX root)")  \
	X(cpu_tables,  HV_OPT_ENUM, cpu_tables,  HV_CPU_TABLES_AUTO, 0, 0, HV_CPU_TABLES_NAMES,    \
	  "where to find the CPUs: auto (the ACPI MADT, else the UEFI loader's list, else the MP "     \
	  "table), or only madt|mptable|efi, or none (this processor alone)") \
	X(serial,      HV_OPT_SERIAL, serial,    HV_SERIAL_DEFAULT, 0, 0, 0,                      \
	  "the monitor's log: a 16550 at I/O port PORT (com1..com4 or a number, e.g. 0x2f8), "      \
	  "BAUD 8N1 (115200 divided by a whole number), keep: as the firmware set it up; off: none") \
	X(efi_wait,    HV_OPT_UINT, efi_wait,    HV_EFI_WAIT_DEFAULT_S, 0, HV_EFI_WAIT_MAX_S, 0,  \
	  "UEFI loader: seconds a problem it finds (no VT-x, Secure Boot) stays on screen; a key "  \
	  "goes on at once (0: no wait)")

#define HV_GUEST_ARGS_MAX 256
#define HV_CMDLINE_MAX_ERRORS 16

struct hv_config {
	uint32_t log;          /* enum hv_log_level */
	uint32_t mem;          /* enum hv_mem_mode */
	uint64_t guest_mem;    /* bytes */
	uint32_t ept_scatter;  /* bool */
	uint32_t vpid;         /* bool */
	uint32_t apicv;        /* bool */
	uint64_t watchdog;     /* million TSC cycles */
	uint32_t trace;        /* enum hv_trace */
	uint64_t trace_max;    /* lines */
	uint32_t strict_io;    /* bool: an unclaimed I/O port stops the guest */
	uint32_t brk;          /* enum hv_break */
	uint64_t serial;       /* HV_SERIAL_VALUE(port, baud) */
	uint32_t efi_wait;     /* seconds */
	uint32_t cpus;         /* physical CPUs to use, 0: all */
	uint32_t cpu_tables;   /* enum hv_cpu_tables */
	uint32_t vcpus;        /* the guest's vCPUs, 0: one per physical CPU in VMX root */
	uint32_t explicit_mask;/* bit i set: option i of HV_OPTIONS was given on the command line */
	char guest_args[HV_GUEST_ARGS_MAX]; /* "a=1 b" from "guest.a=1 guest.b" */
};

/* Index of each option in HV_OPTIONS, for explicit_mask: HV_OPTIDX_log, ... */
enum hv_option_index {
#define X(name, type, field, def, min, max, names, help) HV_OPTIDX_##name,
	HV_OPTIONS(X)
#undef X
	HV_OPTION_COUNT
};

/* Fill every field with its default from HV_OPTIONS. */
void hv_config_defaults(struct hv_config *cfg);

/*
 * Parse `cmdline` over the defaults already in *cfg.  Each problem is
 * reported through report(ctx, message) as one full sentence naming the key,
 * e.g. "unknown command-line key 'foo' (known: log mem ...)" or
 * "guest_mem=12Q: not a size (use e.g. 64M)".
 * Returns the number of problems (0: success).  A NULL cmdline is empty.
 */
int hv_cmdline_parse(const char *cmdline, struct hv_config *cfg,
		     void (*report)(void *ctx, const char *msg), void *ctx);

#define HV_SERIAL_TEXT_MAX 24 /* "0xffff,115200" and its NUL, with room to spare */
/* An HV_OPT_SERIAL value as the command line writes it: "0x3f8,115200", "0x2f8,keep", "off". */
void hv_serial_describe(char *buf, size_t size, uint64_t v);

/* One line per option ("  name=... (default ...): help"), through report(). */
void hv_cmdline_help(void (*report)(void *ctx, const char *msg), void *ctx);

#endif
