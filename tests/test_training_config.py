"""Training settings as one object (``TrainingConfig``), each model's defaults written once (its
registry record), and the defaults page generated from that table."""

from pathlib import Path

import pytest

from leporid.models import make_model, model_class, neural_models
from leporid.models.registry import defaults_markdown, training_defaults
from leporid.models.training import SELECTION_PAIRS, TrainingConfig

ROOT = Path(__file__).resolve().parents[1]

#: every neural model's training defaults as its constructor wrote them before the settings
#: became one object (main at b5a5748): the refactor must not change one of them
BEFORE = {
    "bpr": dict(lr=0.05, batch_size=8192, cosine=False, epochs=50, evals_per_epoch=1,
                patience=10, init_params={"std": 0.1}),
    "lightgcn": dict(lr=1e-2, batch_size=2048, cosine=False, epochs=150, evals_per_epoch=1,
                     patience=20, init_params={"std": 0.1}),
    "ngcf": dict(lr=2e-3, batch_size=1024, cosine=False, epochs=150, evals_per_epoch=1,
                 patience=10, init_params={"std": 0.1}),
    "ncf": dict(lr=1e-3, batch_size=256, cosine=False, epochs=50, evals_per_epoch=1,
                patience=5, init_params={}),
    "dgcf": dict(lr=1e-2, batch_size=8192, cosine=False, epochs=200, evals_per_epoch=1,
                 patience=5, init_params={"std": 0.1}),
    "hgn": dict(lr=1e-3, batch_size=256, cosine=False, epochs=100, evals_per_epoch=1,
                patience=5, init_params={}),
    "dlr2": dict(lr=1e-3, batch_size=128, cosine=True, epochs=30, evals_per_epoch=2,
                 patience=3, init_params={}),
}
SHARED_BEFORE = dict(dim=64, init="random", freeze_embeddings=False, weight_decay=0.0,
                     iterations=None, metric="HR@10", eval_every=None, seed=123,
                     device="cpu", selection_pairs=25_000_000)


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_defaults_are_those_of_before(name):
    from leporid.train.loop import training_threads

    model = make_model(name)
    for key, value in {**SHARED_BEFORE, **BEFORE[name]}.items():
        assert getattr(model, key) == value, (name, key)
        assert getattr(model.training, key) == value, (name, key)
    # threads: 1 or None before, both one torch thread; None (the common default) now
    assert training_threads(model.threads) == 1


def test_every_neural_model_is_pinned():
    assert sorted(BEFORE) == neural_models()


def test_the_defaults_page_is_generated_from_the_table():
    page = (ROOT / "docs" / "training-defaults.md").read_text()
    assert page == defaults_markdown(), ("docs/training-defaults.md is stale: regenerate it "
                                         "with leporid.models.registry.defaults_markdown()")


def test_every_difference_has_a_reason():
    from leporid.models.registry import RECORDS

    for r in RECORDS:
        for name, d in r.training.items():
            assert name in TrainingConfig.names() and len(d.reason) > 20, (r.key, name)


def test_from_dict_refuses_unknown_keys_and_validates():
    with pytest.raises(ValueError, match="unknown training setting"):
        TrainingConfig.from_dict({"lr": 1e-3, "momentum": 0.9})
    for bad in ({"lr": 0}, {"lr": -1}, {"epochs": 0}, {"patience": 1.5}, {"metric": "HR"},
                {"batch_size": 0}, {"selection_pairs": 0}, {"init": 3}):
        with pytest.raises(ValueError):
            TrainingConfig(**bad)
    assert TrainingConfig(lr="0.01").lr == 0.01                 # numeric strings (--param)
    assert TrainingConfig().selection_pairs == SELECTION_PAIRS


@pytest.mark.parametrize("name", neural_models())
def test_config_object_and_flat_parameters_agree(name):
    flat = make_model(name, lr=5e-3, epochs=3, selection_pairs=None)
    whole = model_class(name)(training=TrainingConfig.from_dict(
        {"lr": 5e-3, "epochs": 3, "selection_pairs": None},
        TrainingConfig(**training_defaults(name))))
    assert whole.get_params() == flat.get_params()
    assert flat.selection_pairs is None                        # every model accepts it
    other = make_model(name).set_params(training=flat.training)
    assert other.get_params() == flat.get_params()
    assert flat.clone().training == flat.training
    assert make_model(name).set_params(training={"lr": 5e-3}).lr == 5e-3
    flat.set_params(patience=7)
    assert flat.training.patience == 7 and flat.patience == 7
    with pytest.raises(ValueError):
        flat.set_params(patience=0)
    with pytest.raises(ValueError, match="unknown training setting"):
        model_class(name)(no_such_setting=1)


def test_the_key_is_written_once():
    for name in neural_models():
        assert model_class(name).name == name


def test_a_checkpoint_predating_a_setting_resumes_with_its_default():
    """Checkpoints written before every model accepted ``selection_pairs`` lack it in their
    configuration key; the default (what those models used) still matches, another value not."""
    import json

    from leporid.train.loop import _config_key, _same_config

    model = make_model("lightgcn", dim=4)
    old = json.loads(_config_key(model))
    del old["selection_pairs"]
    assert _same_config(json.dumps(old), model)
    assert not _same_config(json.dumps(old), make_model("lightgcn", dim=4, selection_pairs=10))
    assert not _same_config(json.dumps({**old, "lr": 0.5}), model)


def test_the_settings_and_the_dlr2_choices_import_without_torch():
    import subprocess
    import sys

    code = ("import sys, leporid.models, leporid.models.registry, leporid.models.training, "
            "leporid.train; from leporid.models.dlr2_options import ARCHS, LOSSES, G_DISTANCES, "
            "SCORE_WITH, G_METRICS, BF16_CHOICES, DLR2Config; DLR2Config(); "
            "leporid.models.registry.defaults_table(); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
