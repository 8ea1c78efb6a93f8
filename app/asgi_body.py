"""A request body read whole from ASGI `receive`, with a `receive` that hands it out again."""

from __future__ import annotations

from starlette.types import Message, Receive


class BodyTooLargeError(Exception):
    pass


async def read_body(receive: Receive, limit: int | None = None) -> tuple[bytes | None, Receive]:
    """The whole body, refusing more than `limit` bytes (BodyTooLargeError), or None when the
    client went away first; and a `receive` for the app after us, which gets the body again
    (or the message that ended the read) before anything else."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None, _replay(message, receive)
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    return body, _replay({"type": "http.request", "body": body, "more_body": False}, receive)


def _replay(first: Message, receive: Receive) -> Receive:
    pending = [first]

    async def replaying() -> Message:
        return pending.pop() if pending else await receive()

    return replaying
