"""Media types: which of our two to answer with, from the request's Accept (GraphQL over
HTTP, "Accept"; RFC 9110 12.5.1), and which POST bodies we take, from its Content-Type."""

from __future__ import annotations

from functools import lru_cache

from cross_web import HTTPException
from strawberry.http.parse_content_type import parse_content_type

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
UTF8 = {"utf-8", "utf8"}


@lru_cache(maxsize=256)  # clients send few distinct Accept values; parsing one costs ~40 us
def negotiate(accept: str | None) -> str | None:
    """The media type to answer with, or None when the client accepts neither of ours."""
    if accept is None or not accept.strip():
        return JSON
    ranges = [_media_range(part) for part in accept.split(",") if part.strip()]
    best: tuple[float, int, bool] | None = None
    chosen: str | None = None
    for candidate in (GRAPHQL_RESPONSE_JSON, JSON):
        q, specificity = _quality(candidate, ranges)
        if q <= 0:
            continue
        # On a tie: explicit beats wildcard; explicit graphql-response+json beats explicit
        # json; a wildcard alone means a client that knows only application/json.
        key = (q, specificity, (candidate == GRAPHQL_RESPONSE_JSON) == (specificity == 2))
        if best is None or key > best:
            best, chosen = key, candidate
    return chosen


def _media_range(part: str) -> tuple[str, float, str | None]:
    kind, params = parse_content_type(part.strip())
    try:
        q = float(params.get("q", "1"))
    except ValueError:
        q = 0.0
    return kind, q, params.get("charset")


def _quality(candidate: str, ranges: list[tuple[str, float, str | None]]) -> tuple[float, int]:
    """q of the most specific range matching `candidate` (RFC 9110 12.5.1), and how specific
    it was: 2 for the exact type, 1 for `type/*`, 0 for `*/*`; (0, -1) when none matches."""
    major = candidate.split("/")[0]
    found: tuple[float, int] = (0.0, -1)
    for kind, q, charset in ranges:
        if charset is not None and charset.lower() not in UTF8:
            continue  # we only ever write UTF-8
        specificity = {candidate: 2, f"{major}/*": 1, "*/*": 0}.get(kind, -1)
        if specificity > found[1]:
            found = (q, specificity)
    return found


@lru_cache(maxsize=256)
def check_content_type(content_type: str, multipart: bool) -> None:
    """415 (HTTPException) unless the body is JSON in UTF-8, or multipart where uploads are on."""
    kind, params = parse_content_type(content_type)
    if multipart and kind == "multipart/form-data":
        return
    if kind != JSON:
        raise HTTPException(415, f"POST bodies must be {JSON}")
    if params.get("charset", "utf-8").lower() not in UTF8:
        raise HTTPException(415, f"POST bodies must be {JSON} in UTF-8")
