"""neomodel's unique properties have the constraints migration 0008 installs (neomodel's own
install_labels is never run)."""

from __future__ import annotations

import re
from importlib import resources

from graph import models

MIGRATION = resources.files("graph.migrations").joinpath("0008_governance.cypher").read_text()
CONSTRAINT = re.compile(r"FOR \(n:(\w+)\) REQUIRE n\.(\w+) IS UNIQUE")


def test_every_unique_property_has_its_constraint() -> None:
    declared = set(CONSTRAINT.findall(MIGRATION))
    for cls in (models.Policy, models.PolicyVersion, models.Rule, models.RuleSet, models.Waiver):
        for name, prop in cls.defined_properties(aliases=False, rels=False).items():
            if prop.unique_index:
                assert (cls.__label__, prop.get_db_property_name(name)) in declared, cls
