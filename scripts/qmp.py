#!/usr/bin/env python3
"""Send commands to a running QEMU through its QMP socket (QEMU's docs/interop/qmp-spec).

    scripts/qmp.py SOCKET screendump FILE   write the screen as a PPM (QEMU's screendump command)
    scripts/qmp.py SOCKET quit              end QEMU

Exits 0 when every command returned, 1 when QEMU answered with an error or not at all.
"""
import json
import socket
import sys

TIMEOUT_S = 30


class Qmp:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT_S)
        self.sock.connect(path)
        self.buf = b""
        self.read()  # the greeting
        self.execute("qmp_capabilities")

    def read(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise EOFError("QEMU closed the QMP socket")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self.read()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            # anything else is an asynchronous event: skip it


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in ("screendump", "quit") or (sys.argv[2] == "screendump") != (len(sys.argv) == 4):
        sys.exit("usage: qmp.py SOCKET screendump FILE | qmp.py SOCKET quit")
    try:
        qmp = Qmp(sys.argv[1])
        if sys.argv[2] == "screendump":
            qmp.execute("screendump", filename=sys.argv[3])
        else:
            try:
                qmp.execute("quit")
            except EOFError:
                pass  # QEMU may close the socket before it answers
    except (OSError, EOFError, RuntimeError, ValueError) as e:
        print(f"qmp: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
