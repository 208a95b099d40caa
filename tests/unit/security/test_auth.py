"""Token verification: the attacks a JWT endpoint sees, each rejected with a clear reason."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.settings import DEFAULT_DEV_SECRET, AuthSettings
from security.auth import AuthError, TokenVerifier, mint_token

SECRET = "s" * 48


@pytest.fixture(scope="module")
def rsa_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = tmp_path_factory.mktemp("keys") / "public.pem"
    path.write_bytes(public)
    return private, path


def hs_settings(**kw: object) -> AuthSettings:
    return AuthSettings(hs_secret=SECRET, **kw)


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base = {"sub": "ada", "iss": "datawave", "aud": "datawave-api", "iat": now, "exp": now + 60}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def reject(verifier: TokenVerifier, token: str, reason: str) -> None:
    with pytest.raises(AuthError) as err:
        verifier.verify(token)
    assert reason in err.value.reason


def test_valid_hs256_token_gives_roles_and_scopes() -> None:
    cfg = hs_settings()
    token = mint_token(cfg, "ada", ["steward"], domains=["sales"], permissions=["pii:read"])
    p = TokenVerifier(cfg).verify(token)
    assert (p.subject, p.roles, p.domains) == ("ada", {"steward"}, {"sales"})
    assert p.permissions == {"pii:read"}


def test_alg_none_is_rejected() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    reject(TokenVerifier(hs_settings()), f"{header.decode()}.{body.decode()}.", "not allowed")


def test_hs_rs_key_confusion_is_rejected(rsa_keys: tuple[str, Path]) -> None:
    _, public_path = rsa_keys
    cfg = AuthSettings(algorithms=["RS256"], public_key_files=[public_path])
    # An attacker signs with HMAC using the (public) RSA key as the secret.
    forged = jwt.encode(claims(), "attacker-chosen-secret-which-is-long-enough", "HS256")
    reject(TokenVerifier(cfg), forged, "not allowed")
    both = AuthSettings(
        algorithms=["RS256", "HS256"], public_key_files=[public_path], hs_secret=SECRET
    )
    forged_with_public = jwt.encode(claims(), SECRET[:-1] + "x", "HS256")
    reject(TokenVerifier(both), forged_with_public, "bad signature")


def test_rs256_with_pem_key(rsa_keys: tuple[str, Path]) -> None:
    private, public_path = rsa_keys
    cfg = AuthSettings(algorithms=["RS256"], public_key_files=[public_path])
    token = mint_token(cfg, "svc", ["service"], private_key=private)
    assert TokenVerifier(cfg).verify(token).roles == {"service"}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": -120}, "expired"),
        ({"nbf": 600}, "not yet valid"),
        ({"iss": "someone-else"}, "wrong issuer"),
        ({"aud": "another-api"}, "wrong audience"),
        ({"exp": None}, "invalid token"),
        ({"iat": 3600, "exp": 7200}, "not yet valid"),
    ],
)
def test_claim_checks(overrides: dict[str, object], reason: str) -> None:
    # Times are offsets from now, taken when the test runs (not when it is collected: a long
    # suite would otherwise reach "600 s from now" before this test starts).
    now = int(time.time())
    times = {k: now + v for k, v in overrides.items() if k in ("exp", "iat", "nbf") and v}
    token = jwt.encode(claims(**(overrides | times)), SECRET, "HS256")
    reject(TokenVerifier(hs_settings()), token, reason)


def test_clock_skew_is_tolerated() -> None:
    token = jwt.encode(claims(exp=int(time.time()) - 5), SECRET, "HS256")
    assert TokenVerifier(hs_settings(clock_skew_s=30)).verify(token).subject == "ada"


def test_tampered_signature_is_rejected() -> None:
    token = mint_token(hs_settings(), "ada", ["viewer"])
    head, body, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["roles"] = ["admin"]
    evil = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    reject(TokenVerifier(hs_settings()), f"{head}.{evil}.{sig}", "bad signature")


def test_oversized_and_garbage_tokens() -> None:
    verifier = TokenVerifier(hs_settings())
    reject(verifier, "x" * 20_000, "larger than")
    reject(verifier, "not-a-jwt", "malformed")


def test_unknown_kid_with_jwks_is_rejected() -> None:
    cfg = AuthSettings(algorithms=["RS256"], jwks_url="http://127.0.0.1:9/jwks.json")
    token = jwt.encode(claims(), SECRET, "HS256", headers={"kid": "nope"})
    reject(TokenVerifier(cfg), token, "not allowed")


def test_production_refuses_default_or_short_secret() -> None:
    assert "development default" in " ".join(AuthSettings().production_problems())
    assert "shorter" in " ".join(AuthSettings(hs_secret="short").production_problems())
    assert AuthSettings(hs_secret=SECRET).production_problems() == []
    assert DEFAULT_DEV_SECRET not in SECRET


def test_claims_of_the_wrong_type_and_headers_of_the_wrong_type() -> None:
    verifier = TokenVerifier(hs_settings())
    reject(verifier, jwt.encode(claims(roles=7), SECRET, "HS256"), "invalid token")
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":7}').rstrip(b"=").decode()
    _, body, sig = jwt.encode(claims(), SECRET, "HS256").split(".")
    reject(verifier, f"{head}.{body}.{sig}", "malformed token")


def test_empty_scope_names_are_dropped() -> None:
    token = jwt.encode(claims(roles=["viewer"], domains=["", "sales"]), SECRET, "HS256")
    assert TokenVerifier(hs_settings()).verify(token).domains == {"sales"}


def test_a_principal_knows_when_its_token_expired() -> None:
    token = jwt.encode(claims(exp=int(time.time()) - 10), SECRET, "HS256")
    principal = TokenVerifier(hs_settings(clock_skew_s=30)).verify(token)
    assert principal.expired() and not principal.expired(leeway_s=30)


def test_minting_names_the_key_and_refuses_other_algorithms(rsa_keys: tuple[str, Path]) -> None:
    private, public_path = rsa_keys
    cfg = AuthSettings(algorithms=["RS256"], public_key_files=[public_path])
    token = mint_token(cfg, "svc", ["service"], private_key=private, key_id="k1")
    assert jwt.get_unverified_header(token)["kid"] == "k1"
    with pytest.raises(ValueError, match="not one of the allowed algorithms"):
        mint_token(cfg, "svc", ["service"], algorithm="HS256")


async def test_a_remembered_token_is_still_refused_once_it_expires() -> None:
    cfg = hs_settings(clock_skew_s=0)
    verifier = TokenVerifier(cfg)
    token = mint_token(cfg, "alice", ["viewer"], ttl_s=1)
    first = await verifier.verify_async(token)
    assert await verifier.verify_async(token) is first, "verified once, then remembered"
    await asyncio.sleep(1.1)
    with pytest.raises(AuthError, match="expired"):
        await verifier.verify_async(token)


def test_minting_refuses_a_lifetime_the_api_would_refuse() -> None:
    cfg = hs_settings(max_token_lifetime_s=3600)
    with pytest.raises(ValueError, match="MAX_TOKEN_LIFETIME_S"):
        mint_token(cfg, "ada", ["viewer"], ttl_s=7200)
    reject(TokenVerifier(cfg), jwt.encode(claims(exp=int(time.time()) + 7200), SECRET), "lifetime")
