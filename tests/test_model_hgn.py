"""HGN: multi-target windows, gating shapes, padding masking, the loss by hand, the state rule,
frozen tables, and learning a planted successor rule."""

import math

import numpy as np
import pytest
import torch
from test_dlr2_sequential import _hand_split
from test_dlr2_training import cycle_split

from leporid.data.sequences import sliding_windows, target_windows, user_states
from leporid.eval import evaluate
from leporid.models import TopPop
from leporid.models.dlr2 import DLR2
from leporid.models.hgn import HGN, HGNNetwork

PAD = 99
FAST = dict(dim=8, seq_len=3, n_targets=2, batch_size=32, threads=1)


# --------------------------------------------------------------------------- windows
def test_target_windows_hand_case():
    # user 0: 1..7 (7 items), user 1: 20 21 22 (<= l), user 2: two items, user 3: one, user 4: none
    indptr = np.array([0, 7, 10, 12, 13, 13])
    items = np.array([1, 2, 3, 4, 5, 6, 7, 20, 21, 22, 30, 31, 40])
    users, states, targets = target_windows(indptr, items, 3, 2, PAD)
    assert users.tolist() == [0, 0, 0, 1, 2]
    assert states.tolist() == [[1, 2, 3], [2, 3, 4], [3, 4, 5],
                               [PAD, PAD, 20], [PAD, PAD, 30]]
    assert targets.tolist() == [[4, 5], [5, 6], [6, 7], [21, 22], [31, PAD]]
    # l < n < l + T: one window whose missing target slots are padding
    _, s, t = target_windows(np.array([0, 4]), np.array([5, 6, 7, 8]), 3, 3, PAD)
    assert s.tolist() == [[5, 6, 7]] and t.tolist() == [[8, PAD, PAD]]


def test_target_windows_with_one_target_equal_sliding_windows():
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 12, 30)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    items = rng.integers(0, 50, indptr[-1])
    for length in (1, 3, 5):
        u1, s1, t1 = sliding_windows(indptr, items, length, PAD)
        u2, s2, t2 = target_windows(indptr, items, length, 1, PAD)
        np.testing.assert_array_equal(u1, u2)
        np.testing.assert_array_equal(s1, s2)
        np.testing.assert_array_equal(t1, t2[:, 0])
    with pytest.raises(ValueError, match="n_targets"):
        target_windows(indptr, items, 3, 0, PAD)


# --------------------------------------------------------------------------- the network
def _random_net(n_users=3, n_items=6, dim=4, seq_len=3, pooling="mean", seed=0):
    torch.manual_seed(seed)
    net = HGNNetwork(n_users, n_items, dim, seq_len, pooling)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.7)
    return net


def test_gating_shapes_and_ranges():
    net = _random_net()
    users = torch.tensor([0, 1, 2, 0])
    states = torch.tensor([[0, 1, 2], [6, 3, 4], [6, 6, 5], [6, 6, 6]])   # 6 = padding
    e, mask, gate, a, s = net.gates(users, states)
    assert e.shape == (4, 3, 4) and gate.shape == (4, 3, 4)
    assert mask.shape == a.shape == (4, 3) and s.shape == (4, 4)
    assert mask.tolist() == [[True] * 3, [False, True, True], [False, False, True], [False] * 3]
    assert ((gate > 0) & (gate < 1)).all()
    assert (a[mask] > 0).all() and (a[~mask] == 0).all()
    assert (e[~mask] == 0).all()
    assert (s[3] == 0).all()                       # no history -> no union-level term
    assert net.query(users, states).shape == (4, 4)


def _reference_scores(net, user, state):
    """r(u, j) for every item, straight from the paper's equations, item by item in numpy."""
    W = {k: v.detach().numpy().astype(np.float64) for k, v in net.state_dict().items()}

    def sig(x):
        return 1.0 / (1.0 + np.exp(-x))

    p = W["user_emb.weight"][user]
    real = [(pos, k) for pos, k in enumerate(state) if k != net.n_items]
    pooled = np.zeros(net.dim)
    weights = []
    for pos, k in real:
        e = W["item_emb.weight"][k]
        g = e * sig(W["gate_item.weight"] @ e + W["gate_item.bias"] + W["gate_user.weight"] @ p)
        a = sig(g @ W["inst_item"] + p @ W["inst_user"][:, pos])
        pooled += a * g
        weights.append(a)
    den = len(real) if net.pooling == "mean" else sum(weights)
    s = pooled / den if real else pooled
    Q = W["out_emb.weight"]
    return np.array([p @ Q[j] + s @ Q[j] + sum(W["item_emb.weight"][k] @ Q[j] for _, k in real)
                     for j in range(net.n_items)])


