"""The product's wheel (what the Dockerfile installs) holds what its entry points import, and
nothing of the development stack: ``devstack/`` ships as a distribution of its own."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIRST_PARTY = (
    "core", "graph", "ingest", "ml", "security", "live", "governance", "resolvers", "app",
)  # fmt: skip
# The processes an image runs: the API, the ingest worker, the classifier, the CLI.
ENTRY_POINTS = ("app.main", "app.serving", "app.cli.main", "ingest.worker", "ml.consumer")
IMPORTED = f"""
import importlib, sys
for name in {ENTRY_POINTS!r}:
    importlib.import_module(name)
for name, module in sorted(sys.modules.items()):
    if name.split(".")[0] in {FIRST_PARTY!r} and getattr(module, "__file__", None):
        print(name, module.__file__)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (built,) = out.glob("datawave-*.whl")
    with zipfile.ZipFile(built) as z:
        return set(z.namelist())


def test_the_wheel_has_every_module_the_entry_points_import(wheel: set[str]) -> None:
    listing = subprocess.run(
        [sys.executable, "-c", IMPORTED], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    needed = {
        Path(path).relative_to(ROOT).as_posix() for _, path in map(str.split, listing.splitlines())
    }
    assert needed, "the entry points imported nothing of ours"
    assert sorted(needed - wheel) == []


def test_the_wheel_carries_data_files_and_no_development_code(wheel: set[str]) -> None:
    assert "graph/migrations/0001_core_constraints.cypher" in wheel
    assert "ml/default_model.json" in wheel
    assert "governance/rego/main.rego" in wheel
    assert "governance/rego/templates/pii_has_owner.rego" in wheel
    assert [n for n in wheel if n.startswith(("devstack/", "tests/", "bench/"))] == []


def test_the_image_copies_every_product_package() -> None:
    """The Dockerfile builds the same wheel: it must copy every package the wheel holds."""
    copied = {
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    }
    assert sorted(set(FIRST_PARTY) - copied) == []
    assert "devstack" not in copied
