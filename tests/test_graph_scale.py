"""LEPORID at scale: row-range and distributed graphs equal the single-process graph, the
approximate graph's recall and exact values, option validation, the compile notice, GPU paths."""

import numpy as np
import pytest
import scipy.sparse as sp
from test_graph_jaccard import brute_force_knn, random_binary

from leporid.graph import jaccard_knn_graph, knn_graph
from leporid.graph.approximate import approx_knn_rows, neighbour_recall, parse_approximate
from leporid.graph.distributed import parse_scheduler
from leporid.graph.jaccard import knn_rows
from leporid.spectral.result import subspace_agreement


def planted(n_users=600, n_groups=6, items_per_group=40, per_user=15, noise=2, seed=0):
    """Users in planted communities: each takes ``per_user`` items of its group's block and
    ``noise`` items anywhere, so a user's true neighbours are (mostly) its group."""
    rng = np.random.default_rng(seed)
    m = n_groups * items_per_group
    rows, cols = [], []
    for u in range(n_users):
        g = u % n_groups
        own = g * items_per_group + rng.choice(items_per_group, per_user, replace=False)
        cols += list(own) + list(rng.choice(m, noise, replace=False))
        rows += [u] * (per_user + noise)
    X = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, m))
    X.data[:] = 1.0
    return X


def test_row_ranges_equal_the_full_computation():
    X = random_binary(70, 20, 0.2, seed=3)
    full = knn_rows(X, 6, dense_threshold=0.3)
    ip, ix, v = knn_rows(X, 6, dense_threshold=0.3, rows=(17, 51), block_bytes=4 * 70 * 5)
    lo, hi = full[0][17], full[0][51]
    np.testing.assert_array_equal(ip, full[0][17:52] - lo)
    np.testing.assert_array_equal(ix, full[1][lo:hi])
    np.testing.assert_array_equal(v, full[2][lo:hi])
    with pytest.raises(ValueError, match="rows must satisfy"):
        knn_rows(X, 6, rows=(5, 80))


def test_distributed_graph_equals_single_process():
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed")
    X = random_binary(120, 30, 0.2, seed=5)
    single = jaccard_knn_graph(X, 9)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dist = knn_graph(X, 9, client=client)
        approx_single = knn_graph(X, 9, approximate={"seed": 4})
        approx_dist = knn_graph(X, 9, approximate={"seed": 4}, client=client)
    for a, b in ((single, dist), (approx_single, approx_dist)):
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.data, b.data)


def test_distributed_approximate_graph_reports_the_same_rounds():
    """The Dask build ends in the same refinement as one process (``refined_rows``): the same
    rounds (stopped early by the same rule), per-round changes, recall and graph."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed")
    X = planted(300, per_user=10, noise=4)
    params = {"seed": 4, "bands": 4, "window": 4, "sample": 50}
    one, dist = {}, {}
    single = knn_graph(X, 9, approximate=params, info=one)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        graph = knn_graph(X, 9, approximate=params, client=client, info=dist)
    assert 1 < len(one["refine_changed"]) < 12      # several rounds, stopped before the cap
    assert dist["refine_changed"] == one["refine_changed"]
    assert dist["recall"] == one["recall"] and dist["recall_sample"] == 50
    assert (graph != single).nnz == 0


def test_prestarted_connection_is_taken_over_and_warmed():
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed")
    from leporid.graph import distributed as dist_mod

    X = random_binary(80, 20, 0.25, seed=6)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp://", dashboard_address=None) as cluster:
        addr = cluster.scheduler_address
        dist_mod.prestart(addr)
        dist_mod.prestart(addr)                 # a second call does not start another
        assert addr in dist_mod._PENDING
        client, own = dist_mod.connect(addr)
        try:
            assert addr not in dist_mod._PENDING and own is None
            graph = knn_graph(X, 7, client=client)
        finally:
            dist_mod.close(client, own)
    ref = jaccard_knn_graph(X, 7)
    np.testing.assert_array_equal(graph.indices, ref.indices)
    np.testing.assert_array_equal(graph.data, ref.data)


@pytest.mark.parametrize("approximate", [False, {"bands": 16, "sample": 0}])
def test_embedding_on_a_cluster_equals_one_process(approximate):
    """``LeporidEmbedding(scheduler=...)`` submits both sides' graphs at once and solves the
    users' eigenproblem while the items' graph is built: the same embeddings as one process,
    and the client is closed afterwards."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed")
    from leporid.init.spectral_estimators import LeporidEmbedding

    X = random_binary(90, 40, 0.2, seed=8)
    one = LeporidEmbedding(n_components=6, n_neighbors=12, approximate=approximate).fit(X)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp://", dashboard_address=None) as cluster:
        est = LeporidEmbedding(n_components=6, n_neighbors=12, approximate=approximate,
                               scheduler=cluster.scheduler_address).fit(X)
        assert "connect" in est.timings_
        import time

        deadline = time.monotonic() + 5       # ours closed: only the scheduler's own remains
        while len(cluster.scheduler.clients) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(cluster.scheduler.clients) == ["fire-and-forget"]
    for side in ("user", "item"):
        np.testing.assert_allclose(getattr(est, f"{side}_eigenvalues_"),
                                   getattr(one, f"{side}_eigenvalues_"), rtol=1e-10)
        np.testing.assert_allclose(np.abs(getattr(est, f"{side}_embeddings_")),
                                   np.abs(getattr(one, f"{side}_embeddings_")), atol=1e-5)
        assert est.info_[side]["edges"] == one.info_[side]["edges"]


