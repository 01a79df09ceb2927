/*
 * Host unit tests for vmm/dev/realmode_decode.c: the privileged and I/O instructions of 16-bit code.
 * Most cases come from the GNU assembler and objdump (tests/unit/gen_realmode_cases.py, run by the
 * build into build/unit/gen/realmode_asm_cases.h); the rest are forms they do not write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/realmode_decode.h"

/* One line of 16-bit code as `as --32` encodes it, and what the decoder must make of it. */
struct rm_asm_case {
	const char *text;
	uint8_t code[RM_INSN_MAX];
	struct rm_insn want;
};
/* A candidate at objdump's 16-byte stride: 15 bytes (NOP filler after the instruction), its length. */
struct rm_len_case {
	uint8_t code[RM_INSN_MAX];
	unsigned len;
	const char *text;
};
#include "realmode_asm_cases.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define B(...) { __VA_ARGS__ }
#define BYTES(...) (const uint8_t[])B(__VA_ARGS__), sizeof((const uint8_t[])B(__VA_ARGS__))
#define WHY_LEN 256
#define OPCODE_NOP 0x90

/* Registers for the hand-written cases (the assembled ones bring their own). */
static const struct rm_regs regs = { { 0x11112222, 0x00000004, 0x000003f8, 0x0000fff0,
				       0x00007000, 0x0000ff00, 0x00000020, 0x00008000 } };

static void expect_same(const struct rm_insn *got, const struct rm_insn *want, const char *what)
{
	bool ok = got->op == want->op && got->len == want->len && got->operand_bits == want->operand_bits &&
		  got->address_bits == want->address_bits && got->access_bytes == want->access_bytes &&
		  got->base_bits == want->base_bits && got->has_mem == want->has_mem &&
		  got->has_gpr == want->has_gpr && got->ctl_reg == want->ctl_reg &&
		  got->port_imm == want->port_imm && got->rep == want->rep;
	if (want->has_mem)
		ok = ok && got->seg == want->seg && got->offset == want->offset;
	if (want->has_gpr)
		ok = ok && got->gpr == want->gpr;
	if (want->port_imm)
		ok = ok && got->port == want->port;
	if (!ok)
		fail_msg("%s: got op %d len %u o%u a%u acc %u base %u mem %d %u:%#x gpr %d %u ctl %u port %d %#x rep %d; "
			 "want op %d len %u o%u a%u acc %u base %u mem %d %u:%#x gpr %d %u ctl %u port %d %#x rep %d",
			 what, got->op, got->len, got->operand_bits, got->address_bits, got->access_bytes,
			 got->base_bits, got->has_mem, got->seg, got->offset, got->has_gpr, got->gpr, got->ctl_reg,
			 got->port_imm, got->port, got->rep, want->op, want->len, want->operand_bits,
			 want->address_bits, want->access_bytes, want->base_bits, want->has_mem, want->seg,
			 want->offset, want->has_gpr, want->gpr, want->ctl_reg, want->port_imm, want->port, want->rep);
}

