"""A minimal Socket Mode server: one WebSocket (RFC 6455, text frames) on 127.0.0.1.

Like bolt-python's tests/adapter_tests/socket_mode mock server, but with the stdlib only: it
accepts the bot's connection (the URL apps.connections.open answered), says hello, sends the
envelopes a test queues and records what the bot sends back (acks carrying envelope_id).
"""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import socket
import struct
import threading
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frame(payload: bytes, opcode: int = 0x1) -> bytes:
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_frame(conn: socket.socket) -> tuple[int, bytes]:
    b1, b2 = _recv_exact(conn, 2)
    opcode = b1 & 0x0F
    n = b2 & 0x7F
    if n == 126:
        n = struct.unpack(">H", _recv_exact(conn, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", _recv_exact(conn, 8))[0]
    mask = _recv_exact(conn, 4) if b2 & 0x80 else b""
    data = _recv_exact(conn, n)
    if mask:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return opcode, data


class FakeSocketMode:
    """Serve one bot connection at a time; `send(envelope)`, then `received.get(timeout=...)`."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/link"
        self.outgoing: queue.Queue[dict[str, Any]] = queue.Queue()
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fake-socket-mode", daemon=True)
        self._thread.start()

    def send(self, envelope: dict[str, Any]) -> None:
        self.outgoing.put(envelope)

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            try:
                self._session(conn)
            except (ConnectionError, OSError):
                pass
            finally:
                conn.close()

    def _session(self, conn: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        headers = {}
        for line in request.decode().split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
        conn.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        hello = {"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}, "connection_info": {}}
        conn.sendall(_frame(json.dumps(hello).encode()))
        self.connected.set()
        conn.settimeout(0.05)
        while not self._stop.is_set():
            try:
                envelope = self.outgoing.get_nowait()
                conn.sendall(_frame(json.dumps(envelope).encode()))
            except queue.Empty:
                pass
            try:
                opcode, data = _read_frame(conn)
            except TimeoutError:
                continue
            if opcode == 0x8:  # close
                return
            if opcode == 0x9:  # ping -> pong
                conn.sendall(_frame(data, 0xA))
            elif opcode == 0x1:
                self.received.put(json.loads(data.decode()))
