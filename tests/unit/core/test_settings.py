"""Bad settings name the variable and the expected form."""

from __future__ import annotations

import pytest

from core.settings import Mode, SettingsError, load_settings


def test_defaults_point_at_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(_env_file=None)
    assert s.neo4j.uri == "bolt://127.0.0.1:7687"
    assert s.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert s.mode is Mode.DEVELOPMENT


def test_nested_variables_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAWAVE_NEO4J__URI", "neo4j://graph.internal:7687")
    monkeypatch.setenv("DATAWAVE_PORT", "9000")
    s = load_settings(_env_file=None)
    assert s.neo4j.uri == "neo4j://graph.internal:7687"
    assert s.port == 9000


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("DATAWAVE_PORT", "eighty", "DATAWAVE_PORT"),
        ("DATAWAVE_PORT", "70000", "DATAWAVE_PORT"),
        ("DATAWAVE_NEO4J__URI", "http://localhost:7474", "expected a Bolt URI"),
        ("DATAWAVE_REDIS_URL", "localhost:6379", "expected redis://host:port/db"),
        ("DATAWAVE_OPENSEARCH_URL", "localhost:9200", "DATAWAVE_OPENSEARCH_URL"),
        ("DATAWAVE_MODE", "staging", "DATAWAVE_MODE"),
    ],
)
def test_invalid_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None)
    assert expected in str(err.value)
    assert var in str(err.value)
    assert value in str(err.value)


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAWAVE_MODE", "production")
    monkeypatch.setenv("DATAWAVE_NEO4J__PASSWORD", "n" * 24)
    with pytest.raises(SettingsError, match="DATAWAVE_AUTH__HS_SECRET is the development default"):
        load_settings(_env_file=None)
    monkeypatch.setenv("DATAWAVE_AUTH__HS_SECRET", "x" * 40)
    monkeypatch.setenv("DATAWAVE_KAFKA__SAMPLE_KEYS", '{"dev": "' + "a" * 43 + '="}')
    assert load_settings(_env_file=None).mode is Mode.PRODUCTION


def test_production_refuses_the_development_masking_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAWAVE_MODE", "production")
    monkeypatch.setenv("DATAWAVE_NEO4J__PASSWORD", "n" * 24)
    monkeypatch.setenv("DATAWAVE_AUTH__HS_SECRET", "s" * 48)
    monkeypatch.setenv("DATAWAVE_KAFKA__SAMPLE_KEYS", '{"dev": "' + "a" * 43 + '="}')
    monkeypatch.setenv("DATAWAVE_MASKING__CONFIDENTIAL", "hash")
    with pytest.raises(SettingsError, match="DATAWAVE_MASKING__HASH_KEY"):
        load_settings(_env_file=None)
    monkeypatch.setenv("DATAWAVE_MASKING__HASH_KEY", "k" * 40)
    assert load_settings(_env_file=None).masking.confidential == "hash"


def test_production_refuses_the_development_neo4j_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATAWAVE_MODE", "production")
    monkeypatch.setenv("DATAWAVE_AUTH__HS_SECRET", "s" * 48)
    monkeypatch.setenv("DATAWAVE_KAFKA__SAMPLE_KEYS", '{"dev": "' + "a" * 43 + '="}')
    with pytest.raises(SettingsError, match="DATAWAVE_NEO4J__PASSWORD is the development default"):
        load_settings(_env_file=None)
    monkeypatch.setenv("DATAWAVE_NEO4J__PASSWORD", "n" * 24)
    settings = load_settings(_env_file=None)
    assert not (settings.introspection_on or settings.suggestions_on), "off in production"
