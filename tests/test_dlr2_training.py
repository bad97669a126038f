"""DLR² training: learning is real, frozen vs fine-tuned embeddings, determinism, checkpoints."""

import numpy as np
import pytest
import torch

from leporid.data import Interactions, prepare
from leporid.eval import evaluate
from leporid.models.dlr2 import DLR2

# small, fast settings shared by the tests
FAST = dict(dim=8, seq_len=3, batch_size=32, threads=1)


def train_dlr2(split, checkpoint=None, callback=None, **params):
    """Fit a DLR2 through the generic loop; ``(model, history)``."""
    model = DLR2(**params).fit(split, checkpoint=checkpoint,
                               callbacks=[callback] if callback else ())
    return model, model.history_


def cycle_split(n_users=40, n_items=60, length=25, seed=0):
    """Every user walks through consecutive items (mod n_items) from a random start: the next
    item is always ``last + 1``. 17 train, 2 validation, 6 test events per user."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, n_items, n_users)
    users = np.repeat(np.arange(n_users), length)
    pos = np.tile(np.arange(length), n_users)
    items = (start[users] + pos) % n_items
    return prepare(Interactions.from_raw(users, items, pos.astype(float)), min_count=1)


@pytest.fixture(scope="module")
def split():
    return cycle_split()


@pytest.fixture(scope="module")
def small_model(split):
    model, _ = train_dlr2(split, init="random", seed=5, iterations=40, eval_every=20, **FAST)
    return model


def test_learning_is_real():
    split = cycle_split(n_users=80, n_items=60)
    model, history = train_dlr2(split, init="random", seed=1, epochs=10, eval_every=200,
                                patience=100, lr=3e-3, metric="HR@1", **FAST)
    val = evaluate(model, split, "validation")["all"]
    test = evaluate(model, split, "test")["all"]
    # 43 candidates per user; by chance HR@1 = 0.05 (validation, 2 held-out items) and 0.14
    # (test, 6 held-out). The successor rule gives HR@1 = 1.
    assert val["HR@1"] >= 0.45, history
    assert test["HR@1"] >= 0.4
    assert val["HR@10"] >= 0.9
    assert val["HR@1"] == max(e["validation"]["HR@1"] for e in history)   # best kept
    assert len(history) >= 2 and all(np.isfinite(e["loss"]) for e in history)


def test_g_ranking_and_single_losses_run(split):
    for loss in ("s", "g"):
        model, hist = train_dlr2(split, iterations=10, loss=loss, score_with="g" if loss == "g"
                                 else "s", **FAST)
        res = evaluate(model, split, "test")["all"]
        assert 0 <= res["HR@10"] <= 1 and hist[-1]["step"] == 10


def test_frozen_embeddings_stay_bit_identical(split):
    rng = np.random.default_rng(0)
    ue = rng.normal(size=(split.n_users, 8)).astype(np.float32)
    ie = rng.normal(size=(split.n_items, 8)).astype(np.float32)
    frozen, _ = train_dlr2(split, init=(ue, ie), freeze_embeddings=True, iterations=15,
                           **FAST)
    net = frozen.network_
    assert np.array_equal(net.user_emb.weight.detach().numpy(), ue)
    assert np.array_equal(net.item_emb.weight[:-1].detach().numpy(), ie)
    tuned, _ = train_dlr2(split, init=(ue, ie), iterations=15, **FAST)
    net = tuned.network_
    assert not np.array_equal(net.user_emb.weight.detach().numpy(), ue)
    assert not np.array_equal(net.item_emb.weight[:-1].detach().numpy(), ie)
    assert not net.item_emb.weight[-1].any()           # the padding item stays zero


def test_determinism_with_fixed_seed(split):
    a, ha = train_dlr2(split, seed=7, iterations=25, eval_every=10, **FAST)
    b, hb = train_dlr2(split, seed=7, iterations=25, eval_every=10, **FAST)
    c, _ = train_dlr2(split, seed=8, iterations=25, eval_every=10, **FAST)
    users = np.arange(split.n_users)
    assert np.array_equal(a.score(users, "test"), b.score(users, "test"))
    assert [e["loss"] for e in ha] == [e["loss"] for e in hb]
    assert not np.array_equal(a.score(users, "test"), c.score(users, "test"))


def test_checkpoint_round_trip(split, small_model, tmp_path):
    path = small_model.save(tmp_path / "m.pt")
    loaded = DLR2.load(path)
    users = np.arange(split.n_users)
    for part in ("validation", "test"):
        assert np.array_equal(small_model.score(users, part), loaded.score(users, part))
    assert loaded.config == small_model.config
    assert loaded.training == small_model.training
    assert list(loaded.item_ids_) == list(split.item_ids)
    assert loaded.history_ == small_model.history_
    assert np.array_equal(loaded.recommend(users[:3], 5), small_model.recommend(users[:3], 5))
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pt"):
        DLR2.load(tmp_path / "bad.pt")


def test_recommend_excludes_history(split, small_model):
    users = np.arange(split.n_users)
    top = small_model.recommend(users, 10)
    seen = split.matrix("train", "validation").toarray().astype(bool)
    assert top.shape == (split.n_users, 10)
    assert not seen[np.repeat(users, 10), top.ravel()].any()


def test_resume_equals_uninterrupted_run(split, tmp_path):
    cfg = dict(seed=3, iterations=30, eval_every=10, patience=100, **FAST)
    full, _ = train_dlr2(split, **cfg)

    class Stop(Exception):
        pass

    def interrupt(entry):
        if entry["step"] == 20:
            raise Stop

    ck = tmp_path / "train.pt"
    with pytest.raises(Stop):
        train_dlr2(split, checkpoint=ck, callback=interrupt, **cfg)
    resumed, hist = train_dlr2(split, checkpoint=ck, **cfg)
    assert [e["step"] for e in hist] == [10, 20, 30]
    users = np.arange(split.n_users)
    assert np.array_equal(full.score(users, "test"), resumed.score(users, "test"))
    # a finished checkpoint loads as a model with the best weights
    assert np.array_equal(DLR2.load(ck).score(users, "test"), full.score(users, "test"))
    with pytest.raises(ValueError, match="different configuration"):
        train_dlr2(split, checkpoint=ck, **{**cfg, "lr": 0.5})


def test_model_selection_never_reads_test(split, monkeypatch):
    parts = []
    orig = DLR2.score

    def spy(self, users, part):
        parts.append(part)
        return orig(self, users, part)

    monkeypatch.setattr(DLR2, "score", spy)
    train_dlr2(split, iterations=20, eval_every=5, **FAST)
    assert parts and set(parts) == {"validation"}


def test_registered_in_model_registry(split):
    from leporid.models import make_model

    model = make_model("dlr2", iterations=5, **FAST)
    assert isinstance(model, DLR2)
    assert model.fit(split) is model
    assert model.score(np.array([0, 1]), "validation").shape == (2, split.n_items)


def test_split_s_scoring_equals_the_unsplit_forward(split, small_model):
    """score() (first layer split, item half computed once per call, several state batches and
    pair chunks) equals S(s, e) evaluated on every concatenated pair [s; e] directly."""
    model = small_model
    users = np.arange(split.n_users)
    states = model.states_for(users, "validation")
    got = model.score_states(users, states, batch=7)
    net = model.network_
    with torch.no_grad():
        s = net.state(torch.as_tensor(users), torch.as_tensor(states), model.bf16_)
        e = net.item_emb.weight[:split.n_items]
        ref = torch.stack([-net.S(s[b].expand(len(e), -1), e) for b in range(len(s))])
    assert got.shape == (split.n_users, split.n_items)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


def test_default_threading_policy_is_one_thread_and_is_restored(split):
    from leporid.train.loop import training_threads

    seen = []

    class Probe:
        def on_train_begin(self, model):
            seen.append(torch.get_num_threads())

        def on_validation(self, model, entry):
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        DLR2(dim=8, seq_len=3, batch_size=32, iterations=4, eval_every=2).fit(
            split, callbacks=[Probe()])
        assert seen == [1, 1, 1] and torch.get_num_threads() == 2      # restored after fit
        DLR2(dim=8, seq_len=3, batch_size=32, iterations=2, threads=2).fit(
            split, callbacks=[Probe()])
        assert seen[3:] == [2, 2] and torch.get_num_threads() == 2
        assert training_threads(None) == 1 and training_threads(3) == 3
    finally:
        torch.set_num_threads(before)


def test_keep_heap_applies_once_on_glibc_and_can_be_turned_off():
    """``train.loop.keep_heap`` raises glibc's malloc thresholds once per process (faster CPU
    steps, see its docstring); ``LEPORID_KEEP_HEAP=0`` leaves malloc alone."""
    import os
    import platform
    import subprocess
    import sys

    code = "from leporid.train.loop import keep_heap; print(keep_heap(), keep_heap())"
    env = {**os.environ}
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    off = subprocess.run([sys.executable, "-c", code], env={**env, "LEPORID_KEEP_HEAP": "0"},
                         capture_output=True, text=True)
    assert off.stdout.split() == ["False", "False"], off.stderr
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert on.stdout.split() == ["True", "True"], on.stderr
