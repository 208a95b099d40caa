"""GraphiQL without a CDN: Strawberry's page, with its scripts and styles served by the API.

Strawberry's template loads React, GraphiQL and the explorer plugin from unpkg.com, which
DataWave machines cannot reach (only package registries). unpkg serves files of npm packages,
so the same files come from the npm registry: fetched once into ``<cache_dir>/graphiql``
(about 4 MB; graphiql.min.js alone is 3.5 MB, too big for the repository), each checked
against the template's own SRI hash, and served under ``/graphiql/static/``. The versions are
the ones the pinned Strawberry's template names, so upgrading Strawberry upgrades GraphiQL.

The page gets a Content-Security-Policy that only allows this origin (and a nonce for the
template's inline script), so a template that starts loading something else fails loudly
instead of silently needing the internet. No header or token is pre-filled: the page opens on
a document that says how to get a token and paste ``{"Authorization": "Bearer <token>"}`` into
GraphiQL's headers editor (``datawave_page``), and GraphiQL fetches the schema again when the
Authorization header changes (the first fetch had none, so it was refused).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import html
import io
import json
import logging
import os
import re
import secrets
import tarfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

log = logging.getLogger("datawave.graphiql")

STATIC_PATH = "/graphiql/static"
CDN_URL = re.compile(
    r"https://unpkg\.com/(?P<package>(?:@[\w.-]+/)?[\w.-]+)@(?P<version>[\w.+-]+)/(?P<path>[^\"'\s]+)"
)
TAG = re.compile(r"<(?:script|link)\b[^>]*>")
INTEGRITY = re.compile(r'\sintegrity="(?P<value>[^"]+)"')
FETCH_TIMEOUT_S = 60.0


class AssetError(Exception):
    """The GraphiQL files could not be fetched or verified; the message says why."""


@dataclass(frozen=True)
class Asset:
    """One file of an npm package, as the template names it on unpkg."""

    package: str
    version: str
    path: str
    integrity: str | None  # the template's SRI value, e.g. "sha384-..."

    @property
    def name(self) -> str:
        """Where it lives under the cache folder and under ``STATIC_PATH``."""
        return f"{self.package}@{self.version}/{self.path}"

    def matches(self, data: bytes) -> bool:
        return self.integrity is None or _sri_matches(self.integrity, data)


def _sri_matches(integrity: str, data: bytes) -> bool:
    """True when any of the (space-separated) ``alg-base64`` values matches ``data``."""
    for value in integrity.split():
        alg, _, expected = value.partition("-")
        if alg in {"sha256", "sha384", "sha512"}:
            digest = base64.b64encode(hashlib.new(alg, data).digest()).decode()
            if secrets.compare_digest(digest, expected):
                return True
    return False


def local_page(template: str) -> tuple[str, tuple[Asset, ...]]:
    """The template with each unpkg URL replaced by ``STATIC_PATH``, and the files it needs.

    ``crossorigin`` goes (the files are same-origin); ``integrity`` stays, so the browser
    checks the cached files too. Any other remote URL left in a tag is an error: the page
    would need the internet.
    """
    assets: list[Asset] = []

    def rewrite(tag: re.Match[str]) -> str:
        text = tag.group(0)
        url = CDN_URL.search(text)
        if url is None:
            return text
        sri = INTEGRITY.search(text)
        asset = Asset(url["package"], url["version"], url["path"], sri and sri["value"])
        if ".." in asset.path.split("/"):
            raise AssetError(f"unexpected asset path in Strawberry's template: {url[0]}")
        assets.append(asset)
        text = text.replace(url[0], f"{STATIC_PATH}/{quote(asset.name, safe='/@')}")
        return re.sub(r"\s+crossorigin(?:=\"[^\"]*\")?(?=[\s>])", "", text)

    page = TAG.sub(rewrite, template)
    remote = [t for t in TAG.findall(page) if re.search(r"""(?:src|href)=["']?(?:https?:)?//""", t)]
    if remote:
        raise AssetError(f"Strawberry's GraphiQL template loads remote files: {remote}")
    return page, tuple(assets)


# The document the page opens with (Strawberry's welcome text replaced).
DEFAULT_DOCUMENT = """# DataWave GraphQL API
#
# Every operation needs a bearer token (this page itself does not):
#
# 1. Get one. In development, in a shell:  datawave token ada --role viewer
#    (roles: viewer, steward, domain_owner, auditor, admin; one hour unless --ttl)
# 2. Open "Headers" below and paste:  {"Authorization": "Bearer <the token>"}
#    Documentation and autocompletion load once the header is there.
# 3. Run the query below: Ctrl-Enter, or the play button.
#
# Subscriptions (scanProgress, catalogChanges, anomalies) send the same header in their
# connection_init. More: docs/graphql-api.md and the walkthrough in docs/walkthrough.md.

query FirstLook {
  assets(first: 5) {
    totalCount
    edges { node { id name ... on Table { rowCount } } }
  }
}
"""
# Strawberry's template, changed in three places: the welcome document, and a key that
# remounts GraphiQL (so it fetches the schema again) when the Authorization header changes.
PAGE_EDITS = (
    (re.compile(r"const EXAMPLE_QUERY = `.*?`;", re.S), "const EXAMPLE_QUERY = {document};"),
    (
        re.compile(r"function onEditHeaders\(newHeaders\) \{\s*setHeaders\(newHeaders\);\s*\}"),
        """const [authorization, setAuthorization] = React.useState(null);

        function onEditHeaders(newHeaders) {
          setHeaders(newHeaders);
          try {
            const value = JSON.parse(newHeaders || "{}").Authorization || null;
            if (value !== authorization) setAuthorization(value);
          } catch (_) {}
        }""",
    ),
    (
        re.compile(r"React\.createElement\(GraphiQL, \{"),
        "React.createElement(GraphiQL, {\n          key: authorization,",
    ),
)


