"""JWT authentication: who is calling.

Production verifies RS256/ES256 tokens with keys from a JWKS URL or PEM files; development may
use HS256 with a configured secret, which the server refuses in production when it is the
default or short. Algorithms come from an allow-list and the key is chosen by the algorithm's
family, so an RSA public key can never be used as an HMAC secret (key confusion).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import jwt

from core.settings import (
    ASYMMETRIC_ALGORITHMS,
    HMAC_ALGORITHMS,
    AuthSettings,
)

# The subject of failed authentications in the audit trail: no token may claim it.
ANONYMOUS = "anonymous"
# Registered claims holding a NumericDate (RFC 7519): PyJWT also takes numeric strings there.
TIME_CLAIMS = ("exp", "iat", "nbf")


class AuthError(Exception):
    """Authentication failed; ``reason`` is safe to show the caller and to audit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    domains: frozenset[str] = frozenset({"*"})
    sources: frozenset[str] = frozenset({"*"})
    permissions: frozenset[str] = frozenset()
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def expired(self, leeway_s: float = 0) -> bool:
        """Past the token's ``exp``: a WebSocket connection outlives the token it opened with."""
        return self.claims.get("exp", float("inf")) + leeway_s < time.time()


def _as_set(value: Any) -> frozenset[str]:
    """A claim as a set of names: a list, or a string separated by spaces or commas. Empty
    names are dropped, so no token can name ``rbac.UNASSIGNED``."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list | tuple):
        raise AuthError(f"invalid token: a role or scope claim is a {type(value).__name__}")
    return frozenset(str(v) for v in value if str(v))


# Verified tokens are remembered this long, at most this many: a client sends the same token
# with every request, and verifying it again cost a tenth of a cached read's CPU time. A key
# withdrawn from the JWKS stops a remembered token within the TTL.
VERIFIED_TTL_S = 60.0
VERIFIED_MAX = 1024


class TokenVerifier:
    """Verifies bearer tokens against the configured keys; build one per process."""

    def __init__(self, cfg: AuthSettings) -> None:
        self.cfg = cfg
        self._pem_keys = [p.read_text() for p in cfg.public_key_files]
        self._jwks = jwt.PyJWKClient(cfg.jwks_url, cache_keys=True) if cfg.jwks_url else None
        self._verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def _key_for(self, token: str, alg: str) -> Any:
        if alg in HMAC_ALGORITHMS:
            return self.cfg.hs_secret.get_secret_value()
        if self._jwks is not None:
            try:
                return self._jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as err:
                raise AuthError(f"unknown signing key: {err}") from err
        if len(self._pem_keys) == 1:
            return self._pem_keys[0]
        raise AuthError("no public key configured for this algorithm")

    async def verify_async(self, token: str) -> Principal:
        """``verify`` for the event loop, remembering what it verified (``VERIFIED_TTL_S``); a
        JWKS fetch (blocking network I/O) runs in a thread."""
        now = time.monotonic()
        hit = self._verified.get(token)
        if hit and now - hit[0] < VERIFIED_TTL_S and not hit[1].expired(self.cfg.clock_skew_s):
            return hit[1]
        if self._jwks is None:
            principal = self.verify(token)
        else:
            principal = await asyncio.to_thread(self.verify, token)
        self._verified[token] = (now, principal)
        self._verified.move_to_end(token)
        while len(self._verified) > VERIFIED_MAX:
            self._verified.popitem(last=False)
        return principal

    def verify(self, token: str) -> Principal:
        cfg = self.cfg
        if len(token.encode()) > cfg.max_token_bytes:
            raise AuthError(f"token larger than {cfg.max_token_bytes} bytes")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as err:  # DecodeError, or a header field of the wrong type
            raise AuthError(f"malformed token: {err}") from err
        alg = header.get("alg")
        if alg not in cfg.algorithms:
            raise AuthError(f"algorithm {alg!r} is not allowed")
        try:
            claims = jwt.decode(
                token,
                self._key_for(token, alg),
                algorithms=[alg],
                audience=cfg.audience,
                issuer=cfg.issuer,
                leeway=cfg.clock_skew_s,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as err:
            raise AuthError("token expired") from err
        except jwt.ImmatureSignatureError as err:
            raise AuthError("token not yet valid") from err
        except jwt.InvalidAudienceError as err:
            raise AuthError("wrong audience") from err
        except jwt.InvalidIssuerError as err:
            raise AuthError("wrong issuer") from err
        except jwt.InvalidSignatureError as err:
            raise AuthError("bad signature") from err
        except (jwt.InvalidTokenError, jwt.InvalidKeyError) as err:
            raise AuthError(f"invalid token: {err}") from err
        _check_claims(claims, cfg.max_token_lifetime_s)
        return Principal(
            subject=claims["sub"],
            roles=_as_set(claims.get(cfg.roles_claim)),
            domains=_as_set(claims.get(cfg.domains_claim, "*")),
            sources=_as_set(claims.get(cfg.sources_claim, "*")),
            permissions=_as_set(claims.get(cfg.permissions_claim)),
            claims=claims,
        )


def _check_claims(claims: dict[str, Any], max_lifetime_s: int) -> None:
    """What PyJWT lets through: times that are not numbers (``"exp": "1700000000"`` passes its
    ``int()``), a subject that names no one or the audit trail's anonymous caller, and a
    lifetime beyond what this API accepts."""
    for name in TIME_CLAIMS:
        value = claims.get(name, 0)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise AuthError(f"invalid token: claim {name!r} must be a number of seconds")
    subject = claims["sub"]  # a string: PyJWT checks its type
    if not subject.strip():
        raise AuthError("invalid token: empty subject")
    if subject == ANONYMOUS:
        raise AuthError(f"invalid token: subject {ANONYMOUS!r} is reserved")
    if claims["exp"] - claims["iat"] > max_lifetime_s:
        raise AuthError(f"invalid token: lifetime longer than {max_lifetime_s} s")


def mint_token(
    cfg: AuthSettings,
    subject: str,
    roles: list[str],
    *,
    domains: list[str] | None = None,
    sources: list[str] | None = None,
    permissions: list[str] | None = None,
    ttl_s: int = 3600,
    private_key: str | None = None,
    algorithm: str | None = None,
    key_id: str | None = None,
) -> str:
    """A signed token for development and tests (``datawave token``); ``key_id`` names the
    key in a JWKS."""
    alg = algorithm or cfg.algorithms[0]
    if alg not in cfg.algorithms:
        raise ValueError(f"{alg} is not one of the allowed algorithms {cfg.algorithms}")
    if ttl_s > cfg.max_token_lifetime_s:
        raise ValueError(
            f"a lifetime of {ttl_s} s is longer than DATAWAVE_AUTH__MAX_TOKEN_LIFETIME_S"
            f" ({cfg.max_token_lifetime_s} s)"
        )
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "iss": cfg.issuer,
        "aud": cfg.audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
        cfg.roles_claim: roles,
        cfg.domains_claim: domains or ["*"],
        cfg.sources_claim: sources or ["*"],
        cfg.permissions_claim: permissions or [],
    }
    key = private_key if alg in ASYMMETRIC_ALGORITHMS else cfg.hs_secret.get_secret_value()
    if key is None:
        raise ValueError(f"{alg} needs a private key")
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": key_id} if key_id else None)
