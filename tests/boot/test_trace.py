"""The exit trace (trace=exits, issue 9): one line per VM exit with its decoded operands and what
the monitor did, and never more than trace_max lines."""
import re

EXIT_LINE = re.compile(r"\[hv\] exit (\d+): ([A-Z_]+) at 0x[0-9a-f]+(.*) -> (resumed|stopped the guest.*)\r?$", re.M)


def test_trace_prints_decoded_exits_and_stops_at_its_bound(bochs):
    b = bochs("log=info trace=exits trace_max=25")
    b.expect(r"exit trace: 25 lines printed, trace_max reached")
    status, log = b.finish()
    assert status == 0, log[-2000:]
    lines = EXIT_LINE.findall(log)
    assert len(lines) == 25, lines
    # Numbered from the first exit on, one each.
    assert [int(n) for n, *_ in lines] == list(range(1, 26))
    kinds = {k for _, k, _, _ in lines}
    # The guest's boot: its GDT, long-mode CPUID checks, EFER, the console's UART.
    assert {"DESCRIPTOR_TABLE", "CPUID", "WRMSR", "IO"} <= kinds, kinds
    assert any(k == "WRMSR" and "MSR 0xc0000080 <- " in ops for _, k, ops, _ in lines), lines
    assert any(k == "IO" and re.search(r"out 1 byte\(s\) to port 0x3f[89a-f]", ops) for _, k, ops, _ in lines), lines
    assert any(k == "CPUID" and "leaf 0x80000001" in ops for _, k, ops, _ in lines), lines
    # Nothing more after the bound.
    assert "exit 26:" not in log


def test_no_trace_by_default(bochs):
    status, log = bochs("log=info").finish()
    assert status == 0, log[-2000:]
    assert "HV-EXIT status=0" in log
    assert not EXIT_LINE.search(log)
