"""``serverInfo``: what a client checks first."""

from __future__ import annotations

import strawberry

from core import __version__
from live.health import check_dependencies
from resolvers.context import Info
from resolvers.server.types import Dependency, ServerInfo


@strawberry.type
class ServerQuery:
    @strawberry.field(description="Version of this API and the state of each dependency.")
    async def server_info(self, info: Info) -> ServerInfo:
        state = info.context.state
        deps = await check_dependencies(state)
        return ServerInfo(
            version=__version__,
            mode=state.settings.mode.value,
            ready=all(d.up for d in deps),
            dependencies=[Dependency.from_status(d) for d in deps],
        )
