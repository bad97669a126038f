"""The worked example of docs/add-a-model.md: a new model needs its own file and one record.

``tests/example_model.py`` is included verbatim in the page (checked here); registered with its
one record, it passes the contract tests, ``make_model`` builds it and ``leporid train --model
dotmf`` trains it -- with nothing else added anywhere.
"""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import example_model  # noqa: E402
import test_model_contract as contract  # noqa: E402

from leporid.data import prepare  # noqa: E402
from leporid.data.synthetic import power_law_interactions  # noqa: E402
from leporid.models import MODELS, make_model, neural_models, registry  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PARAMS = {"dim": 4, "epochs": 2, "batch_size": 128}


def test_the_page_shows_the_example_verbatim():
    page = (ROOT / "docs" / "add-a-model.md").read_text()
    block = re.search(r"<!-- example_model.py begin -->\n```python\n(.*?)```\n"
                      r"<!-- example_model.py end -->", page, re.S)
    assert block is not None
    assert block.group(1) == (ROOT / "tests" / "example_model.py").read_text()


@pytest.fixture
def registered(monkeypatch):
    """The example's record registered for one test (and the contract tests' small
    parameters for it), removed afterwards so the other tests see the package's models."""
    registry.register(example_model.RECORD)
    monkeypatch.setitem(contract.TEST_PARAMS, "dotmf", PARAMS)
    yield "dotmf"
    registry.unregister("dotmf")


def test_one_record_registers_it(registered):
    assert "dotmf" in MODELS and "dotmf" in neural_models()
    model = make_model("dotmf", lr=5e-3)
    assert isinstance(model, example_model.DotMF) and model.name == "dotmf"
    assert model.lr == 5e-3 and model.batch_size == 1024          # its record's default
    assert model.patience == registry.training_defaults(None)["patience"]   # a common one
    with pytest.raises(ValueError, match="unknown parameter"):
        make_model("dotmf", no_such_parameter=1)


def test_it_passes_the_contract_tests(registered, tmp_path):
    split = prepare(power_law_interactions(40, 30, 900, min_per_user=8, seed=3), min_count=2)
    model = make_model("dotmf", **PARAMS)
    assert model.fit(split) is model
    fitted = ("dotmf", model)
    contract.test_score_shape_dtype_finite(fitted, split)
    contract.test_deterministic_under_a_seed(fitted, split)
    contract.test_save_load_round_trip(fitted, split, tmp_path)
    contract.test_clone_is_an_unfitted_twin(fitted)
    contract.test_set_params_and_unknown_parameters(fitted)
    contract.test_bad_files_are_clean_errors(fitted, tmp_path)
    contract.test_initial_embeddings_loaded_bit_identically_before_first_step("dotmf", split)
    contract.test_resumed_training_equals_an_uninterrupted_run("dotmf", split, tmp_path)


def test_leporid_train_trains_it(registered, tmp_path):
    from leporid.cli import main

    rc = main(["train", "--model", "dotmf", "--dim", "8", "--epochs", "2", "--out",
               str(tmp_path)])
    assert rc == 0
    [result] = tmp_path.glob("train_*dotmf*.json")
    doc = json.loads(result.read_text())
    test_rows = [r for r in doc["rows"] if r.get("part") == "test"]
    assert test_rows and all(np.isfinite(r["HR@10"]) for r in test_rows)


def test_unregistered_afterwards():
    assert "dotmf" not in MODELS
