"""The server's HTTP protocol sends a response's writes together (app/http_protocol.py): the
joining itself, and a real `stockgraph serve` answering keep-alive and pipelined requests
through it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from app.http_protocol import _Joined
from tests.support.server import running_servers


class Recorded(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.sent.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


async def test_writes_of_one_loop_step_leave_in_one_send() -> None:
    bare = Recorded()
    joined = _Joined(bare, asyncio.get_running_loop())
    joined.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    joined.write(b"{}")
    assert bare.sent == [] and joined.get_write_buffer_size() == 40
    await asyncio.sleep(0)  # the step ends
    assert bare.sent == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    joined.write(b"last")
    joined.close()  # nothing written is dropped by a close
    assert bare.sent[-1] == b"last" and bare.closed


async def test_nothing_is_written_to_a_transport_already_closing() -> None:
    bare = Recorded()
    joined = _Joined(bare, asyncio.get_running_loop())
    joined.write(b"late")
    bare.closed = True
    await asyncio.sleep(0)
    assert bare.sent == []


async def test_served_responses_are_whole_with_keep_alive_and_pipelining(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'http.db'}"
    async with running_servers({"DATABASE_URL": url, "BROADCAST_URL": "memory://"}) as [base]:
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for burst in (1, 3):  # one request, then three sent in one write
                writer.write(b"".join(_request("{ __typename }") for _ in range(burst)))
                for _ in range(burst):
                    status, body = await _response(reader)
                    assert status == 200 and json.loads(body) == {"data": {"__typename": "Query"}}
        finally:
            writer.close()


def _request(query: str) -> bytes:
    body = json.dumps({"query": query}).encode()
    return (b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).decode().split("\r\n")
    length = next(int(h.split(":")[1]) for h in head if h.lower().startswith("content-length"))
    return int(head[0].split()[1]), await reader.readexactly(length)
