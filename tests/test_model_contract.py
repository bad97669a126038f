"""The contract every registered model honours (parametrised over ``leporid.models.MODELS``).

A new model is checked the moment it is registered: add one entry to ``TEST_PARAMS`` with
small, fast parameters (a missing entry fails loudly, so nobody forgets). For neural models
(``leporid.models.neural``) the seeded embedding tables are also checked before the first step.
"""

import numpy as np
import pytest

from leporid.data import prepare
from leporid.data.synthetic import power_law_interactions
from leporid.models import MODELS, load_model, make_model, model_class

#: small parameters per registered model (keep each fit well under a second)
TEST_PARAMS = {
    "toppop": {},
    "itemknn": {"topk": 5},
    "userknn": {"topk": 5},
    "slim": {"topk": 5, "n_jobs": 1},
    "bpr": {"dim": 4, "epochs": 2, "batch_size": 128},
    "dlr2": {"dim": 4, "seq_len": 2, "iterations": 4, "batch_size": 32, "threads": 1},
    "lightgcn": {"dim": 4, "layers": 2, "epochs": 2, "batch_size": 128},
    "ngcf": {"dim": 4, "layers": 2, "layer_size": 4, "node_dropout": 0.1, "epochs": 2,
             "batch_size": 128},
    "ncf": {"dim": 4, "mlp_layers": [6, 3], "n_neg": 2, "epochs": 2, "batch_size": 128},
    "hgn": {"dim": 4, "seq_len": 3, "n_targets": 2, "epochs": 2, "batch_size": 64, "threads": 1},
    "dgcf": {"dim": 4, "factors": 2, "epochs": 2, "batch_size": 256, "threads": 1},
}


@pytest.fixture(scope="module")
def split():
    return prepare(power_law_interactions(40, 30, 900, min_per_user=8, seed=3), min_count=2)


def _is_neural(name):
    return isinstance(MODELS[name], str)


def _scores(model, users, part):
    s = model.score(users, part)
    return s.detach().cpu().numpy() if hasattr(s, "detach") else np.asarray(s)


def _fit(name, split, **extra):
    return make_model(name, **TEST_PARAMS[name], **extra).fit(split)


def test_every_registered_model_has_test_params():
    assert sorted(TEST_PARAMS) == sorted(MODELS)


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request, split):
    name = request.param
    model = make_model(name, **TEST_PARAMS[name])
    assert model.fit(split) is model                       # fit returns self
    return name, model


def test_score_shape_dtype_finite(fitted, split):
    name, model = fitted
    users = np.array([0, 3, 5, 3])
    for part in ("validation", "test"):
        s = model.score(users, part)
        assert tuple(s.shape) == (4, split.n_items)
        assert str(s.dtype).endswith("float32"), (name, s.dtype)
        assert np.isfinite(_scores(model, users, part)).all()


def test_deterministic_under_a_seed(fitted, split):
    name, model = fitted
    users = np.arange(split.n_users)
    again = _fit(name, split)
    np.testing.assert_array_equal(_scores(model, users, "test"), _scores(again, users, "test"))


def test_save_load_round_trip(fitted, split, tmp_path):
    name, model = fitted
    path = model.save(tmp_path / f"{name}.model")
    users = np.arange(split.n_users)
    for loaded in (model_class(name).load(path), load_model(path)):
        assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
        for part in ("validation", "test"):
            np.testing.assert_array_equal(_scores(loaded, users, part),
                                          _scores(model, users, part))


def test_clone_is_an_unfitted_twin(fitted):
    name, model = fitted
    twin = model.clone()
    assert type(twin) is type(model) and twin is not model
    assert twin.get_params() == model.get_params()
    assert not twin.is_fitted()
    with pytest.raises(RuntimeError, match="not fitted"):
        twin.score(np.array([0]), "test")
    assert repr(twin) == repr(model) and repr(model).startswith(type(model).__name__ + "(")


def test_set_params_and_unknown_parameters(fitted):
    name, model = fitted
    params = model.get_params()
    twin = model.clone().set_params(**params)
    assert twin.get_params() == params
    with pytest.raises(ValueError, match="unknown parameter"):
        model.clone().set_params(no_such_parameter=1)
    with pytest.raises(ValueError, match="unknown parameter"):
        make_model(name, no_such_parameter=1)


def test_bad_files_are_clean_errors(fitted, tmp_path):
    name, model = fitted
    for content in (b"", b"garbage", b"PK\x03\x04broken"):
        bad = tmp_path / "bad.model"
        bad.write_bytes(content)
        with pytest.raises(ValueError, match="bad.model") as err:
            model_class(name).load(bad)
        assert "weights_only=False" not in str(err.value)


@pytest.mark.parametrize("name", [n for n in sorted(MODELS) if _is_neural(n)])
def test_initial_embeddings_loaded_bit_identically_before_first_step(name, split):
    cls = model_class(name)
    dim = TEST_PARAMS[name].get("dim", 64)
    rng = np.random.default_rng(11)
    U = rng.normal(size=(split.n_users, dim)).astype(np.float32)
    V = rng.normal(size=(split.n_items, dim)).astype(np.float32)
    U0, V0 = U.copy(), V.copy()
    seen = []

    class Check:
        def on_train_begin(self, model):
            for ut, it in model.embedding_tables():
                u = ut.weight.detach().cpu().numpy()
                i = it.weight.detach().cpu().numpy()
                if it.padding_idx is not None:
                    assert not i[it.padding_idx].any()
                    i = np.delete(i, it.padding_idx, axis=0)
                seen.append(np.array_equal(u, U[:, :u.shape[1]])
                            and np.array_equal(i, V[:, :i.shape[1]]))

    model = cls(**{**TEST_PARAMS[name], "init": (U, V)})
    model.fit(split, callbacks=[Check()])
    assert seen and all(seen)
    np.testing.assert_array_equal(U, U0)                   # the caller's arrays untouched
    np.testing.assert_array_equal(V, V0)


@pytest.mark.parametrize("name", [n for n in sorted(MODELS) if _is_neural(n)])
def test_resumed_training_equals_an_uninterrupted_run(name, split, tmp_path):
    """Interrupted after its second validation and resumed from the checkpoint of the first, a
    model ends bit for bit where an uninterrupted run ends (dropout's random stream included:
    NGCF failed this before checkpoints carried the torch generator's state)."""
    params = {**TEST_PARAMS[name], "patience": 100}
    if name == "ngcf":
        params["message_dropout"] = 0.3
    if "iterations" in params:
        params.update(iterations=6, eval_every=2)
    else:
        params.update(epochs=3, evals_per_epoch=1)
    full = make_model(name, **params).fit(split)

    class Stop(Exception):
        pass

    seen = []

    def interrupt(entry):   # at the second validation: the first one is checkpointed
        seen.append(entry["step"])
        if len(seen) == 2:
            raise Stop

    ck = tmp_path / "train.pt"
    with pytest.raises(Stop):
        make_model(name, **params).fit(split, checkpoint=ck, callbacks=[interrupt])
    resumed = make_model(name, **params).fit(split, checkpoint=ck)
    users = np.arange(split.n_users)
    def trace(model):       # losses and validations of every period (not the timings)
        return [{k: v for k, v in e.items() if k not in ("seconds", "steps_per_s")}
                for e in model.history_]

    assert trace(resumed) == trace(full)
    np.testing.assert_array_equal(_scores(resumed, users, "test"), _scores(full, users, "test"))
