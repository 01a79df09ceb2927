/*
 * The monitor's command line, from (first that gives one):
 *  1. the UEFI Shell's arguments (EFI_SHELL_PARAMETERS_PROTOCOL on our image
 *     handle), without the program name;
 *  2. the LoadOptions of the boot option (efibootmgr -u / Boot#### optional
 *     data), when they are UTF-16 text; a leading "....efi" word (the program
 *     name, as some shells pass it) is dropped;
 *  3. the file \EFI\BOOT\CMDLINE.TXT on the volume the loader came from:
 *     ASCII or UTF-8 without non-ASCII characters (or UTF-16LE with a byte-order
 *     mark); lines whose first non-blank character is '#' are comments;
 *     the other lines are joined with spaces;
 *  4. empty.
 * Whitespace runs become one space; leading and trailing whitespace go.
 */
#include <vmm/status.h>

#include "loader.h"

#define CMDLINE_FILE_PATH  L"\\EFI\\BOOT\\CMDLINE.TXT"
#define CMDLINE_FILE_MAX   8192 /* bytes: comments included */
#define COMMENT_CHAR       '#'
#define PROGRAM_SUFFIX     L".efi"
#define PROGRAM_SUFFIX_LEN 4

/* Byte-order marks (Unicode 15, section 23.8). */
#define UTF8_BOM_0    0xef
#define UTF8_BOM_1    0xbb
#define UTF8_BOM_2    0xbf
#define UTF8_BOM_LEN  3
#define UTF16_BOM_LO  0xff
#define UTF16_BOM_HI  0xfe
#define UTF16_BOM_LEN 2

#define ASCII_PRINTABLE_FIRST 0x20
#define ASCII_PRINTABLE_LAST  0x7e

static const EFI_GUID shell_parameters_guid = EFI_SHELL_PARAMETERS_PROTOCOL_GUID;

/* Builds the trimmed, space-normalised line; counts its full length even past the buffer. */
struct line_builder {
	char *buf;      /* BOOTINFO_CMDLINE_MAX bytes */
	UINTN len;      /* characters of the finished line so far (may exceed the buffer) */
	BOOLEAN space;  /* a whitespace run is pending */
};

static void lb_start(struct line_builder *lb, char *buf)
{
	lb->buf = buf;
	lb->len = 0;
	lb->space = FALSE;
	buf[0] = '\0';
}

