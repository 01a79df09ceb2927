/*
 * VMX instructions (SDM Vol. 3C chapter 31, Vol. 2 "VMX instruction reference").
 * Each returns the VMX conventions of SDM 31.2: VMsucceed (CF=0, ZF=0),
 * VMfailInvalid (CF=1: no current VMCS), VMfailValid (ZF=1: the error number is
 * in the VM_INSTRUCTION_ERROR field).
 */
#ifndef ARCH_VMX_H
#define ARCH_VMX_H

#include <stdint.h>

enum vmx_result {
	VMX_SUCCEED = 0,
	VMX_FAIL_INVALID = 1,
	VMX_FAIL_VALID = 2,
};

#define VMX_RESULT_FROM_FLAGS(cf, zf) ((cf) ? VMX_FAIL_INVALID : (zf) ? VMX_FAIL_VALID : VMX_SUCCEED)

static inline enum vmx_result vmxon(uint64_t phys)
{
	uint8_t cf, zf;
	__asm__ volatile("vmxon %2" : "=@ccc"(cf), "=@ccz"(zf) : "m"(phys) : "memory");
	return VMX_RESULT_FROM_FLAGS(cf, zf);
}

static inline enum vmx_result vmxoff(void)
{
	uint8_t cf, zf;
	__asm__ volatile("vmxoff" : "=@ccc"(cf), "=@ccz"(zf) : : "memory");
	return VMX_RESULT_FROM_FLAGS(cf, zf);
}

static inline enum vmx_result vmclear(uint64_t phys)
{
	uint8_t cf, zf;
	__asm__ volatile("vmclear %2" : "=@ccc"(cf), "=@ccz"(zf) : "m"(phys) : "memory");
	return VMX_RESULT_FROM_FLAGS(cf, zf);
}

static inline enum vmx_result vmptrld(uint64_t phys)
{
	uint8_t cf, zf;
	__asm__ volatile("vmptrld %2" : "=@ccc"(cf), "=@ccz"(zf) : "m"(phys) : "memory");
	return VMX_RESULT_FROM_FLAGS(cf, zf);
}

static inline enum vmx_result vmx_vmwrite(uint64_t field, uint64_t value)
{
	uint8_t cf, zf;
	__asm__ volatile("vmwrite %3, %2" : "=@ccc"(cf), "=@ccz"(zf) : "r"(field), "rm"(value) : "memory");
	return VMX_RESULT_FROM_FLAGS(cf, zf);
}

static inline enum vmx_result vmx_vmread(uint64_t field, uint64_t *value)
{
	uint8_t cf, zf;
	uint64_t v;
	__asm__ volatile("vmread %3, %2" : "=@ccc"(cf), "=@ccz"(zf), "=rm"(v) : "r"(field) : "memory");
	*value = v;
	return VMX_RESULT_FROM_FLAGS(cf, zf);
}

/* INVEPT / INVVPID types (SDM 30.3.3.1, 30.3.3.3). */
enum invept_type { INVEPT_SINGLE_CONTEXT = 1, INVEPT_ALL_CONTEXT = 2 };
enum invvpid_type {
	INVVPID_INDIVIDUAL_ADDRESS = 0,
	INVVPID_SINGLE_CONTEXT = 1,
	INVVPID_ALL_CONTEXT = 2,
	INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS = 3,
};

static inline enum vmx_result invept(enum invept_type type, uint64_t eptp)
{
	struct { uint64_t eptp, reserved; } desc = { eptp, 0 };
	uint8_t cf, zf;
	__asm__ volatile("invept %2, %3" : "=@ccc"(cf), "=@ccz"(zf) : "m"(desc), "r"((uint64_t)type) : "memory");
	return VMX_RESULT_FROM_FLAGS(cf, zf);
}

static inline enum vmx_result invvpid(enum invvpid_type type, uint16_t vpid, uint64_t linear)
{
	struct { uint64_t vpid, linear; } desc = { vpid, linear };
	uint8_t cf, zf;
	__asm__ volatile("invvpid %2, %3" : "=@ccc"(cf), "=@ccz"(zf) : "m"(desc), "r"((uint64_t)type) : "memory");
	return VMX_RESULT_FROM_FLAGS(cf, zf);
}

/* The MSR bitmap (SDM Vol. 3C 25.6.9): four 1-KiB bitmaps, read then write, low then high MSRs. */
#define MSR_BITMAP_READ_LOW   0
#define MSR_BITMAP_READ_HIGH  1024
#define MSR_BITMAP_WRITE_LOW  2048
#define MSR_BITMAP_WRITE_HIGH 3072
#define MSR_HIGH_RANGE_BASE   0xc0000000u
#define MSR_RANGE_SIZE        0x2000u

#endif
