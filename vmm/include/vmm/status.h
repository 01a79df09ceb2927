/*
 * Exit statuses of the monitor, one table.  The status is what the test
 * harnesses return: QEMU through isa-debug-exit, Bochs through the serial
 * "power off" line (Bochs itself can only exit 0 or 1).
 *
 * 0..63 are the guest's own exit status (exit hypercall), passed through.
 * 64..127 are the monitor's verdicts (isa-debug-exit carries 7 bits).
 */
#ifndef VMM_STATUS_H
#define VMM_STATUS_H

#define HV_GUEST_STATUS_MAX 63

#define HV_STATUS_TABLE(X)                                                              \
	X(HV_OK,                  0,  "success")                                            \
	X(HV_ERR_GENERIC,        64,  "internal monitor error")                             \
	X(HV_ERR_CMDLINE,        65,  "bad command line")                                   \
	X(HV_ERR_BOOTINFO,       66,  "bad boot information from the loader")               \
	X(HV_ERR_NO_MEMORY,      67,  "not enough usable memory")                           \
	X(HV_ERR_NO_GUEST,       68,  "no guest image was given")                           \
	X(HV_ERR_BAD_GUEST,      69,  "guest image is invalid")                             \
	X(HV_ERR_NO_VMX,         70,  "CPU has no VT-x")                                    \
	X(HV_ERR_VMX_DISABLED,   71,  "VT-x disabled in firmware")                          \
	X(HV_ERR_VMX_FEATURE,    72,  "a required VT-x feature is missing")                 \
	X(HV_ERR_VMX_INSTR,      73,  "a VMX instruction failed")                           \
	X(HV_ERR_VMENTRY,        74,  "VM entry failed")                                    \
	X(HV_ERR_GUEST_FAULT,    75,  "guest stopped on a fatal fault")                     \
	X(HV_ERR_EPT_VIOLATION,  76,  "guest touched unmapped guest-physical memory")       \
	X(HV_ERR_WATCHDOG,       77,  "guest watchdog expired")                             \
	X(HV_ERR_UNEXPECTED_EXIT,78,  "unexpected VM exit")                                 \
	X(HV_ERR_EXCEPTION,      79,  "monitor exception")                                  \
	X(HV_ERR_TRIPLE_FAULT,   80,  "guest triple fault")                                 \
	X(HV_ERR_UNCLAIMED_IO,   81,  "guest touched an unclaimed I/O port with strict_io=1")

enum hv_status {
#define X(name, value, text) name = value,
	HV_STATUS_TABLE(X)
#undef X
};

/* Human-readable name of a status, "guest status" for 0..63. */
const char *hv_status_text(int status);

#endif
