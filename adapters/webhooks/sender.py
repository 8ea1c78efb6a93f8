"""Posts one outbox delivery to the purchasing system over httpx.

The body is the stored JSON text, byte for byte, signed with HMAC-SHA256 of the shared secret
(`X-Stockgraph-Signature: sha256=<hex>`); `Idempotency-Key` is the request id, the same on
every retry, so the receiver can drop a second copy. Nothing here raises: every outcome is an
Answer for domain.webhook.judge.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

from domain.webhook import Answer, Delivery

SIGNATURE_HEADER = "X-Stockgraph-Signature"
# Enough of a refusal's body to tell an admin why (it is stored as the delivery's last error).
MAX_ERROR_BODY = 300


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpxWebhookSender:
    def __init__(self, client: httpx.AsyncClient, url: str, secret: str) -> None:
        self.client = client
        self.url = url
        self._secret = secret

    async def send(self, delivery: Delivery) -> Answer:
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.idempotency_key,
            SIGNATURE_HEADER: sign(self._secret, body),
            "X-Stockgraph-Event": delivery.kind,
            "X-Stockgraph-Delivery": str(delivery.id),
            "X-Stockgraph-Attempt": str(delivery.attempts),
        }
        try:
            async with self.client.stream("POST", self.url, content=body,
                                          headers=headers) as response:
                if response.is_success:
                    return Answer(response.status_code)
                return Answer(response.status_code, await _reason(response))
        except httpx.HTTPError as exc:
            return Answer(None, f"{type(exc).__name__}: {exc}" if str(exc)
                          else type(exc).__name__)


async def _reason(response: httpx.Response) -> str:
    """`HTTP 422: <start of the body>`; the rest of a large body is never read."""
    head = b""
    try:
        async for chunk in response.aiter_bytes():
            head += chunk
            if len(head) >= MAX_ERROR_BODY:
                break
    except httpx.HTTPError:
        pass
    text = head[:MAX_ERROR_BODY].decode("utf-8", errors="replace").strip()
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")
