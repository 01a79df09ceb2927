/*
 * EFI_MP_SERVICES_PROTOCOL: the firmware's list of the machine's processors, defined here because
 * gnu-efi 3.0.15 has no header for it.  Written from the UEFI Platform Initialization (PI)
 * specification, Volume 2 (DXE), 13.4 "MP Services Protocol" (PI 1.9; EFI_PROCESSOR_INFORMATION
 * under GetProcessorInfo).  The protocol is a boot service: it is gone after ExitBootServices.
 *
 * Only GetNumberOfProcessors and GetProcessorInfo are used (boot/efi/cpus.c); the other members
 * are typed so the table matches the spec's layout.
 */
#ifndef HV_EFI_MP_SERVICES_H
#define HV_EFI_MP_SERVICES_H

#include <efi.h>

#define EFI_MP_SERVICES_PROTOCOL_GUID \
	{ 0x3fdda605, 0xa76e, 0x4f46, { 0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08 } }

/* EFI_PROCESSOR_INFORMATION.StatusFlag */
#define PROCESSOR_AS_BSP_BIT        0x00000001u /* this processor is the bootstrap processor */
#define PROCESSOR_ENABLED_BIT       0x00000002u /* enabled (an AP may be disabled with EnableDisableAP) */
#define PROCESSOR_HEALTH_STATUS_BIT 0x00000004u /* passed its built-in self test */

/*
 * GetProcessorInfo's ProcessorNumber bit 24 (PI 1.7 and later): with it set the firmware also fills
 * ExtendedInformation, which follows Location.  The loader never sets it, so the base structure
 * below is all the firmware writes.
 */
#define CPU_V2_EXTENDED_TOPOLOGY (1u << 24)

/* StartupThisAP / StartupAllAPs' FailedCpuList terminator. */
#define END_OF_CPU_LIST ((UINTN)-1)

typedef struct {
	UINT32 Package;
	UINT32 Core;
	UINT32 Thread;
} EFI_CPU_PHYSICAL_LOCATION;

/* The PI 1.0-1.6 structure; PI 1.7 appends EXTENDED_PROCESSOR_INFORMATION ExtendedInformation. */
typedef struct {
	UINT64 ProcessorId;   /* x86: the processor's local APIC ID */
	UINT32 StatusFlag;    /* PROCESSOR_*_BIT */
	EFI_CPU_PHYSICAL_LOCATION Location;
} EFI_PROCESSOR_INFORMATION;

INTERFACE_DECL(_EFI_MP_SERVICES_PROTOCOL);

/* Runs on an AP (StartupAllAPs, StartupThisAP): called by the firmware, hence EFIAPI. */
typedef VOID(EFIAPI *EFI_AP_PROCEDURE)(IN VOID *ProcedureArgument);

typedef EFI_STATUS(EFIAPI *EFI_MP_SERVICES_GET_NUMBER_OF_PROCESSORS)(
	IN struct _EFI_MP_SERVICES_PROTOCOL *This, OUT UINTN *NumberOfProcessors,
	OUT UINTN *NumberOfEnabledProcessors);

typedef EFI_STATUS(EFIAPI *EFI_MP_SERVICES_GET_PROCESSOR_INFO)(IN struct _EFI_MP_SERVICES_PROTOCOL *This,
								IN UINTN ProcessorNumber,
								OUT EFI_PROCESSOR_INFORMATION *ProcessorInfoBuffer);

typedef EFI_STATUS(EFIAPI *EFI_MP_SERVICES_STARTUP_ALL_APS)(IN struct _EFI_MP_SERVICES_PROTOCOL *This,
							     IN EFI_AP_PROCEDURE Procedure, IN BOOLEAN SingleThread,
							     IN EFI_EVENT WaitEvent OPTIONAL,
							     IN UINTN TimeoutInMicroSeconds,
							     IN VOID *ProcedureArgument OPTIONAL,
							     OUT UINTN **FailedCpuList OPTIONAL);

typedef EFI_STATUS(EFIAPI *EFI_MP_SERVICES_STARTUP_THIS_AP)(IN struct _EFI_MP_SERVICES_PROTOCOL *This,
							     IN EFI_AP_PROCEDURE Procedure, IN UINTN ProcessorNumber,
							     IN EFI_EVENT WaitEvent OPTIONAL,
							     IN UINTN TimeoutInMicroseconds,
							     IN VOID *ProcedureArgument OPTIONAL,
							     OUT BOOLEAN *Finished OPTIONAL);

typedef EFI_STATUS(EFIAPI *EFI_MP_SERVICES_SWITCH_BSP)(IN struct _EFI_MP_SERVICES_PROTOCOL *This,
							IN UINTN ProcessorNumber, IN BOOLEAN EnableOldBSP);

typedef EFI_STATUS(EFIAPI *EFI_MP_SERVICES_ENABLEDISABLEAP)(IN struct _EFI_MP_SERVICES_PROTOCOL *This,
							     IN UINTN ProcessorNumber, IN BOOLEAN EnableAP,
							     IN UINT32 *HealthFlag OPTIONAL);

typedef EFI_STATUS(EFIAPI *EFI_MP_SERVICES_WHOAMI)(IN struct _EFI_MP_SERVICES_PROTOCOL *This,
						    OUT UINTN *ProcessorNumber);

/* The function table, in the spec's order. */
typedef struct _EFI_MP_SERVICES_PROTOCOL {
	EFI_MP_SERVICES_GET_NUMBER_OF_PROCESSORS GetNumberOfProcessors;
	EFI_MP_SERVICES_GET_PROCESSOR_INFO GetProcessorInfo;
	EFI_MP_SERVICES_STARTUP_ALL_APS StartupAllAPs;
	EFI_MP_SERVICES_STARTUP_THIS_AP StartupThisAP;
	EFI_MP_SERVICES_SWITCH_BSP SwitchBSP;
	EFI_MP_SERVICES_ENABLEDISABLEAP EnableDisableAP;
	EFI_MP_SERVICES_WHOAMI WhoAmI;
} EFI_MP_SERVICES_PROTOCOL;

#endif
