"""A request body read whole from ASGI `receive`, and a `receive` that hands it out again."""

from __future__ import annotations

from starlette.types import Message, Receive


class BodyTooLargeError(Exception):
    pass


async def read_body(receive: Receive, limit: int | None = None) -> tuple[bytes, Message | None]:
    """The body's bytes, refusing more than `limit` (BodyTooLargeError); and the message that
    ended the read early when it was not `http.request` (a disconnect), else None."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks), None


def replay(messages: list[Message], receive: Receive) -> Receive:
    """`receive` that returns `messages` first, then whatever `receive` brings."""
    async def replaying() -> Message:
        return messages.pop(0) if messages else await receive()

    return replaying


def replay_body(body: bytes, receive: Receive) -> Receive:
    return replay([{"type": "http.request", "body": body, "more_body": False}], receive)
