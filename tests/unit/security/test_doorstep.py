"""The per-address cap on connections waiting to be admitted."""

from __future__ import annotations

import pytest

from security.gateway import Doorstep, Refusal


def test_an_address_waits_at_most_cap_times_and_admission_frees_a_place() -> None:
    door = Doorstep(2)
    with door.wait("10.0.0.1") as admit, door.wait("10.0.0.1"):
        with pytest.raises(Refusal) as refused, door.wait("10.0.0.1"):
            pass
        assert (refused.value.status, refused.value.code) == (429, "RATE_LIMITED")
        with door.wait("10.0.0.2"):  # another address has places of its own
            pass
        admit()
        admit()  # twice is once
        with door.wait("10.0.0.1"):
            pass
    with door.wait("10.0.0.1"), door.wait("10.0.0.1"):  # leaving frees every place
        pass