def _model_around(net, seq_len):
    """An HGN whose network is ``net`` (no fit), for scoring and loss checks."""
    model = HGN(dim=net.dim, seq_len=seq_len)
    model.n_users_, model.n_items_, model.network_ = net.n_users, net.n_items, net
    return model


@pytest.mark.parametrize("pooling", ["mean", "weighted"])
def test_scores_match_the_equations(pooling):
    net = _random_net(pooling=pooling)
    model = _model_around(net, 3)
    users = np.array([0, 1, 2, 1])
    states = np.array([[0, 1, 2], [6, 3, 4], [6, 6, 5], [6, 6, 6]])
    got = model.score_states(users, states).numpy()
    want = np.array([_reference_scores(net, u, st) for u, st in zip(users, states)])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_padding_row_never_changes_a_score():
    net = _random_net()
    model = _model_around(net, 3)
    users = np.array([0, 1, 2])
    states = np.array([[6, 6, 5], [6, 3, 4], [6, 6, 6]])
    before = model.score_states(users, states).numpy()
    with torch.no_grad():
        net.item_emb.weight[6] = torch.tensor([50.0, -3.0, 7.0, 1e4])
    np.testing.assert_array_equal(model.score_states(users, states).numpy(), before)
    with torch.no_grad():
        net.item_emb.weight[6] = float("nan")
    np.testing.assert_array_equal(model.score_states(users, states).numpy(), before)
    # and the loss ignores it too: no gradient ever reaches the padding row
    net.item_emb.weight.data[6] = 1.0
    loss = model.batch_loss((torch.tensor(users), torch.tensor(states),
                             torch.tensor([[1, 6], [2, 0], [3, 6]]),
                             torch.tensor([[0, 0], [1, 1], [2, 2]])))
    loss.backward()
    assert (net.item_emb.weight.grad[6] == 0).all()
    # an all-padding state scores p_u . q_j exactly
    P, Q = net.user_emb.weight.detach(), net.out_emb.weight.detach()
    np.testing.assert_allclose(before[2], (P[2] @ Q.T).numpy(), rtol=1e-6)


def test_loss_on_a_hand_computed_case():
    """d = 2, L = 2, every gate weight 0 (so every gate is sigma(0) = 1/2).

    Window A: user p = (1, 0), state [pad, item 0] with e_0 = (2, 0): gated item (1, 0),
    instance weight 1/2, mean pooling over 1 real item s = (0.5, 0); z = p + s + e_0 = (3.5, 0).
    q_0 = (1, 1), q_1 = (0, 1), q_2 = (1, -1): targets [1, 2], negatives [2, 0] give
    r = (0 vs 3.5) and (3.5 vs 3.5).  Window B: state [pad, pad], z = p = (1, 0): target 0,
    negative 1 -> (1 vs 0); its second target slot is padding and does not count.
    """
    net = HGNNetwork(1, 3, dim=2, seq_len=2)
    with torch.no_grad():
        for p in (net.gate_item.weight, net.gate_item.bias, net.gate_user.weight,
                  net.inst_item, net.inst_user):
            p.zero_()
        net.user_emb.weight[:] = torch.tensor([[1.0, 0.0]])
        net.item_emb.weight[:3] = torch.tensor([[2.0, 0.0], [5.0, 5.0], [-4.0, 1.0]])
        net.out_emb.weight[:] = torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, -1.0]])
    model = _model_around(net, 2)
    batch = (torch.tensor([0, 0]), torch.tensor([[3, 0], [3, 3]]),
             torch.tensor([[1, 2], [0, 3]]), torch.tensor([[2, 0], [1, 2]]))
    want = (math.log1p(math.exp(3.5)) + math.log(2) + math.log1p(math.exp(-1))) / 3
    assert float(model.batch_loss(batch).detach()) == pytest.approx(want, rel=1e-6)
    # the authors' weighted pooling divides by the instance weight (1/2): s = (1, 0), z = (4, 0)
    net.pooling = "weighted"
    want = (math.log1p(math.exp(4)) + math.log(2) + math.log1p(math.exp(-1))) / 3
    assert float(model.batch_loss(batch).detach()) == pytest.approx(want, rel=1e-6)


# --------------------------------------------------------------------------- the recommender
def test_state_rule_matches_dlr2():
    split = _hand_split()
    hgn = HGN(**{**FAST, "seq_len": 3}, epochs=1)
    hgn.fit(split)
    dlr2 = DLR2(dim=8, seq_len=3, iterations=1, batch_size=32, threads=1).fit(split)
    for part, attr in (("validation", "val_states_"), ("test", "test_states_")):
        np.testing.assert_array_equal(getattr(hgn, attr), getattr(dlr2, attr))
        np.testing.assert_array_equal(getattr(hgn, attr), user_states(split, part, 3))
        users = np.arange(split.n_users)
        np.testing.assert_array_equal(hgn.states_for(users, part), dlr2.states_for(users, part))


