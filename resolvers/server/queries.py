"""``serverInfo``: the version of this replica and the state of its dependencies, for operators
(it names the services' versions, so it needs ``system:admin``; /readyz says up or down only)."""

from __future__ import annotations

import strawberry

from core import __version__
from live.health import dependencies
from resolvers.context import Info
from resolvers.permissions import needs
from resolvers.server.types import Dependency, ServerInfo


@strawberry.type
class ServerQuery:
    @strawberry.field(
        description="Version of this API and the state of each dependency (needs system:admin).",
        extensions=needs("system:admin"),
    )
    async def server_info(self, info: Info) -> ServerInfo:
        state = info.context.state
        deps = await dependencies(state)
        return ServerInfo(
            version=__version__,
            mode=state.settings.mode.value,
            ready=all(d.up for d in deps),
            dependencies=[Dependency.from_status(d) for d in deps],
        )
