"""infra/prometheus/alerts.yml parses and uses only series DataWave exports."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import app.main
import app.supervisor  # noqa: F401
import core.outages  # noqa: F401

ALERTS = Path(__file__).resolve().parents[3] / "infra" / "prometheus" / "alerts.yml"


def test_alert_rules_use_exported_series() -> None:
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    families = list(REGISTRY.collect())  # a counter's family drops "_total"
    exported = {m.name for m in families} | {f"{m.name}_total" for m in families}
    used = {n for r in rules for n in re.findall(r"datawave_[a-z_]+", r["expr"])}
    assert rules and used
    assert used <= exported, used - exported
