/*
 * Test hook: the loader command-line word efi.reserve=START-END (hexadecimal
 * with 0x, page-aligned, START < END) makes the loader take the pages of
 * [START, END) from the firmware as EfiReservedMemoryType before it loads the
 * monitor, as firmware that owns the range would.  The monitor must then run
 * from elsewhere (tests/boot/test_load_anywhere.py reserves the 2 MiB the
 * monitor was once linked at).  Pages already in use are left as they are.
 * The word may be repeated; the loader removes every efi.* word it handles
 * before it hands the command line to the monitor.
 */
#include "loader.h"

#define RESERVE_KEY     "efi.reserve="
#define RESERVE_KEY_LEN (sizeof(RESERVE_KEY) - 1)
#define HEX_PREFIX_LEN  2
#define HEX_DIGIT_BITS  4
#define HEX_DIGITS_MAX  16
#define DECIMAL_DIGITS  10
#define RANGE_SEPARATOR '-'
#define PAGE_MASK ((UINT64)EFI_PAGE_SIZE - 1)

/* A "0x..." number ending at *end_char (or at the end of the word); FALSE when malformed. */
static BOOLEAN parse_hex(const char **p, const char *end, UINT64 *out)
{
	const char *s = *p;
	UINTN digits = 0;
	UINT64 v = 0;

	if (end - s < HEX_PREFIX_LEN || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return FALSE;
	for (s += HEX_PREFIX_LEN; s < end && *s != RANGE_SEPARATOR; s++, digits++) {
		char c = *s;
		UINT64 d;
		if (c >= '0' && c <= '9')
			d = (UINT64)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (UINT64)(c - 'a') + DECIMAL_DIGITS;
		else if (c >= 'A' && c <= 'F')
			d = (UINT64)(c - 'A') + DECIMAL_DIGITS;
		else
			return FALSE;
		if (digits == HEX_DIGITS_MAX)
			return FALSE;
		v = (v << HEX_DIGIT_BITS) | d;
	}
	if (digits == 0)
		return FALSE;
	*p = s;
	*out = v;
	return TRUE;
}

/* Reserve [start, end): in one piece if possible, else the free pages one by one. */
static void reserve_range(UINT64 start, UINT64 end)
{
	UINTN pages = (UINTN)((end - start) / EFI_PAGE_SIZE), taken = 0;
	EFI_PHYSICAL_ADDRESS addr = start;

	/* Not pages_allocate(): these stay reserved even if the load fails (they are a test's, not ours to free). */
	if (!EFI_ERROR(BS->AllocatePages(AllocateAddress, EfiReservedMemoryType, pages, &addr))) {
		log_line(L"efi.reserve: [0x%lx-0x%lx) reserved (%ld pages, EfiReservedMemoryType)", start, end,
			 (UINT64)pages);
		return;
	}
	for (UINT64 page = start; page < end; page += EFI_PAGE_SIZE) {
		addr = page;
		if (!EFI_ERROR(BS->AllocatePages(AllocateAddress, EfiReservedMemoryType, 1, &addr)))
			taken++;
	}
	log_line(L"efi.reserve: [0x%lx-0x%lx): %ld of %ld pages reserved; the others were in use already:", start, end,
		 (UINT64)taken, (UINT64)pages);
	memmap_describe_users(start, end);
}

EFI_STATUS reserve_from_cmdline(char *cmdline)
{
	char *out = cmdline;
	const char *p = cmdline;

	while (*p) {
		const char *word = p, *word_end, *q;
		UINT64 start, end;

		while (*p && *p != ' ')
			p++;
		word_end = p;
		while (*p == ' ')
			p++;
		if ((UINTN)(word_end - word) < RESERVE_KEY_LEN || CompareMem(word, RESERVE_KEY, RESERVE_KEY_LEN) != 0) {
			/* Not ours: keep it, one space apart from the previous kept word. */
			if (out != cmdline)
				*out++ = ' ';
			while (word < word_end)
				*out++ = *word++;
			continue;
		}
		q = word + RESERVE_KEY_LEN;
		if (!parse_hex(&q, word_end, &start) || q >= word_end || *q != RANGE_SEPARATOR || (q++, FALSE) ||
		    !parse_hex(&q, word_end, &end) || q != word_end || start >= end || (start & PAGE_MASK) != 0 ||
		    (end & PAGE_MASK) != 0) {
			log_error(L"bad option '%.*a': efi.reserve wants START-END, two page-aligned hexadecimal "
				  L"addresses with 0x, START < END (e.g. efi.reserve=0x200000-0x400000)",
				  (int)(word_end - word), word);
			return EFI_INVALID_PARAMETER;
		}
		reserve_range(start, end);
	}
	*out = 0;
	return EFI_SUCCESS;
}