static struct rm_insn decode_ok(const uint8_t *code, unsigned n, const struct rm_regs *r)
{
	struct rm_insn in;
	char why[WHY_LEN];
	if (rm_decode(code, n, r, &in, why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	return in;
}

/* Refused with exactly this reason. */
static void expect_refused(const uint8_t *code, unsigned n, const char *reason)
{
	struct rm_insn in;
	char why[WHY_LEN];
	if (rm_decode(code, n, &regs, &in, why, sizeof(why)) != -1)
		fail_msg("accepted, wanted \"%s\"", reason);
	assert_string_equal(why, reason);
}

/* Refused with a reason that starts with this. */
static void expect_refused_prefix(const uint8_t *code, unsigned n, const char *start)
{
	struct rm_insn in;
	char why[WHY_LEN];
	if (rm_decode(code, n, &regs, &in, why, sizeof(why)) != -1)
		fail_msg("accepted, wanted \"%s...\"", start);
	if (strncmp(why, start, strlen(start)) != 0)
		fail_msg("reason \"%s\", wanted \"%s...\"", why, start);
}

/* Every assembled line: exactly its bytes, then with 15 bytes of which the rest is other code. */
static void test_assembled(void **s)
{
	(void)s;
	for (size_t k = 0; k < ARRAY_LEN(rm_asm_cases); k++) {
		const struct rm_asm_case *c = &rm_asm_cases[k];
		struct rm_insn in = decode_ok(c->code, c->want.len, &rm_asm_regs);
		expect_same(&in, &c->want, c->text);
		uint8_t more[RM_INSN_MAX];
		memset(more, OPCODE_NOP, sizeof(more));
		memcpy(more, c->code, c->want.len);
		in = decode_ok(more, sizeof(more), &rm_asm_regs);
		expect_same(&in, &c->want, c->text);
	}
	assert_true(ARRAY_LEN(rm_asm_cases) > 100);
}

/* Every shorter prefix of every assembled line is "truncated", with its length and bytes. */
static void test_truncated_every_length(void **s)
{
	(void)s;
	unsigned checked = 0;
	for (size_t k = 0; k < ARRAY_LEN(rm_asm_cases); k++) {
		const struct rm_asm_case *c = &rm_asm_cases[k];
		for (unsigned n = 0; n < c->want.len; n++, checked++) {
			char start[32];
			snprintf(start, sizeof(start), "truncated: %u byte%s", n, n == 1 ? "" : "s");
			expect_refused_prefix(c->code, n, start);
		}
	}
	assert_true(checked > 500);
	expect_refused(BYTES(0x0f, 0x01, 0x16), "truncated: 3 bytes (0f 01 16), inside lgdt");
	expect_refused(BYTES(0x66, 0x2e), "truncated: 2 bytes (66 2e), before the opcode");
	expect_refused(BYTES(0x0f), "truncated: 1 byte (0f), inside the opcode");
	expect_refused(NULL, 0, "truncated: 0 bytes");
	expect_refused(BYTES(0x67, 0x0f, 0x01, 0x14), "truncated: 4 bytes (67 0f 01 14), inside lgdt"); /* SIB */
	expect_refused(BYTES(0x67, 0x0f, 0x01, 0x15, 0x78, 0x56, 0x34), /* disp32 */
		       "truncated: 7 bytes (67 0f 01 15 78 56 34), inside lgdt");
	expect_refused(BYTES(0xe4), "truncated: 1 byte (e4), inside in");
	expect_refused(BYTES(0x0f, 0x22), "truncated: 2 bytes (0f 22), inside mov");
}

/* objdump's length for every ModRM (and, with 67h, every SIB) of the group 7 memory forms, and for
 * every ModRM of MOV CR/DR, whose mod is ignored: always 3 bytes (SDM Vol. 2B MOV). */
static void test_objdump_lengths(void **s)
{
	(void)s;
	unsigned accepted = 0, refused = 0;
	for (size_t k = 0; k < ARRAY_LEN(rm_objdump_lengths); k++) {
		const struct rm_len_case *c = &rm_objdump_lengths[k];
		const bool mov_cr = c->code[0] == 0x0f && (c->code[1] == 0x20 || c->code[1] == 0x22);
		const unsigned cr = (c->code[2] >> 3) & 7u;
		struct rm_insn in;
		char why[WHY_LEN];
		const int r = rm_decode(c->code, RM_INSN_MAX, &regs, &in, why, sizeof(why));
		if (mov_cr && (cr == 1 || cr >= 5)) {
			if (r != -1)
				fail_msg("%s: accepted", c->text);
			refused++;
			continue;
		}
		if (r != 0)
			fail_msg("%s: refused: %s", c->text, why);
		if (in.len != c->len)
			fail_msg("%s: length %u, objdump says %u", c->text, in.len, c->len);
		accepted++;
	}
	assert_int_equal(refused, 2 * 4 * 32); /* 0f 20 and 0f 22, CR1 CR5 CR6 CR7, every mod and r/m */
	assert_true(accepted > 1500);
}

/* Forms the assembler does not write. */
static void test_hand_forms(void **s)
{
	(void)s;
	struct rm_insn in;
	/* MOV CR/DR ignore mod: no displacement follows (SDM Vol. 2B MOV). */
	in = decode_ok(BYTES(0x0f, 0x22, 0x18, 0x90, 0x90), &regs);
	assert_int_equal(in.op, RM_MOV_TO_CR);
	assert_int_equal(in.len, 3);
	assert_int_equal(in.ctl_reg, 3);
	assert_int_equal(in.gpr, RM_EAX);
	assert_false(in.has_mem);
	in = decode_ok(BYTES(0x0f, 0x21, 0x7e), &regs);
	assert_int_equal(in.op, RM_MOV_FROM_DR);
	assert_int_equal(in.ctl_reg, 7);
	assert_int_equal(in.gpr, RM_ESI);
	/* SIB with no index (100b) and a scale: the scale is ignored; base ESP: SS. */
	in = decode_ok(BYTES(0x67, 0x0f, 0x01, 0x14, 0xe4), &regs);
	assert_int_equal(in.len, 5);
	assert_int_equal(in.seg, RM_SEG_SS);
	assert_int_equal(in.offset, 0x7000);
	/* SIB base 101b with mod 1 and mod 2 is EBP (SS); with mod 0 there is no base, and disp32 (DS). */
	in = decode_ok(BYTES(0x67, 0x0f, 0x01, 0x54, 0x4d, 0x10), &regs); /* [ebp+ecx*2+0x10] */
	assert_int_equal(in.seg, RM_SEG_SS);
	assert_int_equal(in.offset, 0xff00 + 8 + 0x10);
	in = decode_ok(BYTES(0x67, 0x0f, 0x01, 0x94, 0x4d, 0x00, 0x00, 0x01, 0x00), &regs); /* [ebp+ecx*2+0x10000] */
	assert_int_equal(in.len, 9);
	assert_int_equal(in.seg, RM_SEG_SS);
	assert_int_equal(in.offset, 0x1ff08);
	in = decode_ok(BYTES(0x67, 0x0f, 0x01, 0x14, 0x8d, 0xf0, 0xff, 0xff, 0xff), &regs); /* [ecx*4-0x10] */
	assert_int_equal(in.seg, RM_SEG_DS);
	assert_int_equal(in.offset, 0);
	/* 32-bit offsets wrap at 4 GiB. */
	in = decode_ok(BYTES(0x67, 0x0f, 0x01, 0x90, 0x00, 0x00, 0x00, 0xf0), &regs); /* [eax+0xf0000000] */
	assert_int_equal(in.offset, 0x01112222);
	/* 16-bit: the high halves are ignored, and the sum wraps at 64 KiB both ways. */
	in = decode_ok(BYTES(0x0f, 0x01, 0x96, 0x10, 0x01), &regs); /* [bp+0x110]: 0xff00 + 0x110 */
	assert_int_equal(in.seg, RM_SEG_SS);
	assert_int_equal(in.offset, 0x0010);
	in = decode_ok(BYTES(0x0f, 0x01, 0x50, 0x80), &regs); /* [bx+si-0x80] */
	assert_int_equal(in.offset, (0xfff0 + 0x20 - 0x80) & 0xffff);
	in = decode_ok(BYTES(0x0f, 0x01, 0x45, 0x80), &regs); /* [di-0x80] with DI 0x8000 */
	assert_int_equal(in.offset, 0x7f80);
	/* Several overrides: the last wins; prefixes repeated. */
	in = decode_ok(BYTES(0x26, 0x64, 0x66, 0x66, 0x0f, 0x01, 0x17), &regs);
	assert_int_equal(in.seg, RM_SEG_FS);
	assert_int_equal(in.operand_bits, 32);
	assert_int_equal(in.base_bits, 32);
	assert_int_equal(in.len, 7);
	/* 14 prefixes and HLT: 15 bytes, the most; more bytes available change nothing. */
	uint8_t longest[20];
	memset(longest, 0x2e, sizeof(longest));
	longest[14] = 0xf4;
	in = decode_ok(longest, sizeof(longest), &regs);
	assert_int_equal(in.op, RM_HLT);
	assert_int_equal(in.len, 15);
}

/* Each segment override, on every kind of memory operand; INS ignores them (ES:DI). */
static void test_overrides(void **s)
{
	(void)s;
	static const uint8_t prefix[RM_SEG_COUNT] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };
	for (unsigned seg = 0; seg < RM_SEG_COUNT; seg++) {
		const uint8_t lgdt_bp[] = { prefix[seg], 0x0f, 0x01, 0x56, 0x02 };     /* [bp+2] */
		const uint8_t smsw_bx[] = { prefix[seg], 0x0f, 0x01, 0x27 };           /* [bx] */
		const uint8_t invlpg_esp[] = { prefix[seg], 0x67, 0x0f, 0x01, 0x3c, 0x24 }; /* [esp] */
		const uint8_t outsb[] = { prefix[seg], 0x6e };
		const uint8_t insb[] = { prefix[seg], 0x6c };
		struct rm_insn in = decode_ok(lgdt_bp, sizeof(lgdt_bp), &regs);
		assert_int_equal(in.seg, seg);
		assert_int_equal(in.offset, 0xff02);
		in = decode_ok(smsw_bx, sizeof(smsw_bx), &regs);
		assert_int_equal(in.seg, seg);
		in = decode_ok(invlpg_esp, sizeof(invlpg_esp), &regs);
		assert_int_equal(in.seg, seg);
		assert_int_equal(in.offset, 0x7000);
		in = decode_ok(outsb, sizeof(outsb), &regs);
		assert_int_equal(in.seg, seg);
		in = decode_ok(insb, sizeof(insb), &regs);
		assert_int_equal(in.seg, RM_SEG_ES);
		assert_int_equal(in.offset, 0x8000);
	}
}

static void test_refusals(void **s)
{
	(void)s;
	/* Group 7 forms that need memory: with mod 3 they are other instructions (VMCALL, MONITOR,
	 * XGETBV, SWAPGS, RDTSCP...) or #UD. */
	expect_refused(BYTES(0x0f, 0x01, 0xd0), "0f 01 d0: lgdt needs a memory operand: with mod 3, 0f 01 d0 is "
						"another instruction or #UD (SDM Vol. 2D Table A-6)");
	expect_refused_prefix(BYTES(0x0f, 0x01, 0xd8), "0f 01 d8: lidt needs a memory operand");
	expect_refused_prefix(BYTES(0x0f, 0x01, 0xc1), "0f 01 c1: sgdt needs a memory operand");
	expect_refused_prefix(BYTES(0x0f, 0x01, 0xc8), "0f 01 c8: sidt needs a memory operand");
	expect_refused_prefix(BYTES(0x0f, 0x01, 0xf9), "0f 01 f9: invlpg needs a memory operand");
	expect_refused(BYTES(0x0f, 0x01, 0x2e), "0f 01 2e: 0f 01 /5 is not a privileged instruction this decoder knows");
	expect_refused_prefix(BYTES(0x0f, 0x01, 0xe8), "0f 01 e8: 0f 01 /5 is not");
	/* Reserved control registers; CR8 does not exist without REX. */
	expect_refused_prefix(BYTES(0x0f, 0x20, 0xc8), "0f 20 c8: mov from cr1 is #UD");
	expect_refused_prefix(BYTES(0x0f, 0x22, 0xe8), "0f 22 e8: mov to cr5 is #UD");
	expect_refused_prefix(BYTES(0x0f, 0x22, 0xf0), "0f 22 f0: mov to cr6 is #UD");
	expect_refused_prefix(BYTES(0x0f, 0x20, 0x38), "0f 20 38: mov from cr7 is #UD");
	/* Other opcodes. */
	expect_refused(BYTES(0x0f, 0x05), "opcode 0f 05 is not a privileged instruction this decoder knows");
	expect_refused(BYTES(0x0f, 0x31), "opcode 0f 31 is not a privileged instruction this decoder knows"); /* RDTSC */
	expect_refused(BYTES(0x90), "opcode 90 is not a privileged instruction this decoder knows");
	expect_refused(BYTES(0xfa), "opcode fa is not a privileged instruction this decoder knows"); /* CLI */
	expect_refused(BYTES(0x66, 0x2e, 0x0f, 0x00, 0x10),
		       "opcode 0f 00 (after 66 2e) is not a privileged instruction this decoder knows");
	/* LOCK on anything; REPNE on anything; REP but on INS/OUTS. */
	expect_refused(BYTES(0xf0, 0x0f, 0x01, 0x16, 0x00, 0x01),
		       "f0 0f 01 16 00 01: lock (f0) with lgdt is #UD (SDM Vol. 2A 2.1.1, LOCK)");
	expect_refused_prefix(BYTES(0xf0, 0x0f, 0x20, 0xc0), "f0 0f 20 c0: lock (f0) with mov is #UD"); /* AMD's CR8 */
	expect_refused_prefix(BYTES(0x66, 0xf0, 0xf4), "66 f0 f4: lock (f0) with hlt");
	expect_refused_prefix(BYTES(0xf0, 0xf3, 0x6c), "f0 f3 6c: lock (f0) with ins");
	expect_refused_prefix(BYTES(0xf3, 0x0f, 0x09), "f3 0f 09: rep (f3) with wbinvd"); /* WBNOINVD */
	expect_refused_prefix(BYTES(0xf3, 0x0f, 0x01, 0x16, 0x00, 0x01), "f3 0f 01 16 00 01: rep (f3) with lgdt");
	expect_refused_prefix(BYTES(0xf3, 0xe4, 0x70), "f3 e4 70: rep (f3) with in");
	expect_refused_prefix(BYTES(0xf3, 0xee), "f3 ee: rep (f3) with out");
	expect_refused_prefix(BYTES(0xf2, 0x6c), "f2 6c: repne (f2) with ins");
	expect_refused_prefix(BYTES(0xf2, 0x0f, 0x32), "f2 0f 32: repne (f2) with rdmsr");
	/* Longer than 15 bytes: #GP, told apart from truncation. */
	uint8_t prefixes[RM_INSN_MAX + 5];
	memset(prefixes, 0x66, sizeof(prefixes));
	expect_refused_prefix(prefixes, sizeof(prefixes),
			      "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66: longer than 15 bytes");
	prefixes[13] = 0x0f;
	prefixes[14] = 0x01; /* the ModRM would be the 16th byte */
	expect_refused_prefix(prefixes, sizeof(prefixes), "66 66 66 66 66 66 66 66 66 66 66 66 66 0f 01: longer than");
	expect_refused_prefix(prefixes, RM_INSN_MAX - 1, "truncated: 14 bytes");
}

/* The reason buffer: cut and terminated, or absent; a refusal leaves *out alone. */
static void test_why_buffer(void **s)
{
	(void)s;
	const uint8_t bad[] = { 0x0f, 0x05 };
	struct rm_insn in = { .op = RM_CPUID, .len = 99 };
	char why[8];
	memset(why, 'x', sizeof(why));
	assert_int_equal(rm_decode(bad, sizeof(bad), &regs, &in, why, sizeof(why)), -1);
	assert_string_equal(why, "opcode ");
	assert_int_equal(in.len, 99);
	assert_int_equal(in.op, RM_CPUID);
	memset(why, 'x', sizeof(why));
	assert_int_equal(rm_decode(bad, sizeof(bad), &regs, &in, why, 1), -1);
	assert_int_equal(why[0], 0);
	assert_int_equal(why[1], 'x');
	assert_int_equal(rm_decode(bad, sizeof(bad), &regs, &in, NULL, 0), -1);
	assert_int_equal(rm_decode((const uint8_t[]){ 0xf4 }, 1, &regs, &in, NULL, 0), 0);
	memset(why, 'x', sizeof(why));
	assert_int_equal(rm_decode((const uint8_t[]){ 0xf4 }, 1, &regs, &in, why, sizeof(why)), 0);
	assert_int_equal(why[0], 0); /* success leaves an empty reason */
}

static void expect_format(const uint8_t *code, unsigned n, const char *text)
{
	struct rm_insn in = decode_ok(code, n, &regs);
	char buf[64];
	const int len = rm_insn_format(&in, buf, sizeof(buf));
	assert_string_equal(buf, text);
	assert_int_equal(len, (int)strlen(text));
}

static void test_format(void **s)
{
	(void)s;
	expect_format(BYTES(0x0f, 0x01, 0x50, 0x10), "lgdt ds:0x20 (o16: 24-bit base)"); /* [bx+si+0x10], wrapped */
	expect_format(BYTES(0x66, 0x2e, 0x0f, 0x01, 0x1e, 0x34, 0x12), "lidt cs:0x1234 (o32: 32-bit base)");
	expect_format(BYTES(0x0f, 0x01, 0x46, 0xfe), "sgdt ss:0xfefe");
	expect_format(BYTES(0x0f, 0x01, 0xe0), "smsw ax");
	expect_format(BYTES(0x66, 0x0f, 0x01, 0xe7), "smsw edi");
	expect_format(BYTES(0x0f, 0x01, 0x66, 0xfe), "smsw word ss:0xfefe");
	expect_format(BYTES(0x0f, 0x01, 0xf3), "lmsw bx");
	expect_format(BYTES(0x0f, 0x01, 0x3c), "invlpg ds:0x20");
	expect_format(BYTES(0x0f, 0x22, 0xc0), "mov cr0, eax");
	expect_format(BYTES(0x0f, 0x20, 0xda), "mov edx, cr3");
	expect_format(BYTES(0x0f, 0x23, 0xf9), "mov dr7, ecx");
	expect_format(BYTES(0x0f, 0x21, 0xc6), "mov esi, dr0");
	expect_format(BYTES(0xe4, 0x70), "in al, 0x70");
	expect_format(BYTES(0x66, 0xed), "in eax, dx");
	expect_format(BYTES(0xe7, 0x80), "out 0x80, ax");
	expect_format(BYTES(0xee), "out dx, al");
	expect_format(BYTES(0xf3, 0x6d), "rep insw es:0x8000");
	expect_format(BYTES(0x66, 0x64, 0x6f), "outsd fs:0x20");
	expect_format(BYTES(0x0f, 0x32), "rdmsr");
	expect_format(BYTES(0xf4), "hlt");
	/* snprintf semantics: cut, terminated, the full length returned. */
	struct rm_insn in = decode_ok(BYTES(0x0f, 0x22, 0xc0), &regs);
	char small[5];
	assert_int_equal(rm_insn_format(&in, small, sizeof(small)), (int)strlen("mov cr0, eax"));
	assert_string_equal(small, "mov ");
	assert_int_equal(rm_insn_format(&in, NULL, 0), (int)strlen("mov cr0, eax"));
	in.op = RM_OP_COUNT;
	assert_int_equal(rm_insn_format(&in, small, sizeof(small)), 1);
	assert_string_equal(small, "?");
}

/* The names come from the X-macro table: one for each operation, none missing. */
static void test_names(void **s)
{
	(void)s;
	static const char *const want[RM_OP_COUNT] = {
		[RM_LGDT] = "lgdt", [RM_LIDT] = "lidt", [RM_SGDT] = "sgdt", [RM_SIDT] = "sidt",
		[RM_SMSW] = "smsw", [RM_LMSW] = "lmsw", [RM_INVLPG] = "invlpg", [RM_MOV_FROM_CR] = "mov",
		[RM_MOV_FROM_DR] = "mov", [RM_MOV_TO_CR] = "mov", [RM_MOV_TO_DR] = "mov", [RM_CLTS] = "clts",
		[RM_INVD] = "invd", [RM_WBINVD] = "wbinvd", [RM_WRMSR] = "wrmsr", [RM_RDMSR] = "rdmsr",
		[RM_CPUID] = "cpuid", [RM_HLT] = "hlt", [RM_IN] = "in", [RM_OUT] = "out", [RM_INS] = "ins",
		[RM_OUTS] = "outs",
	};
	for (unsigned op = 0; op < RM_OP_COUNT; op++) {
		assert_non_null(want[op]);
		assert_string_equal(rm_op_name((enum rm_op)op), want[op]);
	}
	assert_string_equal(rm_op_name(RM_OP_COUNT), "?");
	assert_string_equal(rm_seg_name(RM_SEG_ES), "es");
	assert_string_equal(rm_seg_name(RM_SEG_GS), "gs");
	assert_string_equal(rm_seg_name(RM_SEG_COUNT), "?");
	/* Every operation is reached by some assembled line. */
	bool seen[RM_OP_COUNT] = { false };
	for (size_t k = 0; k < ARRAY_LEN(rm_asm_cases); k++)
		seen[rm_asm_cases[k].want.op] = true;
	for (unsigned op = 0; op < RM_OP_COUNT; op++)
		if (!seen[op])
			fail_msg("no assembled case for %s (%u)", rm_op_name((enum rm_op)op), op);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assembled),
		cmocka_unit_test(test_truncated_every_length),
		cmocka_unit_test(test_objdump_lengths),
		cmocka_unit_test(test_hand_forms),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_why_buffer),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
