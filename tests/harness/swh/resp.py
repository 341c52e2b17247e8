"""A tiny RESP2 client: enough to build clusters and poll their health."""

from __future__ import annotations

import contextlib
import socket


class RespError(Exception):
    """An error reply from the server (not a network failure)."""


class Conn:
    def __init__(self, host, port, timeout=1.0, password=None, username=None, ssl_context=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_context is not None:
            try:
                self.sock = ssl_context.wrap_socket(self.sock, server_hostname=host)
            except BaseException:
                self.sock.close()
                raise
        self.rfile = self.sock.makefile("rb")
        if password is not None:
            self.call(*(["AUTH", username, password] if username else ["AUTH", password]))

    def close(self):
        with contextlib.suppress(OSError):
            self.rfile.close()
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.rfile.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by server")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rfile.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("connection closed by server")
            return data[:-2].decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ConnectionError(f"unexpected reply type {kind!r}")


def parse_info(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


def parse_cluster_nodes(text: str) -> list:
    """CLUSTER NODES lines as dicts: id, host, port, flags (set), master, slots (str)."""
    nodes = []
    for line in text.strip().splitlines():
        f = line.split()
        if len(f) < 8:
            continue
        addr = f[1].split(",")[0].split("@")[0]
        host, _, port = addr.rpartition(":")
        slots = " ".join(s for s in f[8:] if not s.startswith("["))
        nodes.append({
            "id": f[0], "host": host, "port": int(port) if port.isdigit() else 0,
            "flags": set(f[2].split(",")), "master": None if f[3] == "-" else f[3],
            "link": f[7], "slots": slots,
        })
    return nodes
