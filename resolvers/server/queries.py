"""``serverInfo``: the version of this replica, the state of its dependencies and of the workers,
for operators (it names the services' versions and the workers' hosts, so it needs
``system:admin``; /readyz says up or down only)."""

from __future__ import annotations

import strawberry

from core import __version__
from live.health import dependencies, missing, serving
from live.workers import reported
from resolvers.context import Info
from resolvers.permissions import needs
from resolvers.server.types import Dependency, ServerInfo, Worker


@strawberry.type
class ServerQuery:
    @strawberry.field(
        description="Version of this API, the state of each dependency and of each worker "
        "(needs system:admin).",
        extensions=needs("system:admin"),
    )
    async def server_info(self, info: Info) -> ServerInfo:
        state = info.context.state
        deps = await dependencies(state)
        found = await reported(state.redis, state.settings.resilience)
        return ServerInfo(
            version=__version__,
            mode=state.settings.mode,
            ready=serving(deps),
            dependencies=[Dependency.from_status(d) for d in deps],
            workers=None if found is None else [Worker.from_status(w) for w in found],
            degraded=sorted({*missing(deps), *(w.component for w in found or [] if w.degraded)}),
        )
