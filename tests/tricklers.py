"""Clients that send a request's headers one line at a time and never finish them (a slowloris): each holds a
connection open for as long as the server lets it, which is how a server without a deadline on the headers is
starved."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Tricklers:
    host: str
    port: int
    count: int
    every: float  # seconds between two header lines
    tls: ssl.SSLContext | None = None
    connected: int = 0
    # How long each lasted from its own connection until the server closed it, and what the server said.
    cut: list[tuple[float, bytes]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Tricklers:
        ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._all(ready)), daemon=True)
        self._thread.start()
        if not ready.wait(60):
            raise AssertionError(f"only {self.connected} of {self.count} trickling connections were made")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def open_after(self, seconds: float) -> int:
        """How many were still open this long after they connected."""
        return self.count - sum(1 for lasted, _ in self.cut if lasted <= seconds)

    async def _all(self, ready: threading.Event) -> None:
        links = [await self._connect() for _ in range(self.count)]
        ready.set()
        await asyncio.gather(*(self._trickle(*link) for link in links))

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, float]:
        # From before the connection opens: a server's header timer starts when it accepts, before the TLS
        # handshake, which can take a while when 300 are made at once on a busy machine.
        connected = time.monotonic()
        reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self.tls)
        writer.write(b"POST /slack/events HTTP/1.1\r\nHost: " + self.host.encode() + b"\r\n")
        await writer.drain()
        self.connected += 1
        return reader, writer, connected

    async def _trickle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connected: float) -> None:
        line = 0
        try:
            while not self._stop.is_set():
                try:
                    said = await asyncio.wait_for(reader.read(64), self.every)
                except TimeoutError:
                    line += 1
                    writer.write(f"X-Trickle-{line}: still sending\r\n".encode())
                    await writer.drain()
                    continue
                self.cut.append((time.monotonic() - connected, said))  # an answer, or the end of the stream
                return
        except (ConnectionError, ssl.SSLError) as closed:
            self.cut.append((time.monotonic() - connected, repr(closed).encode()))
        finally:
            writer.close()