def _jaccard32(X):
    """Dense exact Jaccard similarities, float32-rounded like the kernels' (diagonal 0)."""
    d = np.asarray(X.todense(), np.float64)
    inter = d @ d.T
    deg = d.sum(1)
    S = np.where(inter > 0, inter / np.maximum(deg[:, None] + deg[None, :] - inter, 1), 0.0)
    np.fill_diagonal(S, 0.0)
    return S.astype(np.float32)


def _best(S, u, cands, k):
    """The k best of ``cands`` for row u: similarity > 0, descending, ties to the lower index."""
    c = np.array(sorted(set(int(w) for w in cands) - {u}), dtype=np.int64)
    c = c[S[u, c] > 0]
    return c[np.lexsort((c, -S[u, c]))][:k]


def test_bad_refinement_is_refused_before_the_lsh_step(monkeypatch):
    """The round limit is checked where the parameters arrive, not after minutes of LSH."""
    from leporid.graph import approximate

    def no_lsh(*a, **kw):
        raise AssertionError("LSH ran before the parameters were checked")

    monkeypatch.setattr(approximate, "lsh_neighbours", no_lsh)
    X = random_binary(50, 20, 0.2, seed=1)
    for bad in ({"refine": 40_000}, {"fan": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            approximate.approx_knn_rows(X, 5, **bad)


def test_incremental_rounds_equal_reading_every_neighbours_whole_list():
    """With ``fan`` ≥ K a round reads each neighbour's list in full once and afterwards only
    what was added to it; that must give, round by round, exactly the lists of the plain
    algorithm that rereads every neighbour's whole list each round (a row dropped then only
    had candidates it had already lost to, and the K-th only gets better). The plain rounds are
    computed here in Python from dense similarities."""
    from leporid.graph.approximate import lsh_neighbours, refine_neighbours
    from leporid.graph.jaccard import _binary_csr

    X = _binary_csr(random_binary(300, 80, 0.1, seed=5))
    k = 8
    S = _jaccard32(X)
    lists = lsh_neighbours(X, k, bands=2, window=4, candidates=k)
    cur = [list(lists[0][u, :lists[2][u]]) for u in range(300)]
    for rounds in range(1, 5):
        nxt = [_best(S, u, cur[u] + [w for v in cur[u] for w in cur[v]], k) for u in range(300)]
        got = refine_neighbours(X, lists, rounds=rounds, fan=k, stop=0)
        for u in range(300):
            assert list(got[0][u, :got[2][u]]) == list(nxt[u]), (rounds, u)
            np.testing.assert_array_equal(got[1][u, :got[2][u]], S[u, nxt[u]])
        cur = [list(x) for x in nxt]


@pytest.mark.parametrize("fan", [2, 40])
def test_converged_lists_are_closed_under_neighbours_of_neighbours(fan):
    """Run to a round that changes nothing (with ``fan`` < K the reads a row could not make in
    one round are deferred, and the rounds do not stop while any are left): then no row that a
    row's neighbours list beats its K-th, checked by brute force; and the result is
    deterministic (the seed only drives the LSH step)."""
    from leporid.graph.approximate import lsh_neighbours, refine_neighbours
    from leporid.graph.jaccard import _binary_csr

    X = _binary_csr(random_binary(400, 100, 0.08, seed=9))
    k = 10
    S = _jaccard32(X)
    lists = lsh_neighbours(X, k, bands=2, window=4, candidates=k)
    info = {}
    got = refine_neighbours(X, lists, rounds=500, fan=fan, stop=1, info=info)
    assert info["changed"][-1] == 0 and len(info["changed"]) < 500
    for u in range(400):
        mine = list(got[0][u, :got[2][u]])
        two_steps = mine + [w for v in mine for w in got[0][v, :got[2][v]]]
        assert list(_best(S, u, two_steps, k)) == mine, u
    again = refine_neighbours(X, lists, rounds=500, fan=fan, stop=1)
    for x, y in zip(got, again):
        np.testing.assert_array_equal(x, y)
    wide = approx_knn_rows(X, 5, bands=8, window=8, fan=40, refine=2)  # fan > k
    assert (np.diff(wide[0]) <= 5).all()
    with pytest.raises(ValueError, match="fan"):
        refine_neighbours(X, lists, fan=0)
    with pytest.raises(ValueError, match="refine"):
        refine_neighbours(X, lists, rounds=40_000)
    with pytest.raises(ValueError, match="refine"):  # the CLI's parser says it too
        parse_approximate("refine=40000")
    with pytest.raises(ValueError, match="top"):  # the former random-exploration key
        parse_approximate("top=4")


def test_refinement_counts_its_changes_and_stops_when_they_are_few():
    """``changed`` per round equals the entries of the new lists that were not in the old ones
    (counted here with Python sets); ``stop`` ends the rounds at the first round that changed
    fewer than ``stop`` per 10,000 entries, and the result is that of running that many — but
    not while a row still has neighbours whose lists it could not read yet (``fan``)."""
    from leporid.graph.approximate import lsh_neighbours, refine_neighbours
    from leporid.graph.jaccard import _binary_csr

    X = _binary_csr(random_binary(400, 100, 0.1, seed=4))
    k = 12
    lists = lsh_neighbours(X, k, bands=4, window=4, candidates=k)
    info = {}
    one = refine_neighbours(X, lists, rounds=1, fan=12, stop=0, info=info)
    fresh = sum(len(set(one[0][u, :one[2][u]]) - set(lists[0][u, :lists[2][u]]))
                for u in range(400))
    assert fresh > 0
    assert info["changed"] == [pytest.approx(fresh / one[2].sum())]
    every = {}
    refine_neighbours(X, lists, rounds=8, fan=12, stop=0, info=every)
    shares = np.array(every["changed"])
    assert len(shares) == 8 and shares[0] > shares[-1]
    stop = int(shares[2] * 10_000) + 1          # the third round is the first below it ...
    assert (shares[:2] * 10_000 >= stop).all()  # ... when the first two are above it
    early = {}
    got = refine_neighbours(X, lists, rounds=8, fan=12, stop=stop, info=early)
    assert early["changed"] == every["changed"][:3]
    want = refine_neighbours(X, lists, rounds=3, fan=12, stop=0)
    for x, y in zip(got, want):
        np.testing.assert_array_equal(x, y)
    assert parse_approximate("stop=0,refine=20") == {"stop": 0, "refine": 20}
    # every round is below stop = 10,001: one round when nothing is deferred, more when
    # reads are (fan 1 of 12 neighbours per round)
    for fan, more in ((12, False), (1, True)):
        rounds = {}
        refine_neighbours(X, lists, rounds=8, fan=fan, stop=10_001, info=rounds)
        assert (len(rounds["changed"]) > 1) == more


def test_a_failed_prestart_surfaces_in_connect(monkeypatch):
    from leporid.graph import distributed as dist_mod

    def refuse(spec):
        raise OSError(f"cannot reach {spec}")

    monkeypatch.setattr(dist_mod, "_connect", refuse)
    dist_mod.prestart("tcp://nowhere:1")
    with pytest.raises(OSError, match="cannot reach tcp://nowhere:1"):
        dist_mod.connect("tcp://nowhere:1")
    assert "tcp://nowhere:1" not in dist_mod._PENDING


def test_approximate_recall_on_planted_communities():
    X = planted()
    k = 20
    ip, ix, v = approx_knn_rows(X, k, bands=32, seed=1)
    recall = neighbour_recall(X, ip, ix, k, sample=600)
    # measured 1.00 with these settings; the bound leaves room for other seeds
    assert recall >= 0.95
    # the listed similarities are exact Jaccard values
    A, _ = brute_force_knn(X, k)
    dense = np.asarray(X.todense(), float)
    inter = dense @ dense.T
    d = dense.sum(1)
    S = inter / (d[:, None] + d[None, :] - inter)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(ip))
    np.testing.assert_allclose(v, S[rows, ix], rtol=1e-6)
    assert (ix != rows).all()
    assert (np.diff(ip) <= k).all()


def test_recall_counts_missing_neighbours():
    X = planted(n_users=120)
    ip, ix, v = knn_rows(X, 10)
    assert neighbour_recall(X, ip, ix, 10, sample=120) == 1.0
    keep = np.zeros(len(ix), bool)
    keep[ip[:-1]] = True  # only the first listed neighbour of each row (by index)
    counts = (np.diff(ip) > 0).astype(np.int64)
    ip2 = np.concatenate([[0], np.cumsum(counts)])
    assert neighbour_recall(X, ip2, ix[keep], 10, sample=120) <= 0.11


def test_approximate_graph_through_the_estimator_reports_recall():
    from leporid import LeporidEmbedding

    X = planted(n_users=300)
    est = LeporidEmbedding(n_components=4, n_neighbors=15,
                           approximate={"bands": 16, "sample": 50, "compare": 1}).fit(X)
    info = est.info_["user"]
    assert 0.9 <= info["graph_recall"] <= 1.0
    assert info["subspace_dims"] == 4 and 0.0 <= info["subspace_cos_min"] <= 1.0


@pytest.mark.parametrize("spec,expected", [("local:2", ("local", 2)),
                                           ("tcp://10.0.0.5:8786", ("address",
                                                                    "tcp://10.0.0.5:8786"))])
def test_scheduler_specs(spec, expected):
    assert parse_scheduler(spec) == expected


@pytest.mark.parametrize("spec", ["local:0", "local:x", "local:", "8786", "http://h:1", ""])
def test_bad_scheduler_specs(spec):
    with pytest.raises(ValueError, match="local:N|whole number"):
        parse_scheduler(spec)


def test_approximate_specs():
    assert parse_approximate("") == {}
    assert parse_approximate("bands=16,refine=0") == {"bands": 16, "refine": 0}
    for bad, msg in (("bands", "KEY=INT"), ("bands=x", "whole number"), ("bands=0", "positive"),
                     ("foo=1", "KEY=INT")):
        with pytest.raises(ValueError, match=msg):
            parse_approximate(bad)


@pytest.mark.parametrize("argv,msg", [(["--scheduler", "local:0"], "--scheduler"),
                                      (["--scheduler", "nowhere"], "--scheduler"),
                                      (["--approximate", "bands=-3"], "--approximate"),
                                      (["--approximate", "k=3"], "--approximate")])
def test_cli_rejects_bad_values(argv, msg, capsys):
    from leporid.cli import main

    try:
        code = main(["embed", *argv])
    except SystemExit as e:  # argparse exits; the dispatcher may also return the status
        code = e.code
    assert code == 2
    assert msg in capsys.readouterr().err


def test_compile_is_reported_only_when_it_happens(capsys):
    from leporid.graph.jaccard import warm_up_kernels

    warm_up_kernels()
    capsys.readouterr()
    assert warm_up_kernels() == 0.0  # loaded: nothing compiled, nothing said
    assert "compiled" not in capsys.readouterr().err


def test_auto_device_does_not_import_torch_without_a_driver():
    import subprocess
    import sys

    from leporid.utils.device import gpu_driver_present

    if gpu_driver_present():
        pytest.skip("an NVIDIA driver is present: 'auto' legitimately imports torch here")
    code = ("import sys; from leporid.utils.device import resolve_device; "
            "assert resolve_device('auto') == 'cpu'; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_subspace_agreement():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((50, 6)))
    R, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    assert subspace_agreement(Q, -Q @ R)[1] == pytest.approx(1.0)
    Q2, _ = np.linalg.qr(rng.standard_normal((50, 6)))
    assert subspace_agreement(Q, Q2)[1] < 0.9


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_blocked_sparse_torch_graph_matches_cpu_kernel(device):
    torch = pytest.importorskip("torch")
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA GPU: the GPU graph paths are checked by benchmarks/"
                    "gpu_scale_check.py on a GPU machine")
    from leporid.graph.jaccard_torch import knn_rows_sparse_torch

    X = random_binary(300, 40, 0.2, seed=9)
    cpu = knn_rows(X, 12)
    blocked = knn_rows_sparse_torch(X, 12, device, block_rows=64)
    for a, b in zip(cpu, blocked):
        np.testing.assert_array_equal(a, b)


def test_taste_communities_make_users_of_one_community_more_similar():
    """``power_law_interactions(communities=C, affinity=a)``: a user's items come mostly from
    its community's ranking, so same-community pairs overlap far more than other pairs; with
    affinity 0 the communities make no difference. The interaction count stays as asked."""
    from leporid.data.synthetic import power_law_interactions

    def jaccard_by_community(affinity):
        inter = power_law_interactions(400, 300, 12_000, min_per_user=10, seed=5,
                                       communities=4, affinity=affinity)
        X = inter.to_csr()
        X.data[:] = 1.0
        S = (X @ X.T).toarray()
        deg = S.diagonal()
        J = S / (deg[:, None] + deg[None, :] - S)
        c = inter.meta["community"]
        same = (c[:, None] == c[None, :]) & ~np.eye(len(c), dtype=bool)
        assert len(np.unique(c)) == 4 and np.bincount(c)[0] > np.bincount(c)[3]  # Zipf sizes
        return X.nnz, J[same].mean(), J[~same].mean()

    nnz, same, other = jaccard_by_community(0.9)
    assert abs(nnz - 12_000) / 12_000 < 0.05
    assert same > 2 * other
    _, same0, other0 = jaccard_by_community(0.0)
    assert abs(same0 / other0 - 1) < 0.1
    with pytest.raises(ValueError, match="affinity"):
        power_law_interactions(10, 10, 50, communities=2, affinity=1.5)


def test_embed_cli_on_a_local_cluster_equals_one_process(tmp_path, capsys):
    """``leporid embed --scheduler local:2`` (a LocalCluster of two thread workers) writes
    the same embeddings as the single-process command."""
    pytest.importorskip("distributed", reason="dask.distributed not installed")
    from leporid.cli import main

    X = random_binary(60, 30, 0.25, seed=9).tocoo()
    f = tmp_path / "train.txt"
    f.write_text("".join(f"{u} {i} 5 {t}\n" for t, (u, i) in enumerate(zip(X.row, X.col))))
    outs = []
    for extra in ([], ["--scheduler", "local:2"]):
        out = tmp_path / f"emb{len(extra)}"
        assert main(["embed", "--input", str(f), "--format", "authors", "--neighbors", "8",
                     "--dim", "4", "--no-cache", "--device", "cpu", "--out", str(out),
                     *extra]) == 0
        outs.append(out)
    assert "dask: connected" in capsys.readouterr().out
    for name in ("user_embeddings.npy", "item_embeddings.npy"):
        np.testing.assert_allclose(np.abs(np.load(outs[1] / name)),
                                   np.abs(np.load(outs[0] / name)), atol=1e-5)


@pytest.mark.parametrize("scheduler", [[], ["--scheduler", "local:2"]],
                         ids=["one-process", "local:2"])
def test_embed_cli_says_the_approximate_recall_and_rounds(tmp_path, capsys, scheduler):
    from leporid.cli import main

    if scheduler:
        pytest.importorskip("distributed", reason="dask.distributed not installed")
    X = random_binary(80, 30, 0.25, seed=9).tocoo()
    f = tmp_path / "train.txt"
    f.write_text("".join(f"{u} {i} 5 {t}\n" for t, (u, i) in enumerate(zip(X.row, X.col))))
    assert main(["embed", "--input", str(f), "--format", "authors", "--neighbors", "8",
                 "--dim", "4", "--no-cache", "--device", "cpu", "--out", str(tmp_path / "e"),
                 "--approximate", "bands=4,window=4,stop=0,refine=2,sample=20",
                 *scheduler]) == 0
    out = capsys.readouterr().out
    for side in ("users", "items"):
        assert f"{side}: approximate graph recall of the exact K neighbours" in out
    assert out.count("after 2 refinement rounds") == 2