def test_user_with_two_training_items_works():
    split = _hand_split()                          # user C: 3 events -> 2 train, 0 val, 1 test
    uc = split.interactions.user_index(np.array(["C"]))[0]
    assert split.train[uc].nnz == 2
    model = HGN(**{**FAST, "seq_len": 5}, epochs=2).fit(split)
    assert model._windows[0].tolist().count(uc) == 1           # C trains on one window
    assert (model.test_states_[uc] == split.n_items).sum() == 3
    s = model.score(np.array([uc]), "test")
    assert s.shape == (1, split.n_items) and np.isfinite(s).all()
    rec = model.recommend(np.array([uc]), n=3)
    assert not set(rec[0]) & set(split.train[uc].indices)


def test_frozen_tables_stay_bit_identical_and_gates_train():
    split = cycle_split(n_users=20, n_items=30)
    rng = np.random.default_rng(1)
    U = rng.normal(size=(split.n_users, 8)).astype(np.float32)
    V = rng.normal(size=(split.n_items, 8)).astype(np.float32)
    model = HGN(**FAST, init=(U, V), freeze_embeddings=True, epochs=2).fit(split)
    net = model.network_
    np.testing.assert_array_equal(net.user_emb.weight.detach().numpy(), U)
    np.testing.assert_array_equal(net.item_emb.weight.detach().numpy()[:-1], V)
    np.testing.assert_array_equal(net.out_emb.weight.detach().numpy(), V)   # Q seeded like E
    torch.manual_seed(model.seed)
    fresh = HGNNetwork(split.n_users, split.n_items, 8, 3)
    assert not torch.equal(fresh.gate_item.weight, net.gate_item.weight)


def test_learns_a_planted_successor_rule_well_above_toppop():
    split = cycle_split(n_users=80, n_items=60)
    model = HGN(**FAST, lr=1e-2, weight_decay=0.0, epochs=30, patience=30, seed=1).fit(split)
    hgn = evaluate(model, split, "test")["all"]
    top = evaluate(TopPop().fit(split), split, "test")["all"]
    # the next 6 items are always last+1..last+6: HR@10 1 is reachable, TopPop is near chance
    assert hgn["HR@10"] >= 0.9, model.history_[-1]
    assert hgn["HR@10"] >= top["HR@10"] + 0.4
    assert hgn["NDCG@10"] >= 2 * top["NDCG@10"]


def test_bad_parameters_are_clear_errors():
    with pytest.raises(ValueError, match="pooling"):
        HGN(pooling="max")
    with pytest.raises(ValueError, match="n_targets"):
        HGN(n_targets=0)
    with pytest.raises(ValueError, match="seq_len"):
        HGN(seq_len=1.5)


def test_cli_train_and_recommend_with_full_history(tmp_path, capsys):
    from leporid.cli import main
    from leporid.data.split_io import save_split

    split = cycle_split(n_users=20, n_items=40)
    data = save_split(split, tmp_path / "split")
    out = tmp_path / "out"
    assert main(["train", "--model", "hgn", "--dataset", str(data), "--epochs", "2",
                 "--dim", "8", "--seq-len", "3", "--param", "n_targets=2", "--param",
                 "pooling=weighted", "--threads", "1", "--out", str(out)]) == 0
    ck = out / "train_split_hgn_random.pt"
    model = HGN.load(ck)
    assert (model.seq_len, model.n_targets, model.pooling) == (3, 2, "weighted")
    capsys.readouterr()
    raw = str(split.user_ids[0])
    assert main(["recommend", "--checkpoint", str(ck), "--users", raw, "-n", "5",
                 "--dataset", str(data)]) == 0
    items = {line.split(",")[2] for line in capsys.readouterr().out.strip().splitlines()[1:]}
    all_seen = set(split.item_ids[split.matrix("train", "validation", "test")[0].indices]
                   .astype(str))
    assert len(items) == 5 and not items & all_seen


def test_threads_hold_after_a_numba_initialiser():
    """The LEPORID graph runs numba kernels that may share torch's OpenMP runtime and reset
    its thread count; training must still run with ``threads``."""
    seen = []

    class Check:
        def on_train_begin(self, model):
            seen.append(torch.get_num_threads())

    split = cycle_split(n_users=20, n_items=30)
    HGN(**FAST, init="leporid", iterations=1).fit(split, callbacks=[Check()])
    assert seen == [1]
