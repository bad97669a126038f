"""Classic models: KNN similarities vs brute-force formulas, top-K, weighting, scoring and
fold-in; SLIM's zero diagonal, non-negativity and agreement with a direct ElasticNet fit;
TopPop; BPR-MF determinism and learning; the registry."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from leporid.data import prepare
from leporid.data.split import Split
from leporid.data.synthetic import power_law_interactions
from leporid.eval import evaluate
from leporid.models import MODELS, SLIM, ItemKNN, TopPop, UserKNN, make_model
from leporid.models.knn import SIMILARITIES, similarity_matrix


def random_binary(n_rows=14, n_cols=9, density=0.4, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = (rng.random((n_rows, n_cols)) < density).astype(np.float32)
    X[0] = 0                                      # an empty row: similarity 0, no division error
    return X


def brute_pair(a: np.ndarray, b: np.ndarray, kind: str, shrink: float, normalize=True, aa=0.5,
               ta=1.0, tb=1.0) -> float:
    """sim(target a, neighbour b) from the textbook formula."""
    a, b = a.astype(float), b.astype(float)
    A, B = set(np.flatnonzero(a)), set(np.flatnonzero(b))
    dot = float(a @ b)
    if kind == "cosine":
        den = (math.sqrt(a @ a) * math.sqrt(b @ b) + shrink) if normalize else 1.0
    elif kind == "asymmetric":
        den = ((a @ a) ** aa * (b @ b) ** (1 - aa) if dot else 1.0) + shrink
    elif kind == "jaccard":
        dot, den = len(A & B), len(A | B) + shrink
    elif kind == "dice":
        dot, den = len(A & B), len(A) + len(B) + shrink
    elif kind == "tversky":
        dot = len(A & B)
        den = dot + ta * len(A - B) + tb * len(B - A) + shrink
    return dot / den if den else 0.0


def brute_similarity(X: np.ndarray, kind: str, shrink: float, normalize=True, aa=0.5, ta=1.0,
                     tb=1.0) -> np.ndarray:
    """sim(target t, neighbour j) between rows of X, pair by pair (zero diagonal)."""
    n = X.shape[0]
    return np.array([[0.0 if t == j else brute_pair(X[t], X[j], kind, shrink, normalize, aa,
                                                     ta, tb) for j in range(n)]
                     for t in range(n)])


SIM_CASES = [("cosine", {}), ("cosine", {"normalize": False}), ("asymmetric", {"aa": 0.3}),
             ("asymmetric", {"aa": 1.4}), ("jaccard", {}), ("dice", {}),
             ("tversky", {"ta": 0.7, "tb": 1.4})]


@pytest.mark.parametrize("kind,extra", SIM_CASES)
@pytest.mark.parametrize("shrink", [0.0, 3.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_similarity_matches_brute_force(kind, extra, shrink, weighted):
    X = random_binary(seed=1)
    if weighted and kind in ("cosine", "asymmetric"):      # real-valued entries
        X = X * np.random.default_rng(2).uniform(0.5, 2.0, X.shape).astype(np.float32)
    args = {"normalize": extra.get("normalize", True), "asymmetric_alpha": extra.get("aa", 0.5),
            "tversky_alpha": extra.get("ta", 1.0), "tversky_beta": extra.get("tb", 1.0)}
    S = similarity_matrix(sp.csr_matrix(X), topk=X.shape[0], block_size=4, similarity=kind,
                          shrink=shrink, **args).toarray()
    ref = brute_similarity(X, kind, shrink, args["normalize"], args["asymmetric_alpha"],
                           args["tversky_alpha"], args["tversky_beta"])
    assert np.isfinite(S).all() and np.isfinite(ref).all()
    np.testing.assert_allclose(S, ref, rtol=1e-5, atol=1e-6)
    assert np.all(np.diag(S) == 0)


EXACT = ("jaccard", "dice", "tversky")     # rational values: float ties are real ties


def brute_topk(values: np.ndarray, k: int, exact: bool):
    """Indices of the k largest non-zero values, ties -> lower index; None when the cut at k
    is a near-tie (close but not equal) that float32 rounding could decide either way
    (irrational similarities; equal values there come from equal dot products and norms)."""
    order = sorted(range(len(values)), key=lambda j: (-values[j], j))
    if not exact and k < len(order) and 0 < abs(values[order[k - 1]] - values[order[k]]) < 1e-5:
        return None
    return [j for j in order[:k] if values[j] != 0 and np.isfinite(values[j])]


def test_similarity_keeps_top_k_per_target_with_lower_index_on_ties():
    X = random_binary(20, 12, 0.5, seed=4)
    ref = brute_similarity(X, "jaccard", 0.0)
    S = similarity_matrix(sp.csr_matrix(X), topk=3, similarity="jaccard", block_size=7)
    S = S.toarray()
    n_ties = 0
    for t in range(X.shape[0]):
        row = ref[t].copy()
        row[t] = -np.inf
        expect = brute_topk(row, 3, exact=True)
        n_ties += bool(expect) and sum(row == row[expect[-1]]) > 1
        assert sorted(np.flatnonzero(S[t])) == sorted(expect)
        np.testing.assert_allclose(S[t, expect], ref[t, expect], rtol=1e-6)
    assert n_ties > 0                                # the case does exercise tie-breaking


def split_from_matrix(X: np.ndarray, part_of: dict) -> Split:
    """A split from a dense binary matrix; ``part_of[(u, i)]`` overrides part 0 (train)."""
    from leporid.data import Interactions

    u, i = np.nonzero(X)
    part = np.array([part_of.get((a, b), 0) for a, b in zip(u, i)], np.int8)
    inter = Interactions.from_raw(u, i, timestamps=np.arange(len(u), dtype=float))
    return Split(inter, part)


@pytest.fixture(scope="module")
def small_split():
    return prepare(power_law_interactions(60, 30, 1500, min_per_user=10, seed=8), min_count=5)


@pytest.mark.parametrize("kind", SIMILARITIES)
def test_itemknn_scores_and_fold_in(small_split, kind):
    split = small_split
    m = ItemKNN(topk=7, shrink=2.0, similarity=kind, asymmetric_alpha=0.3, tversky_alpha=0.5,
                tversky_beta=1.5).fit(split)
    X = split.train.toarray()
    full = brute_similarity(X.T, kind, 2.0, True, 0.3, 0.5, 1.5)      # items as rows
    W = np.zeros_like(full)
    clean = []                                                        # targets without near-ties
    for j in range(full.shape[0]):                                    # top-7 of each target
        row = full[j].copy()
        row[j] = -np.inf
        top = brute_topk(row, 7, kind in EXACT)
        if top is not None:
            clean.append(j)
            W[top, j] = full[j, top]
    assert len(clean) >= 0.7 * full.shape[0]
    users = np.arange(split.n_users)
    P = split.matrix("train", "validation").toarray()                 # fold-in at test time
    no_fold = ItemKNN(topk=7, shrink=2.0, similarity=kind, asymmetric_alpha=0.3,
                      tversky_alpha=0.5, tversky_beta=1.5, fold_in=False).fit(split)
    for got, profile in ((m.score(users, "validation"), X), (m.score(users, "test"), P),
                         (no_fold.score(users, "test"), X)):
        np.testing.assert_allclose(m.W_.toarray()[:, clean], W[:, clean], rtol=1e-5, atol=1e-6)
        # a score is a sum over the profile: compare the contribution of the clean targets
        np.testing.assert_allclose(got[:, clean], (profile @ W)[:, clean], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["cosine", "jaccard", "tversky"])
def test_userknn_scores_and_fold_in(small_split, kind):
    split = small_split
    m = UserKNN(topk=5, shrink=1.0, similarity=kind, tversky_alpha=0.5, block_size=16).fit(split)
    X = split.train.toarray()
    for part, P in (("validation", X), ("test", split.matrix("train", "validation").toarray())):
        expect = np.zeros_like(X)
        clean = []
        for u in range(split.n_users):
            # the (fold-in) profile against every training row
            sims = np.array([brute_pair(P[u], X[v], kind, 1.0, ta=0.5) for v in range(len(X))])
            sims[u] = -np.inf                          # never your own neighbour
            top = brute_topk(sims, 5, kind in EXACT)
            if top is not None:
                clean.append(u)
                expect[u] = sims[top] @ X[top]
        assert len(clean) >= 0.7 * split.n_users
        got = m.score(np.arange(split.n_users), part)
        np.testing.assert_allclose(got[clean], expect[clean], rtol=1e-5, atol=1e-6)


def test_feature_weighting_tfidf_and_bm25_itemknn():
    X = random_binary(16, 10, 0.45, seed=6)
    X[0, :3] = 1                                     # make sure the first user is not empty
    split = split_from_matrix(X, {})
    Xs = split.train.toarray()
    n_users, n_items = Xs.shape
    user_len, item_len = Xs.sum(1), Xs.sum(0)
    idf_u = np.log(n_items / (1 + user_len))          # items are documents, users are terms
    for scheme in ("TF-IDF", "BM25"):
        if scheme == "TF-IDF":
            Xw = Xs * idf_u[:, None]
        else:
            doc = 2.2 / (1.2 * (0.25 + 0.75 * item_len / item_len.mean()) + 1)
            Xw = Xs * idf_u[:, None] * doc[None, :]
        m = ItemKNN(topk=n_items, similarity="cosine", feature_weighting=scheme).fit(split)
        W = brute_similarity(Xw.T, "cosine", 0.0).T
        np.testing.assert_allclose(m.W_.toarray(), W, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(m.score(np.arange(n_users), "validation"), Xw @ W,
                                   rtol=1e-4, atol=1e-5)


def test_knn_learns_from_train_only(small_split):
    split = small_split
    # same training rows, validation and test rows relabelled as test-only -> same similarities
    other = Split(split.interactions, np.where(split.part == 1, 2, split.part).astype(np.int8))
    a = ItemKNN(topk=10).fit(split).W_
    b = ItemKNN(topk=10).fit(other).W_
    assert (a != b).nnz == 0
    s = SLIM(alpha=0.01, l1_ratio=0.1, topk=50, n_jobs=1).fit(split).W_
    t = SLIM(alpha=0.01, l1_ratio=0.1, topk=50, n_jobs=1).fit(other).W_
    np.testing.assert_allclose(s.toarray(), t.toarray())


def test_slim_zero_diagonal_nonnegative_topk_and_equals_direct_elasticnet(small_split):
    from sklearn.linear_model import ElasticNet

    split = small_split
    m = SLIM(alpha=0.005, l1_ratio=0.05, topk=4, n_jobs=2, max_iter=1000, tol=1e-8).fit(split)
    W = m.W_.toarray()
    assert np.all(np.diag(W) == 0)
    assert np.all(W >= 0) and (W > 0).sum() > split.n_items      # non-trivial
    assert np.all((W > 0).sum(axis=0) <= 4)
    X = split.train.toarray().astype(np.float64)
    full = SLIM(alpha=0.005, l1_ratio=0.05, topk=10_000, n_jobs=2, max_iter=1000,
                tol=1e-8).fit(split).W_.toarray()
    for j in (0, 5, 17):
        Xj = X.copy()
        Xj[:, j] = 0
        en = ElasticNet(alpha=0.005, l1_ratio=0.05, positive=True, fit_intercept=False,
                        max_iter=1000, tol=1e-8).fit(Xj, X[:, j])
        np.testing.assert_allclose(full[:, j], en.coef_, atol=1e-4)
        top = np.argsort(-full[:, j], kind="stable")[:4]
        np.testing.assert_allclose(W[top, j], full[top, j], rtol=1e-6)
    users = np.arange(split.n_users)
    np.testing.assert_allclose(m.score(users, "test"),
                               split.matrix("train", "validation").toarray() @ W, rtol=1e-5,
                               atol=1e-6)


def test_toppop_recommends_most_popular_unseen_items(small_split):
    split = small_split
    m = TopPop().fit(split)
    pop = split.train.toarray().sum(0)
    np.testing.assert_array_equal(m.score(np.array([0, 3]), "test")[1], pop)
    res = evaluate(m, split, "test", ks=(5,), return_topn=True)
    seen = split.matrix("train", "validation").toarray().astype(bool)
    for u, top in zip(res["users"], res["topn"]):
        expect = sorted(np.flatnonzero(~seen[u]), key=lambda i: (-pop[i], i))[:5]
        assert top.tolist() == expect


def test_bpr_is_seeded_learns_and_respects_initial_embeddings(small_split):
    from leporid.data.sequences import NegativeSampler
    from leporid.models.bpr import BPRMF

    split = small_split
    # the torch/Adam path with the settings this test was written for (the defaults then)
    adam = dict(optimizer="adam", reg=1e-4, batch_size=1024)
    a = BPRMF(dim=8, epochs=15, lr=0.05, seed=1, **adam).fit(split)
    b = BPRMF(dim=8, epochs=15, lr=0.05, seed=1, **adam).fit(split)
    c = BPRMF(dim=8, epochs=15, lr=0.05, seed=2, **adam).fit(split)
    np.testing.assert_array_equal(a.user_embeddings_, b.user_embeddings_)
    assert not np.allclose(a.item_embeddings_, c.item_embeddings_)
    assert a.history_[-1]["loss"] < 0.8 * a.history_[0]["loss"]
    assert a.score(np.arange(4), "test").shape == (4, split.n_items)
    # BPR ranks training items above random ones once trained
    X = split.train.toarray().astype(bool)
    s = a.score(np.arange(split.n_users), "validation")
    assert s[X].mean() > s[~X].mean() + 0.5

    U = np.random.default_rng(0).normal(size=(split.n_users, 8)).astype(np.float32)
    V = np.random.default_rng(1).normal(size=(split.n_items, 8)).astype(np.float32)
    z = BPRMF(dim=8, epochs=1, init=(U, V), freeze_embeddings=True).fit(split)
    np.testing.assert_array_equal(z.user_embeddings_, U)
    np.testing.assert_array_equal(z.item_embeddings_, V)
    with pytest.raises(ValueError):
        BPRMF(dim=4, init=(U, V)).fit(split)
    # a bare training matrix (the "bpr" initialiser): fixed epochs, no validation
    m = BPRMF(dim=8, epochs=3, lr=0.05, seed=1).fit(split.train)
    assert [e["step"] for e in m.history_][-1] == 3 * m.history_[0]["step"]
    assert "validation" not in m.history_[-1] and m.user_embeddings_.dtype == np.float32

    users = np.repeat(np.arange(split.n_users), 50)
    neg = NegativeSampler(split.train).sample(users, np.random.default_rng(0))
    assert not X[users, neg].any()


def test_registry_and_bad_parameters():
    assert {"toppop", "itemknn", "userknn", "slim", "bpr"} <= set(MODELS)
    assert isinstance(make_model("itemknn", topk=5), ItemKNN)
    assert type(make_model("bpr", dim=4)).__name__ == "BPRMF"
    with pytest.raises(KeyError, match="unknown model"):
        make_model("nope")
    with pytest.raises(ValueError):
        ItemKNN(similarity="pearsonish")
    with pytest.raises(ValueError):
        UserKNN(feature_weighting="bm25-ish")
    with pytest.raises(ValueError):
        SLIM(l1_ratio=0.0)
    with pytest.raises(RuntimeError, match="not fitted"):
        ItemKNN().score(np.array([0]), "test")
    with pytest.raises(ValueError, match="part"):
        TopPop().fit(split_from_matrix(random_binary(seed=3), {})).score(np.array([0]), "train")


def test_bpr_sgd_kernel_is_seeded_learns_and_matches_a_reference_step(small_split):
    from leporid.models.bpr import BPRMF, _sgd_kernel

    split = small_split
    X = split.train.toarray().astype(bool)
    a = BPRMF(dim=8, epochs=15, lr=0.2, seed=1).fit(split)          # SGD is the default
    b = BPRMF(dim=8, epochs=15, lr=0.2, seed=1).fit(split)
    c = BPRMF(dim=8, epochs=15, lr=0.2, seed=2).fit(split)
    assert a.optimizer == "sgd" and a.updates_itself
    np.testing.assert_array_equal(a.user_embeddings_, b.user_embeddings_)
    np.testing.assert_array_equal(a.item_embeddings_, b.item_embeddings_)
    assert not np.allclose(a.item_embeddings_, c.item_embeddings_)
    assert a.history_[-1]["loss"] < 0.8 * a.history_[0]["loss"]
    s = a.score(np.arange(split.n_users), "validation")
    assert s[X].mean() > s[~X].mean() + 0.5
    # the batches of an epoch: every training pair once, negatives never trained on
    rng = np.random.default_rng(5)
    u, i, j = (np.concatenate(x) for x in zip(*a.batches(rng)))
    assert sorted(zip(u.tolist(), i.tolist())) == sorted(zip(*np.nonzero(X)))
    assert X[u, i].all() and not X[u, j].any()
    # the kernel = sequential per-sample SGD on -log sigmoid(x) + reg |.|^2, in float64 here
    g = np.random.default_rng(0)
    P, Q = g.normal(size=(5, 4)).astype(np.float32), g.normal(size=(6, 4)).astype(np.float32)
    uu, ii, jj = np.array([0, 1, 0, 4]), np.array([2, 3, 2, 5]), np.array([1, 1, 0, 2])
    Pr, Qr = P.astype(np.float64), Q.astype(np.float64)
    losses = []
    for un, inn, jn in zip(uu, ii, jj):
        pu, qi, qj = Pr[un].copy(), Qr[inn].copy(), Qr[jn].copy()
        x = pu @ (qi - qj)
        losses.append(np.log1p(np.exp(-x)))
        gr = 1 / (1 + np.exp(x))
        Pr[un] = pu + 0.1 * (gr * (qi - qj) - 2 * 0.01 * pu)
        Qr[inn] = qi + 0.1 * (gr * pu - 2 * 0.01 * qi)
        Qr[jn] = Qr[jn] + 0.1 * (-gr * pu - 2 * 0.01 * Qr[jn])
    P2, Q2 = P.copy(), Q.copy()
    loss = _sgd_kernel()(P2, Q2, uu, ii, jj, np.float32(0.1), np.float32(0.01))
    np.testing.assert_allclose(P2, Pr, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(Q2, Qr, rtol=1e-5, atol=1e-5)
    assert loss == pytest.approx(np.mean(losses), rel=1e-5)
    with pytest.raises(ValueError, match="weight_decay"):
        BPRMF(weight_decay=1e-3)
    with pytest.raises(ValueError, match="optimizer"):
        BPRMF(optimizer="rmsprop")


def test_model_selection_uses_a_seeded_fixed_recorded_user_subset(small_split, tmp_path):
    from leporid.models.bpr import BPRMF
    from leporid.train.loop import selection_users

    split = small_split
    val_users = np.flatnonzero(np.diff(split.validation.indptr) > 0)
    cfg = dict(dim=4, epochs=3, lr=0.1, selection_pairs=7 * split.n_items)
    a = BPRMF(seed=1, **cfg).fit(split)
    b = BPRMF(seed=1, **cfg).fit(split)
    c = BPRMF(seed=2, **cfg).fit(split)
    sub = a.selection_users_
    assert len(sub) == 7 and np.isin(sub, val_users).all() and (np.diff(sub) > 0).all()
    np.testing.assert_array_equal(sub, b.selection_users_)          # fixed by the seed
    assert not np.array_equal(sub, c.selection_users_)
    assert all(e["validation_users"] == 7 for e in a.history_)      # recorded
    best = [e for e in a.history_ if e["best"]][-1]
    assert best["validation"]["HR@10"] == pytest.approx(
        evaluate(a, split, "validation", users=sub)["all"]["HR@10"])
    # test (and any evaluate call without users) always scores every user
    assert evaluate(a, split, "test")["all"]["n_users"] == np.count_nonzero(
        np.diff(split.test.indptr))
    # small data, or selection_pairs=None: every validation user
    assert BPRMF(dim=4, epochs=1).fit(split).selection_users_ is None
    assert selection_users(BPRMF(selection_pairs=None), split) is None
    assert BPRMF(dim=4, epochs=1, selection_pairs=None).fit(split).history_[0][
        "validation_users"] == "all"
    a.save(tmp_path / "m.pt")
    np.testing.assert_array_equal(BPRMF.load(tmp_path / "m.pt").selection_users_, sub)
