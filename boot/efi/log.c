/*
 * "[efi] ..." log lines, on the firmware console (ConOut) and on COM1.
 * Boot services only: after ExitBootServices the loader writes to COM1 with
 * the com1_* functions directly.
 */
#include "loader.h"

#define LOG_TAG       L"[efi] "
#define LOG_LINE_MAX  512 /* CHAR16s in one formatted line, tag and newline included */

/* ACPI _HID of a PC 16550 serial port, and the _UID of COM1. */
#define PNP_ID_SERIAL_PORT 0x0501
#define COM1_ACPI_UID      0

/* Whether log lines are also written raw to COM1 (FALSE when ConOut already reaches it). */
static BOOLEAN log_to_com1 = TRUE;

/*
 * Does this device-path instance end in a terminal on COM1?  That is an ACPI
 * node for a PNP0501 serial port with _UID 0 followed by a UART node.
 */
static BOOLEAN instance_is_com1_terminal(EFI_DEVICE_PATH *node, EFI_DEVICE_PATH **next_instance)
{
	BOOLEAN com1 = FALSE, uart = FALSE;

	for (; !IsDevicePathEndType(node); node = NextDevicePathNode(node)) {
		if ((UINTN)DevicePathNodeLength(node) < sizeof(EFI_DEVICE_PATH)) {
			*next_instance = NULL; /* malformed: stop looking */
			return FALSE;
		}
		if (DevicePathType(node) == ACPI_DEVICE_PATH && DevicePathSubType(node) == ACPI_DP &&
		    (UINTN)DevicePathNodeLength(node) >= sizeof(ACPI_HID_DEVICE_PATH)) {
			ACPI_HID_DEVICE_PATH *acpi = (ACPI_HID_DEVICE_PATH *)node;
			if (acpi->HID == EISA_PNP_ID(PNP_ID_SERIAL_PORT) && acpi->UID == COM1_ACPI_UID)
				com1 = TRUE;
		}
		if (DevicePathType(node) == MESSAGING_DEVICE_PATH && DevicePathSubType(node) == MSG_UART_DP)
			uart = TRUE;
	}
	*next_instance = node->SubType == END_INSTANCE_DEVICE_PATH_SUBTYPE ? NextDevicePathNode(node) : NULL;
	return com1 && uart;
}

/* Does the firmware's console output (the ConOut variable) include a terminal on COM1? */
static BOOLEAN conout_reaches_com1(void)
{
	EFI_DEVICE_PATH *paths = LibGetVariable(L"ConOut", &EfiGlobalVariable);
	BOOLEAN found = FALSE;

	for (EFI_DEVICE_PATH *instance = paths; instance != NULL && !found;)
		found = instance_is_com1_terminal(instance, &instance);
	if (paths != NULL)
		FreePool(paths);
	return found;
}

void log_init(void)
{
	log_to_com1 = !conout_reaches_com1();
	if (log_to_com1)
		com1_init();
}

static void log_vline(const CHAR16 *prefix, const CHAR16 *fmt, va_list args)
{
	CHAR16 line[LOG_LINE_MAX];
	UINTN len = 0;

	for (const CHAR16 *p = LOG_TAG; *p; p++)
		line[len++] = *p;
	for (const CHAR16 *p = prefix; *p; p++)
		line[len++] = *p;
	/* Leave room for "\r\n" and the terminating NUL. */
	VSPrint(&line[len], (LOG_LINE_MAX - len - 2) * sizeof(CHAR16), fmt, args);
	len = StrLen(line);
	line[len++] = L'\r';
	line[len++] = L'\n';
	line[len] = L'\0';

	ST->ConOut->OutputString(ST->ConOut, line);
	if (log_to_com1) {
		char ascii[LOG_LINE_MAX];
		UINTN i;
		for (i = 0; line[i] != L'\0'; i++)
			ascii[i] = (line[i] >= L' ' && line[i] <= L'~') || line[i] == L'\r' || line[i] == L'\n'
					   ? (char)line[i]
					   : '?';
		ascii[i] = '\0';
		/* com1_write turns "\n" into "\r\n": drop our own "\r". */
		ascii[i - 2] = '\n';
		ascii[i - 1] = '\0';
		com1_write(ascii);
	}
}

void log_line(const CHAR16 *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	log_vline(L"", fmt, args);
	va_end(args);
}

void log_error(const CHAR16 *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	log_vline(L"ERROR: ", fmt, args);
	va_end(args);
}
