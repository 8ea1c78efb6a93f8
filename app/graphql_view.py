"""Strawberry's ASGI view, given our per-request context."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app.http_spec import GraphQLOverHTTP
from domain.access import OPEN_CALLER
from resolvers.context import Context, RequestLoaders, Services


class StockgraphGraphQL(GraphQLOverHTTP[Context, None], GraphQL[Context, None]):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = request.app.state.services
        return Context(
            services=services, caller=OPEN_CALLER, loaders=RequestLoaders(services),
            request=request, response=response,
        )
