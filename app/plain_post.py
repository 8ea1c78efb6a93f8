"""What a request must be for the view's short path (`GraphQLOverHTTP`): a POST of one JSON
operation, the common request of every client.

Strawberry's HTTP view answers every kind of request: GET, batches, multipart uploads,
streamed subscriptions, the IDE page. For one operation POSTed as JSON it still parses the
Content-Type (through `email.message`) twice, looks for a streaming transport by its Accept
twice, and checks the method, the IDE and the body's shape: 80-90 us of the 153-170 us that a
request doing nothing (`{ __typename }`) cost through the app in-process (2026-12-07; 114 us
with this path). Here the two headers are judged once per distinct pair of values (cached)
and the body's shape in a few `isinstance`s; the operation then runs through the view's own
hooks (context, execution, result, response), so it is answered exactly as before. Anything
else, or anything in doubt, takes the view's general path, which answers it as the spec says
(app/http_spec.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache

from cross_web import HTTPException
from strawberry.http import GraphQLRequestData

from app.http_negotiation import check_content_type, negotiate


def plain_media_type(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The media type to answer a POST with, when its headers fit the short path; else None.
    The first of a repeated header counts, as with Starlette's `Headers.get`."""
    content_type = accept = None
    for key, value in headers:
        if key == b"content-type" and content_type is None:
            content_type = value
        elif key == b"accept" and accept is None:
            accept = value
    return _judged(content_type, accept) if content_type is not None else None


@lru_cache(maxsize=256)
def _judged(content_type: bytes, accept: bytes | None) -> str | None:
    try:  # the general path's rule, which answers 415 where this declines
        check_content_type(content_type.decode("latin-1"), multipart=False)
    except HTTPException:
        return None
    return negotiate(None if accept is None else accept.decode("latin-1"))


def plain_operation(body: bytes) -> GraphQLRequestData | None:
    """The one operation the body holds, when it is well formed; else None."""
    try:
        data = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return None
    if not isinstance(data, dict):
        return None
    query, variables = data.get("query"), data.get("variables")
    name, extensions = data.get("operationName"), data.get("extensions")
    if not isinstance(query, str) or not isinstance(variables, dict | None) \
            or not isinstance(name, str | None) or not isinstance(extensions, dict | None):
        return None
    return GraphQLRequestData(query=query, variables=variables, operation_name=name,
                              extensions=extensions, protocol="http")
