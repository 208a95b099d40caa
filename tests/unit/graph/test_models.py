"""neomodel's unique properties have the constraints the migrations install (0008, and 0019
for waivers' URNs; neomodel's own install_labels is never run)."""

from __future__ import annotations

import re
from importlib import resources

from graph import models

MIGRATIONS = resources.files("graph.migrations").iterdir()
MIGRATION = "".join(f.read_text() for f in MIGRATIONS if f.name.endswith(".cypher"))
CONSTRAINT = re.compile(r"FOR \(n:(\w+)\) REQUIRE n\.(\w+) IS UNIQUE")


def test_every_unique_property_has_its_constraint() -> None:
    declared = set(CONSTRAINT.findall(MIGRATION))
    for cls in (models.Policy, models.PolicyVersion, models.Rule, models.RuleSet, models.Waiver):
        for name, prop in cls.defined_properties(aliases=False, rels=False).items():
            if prop.unique_index:
                assert (cls.__label__, prop.get_db_property_name(name)) in declared, cls
