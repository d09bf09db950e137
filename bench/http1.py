"""A lean HTTP/1.1 client for the open-loop driver: keep-alive connections reused from a free
list, each request's bytes built by the caller before the clock starts. The client shares the
machine's two cores with the stack it measures; a general client (httpx) spent several ms of CPU
per request, which the stack then lacked (bench/PROFILE.md)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

KEEP_ALIVE_SECONDS = 4.0  # a connection idle this long is not reused (uvicorn's limit is 5 s)


class Http1:
    def __init__(self, host: str, port: int, headers: dict[str, str], timeout: float = 10.0,
                 connections: int = 500) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._slots = asyncio.Semaphore(connections)  # as many requests in flight at most
        self._head = "".join(f"{k}: {v}\r\n" for k, v in {
            "host": f"{host}:{port}", "content-type": "application/json", **headers}.items())
        # (reader, writer, when it went idle): uvicorn closes a connection idle for 5 s.
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    def post(self, path: str, body: Any) -> bytes:
        """The bytes of a POST of `body` as JSON to `path`."""
        data = json.dumps(body, ensure_ascii=False).encode()
        return (f"POST {path} HTTP/1.1\r\n{self._head}content-length: {len(data)}\r\n\r\n"
                ).encode() + data

    async def send(self, request: bytes) -> int:
        """The response's status (its body read and dropped), or 0 if none came in time."""
        async with self._slots:
            return await self._send(request)

    def _reusable(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        while self._idle:
            reader, writer, since = self._idle.pop()
            if time.monotonic() - since < KEEP_ALIVE_SECONDS and not reader.at_eof():
                return reader, writer
            writer.close()
        return None

    async def _send(self, request: bytes) -> int:
        conn = self._reusable()
        try:
            if conn is None:
                conn = await asyncio.wait_for(asyncio.open_connection(self.host, self.port),
                                              self.timeout)
            status, keep = await asyncio.wait_for(self._exchange(*conn, request), self.timeout)
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
            if conn is not None:
                conn[1].close()
            return 0
        if keep:
            self._idle.append((*conn, time.monotonic()))
        else:
            conn[1].close()
        return status

    @staticmethod
    async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        request: bytes) -> tuple[int, bool]:
        writer.write(request)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        if "content-length" not in fields:  # uvicorn sizes every answer; anything else: give up
            raise ValueError("response without content-length")
        await reader.readexactly(int(fields["content-length"]))
        return status, fields.get("connection", "").lower() != "close"

    def close(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()
