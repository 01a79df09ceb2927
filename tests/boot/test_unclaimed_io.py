"""Unclaimed I/O ports: the statistics list every port the guest reached that no device of the
monitor's port table (vmm/exit/io.c) claims, and strict_io=1 stops the guest at the first one with a
message naming the port, the direction, the size and the guest's RIP.  (The suite's own list is
checked by tests/boot/test_guest.py.)"""
import re

from conftest import STATUS

UNCLAIMED_LINE = re.compile(r"^\[hv\]\s+unclaimed I/O port (0x[0-9a-f]+): (\d+) reads, (\d+) writes\r?$", re.M)
PROBE_PORT = 0x300  # guest/main.c, test=unclaimed_port


def unclaimed_ports(log):
    return {int(p, 16): (int(r), int(w)) for p, r, w in UNCLAIMED_LINE.findall(log)}


def test_unclaimed_port_reads_all_ones_and_is_listed(bochs):
    b = bochs("log=info guest.test=unclaimed_port")
    b.expect(r"\[guest\] unclaimed_port: read 0xff \(want 0xff\)")
    b.expect(r"unclaimed I/O ports: 1 \(")
    status, log = b.finish()
    assert status == 0, log[-2000:]
    assert unclaimed_ports(log) == {PROBE_PORT: (1, 0)}


def test_strict_io_stops_at_the_first_unclaimed_port(bochs):
    b = bochs("log=info strict_io=1 guest.test=unclaimed_port")
    b.expect(r"\[guest\] test unclaimed_port: IN from port 0x300")
    m = b.expect(r"strict_io=1: the guest's IN of 1 byte\(s\) from I/O port 0x300 at RIP (0x[0-9a-f]+) "
                 r"reaches port 0x300, which no device claims")
    assert int(m.group(1), 16) != 0
    b.expect(r"give the guest a device there \(port_table in vmm/exit/io.c\), or run without strict_io=1")
    status, log = b.finish()
    assert status == STATUS["HV_ERR_UNCLAIMED_IO"], log[-2000:]
    assert "[guest] unclaimed_port: read" not in log  # stopped before the IN completed
    assert unclaimed_ports(log) == {PROBE_PORT: (1, 0)}
    assert re.search(r"(?m)^HV-EXIT status=81 \(guest touched an unclaimed I/O port with strict_io=1\)", log)


def test_strict_io_lets_claimed_ports_through(bochs):
    """The guest's boot and console use only claimed ports (COM1, the PIC's data ports): with
    strict_io=1 a test mode that touches nothing else runs to its end."""
    b = bochs("log=info strict_io=1 guest.test=triple_fault")
    status, log = b.finish()
    assert status == STATUS["HV_ERR_TRIPLE_FAULT"], log[-2000:]
    assert "unclaimed I/O ports: none" in log
