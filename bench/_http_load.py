"""A lean HTTP/1.1 load client for the benchmarks: keep-alive connections on asyncio streams, one request in flight
per connection.

Why hand-written: the load generator shares the 2 cores with the server it measures, so its own CPU is taken from
the server. httpx's async client spent 3.95 ms of CPU per request here (bench/http_commands.py, 2026-12-02, quiet
machine), as much as the API it was measuring; this client spends a few tens of microseconds. It speaks only what
the benchmarks send: POST (or GET) with a JSON body, ``Content-Length`` responses (the API never chunks a command's
answer), no redirects, no TLS.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Connection:
    """One keep-alive connection to ``host:port``; reconnects once when the server closed it between requests."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: object | None = None,
                      headers: dict[str, str] | None = None) -> Answer:
        payload = b"" if body is None else orjson.dumps(body)
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head.extend(f"{name}: {value}" for name, value in (headers or {}).items())
        message = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload
        for attempt in (1, 2):
            if self._writer is None:
                await self._open()
            try:
                return await self._exchange(message)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, message: bytes) -> Answer:
        assert self._reader is not None and self._writer is not None
        self._writer.write(message)
        status_line = await self._reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, close = 0, False
        while (line := await self._reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and value.strip().lower() == b"close":
                close = True
        answer = Answer(status, await self._reader.readexactly(length) if length else b"")
        if close:
            self.close()
        return answer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
