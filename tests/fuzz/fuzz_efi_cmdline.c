/*
 * libFuzzer harness: the UEFI loader's command-line sources (boot/efi/cmdline.c).
 * cmdline.c is compiled here as is, over minimal stand-ins for the few gnu-efi
 * types and services it uses (defined below, before boot/efi/loader.h would
 * pull in <efi.h>): the shell-parameters protocol, the loaded image's
 * LoadOptions, and a file system holding \EFI\BOOT\CMDLINE.TXT.
 *
 * Input: one byte of switches (shell present, file present, file read fails,
 * no LoadOptions), two 16-bit lengths (shell arguments, load options: both
 * UTF-16LE, arguments separated by U+0000), the rest is the file.
 * Properties of a command line that is accepted: NUL-terminated and shorter
 * than BOOTINFO_CMDLINE_MAX; printable ASCII only; no leading or trailing
 * space and no two spaces in a row; and normalisation is idempotent (the
 * result, read back as a CMDLINE.TXT, gives itself, unless it starts with '#').
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include "fuzz.h"
#include "vmm/bootinfo.h"

#include "efi_host.h"
#include "../../boot/efi/cmdline.c"

/* ---- the fake firmware state one input describes ---- */
#define SW_SHELL      (1u << 0)
#define SW_FILE       (1u << 1)
#define SW_READ_FAILS (1u << 2)
#define SW_NO_OPTIONS (1u << 3)
#define MAX_ARGS      64

static struct {
	unsigned switches;
	EFI_SHELL_PARAMETERS_PROTOCOL shell;
	const uint8_t *file;
	size_t file_size;
} fw;

static EFI_STATUS file_close(EFI_FILE_HANDLE self) { (void)self; return EFI_SUCCESS; }

static EFI_STATUS file_read(EFI_FILE_HANDLE self, UINTN *size, VOID *buf)
{
	(void)self;
	if (fw.switches & SW_READ_FAILS)
		return EFI_DEVICE_ERROR;
	UINTN n = fw.file_size < *size ? fw.file_size : *size; /* UEFI: at most *size bytes */
	memcpy(buf, fw.file, n);
	*size = n;
	return EFI_SUCCESS;
}

static EFI_FILE the_file = { NULL, file_close, file_read };

static EFI_STATUS root_open(EFI_FILE_HANDLE self, EFI_FILE_HANDLE *out, CHAR16 *path, UINT64 mode, UINT64 attr)
{
	(void)self, (void)path, (void)mode, (void)attr;
	if (!(fw.switches & SW_FILE))
		return EFI_NOT_FOUND;
	*out = &the_file;
	return EFI_SUCCESS;
}

static EFI_FILE the_root = { root_open, file_close, NULL };

static EFI_STATUS open_volume(struct fake_fs *self, EFI_FILE_HANDLE *root)
{
	(void)self;
	*root = &the_root;
	return EFI_SUCCESS;
}

static EFI_FILE_IO_INTERFACE the_fs = { open_volume };

static EFI_STATUS handle_protocol(EFI_HANDLE handle, EFI_GUID *guid, VOID **iface)
{
	(void)handle;
	if (guid == &FileSystemProtocol) {
		*iface = &the_fs;
		return EFI_SUCCESS;
	}
	if (!(fw.switches & SW_SHELL))
		return EFI_UNSUPPORTED;
	*iface = &fw.shell;
	return EFI_SUCCESS;
}

static void check_line(const char *out)
{
	const char *nul = memchr(out, '\0', BOOTINFO_CMDLINE_MAX);
	FUZZ_CHECK(nul != NULL);
	const size_t len = (size_t)(nul - out);
	for (size_t i = 0; i < len; i++) {
		FUZZ_CHECK(out[i] >= ASCII_PRINTABLE_FIRST && out[i] <= ASCII_PRINTABLE_LAST);
		FUZZ_CHECK(out[i] != ' ' || (i > 0 && i + 1 < len && out[i - 1] != ' '));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	static char out[BOOTINFO_CMDLINE_MAX], again[BOOTINFO_CMDLINE_MAX];
	fw.switches = fuzz_u8(&in);
	size_t shell_bytes = fuzz_u16(&in), opt_bytes = fuzz_u16(&in);
	shell_bytes = shell_bytes < in.size ? shell_bytes : in.size;
	const uint8_t *shell_src = in.data;
	opt_bytes = opt_bytes < in.size - shell_bytes ? opt_bytes : in.size - shell_bytes;
	const uint8_t *opt_src = in.data + shell_bytes;
	fw.file = opt_src + opt_bytes;
	fw.file_size = in.size - shell_bytes - opt_bytes;

	/* Shell arguments: UTF-16 units, U+0000 between arguments; Argv[0] is the program. */
	size_t units = shell_bytes / sizeof(CHAR16);
	CHAR16 *arg_text = malloc((units + 1) * sizeof(CHAR16));
	memcpy(arg_text, shell_src, units * sizeof(CHAR16));
	arg_text[units] = 0;
	static CHAR16 program[] = L"BOOTX64.EFI";
	CHAR16 *argv[MAX_ARGS];
	UINTN argc = 0;
	argv[argc++] = program;
	for (size_t i = 0; i < units && argc < MAX_ARGS;) {
		argv[argc++] = &arg_text[i];
		while (arg_text[i])
			i++;
		i++;
	}
	fw.shell.Argv = argv;
	fw.shell.Argc = argc;
	host_bs.HandleProtocol = handle_protocol;

	/* Load options: exactly opt_bytes bytes (an odd size is possible). */
	void *opts = malloc(opt_bytes ? opt_bytes : 1);
	memcpy(opts, opt_src, opt_bytes);
	EFI_LOADED_IMAGE loaded = { NULL, (fw.switches & SW_NO_OPTIONS) ? NULL : opts, (UINT32)opt_bytes };

	const CHAR16 *source = NULL;
	UINT32 length = UINT32_MAX;
	memset(out, 0x55, sizeof(out));
	EFI_STATUS st = cmdline_get(NULL, &loaded, out, &length, &source);
	FUZZ_CHECK(source != NULL);
	FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);
	if (!EFI_ERROR(st)) {
		check_line(out);
		/* The whole length is reported; a line too long is handed over empty (the monitor refuses it). */
		FUZZ_CHECK(length > BOOTINFO_CMDLINE_LEN_MAX ? out[0] == '\0' : strlen(out) == length);
	}
	/* Idempotent: the result read back as CMDLINE.TXT is itself (unless it starts as a comment line). */
	if (!EFI_ERROR(st) && out[0] != COMMENT_CHAR) {
		struct line_builder lb;
		lb_start(&lb, again);
		FUZZ_CHECK(parse_file_text((const UINT8 *)out, strlen(out), &lb) == EFI_SUCCESS);
		FUZZ_CHECK(strcmp(again, out) == 0);
	}
	free(opts);
	free(arg_text);
	return 0;
}
