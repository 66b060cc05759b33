"""Chat notices are paced across the organisation."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from bot.notify import Pacer


async def test_a_pacer_lets_callers_start_no_faster_than_its_rate() -> None:
    pacer = Pacer(20.0)  # one start every 50 ms, whoever asks
    starts: list[float] = []

    async def one() -> None:
        await pacer.wait()
        starts.append(time.monotonic())

    began = time.monotonic()
    await asyncio.gather(*(one() for _ in range(11)))

    starts.sort()
    assert starts[-1] - began >= 0.5 - 0.01  # ten intervals after the first start
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.05 - 0.01


def test_a_pace_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(0.0)
