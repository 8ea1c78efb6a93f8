"""Strawberry's ASGI view, given our per-request context."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from app.auth import Gate
from app.fanout.handlers import FanoutTransportWSHandler, FanoutWSHandler
from app.http_spec import GraphQLOverHTTP
from resolvers.context import Context, RequestLoaders, Services


class StockgraphGraphQL(GraphQLOverHTTP[Context, None], GraphQL[Context, None]):
    # Subscriptions over WebSocket go to the fan-out hub (app/fanout); the rest is Strawberry's.
    graphql_transport_ws_handler_class = FanoutTransportWSHandler
    graphql_ws_handler_class = FanoutWSHandler

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = request.app.state.services
        gate: Gate = request.app.state.gate
        return Context(
            services=services, caller=gate.caller_in(request.scope),
            loaders=RequestLoaders(services, cache=not isinstance(request, WebSocket)),
            request=request, response=response,
            changes=getattr(request.app.state, "hub", None),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """The key comes in the connection_init payload: {"authorization": "Bearer <key>"}.
        A bad key, or one with no connection left, is refused (graphql-transport-ws: 4403)."""
        gate: Gate = context.request.app.state.gate
        caller = gate.admit_websocket(context.request.scope, context.connection_params or {})
        if caller is None:
            raise ConnectionRejectionError(
                {"message": "a valid API key with a free connection is required"})
        context.caller = caller
        acknowledged: UnsetType = UNSET  # connection_ack without a payload
        return acknowledged