def datawave_page(template: str) -> str:
    """Strawberry's page with DataWave's welcome document and schema re-fetch; an error if
    the template no longer has what is changed (a Strawberry upgrade)."""
    page = template
    for pattern, replacement in PAGE_EDITS:
        text = replacement.replace("{document}", json.dumps(DEFAULT_DOCUMENT))
        page, found = pattern.subn(lambda _: text, page, count=1)  # noqa: B023
        if not found:
            raise AssetError(f"Strawberry's GraphiQL template changed: no {pattern.pattern!r}")
    return page


class GraphiQL:
    """Strawberry's GraphiQL page and its files, fetched on first use into ``cache_dir``."""

    def __init__(self, cache_dir: Path, registry: str) -> None:
        self.folder = cache_dir / "graphiql"
        self.registry = registry.rstrip("/")
        self.template, self.assets = local_page(datawave_page(get_graphql_ide_html("graphiql")))
        self._fetch: asyncio.Task[None] | None = None

    def prefetch(self) -> asyncio.Task[None]:
        """Fetch in the background (from start-up), so the page is ready offline later; a
        failed fetch is tried again."""
        fetch = self._fetch
        if fetch is None or (fetch.done() and (fetch.cancelled() or fetch.exception())):
            self._fetch = fetch = asyncio.create_task(self._ensure(), name="graphiql-assets")
        return fetch

    async def close(self) -> None:
        if self._fetch is not None and not self._fetch.done():
            self._fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetch

    async def response(self) -> Response:
        """The page once its files are cached, or a 503 page that says what went wrong."""
        try:
            # shielded: a browser that goes away does not cancel the fetch for the next one
            await asyncio.shield(self.prefetch())
        except AssetError as err:
            log.warning("GraphiQL unavailable: %s", err)
            return HTMLResponse(
                "<!doctype html><title>GraphiQL unavailable</title><pre>GraphiQL's files are "
                f"not in {self.folder} and could not be fetched:\n\n{html.escape(str(err))}\n\n"
                "Check that the npm registry is reachable (DATAWAVE_NPM_REGISTRY) and reload. "
                "The API itself works: POST /graphql.</pre>",
                status_code=503,
            )
        nonce = secrets.token_urlsafe(18)
        page = self.template.replace("<script>", f'<script nonce="{nonce}">')
        return HTMLResponse(page, headers={"Content-Security-Policy": csp(nonce)})

    async def _ensure(self) -> None:
        cached = await asyncio.to_thread(lambda: [self._cached(a) for a in self.assets])
        missing = [a for a, ok in zip(self.assets, cached, strict=True) if not ok]
        if not missing:
            return
        log.info("fetching GraphiQL files from %s into %s", self.registry, self.folder)
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=True) as http:
                for package, version in dict.fromkeys((a.package, a.version) for a in missing):
                    files = [a for a in missing if (a.package, a.version) == (package, version)]
                    tarball, integrity = await self._download(http, package, version)
                    await asyncio.to_thread(self._unpack, tarball, integrity, files)
        except (httpx.HTTPError, KeyError, ValueError) as err:
            raise AssetError(f"npm registry {self.registry}: {err!r}") from err
        except (OSError, tarfile.TarError) as err:
            raise AssetError(f"cannot unpack into {self.folder}: {err!r}") from err

    def _cached(self, asset: Asset) -> bool:
        path = self.folder / asset.name
        return path.is_file() and asset.matches(path.read_bytes())

    async def _download(
        self, http: httpx.AsyncClient, package: str, version: str
    ) -> tuple[bytes, str | None]:
        """``package@version``'s tarball and the registry's SRI hash of it."""
        manifest = await http.get(f"{self.registry}/{package.replace('/', '%2F')}/{version}")
        manifest.raise_for_status()
        dist = manifest.json()["dist"]
        tarball = await http.get(dist["tarball"])
        tarball.raise_for_status()
        return tarball.content, dist.get("integrity")

    def _unpack(self, tarball: bytes, integrity: str | None, files: list[Asset]) -> None:
        """Check the tarball, then write ``files`` from it, each checked against the page."""
        if integrity and not _sri_matches(integrity, tarball):
            raise AssetError(f"{files[0].package}: tarball does not match the registry's hash")
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
            for asset in files:
                try:
                    member = tar.extractfile(f"package/{asset.path}")
                except KeyError:
                    member = None
                if member is None:
                    raise AssetError(f"{asset.name}: not a file of the package")
                data = member.read()
                if not asset.matches(data):
                    raise AssetError(f"{asset.name}: does not match {asset.integrity}")
                _write_atomically(self.folder / asset.name, data)


def _write_atomically(path: Path, data: bytes) -> None:
    """Two processes (replicas, uvicorn workers) may fetch at once; neither sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    tmp.write_bytes(data)
    tmp.replace(path)


def csp(nonce: str) -> str:
    """Only this origin: scripts need the page's nonce; styles may be inline (the template's
    <style>, CodeMirror's style attributes); fonts are data: URIs inside graphiql.min.css;
    connect-src 'self' covers fetch and the subscription WebSocket on the same host."""
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )
