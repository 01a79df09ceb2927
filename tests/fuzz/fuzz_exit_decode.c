/*
 * libFuzzer harness: the VM-exit information decoders (vmm/vmx/exit_decode.c and vmm/exit/operand.c), the part of exit
 * handling that reads what the CPU reports (SDM Vol. 3C 28.2).  Input: a kind byte (I/O
 * qualification, control-register qualification, descriptor-table instruction information for
 * reason 46 or 47), the raw field, then a displacement and the 16 general-purpose registers.
 * A fifth kind feeds instruction bytes to the LGDT/LIDT operand-size reader.
 * Properties: a field is accepted exactly when the SDM defines its encoding (sizes 1/2/4, CR 0/3/4/8,
 * CLTS/LMSW on CR0, address sizes 16/32/64, segments ES..GS, reserved bits clear); an accepted field
 * encodes back to the raw bits the decoder keeps; the decoded registers, scale and segment are in
 * range; and an operand's offset equals base + index * scale + displacement wrapped to the address size.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "exit_decode.h" /* vmm/vmx/: the backend's decoders */
#include "vmm/operand.h"

enum kind { KIND_IO, KIND_CR, KIND_DT_GDTR_IDTR, KIND_DT_LDTR_TR, KIND_DT_OPSIZE, KIND_COUNT };

/* Reference for exit_dt_operand_bytes: skip what the legacy-prefix list names, then 0F 01. */
static void check_dt_opsize(const uint8_t *bytes, unsigned n, bool cs_d)
{
	static const uint8_t prefixes[] = { 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67 };
	unsigned i = 0;
	bool o16 = false;
	while (i < n && memchr(prefixes, bytes[i], sizeof(prefixes))) {
		o16 = o16 || bytes[i] == 0x66;
		i++;
	}
	const unsigned want = (i + 2 <= n && bytes[i] == 0x0f && bytes[i + 1] == 0x01) ? (cs_d != o16 ? 4 : 2) : 0;
	FUZZ_CHECK(exit_dt_operand_bytes(bytes, n, cs_d) == want);
}

#define IO_RESERVED   (0xff80ull | 0xffffffff00000000ull)
#define IO_REP        (1ull << 5)
#define IO_IMMEDIATE  (1ull << 6)
#define CR_RESERVED   ((1ull << 7) | 0xf000ull | 0xffffffff00000000ull)

static void check_io(uint64_t q)
{
	struct io_exit io;
	const unsigned size_enc = q & 7;
	const bool defined = !(q & IO_RESERVED) && (size_enc == 0 || size_enc == 1 || size_enc == 3);
	const bool ok = exit_decode_io(q, &io);
	FUZZ_CHECK(ok == defined);
	if (!ok)
		return;
	FUZZ_CHECK(io.size == 1 || io.size == 2 || io.size == 4);
	FUZZ_CHECK(!io.rep || io.string);
	const uint64_t back = (uint64_t)(io.size == 1 ? 0 : io.size == 2 ? 1 : 3) | (uint64_t)io.in << 3 |
			      (uint64_t)io.string << 4 | (uint64_t)io.rep << 5 | (uint64_t)io.port << 16;
	const uint64_t kept = q & ~IO_IMMEDIATE & ~(io.string ? 0 : IO_REP);
	FUZZ_CHECK(back == kept);
}

static void check_cr(uint64_t q)
{
	struct cr_exit cr;
	const unsigned n = q & 0xf, type = (q >> 4) & 3;
	const bool number_ok = type >= CR_CLTS ? n == 0 : (n == 0 || n == 3 || n == 4 || n == 8);
	const bool ok = exit_decode_cr(q, &cr);
	FUZZ_CHECK(ok == (!(q & CR_RESERVED) && number_ok));
	if (!ok)
		return;
	FUZZ_CHECK(cr.gpr < 16);
	const uint64_t back = (uint64_t)cr.cr | (uint64_t)cr.type << 4 | (uint64_t)cr.lmsw_memory << 6 |
			      (uint64_t)cr.gpr << 8 | (uint64_t)cr.lmsw_source << 16;
	FUZZ_CHECK(back == q);
}

static void check_dt(uint32_t info, bool ldtr_tr, uint64_t disp, const uint64_t gpr[16])
{
	struct insn_operand op;
	const bool is_reg = (info >> 10) & 1;
	const unsigned addr = (info >> 7) & 7, seg = (info >> 15) & 7;
	bool defined;
	if (ldtr_tr && is_reg)
		defined = true;
	else
		defined = (ldtr_tr || !is_reg) && addr <= 2 && seg < SEG_COUNT;
	const bool ok = exit_decode_dt_info(info, ldtr_tr, &op);
	FUZZ_CHECK(ok == defined);
	if (!ok)
		return;
	FUZZ_CHECK(op.identity == ((info >> 28) & 3));
	if (op.is_register) {
		FUZZ_CHECK(ldtr_tr && op.reg == ((info >> 3) & 0xf));
		return;
	}
	FUZZ_CHECK(op.addr_bytes == 2u << addr);
	FUZZ_CHECK(op.seg == seg && op.base < 16 && op.index < 16);
	FUZZ_CHECK(op.scale == 1u << (info & 3));
	FUZZ_CHECK(op.base_valid == !((info >> 27) & 1) && op.index_valid == !((info >> 22) & 1));
	uint64_t ref = disp;
	if (op.base_valid)
		ref += gpr[(info >> 23) & 0xf];
	if (op.index_valid)
		ref += gpr[(info >> 18) & 0xf] << (info & 3);
	const uint64_t mask = addr == 2 ? ~0ull : (1ull << (16u << addr)) - 1;
	const uint64_t off = exit_operand_offset(&op, disp, gpr);
	FUZZ_CHECK(off == (ref & mask));
	FUZZ_CHECK((off & ~mask) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	const enum kind kind = (enum kind)(fuzz_u8(&in) % KIND_COUNT);
	const uint64_t raw = fuzz_u64(&in);
	const uint64_t disp = fuzz_u64(&in);
	uint64_t gpr[16];
	for (unsigned i = 0; i < 16; i++)
		gpr[i] = fuzz_u64(&in);
	switch (kind) {
	case KIND_IO: check_io(raw); break;
	case KIND_CR: check_cr(raw); break;
	case KIND_DT_GDTR_IDTR: check_dt((uint32_t)raw, false, disp, gpr); break;
	case KIND_DT_LDTR_TR: check_dt((uint32_t)raw, true, disp, gpr); break;
	case KIND_DT_OPSIZE: {
		uint8_t bytes[15];
		const unsigned n = (unsigned)(raw % 16);
		for (unsigned i = 0; i < n; i++)
			bytes[i] = (uint8_t)(i < 8 ? disp >> (8 * i) : gpr[0] >> (8 * (i - 8)));
		check_dt_opsize(bytes, n, (raw >> 8) & 1);
		break;
	}
	case KIND_COUNT: break;
	}
	return 0;
}
