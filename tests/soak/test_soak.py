"""The fault soak on the MongoDB-protocol store: a two-minute run always, the full one on `slow`.

Each prints every fault with its measured recovery time and the end checks (`tests.soak.run`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.soak.run import FULL, SHORT, SoakPlan, run_soak


async def _passes(plan: SoakPlan, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = await run_soak(plan, work)
    with capsys.disabled():
        print("\n" + "\n".join(report.lines()))
    assert report.problems() == [], "\n".join(report.lines())
    assert {f.name for f in report.faults} == set(plan.faults)
    assert report.took < 150 if plan is SHORT else report.took < 15 * 60


@pytest.mark.timeout(240)
async def test_two_minute_soak_recovers_from_every_kind_of_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _passes(SHORT, tmp_path, capsys)


@pytest.mark.slow
@pytest.mark.timeout(20 * 60)
async def test_full_soak_of_a_thousand_people_over_an_office_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _passes(FULL, tmp_path, capsys)