static BOOLEAN is_blank(UINT32 c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static BOOLEAN is_printable(UINT32 c)
{
	return c >= ASCII_PRINTABLE_FIRST && c <= ASCII_PRINTABLE_LAST;
}

static void lb_store(struct line_builder *lb, char c)
{
	if (lb->len < BOOTINFO_CMDLINE_LEN_MAX) {
		lb->buf[lb->len] = c;
		lb->buf[lb->len + 1] = '\0';
	}
	lb->len++;
}

/* c must be blank or printable ASCII. */
static void lb_put(struct line_builder *lb, UINT32 c)
{
	if (is_blank(c)) {
		lb->space = lb->len > 0;
		return;
	}
	if (lb->space)
		lb_store(lb, ' ');
	lb->space = FALSE;
	lb_store(lb, (char)c);
}

/* A line too long is not an error here: the monitor refuses it with status 65, as on the GRUB path. */
static EFI_STATUS lb_finish(struct line_builder *lb, const CHAR16 *source)
{
	if (lb->len > BOOTINFO_CMDLINE_LEN_MAX) {
		log_error(L"the command line from %s is %ld characters long; the monitor takes at most %d "
			  L"(BOOTINFO_CMDLINE_LEN_MAX) and will refuse it (status %d) rather than run it cut: shorten it",
			  source, (UINT64)lb->len, BOOTINFO_CMDLINE_LEN_MAX, HV_ERR_CMDLINE);
		lb->buf[0] = '\0';
	}
	return EFI_SUCCESS;
}

static EFI_STATUS from_shell(EFI_HANDLE image, struct line_builder *lb, BOOLEAN *found)
{
	EFI_SHELL_PARAMETERS_PROTOCOL *params;

	*found = FALSE;
	if (EFI_ERROR(BS->HandleProtocol(image, (EFI_GUID *)&shell_parameters_guid, (VOID **)&params)))
		return EFI_SUCCESS;
	*found = TRUE;
	for (UINTN arg = 1; arg < params->Argc; arg++) { /* Argv[0] is the program */
		if (arg > 1)
			lb_put(lb, ' ');
		for (const CHAR16 *c = params->Argv[arg]; *c; c++) {
			if (!is_printable(*c) && !is_blank(*c)) {
				log_error(L"shell argument %d has the character U+%04x: the monitor's command line "
					  L"is printable ASCII",
					  (int)arg, (UINT32)*c);
				return EFI_INVALID_PARAMETER;
			}
			lb_put(lb, *c);
		}
	}
	return lb_finish(lb, L"the shell's arguments");
}

static BOOLEAN ends_with_program_suffix(const CHAR16 *word, UINTN len)
{
	if (len < PROGRAM_SUFFIX_LEN)
		return FALSE;
	for (UINTN i = 0; i < PROGRAM_SUFFIX_LEN; i++) {
		CHAR16 c = word[len - PROGRAM_SUFFIX_LEN + i];
		if (c >= L'A' && c <= L'Z')
			c = (CHAR16)(c - L'A' + L'a');
		if (c != PROGRAM_SUFFIX[i])
			return FALSE;
	}
	return TRUE;
}

static EFI_STATUS from_load_options(EFI_LOADED_IMAGE *loaded, struct line_builder *lb)
{
	const CHAR16 *text = loaded->LoadOptions;
	UINTN chars = loaded->LoadOptionsSize / sizeof(CHAR16), len = 0, start = 0;

	if (text == NULL || loaded->LoadOptionsSize == 0)
		return EFI_SUCCESS;
	while (len < chars && text[len] != L'\0')
		len++;
	if (loaded->LoadOptionsSize % sizeof(CHAR16) != 0) {
		log_line(L"ignoring %d bytes of load options: an odd size, so not UTF-16 text (a boot manager's "
			 L"private data)", (int)loaded->LoadOptionsSize);
		return EFI_SUCCESS;
	}
	for (UINTN i = 0; i < len; i++) {
		if (!is_printable(text[i]) && !is_blank(text[i])) {
			log_line(L"ignoring %d bytes of load options: not printable text (a boot manager's private "
				 L"data)", (int)loaded->LoadOptionsSize);
			return EFI_SUCCESS;
		}
	}
	/* Drop a first word that names the program (a shell's "FS0:\EFI\BOOT\BOOTX64.EFI args"). */
	while (start < len && is_blank(text[start]))
		start++;
	UINTN word_end = start;
	while (word_end < len && !is_blank(text[word_end]))
		word_end++;
	if (ends_with_program_suffix(&text[start], word_end - start))
		start = word_end;
	for (UINTN i = start; i < len; i++)
		lb_put(lb, text[i]);
	return lb_finish(lb, L"the load options");
}

/* Feed a file's bytes, as ASCII text with '#' comment lines, into the builder. */
static EFI_STATUS parse_file_text(const UINT8 *data, UINTN size, struct line_builder *lb)
{
	BOOLEAN utf16 = FALSE, line_start = TRUE, comment = FALSE;
	UINTN pos = 0, unit;

	if (size >= UTF8_BOM_LEN && data[0] == UTF8_BOM_0 && data[1] == UTF8_BOM_1 && data[2] == UTF8_BOM_2) {
		pos = UTF8_BOM_LEN;
	} else if (size >= UTF16_BOM_LEN && data[0] == UTF16_BOM_LO && data[1] == UTF16_BOM_HI) {
		pos = UTF16_BOM_LEN;
		utf16 = TRUE;
	}
	unit = utf16 ? sizeof(CHAR16) : 1;
	for (; pos + unit <= size; pos += unit) {
		UINT32 c = utf16 ? (UINT32)(data[pos] | data[pos + 1] << 8) : data[pos];
		if (c == '\0')
			break;
		if (c == '\n') {
			line_start = TRUE;
			comment = FALSE;
			lb_put(lb, ' ');
			continue;
		}
		if (!is_printable(c) && !is_blank(c)) {
			log_error(L"%s byte offset %ld has the character 0x%x: the command line must be printable "
				  L"ASCII (no accented letters, no typographic quotes)",
				  CMDLINE_FILE_PATH, (UINT64)pos, c);
			return EFI_INVALID_PARAMETER;
		}
		if (line_start && c == COMMENT_CHAR)
			comment = TRUE;
		if (!is_blank(c))
			line_start = FALSE;
		if (!comment)
			lb_put(lb, c);
	}
	return lb_finish(lb, CMDLINE_FILE_PATH);
}

static EFI_STATUS from_file(EFI_LOADED_IMAGE *loaded, struct line_builder *lb, BOOLEAN *found)
{
	EFI_FILE_IO_INTERFACE *fs;
	EFI_FILE_HANDLE root, file;
	UINT8 *data;
	UINTN size = CMDLINE_FILE_MAX + 1;
	EFI_STATUS status;

	*found = FALSE;
	status = BS->HandleProtocol(loaded->DeviceHandle, &FileSystemProtocol, (VOID **)&fs);
	if (EFI_ERROR(status)) {
		log_line(L"the volume the loader came from has no file system (%r): no %s to read", status,
			 CMDLINE_FILE_PATH);
		return EFI_SUCCESS;
	}
	status = fs->OpenVolume(fs, &root);
	if (EFI_ERROR(status)) {
		log_error(L"cannot open the loader's volume to read %s: %r", CMDLINE_FILE_PATH, status);
		return status;
	}
	status = root->Open(root, &file, CMDLINE_FILE_PATH, EFI_FILE_MODE_READ, 0);
	root->Close(root);
	if (status == EFI_NOT_FOUND)
		return EFI_SUCCESS;
	if (EFI_ERROR(status)) {
		log_error(L"cannot open %s: %r", CMDLINE_FILE_PATH, status);
		return status;
	}
	*found = TRUE;
	data = AllocatePool(size);
	if (data == NULL) {
		file->Close(file);
		log_error(L"out of memory reading %s", CMDLINE_FILE_PATH);
		return EFI_OUT_OF_RESOURCES;
	}
	status = file->Read(file, &size, data);
	file->Close(file);
	if (EFI_ERROR(status)) {
		log_error(L"cannot read %s: %r", CMDLINE_FILE_PATH, status);
	} else if (size > CMDLINE_FILE_MAX) {
		log_error(L"%s is larger than %d bytes: it holds one command line (at most %d characters) and "
			  L"comments; shorten it",
			  CMDLINE_FILE_PATH, CMDLINE_FILE_MAX, BOOTINFO_CMDLINE_LEN_MAX);
		status = EFI_BAD_BUFFER_SIZE;
	} else {
		status = parse_file_text(data, size, lb);
	}
	FreePool(data);
	return status;
}

EFI_STATUS cmdline_get(EFI_HANDLE image, EFI_LOADED_IMAGE *loaded, char *out, UINT32 *length,
		       const CHAR16 **source)
{
	struct line_builder lb;
	BOOLEAN found;
	EFI_STATUS status;

	*length = 0;
	lb_start(&lb, out);
	status = from_shell(image, &lb, &found);
	if (EFI_ERROR(status) || lb.len > 0) {
		*source = L"from the shell's arguments";
		*length = (UINT32)lb.len;
		return status;
	}
	/* Under the shell, LoadOptions repeat the shell's command line, program name included. */
	if (!found) {
		lb_start(&lb, out);
		status = from_load_options(loaded, &lb);
		if (EFI_ERROR(status) || lb.len > 0) {
			*source = L"from the load options";
			*length = (UINT32)lb.len;
			return status;
		}
	}
	lb_start(&lb, out);
	status = from_file(loaded, &lb, &found);
	if (EFI_ERROR(status) || found) {
		*source = L"from " CMDLINE_FILE_PATH;
		*length = (UINT32)lb.len;
		return status;
	}
	*source = L"none given: no usable load options and no " CMDLINE_FILE_PATH;
	return EFI_SUCCESS;
}
