"""`deadline`: a block past its time is interrupted; an error of its own comes out as it is."""

from __future__ import annotations

import time

import pytest

from signing.pades.limits import LimitExceeded, deadline


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_a_block_past_its_time_is_interrupted() -> None:
    with pytest.raises(LimitExceeded, match=r"longer than 0\.05 s"), deadline(0.05):
        _spin(5)


def test_an_error_of_the_block_comes_out_as_it_is() -> None:
    with pytest.raises(KeyError), deadline(5):
        raise KeyError("x")
