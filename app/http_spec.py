"""GraphQL over HTTP as its spec says (https://graphql.github.io/graphql-over-http/draft/).

`GraphQLOverHTTP` goes first in the bases of our Strawberry ASGI view and adds what Strawberry
0.341 lacks:

- content negotiation: `application/graphql-response+json` when the client accepts it (by
  q-value; on a tie an explicitly named type beats a wildcard, and between two explicit types
  graphql-response+json wins), `application/json` for legacy clients, a missing Accept and
  bare wildcards; 406 when neither is acceptable;
- with graphql-response+json, request errors (unparsable or invalid documents, variables that
  do not coerce) answer 400, execution results 200; with application/json every GraphQL
  response is 200, as the spec asks of legacy clients;
- a request error never carries a `data` entry (GraphQL spec, "Response Format");
- 415 for POST bodies that are not JSON, 400 for JSON that is not an object and for an
  `operationName` that is not a string, 405 (with `Allow`) for mutations over GET;
- errors raised before execution are answered as GraphQL responses (`{"errors": [...]}`)
  in the negotiated media type instead of Strawberry's plain text.
"""

from __future__ import annotations

from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.typevars import Context, RootValue
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from app.asgi_body import read_body
from app.http_negotiation import GRAPHQL_RESPONSE_JSON, JSON, check_content_type, negotiate
from app.plain_post import plain_media_type, plain_operation


def is_request_error(result: ExecutionResult) -> bool:
    """True when the request failed before execution began: the document did not parse or
    validate (Strawberry's PreExecutionError), or the variables did not coerce (graphql-core
    returns no data and errors without a path). Field errors always carry a path."""
    if isinstance(result, PreExecutionError):
        return True
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


class GraphQLOverHTTP(GraphQL[Context, RootValue]):
    """Put first in the bases of a `strawberry.asgi.GraphQL` view."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # A view with HTTP streaming transports (SSE, multipart subscriptions) picks one by
        # the Accept header: that choice stays with Strawberry. Ours has none (WebSocket only).
        plain = scope["method"] == "POST" and not self._stream_transport_map
        media_type = plain_media_type(scope["headers"]) if plain else None
        if media_type is not None:
            body, receive = await read_body(receive)
            operation = plain_operation(body) if body is not None else None
            if operation is not None:
                request = Request(scope=scope, receive=receive)
                response = await self._respond_plain(request, media_type, operation)
                await response(scope, receive, send)
                return
        request = Request(scope=scope, receive=receive)
        response = await self._respond(request)
        await response(scope, receive, send)

    async def _respond_plain(
        self, request: Request, media_type: str, operation: GraphQLRequestData
    ) -> Response:
        """`run` for a POST of one JSON operation (app/plain_post.py): its checks already
        passed, so from context to response the view's own hooks, called as `run` calls them."""
        root_value = await self.get_root_value(request)
        adapter = self.request_adapter_class(request)
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, response=sub_response)
        try:
            result = await self.execute_single(
                request, adapter, sub_response, context, root_value, operation)
        except HTTPException as exc:
            return self.error_response(request, exc.status_code, exc.reason, media_type)
        response_data = await self.process_result(request, result)
        if result.errors:
            self._handle_errors(result.errors, response_data)
        return self.create_response(response_data, sub_response)

    async def _respond(self, request: Request) -> Response:
        media_type = negotiate(request.headers.get("accept"))
        if media_type is None and not self.should_render_graphql_ide(
            self.request_adapter_class(request)
        ):
            return self.error_response(
                request, 406, f"Accept {GRAPHQL_RESPONSE_JSON} or {JSON}", JSON)
        try:
            return await self.run(request)
        except HTTPException as exc:
            return self.error_response(request, exc.status_code, exc.reason, media_type or JSON)

    def error_response(
        self, request: Request, status: int, message: str, media_type: str
    ) -> Response:
        """A GraphQL response holding one request error, for failures before execution."""
        headers = {"allow": "POST" if request.method == "GET" else "GET, POST"}
        return Response(
            self.encode_json({"errors": [{"message": message}]}),
            status_code=status,
            headers=headers if status == 405 else None,
            media_type=f"{media_type}; charset=utf-8",
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        # The one per-request object create_response sees: it carries the negotiated type.
        sub_response.media_type = negotiate(request.headers.get("accept")) or JSON
        return sub_response

    def parse_json(self, data: str | bytes) -> Any:
        value = super().parse_json(data)
        if not isinstance(value, dict | list):
            raise HTTPException(400, "Expected a JSON object")
        return value

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST":
            check_content_type(request.content_type or "", self.multipart_uploads_enabled)
        parsed = await super().parse_http_body(request)
        for data in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(data.operation_name, str | None):
                raise HTTPException(
                    400, "The GraphQL operation's `operationName` must be a string or null.")
        return parsed

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: RootValue | None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data)
        except HTTPException as exc:
            if request_adapter.method == "GET" and isinstance(
                exc.__cause__, InvalidOperationTypeError
            ):
                raise HTTPException(405, exc.reason) from exc.__cause__
            raise

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        if is_request_error(result):
            response.pop("data", None)
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        media_type = sub_response.media_type or JSON
        response.headers["content-type"] = f"{media_type}; charset=utf-8"
        request_error = isinstance(response_data, dict) and "data" not in response_data
        if media_type == GRAPHQL_RESPONSE_JSON and request_error and not sub_response.status_code:
            response.status_code = 400
        return response
