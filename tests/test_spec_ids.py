"""The spec ids of the committed studies are pinned: results.csv rows are reused by spec id
(:func:`symcodec.study.spec_id`), so a refactor of the spec or its parsing that changed an
id would silently orphan every committed result of that study."""

from __future__ import annotations

from pathlib import Path

import pytest

from symcodec.study import StudySpec, load_study, spec_id

STUDIES = Path(__file__).resolve().parent.parent / "studies"

PINNED_SPEC_IDS = {
    "paper.toml": "90edda117f68",
    "paper-central-skew.toml": "90edda117f68",  # paper.toml's third: same id, same directory
    "paper-equal-energy.toml": "40d01aa834bc",
    "paper-equal-energy-central-skew.toml": "40d01aa834bc",  # its central-skew part: same id
    "paper-gap.toml": "4b1093702313",
    "quick.toml": "5c804285cf31",
}


@pytest.mark.parametrize("name", sorted(PINNED_SPEC_IDS))
def test_spec_id_of_a_committed_study_is_pinned(name):
    assert spec_id(load_study(STUDIES / name)) == PINNED_SPEC_IDS[name]


@pytest.mark.parametrize("name", sorted(PINNED_SPEC_IDS))
def test_a_committed_study_round_trips_through_plain_data(name):
    spec = load_study(STUDIES / name)
    back = StudySpec.from_dict(spec.to_dict())
    assert back == spec and spec_id(back) == PINNED_SPEC_IDS[name]
