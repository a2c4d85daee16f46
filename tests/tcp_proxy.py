"""A TCP proxy in front of a real server (PostgreSQL here), so a test can take the server away as a network
would: connections cut, new ones refused, or accepted and never answered."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Literal

Mode = Literal["open", "refuse", "blackhole"]


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.mode: Mode = "open"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._links: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def down(self, mode: Mode = "refuse") -> None:
        """The server goes away: every open connection is cut, and new ones are refused (closed at once) or,
        with ``blackhole``, accepted and never answered."""
        with self._lock:
            self.mode = mode
            links, self._links = self._links, []
        for link in links:
            _close(link)

    def up(self) -> None:
        with self._lock:
            self.mode = "open"

    def close(self) -> None:
        self.down()
        _close(self.listener)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                mode = self.mode
                if mode == "blackhole":
                    self._links.append(client)  # held open, silent, until the test brings it back or closes
                    continue
            if mode == "refuse":
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._links += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(link: socket.socket) -> None:
    with contextlib.suppress(OSError):
        link.shutdown(socket.SHUT_RDWR)
    link.close()
