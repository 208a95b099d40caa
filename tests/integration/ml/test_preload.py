"""An API replica told to preload the on-demand classifier has it ready without a classify,
and one that is not told starts without loading it (spaCy, torch and the encoder cost seconds
and hundreds of MiB that a replica which never classifies should not pay)."""

from __future__ import annotations

import pytest

from core.settings import Settings
from tests.factories import eventually
from tests.integration.graphql.conftest import serve


async def test_a_replica_preloads_the_classifier_only_when_asked(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet = settings.model_copy(update={"relay_changes": False, "watch_compliance": False})
    async with serve(quiet) as lazy:
        assert not lazy.app.state.datawave.classifier.loaded

    monkeypatch.setenv("DATAWAVE_CLASSIFIER__PRELOAD", "true")
    async with serve(quiet) as eager:
        classifier = eager.app.state.datawave.classifier

        async def loaded() -> bool:
            return classifier.loaded

        await eventually(loaded, timeout_s=180)
