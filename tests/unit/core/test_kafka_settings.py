"""Kafka settings: the sample keyring is checked at start-up, and TLS/SASL reach every client."""

from __future__ import annotations

import base64
import json
import os
import ssl

import pytest

from core.settings import KafkaSettings, SettingsError, load_settings

KEY = base64.b64encode(os.urandom(32)).decode()


def test_the_keyring_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAWAVE_KAFKA__SAMPLE_KEYS", json.dumps({"2027-01": KEY, "2026-07": KEY}))
    monkeypatch.setenv("DATAWAVE_KAFKA__SAMPLE_KID", "2027-01")
    kafka = load_settings(_env_file=None).kafka
    assert kafka.sample_kid == "2027-01"
    assert kafka.sample_keyring() == {
        "2027-01": base64.b64decode(KEY),
        "2026-07": base64.b64decode(KEY),
    }


@pytest.mark.parametrize(
    ("keys", "kid", "reason"),
    [
        ({"a": KEY}, "b", "sample_kid 'b' is not a key of sample_keys"),
        ({"a": "not base64!"}, "a", "sample key 'a' is not base64"),
        ({"a": base64.b64encode(b"short").decode()}, "a", "must be base64 of 32 bytes"),
    ],
)
def test_a_bad_keyring_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, keys: dict[str, str], kid: str, reason: str
) -> None:
    monkeypatch.setenv("DATAWAVE_KAFKA__SAMPLE_KEYS", json.dumps(keys))
    monkeypatch.setenv("DATAWAVE_KAFKA__SAMPLE_KID", kid)
    with pytest.raises(SettingsError, match="DATAWAVE_KAFKA") as err:
        load_settings(_env_file=None)
    assert reason in str(err.value)
    assert all(key not in str(err.value) for key in keys.values()), "keys are not echoed"


def test_production_refuses_the_development_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAWAVE_MODE", "production")
    with pytest.raises(SettingsError, match="DATAWAVE_KAFKA__SAMPLE_KEYS holds the development"):
        load_settings(_env_file=None)


def test_tls_and_sasl_reach_the_clients(tmp_path: object) -> None:
    plain = KafkaSettings().client_options()
    assert plain == {"bootstrap_servers": "127.0.0.1:9092", "security_protocol": "PLAINTEXT"}
    secured = KafkaSettings(
        bootstrap_servers="kafka.internal:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="datawave",
        sasl_password="s3cret",
    ).client_options()
    assert secured["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (secured["sasl_plain_username"], secured["sasl_plain_password"]) == (
        "datawave",
        "s3cret",
    )
    assert isinstance(secured["ssl_context"], ssl.SSLContext)
    with pytest.raises(ValueError, match="needs sasl_username and sasl_password"):
        KafkaSettings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN")
