"""The guard against refactors that change numbers: every registered model's short seeded run
on the bundled data, every initialiser's arrays, and LEPORID / LE on ml-100k must equal the
goldens recorded before the "one contract" refactor (``tests/golden/record.py``).

Equality is exact (floats compared as stored in JSON, arrays by SHA-256): on the CPU every one
of these code paths is deterministic for a fixed seed and thread count (torch runs with one
thread in ``leporid train``; the eigensolver's start vector is seeded). A change that *means*
to change numbers re-records the goldens and says why in its commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import record  # noqa: E402

GOLDENS = json.loads((Path(__file__).parent / "golden" / "goldens.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GOLDENS["models"]))
def test_model_metrics_equal_goldens(name, tmp_path):
    got = record.model_run(name, str(tmp_path))
    want = GOLDENS["models"][name]
    assert got["rows"] == want["rows"]
    assert got.get("history") == want.get("history")


def test_every_model_has_a_golden():
    from leporid.models import MODELS

    assert sorted(MODELS) == sorted(GOLDENS["models"])


@pytest.fixture(scope="module")
def bundled_split():
    return record.bundled_split()


@pytest.mark.parametrize("name", sorted(GOLDENS["inits"]))
def test_initialiser_arrays_equal_goldens(name, bundled_split):
    assert record.init_digests(name, bundled_split) == GOLDENS["inits"][name]


def test_every_initialiser_has_a_golden():
    from leporid.init import available

    assert sorted(available()) == sorted(GOLDENS["inits"])


@pytest.mark.slow
def test_leporid_and_le_on_ml100k_bit_for_bit():
    if GOLDENS["ml100k"] is None:
        pytest.skip("goldens recorded without ml-100k")
    got = record.ml100k_digests()
    if got is None:
        pytest.skip(f"ml-100k not found at {record.ML100K}")
    assert got == GOLDENS["ml100k"]
