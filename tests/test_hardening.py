"""Issue 11: no silent data damage, no tracebacks, no lost results.

Every case writes its own small corpus of bad files and options. Exit statuses: 1 bad data,
2 bad option / parameter; errors are one line ``leporid CMD: error: ...``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from leporid.cli import main
from leporid.cli.common import dataset_stem, result_stem
from leporid.data import DataError, load, load_split, prepare, save_split
from leporid.data.validation import check_matrix, check_number
from leporid.eval import evaluate
from leporid.graph import jaccard_knn_graph
from leporid.init import initialize
from leporid.init.spectral_estimators import LaplacianEigenmaps, LeporidEmbedding
from leporid.models import TopPop, make_model, similarity_matrix
from leporid.results import atomic_save_npy, atomic_write, write_table

SRC = str(Path(__file__).resolve().parents[1] / "src")


def ratings_matrix(seed=0, n_users=40, n_items=30, density=0.3):
    """A float32 CSR 'ratings' matrix (values 1..5) with some explicitly stored zeros."""
    rng = np.random.default_rng(seed)
    X = sp.random(n_users, n_items, density=density, random_state=rng, format="csr",
                  dtype=np.float32)
    X.data = rng.integers(1, 6, X.nnz).astype(np.float32)
    zeros = rng.choice(X.nnz, X.nnz // 6, replace=False)
    X.data[zeros] = 0.0                       # stored, explicit zeros: not interactions
    return X


def write_corpus(path: Path, n_users=30, n_items=20, per_user=12, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    lines = ["user,item,timestamp"]
    for u in range(n_users):
        for t, i in enumerate(rng.choice(n_items, per_user, replace=False)):
            lines.append(f"u{u},i{i},{1000 * u + t}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def corpus(tmp_path):
    return write_corpus(tmp_path / "inter.v2.csv")


def one_line_error(err: str, *needles: str) -> None:
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and ": error: " in lines[0], err
    for n in needles:
        assert n in lines[0], (n, lines[0])


# ---------------------------------------------------------------------------------------------
# 1. matrices: copied, stored zeros dropped, non-finite / complex refused
# ---------------------------------------------------------------------------------------------
MATRIX_ENTRY_POINTS = {
    "LeporidEmbedding.fit": lambda X: LeporidEmbedding(n_components=3, n_neighbors=5,
                                                       output="raw").fit(X).user_embeddings_,
    "LaplacianEigenmaps.fit": lambda X: LaplacianEigenmaps(n_components=3, n_neighbors=5,
                                                           output="raw").fit(X).item_embeddings_,
    "initialize(leporid)": lambda X: initialize("leporid", X, dim=3, n_neighbors=5,
                                                output="raw")[0],
    "initialize(random)": lambda X: initialize("random", X, dim=3)[0],
    "jaccard_knn_graph": lambda X: jaccard_knn_graph(X, 5).toarray(),
    "similarity_matrix": lambda X: similarity_matrix(X, topk=5).toarray(),
}


@pytest.mark.parametrize("name", sorted(MATRIX_ENTRY_POINTS))
def test_matrix_entry_points_copy_drop_zeros_and_refuse_non_finite(name):
    fn = MATRIX_ENTRY_POINTS[name]
    X = ratings_matrix()
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    out = fn(X)
    # the caller's ratings and structure are untouched (issue: values were set to 1 in place)
    for a, b in zip(before, (X.data, X.indices, X.indptr)):
        np.testing.assert_array_equal(a, b)
    # an explicitly stored zero is not an interaction: same result as with the zeros removed
    Xc = X.copy()
    Xc.eliminate_zeros()
    binary = name != "similarity_matrix"
    ref = fn(Xc if not binary else (Xc > 0).astype(np.float32))
    if name in ("LeporidEmbedding.fit", "LaplacianEigenmaps.fit", "initialize(leporid)"):
        # eigenvectors: equal up to sign per column
        signs = np.sign((out * ref).sum(axis=0))
        np.testing.assert_allclose(out * signs, ref, atol=1e-5)
    else:
        np.testing.assert_allclose(out, ref, atol=1e-6)
    for bad, word in ((np.nan, "NaN"), (np.inf, "inf")):
        Y = X.copy()
        Y.data[3] = bad
        with pytest.raises(ValueError, match=word):
            fn(Y)
    with pytest.raises(ValueError, match="omplex"):
        fn(X.astype(np.complex64))


def test_check_matrix_dense_and_odd_inputs():
    D = np.array([[0.0, 2.5], [0.0, 0.0], [-1.0, 0.0]])
    M = check_matrix(D)
    assert M.nnz == 2 and set(M.data) == {1.0} and D[0, 1] == 2.5
    assert check_matrix(sp.dok_matrix(D)).nnz == 2
    with pytest.raises(ValueError, match="0 feature"):
        check_matrix(np.zeros((3, 0)))
    with pytest.raises(ValueError, match="2-D"):
        check_matrix(np.ones(3))
    with pytest.raises(ValueError, match="real numbers"):
        check_matrix(np.array([["a", "b"]]))


def test_check_number_messages():
    assert check_number(3.0, "k", low=1, integer=True) == 3
    for v in (0, -1, 2.5, float("nan")):
        with pytest.raises(ValueError, match="k must be an integer >= 1"):
            check_number(v, "k", low=1, integer=True)
    with pytest.raises(TypeError):
        check_number(True, "k", low=1)
    with pytest.raises(ValueError, match=r"alpha must be a number >= 0 and <= 1, got 1.5"):
        check_number(1.5, "alpha", low=0, high=1)


# ---------------------------------------------------------------------------------------------
# 2. result names carry dataset stem, model, init; no two runs share a file
# ---------------------------------------------------------------------------------------------
def test_dataset_stem_and_result_names():
    assert dataset_stem("u.data") == "u"
    assert dataset_stem("data/ml-100k/u.data") == "ml-100k-u"
    assert dataset_stem("ml-1m/ratings.dat") != dataset_stem("ml-10m/ratings.dat")
    assert dataset_stem("australian_users_items.json") == "australian_users_items"
    assert dataset_stem("ml-latest-small") == "ml-latest-small"
    s = dataset_stem("x.v2.csv")
    assert "." not in s and s.startswith("x-v2-") and s != dataset_stem("x-v2.csv")
    names = {result_stem("r", "train", d, "dlr2", init).name
             for d in ("u.data", "u.item.data", "x.v2.csv", "x_v2.csv")
             for init in ("leporid", "le", "random")}
    assert len(names) == 12 and not any("." in n for n in names)
    # the checkpoint suffix train's code appends can never eat into the name
    stem = result_stem("r", "train", "u.data", "dlr2", "le")
    assert stem.with_suffix(".train.pt").name == "train_u_dlr2_le.train.pt"


def test_write_table_keeps_dots_in_stem(tmp_path):
    paths = write_table(tmp_path / "evaluate_u.data_itemknn", [{"a": 1}], {})
    assert {p.name for p in paths.values()} == {"evaluate_u.data_itemknn.json",
                                                "evaluate_u.data_itemknn.csv",
                                                "evaluate_u.data_itemknn.md"}


def test_evaluate_two_models_on_dotted_file_keep_both_results(tmp_path):
    data = write_corpus(tmp_path / "u.data.csv")
    out = tmp_path / "res"
    for model in ("itemknn", "toppop"):
        assert main(["evaluate", "--dataset", str(data), "--min-count", "2", "--model", model,
                     "--out", str(out)]) == 0
    files = sorted(p.name for p in out.glob("*.json"))
    assert len(files) == 2 and all(dataset_stem(str(data)) in f for f in files)
    models = {json.loads((out / f).read_text())["config"]["model"] for f in files}
    assert models == {"itemknn", "toppop"}


# ---------------------------------------------------------------------------------------------
# 3. evaluate --batch-size
# ---------------------------------------------------------------------------------------------
def test_evaluate_batch_size_validated(corpus, tmp_path, capsys):
    split = prepare(load(corpus), min_count=2)
    model = TopPop().fit(split)
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="batch_size"):
            evaluate(model, split, "test", batch_size=bad)
    for bad in ("-1", "0", "x"):
        assert main(["evaluate", "--dataset", str(corpus), "--model", "toppop",
                     "--batch-size", bad, "--out", str(tmp_path / "r")]) == 2
        one_line_error(capsys.readouterr().err, "--batch-size")
    assert not (tmp_path / "r").exists()


# ---------------------------------------------------------------------------------------------
# 4. the split fingerprint covers the parts; an edited prepared split is refused
# ---------------------------------------------------------------------------------------------
def test_edited_part_column_is_refused(corpus, tmp_path, capsys):
    split = prepare(load(corpus), min_count=2)
    moved = split.part.copy()
    moved[moved == 2] = 0
    other = type(split)(split.interactions, moved, split.report, split.ratios)
    assert other.fingerprint() != split.fingerprint()
    save_split(split, tmp_path / "s")
    assert load_split(tmp_path / "s").fingerprint() == split.fingerprint()
    t = pq.read_table(tmp_path / "s" / "interactions.parquet").to_pandas()
    t.loc[t["part"] == 2, "part"] = 0                 # all test rows into train
    t.to_parquet(tmp_path / "s" / "interactions.parquet", index=False)
    with pytest.raises(DataError, match="parts or ratios do not match"):
        load_split(tmp_path / "s")
    assert main(["evaluate", "--dataset", str(tmp_path / "s"), "--model", "toppop",
                 "--out", str(tmp_path / "r")]) == 1
    one_line_error(capsys.readouterr().err, "do not match")


@pytest.mark.parametrize("damage", ["no_json", "no_table", "bad_json", "foreign_json",
                                    "json_list", "no_dtype", "old_version", "bad_ratios",
                                    "meta_list", "rows_text"])
def test_damaged_split_directory_messages(corpus, tmp_path, capsys, damage):
    d = tmp_path / "s"
    save_split(prepare(load(corpus), min_count=2), d)
    doc = json.loads((d / "split.json").read_text())
    if damage == "no_json":
        (d / "split.json").unlink()
    elif damage == "no_table":
        (d / "interactions.parquet").unlink()
    elif damage == "bad_json":
        (d / "split.json").write_text("{ not json")
    elif damage == "foreign_json":
        (d / "split.json").write_text('{"format": "other"}')
    elif damage == "json_list":
        (d / "split.json").write_text("[1, 2]")
    elif damage == "no_dtype":
        del doc["user_id_dtype"]
        (d / "split.json").write_text(json.dumps(doc))
    elif damage in ("bad_ratios", "meta_list", "rows_text"):
        key, value = {"bad_ratios": ("ratios", "xx"), "meta_list": ("meta", [1, 2]),
                      "rows_text": ("rows", "many")}[damage]
        doc[key] = value
        (d / "split.json").write_text(json.dumps(doc))
    elif damage == "old_version":
        del doc["split_fingerprint"]
        (d / "split.json").write_text(json.dumps(doc))
    rc = main(["data", "stats", "--dataset", str(d)])
    err = capsys.readouterr().err
    assert rc == 1
    one_line_error(err, str(d))
    assert "read it with leporid.data.load_split" not in err     # the old, misleading advice


# ---------------------------------------------------------------------------------------------
# 5. Parquet uint64 ids >= 2**63 are kept as strings, as in the text loaders
# ---------------------------------------------------------------------------------------------
def test_parquet_uint64_ids_consistent_with_text(tmp_path):
    big = [2**63, 2**63 + 5, 2**64 - 1, 7]
    items = [1, 2, 3, 1]
    pq.write_table(pa.table({"user": pa.array(big, pa.uint64()), "item": pa.array(items),
                             "timestamp": pa.array([1.0, 2.0, 3.0, 4.0])}),
                   tmp_path / "big.parquet")
    (tmp_path / "big.csv").write_text(
        "user,item,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in
                                          zip(big, items, (1.0, 2.0, 3.0, 4.0))))
    a, b = load(tmp_path / "big.parquet"), load(tmp_path / "big.csv")
    assert (a.user_ids.astype(str) >= "").all() and not np.issubdtype(a.user_ids.dtype, np.integer)
    np.testing.assert_array_equal(a.user_ids, b.user_ids)
    assert set(a.user_ids) == {str(x) for x in big}
    # small uint64 ids stay integers
    pq.write_table(pa.table({"user": pa.array([1, 2], pa.uint64()), "item": pa.array([3, 4])}),
                   tmp_path / "small.parquet")
    assert load(tmp_path / "small.parquet").user_ids.dtype == np.int64
    # float ids beyond int64 are refused (they used to wrap)
    pq.write_table(pa.table({"user": pa.array([1e19, 2.0]), "item": pa.array([3, 4])}),
                   tmp_path / "f.parquet")
    with pytest.raises(DataError, match="not an integer id"):
        load(tmp_path / "f.parquet")


# ---------------------------------------------------------------------------------------------
# 7. atomic writes: umask honoured, stale temp files of the same target cleaned
# ---------------------------------------------------------------------------------------------
def test_atomic_write_mode_and_stale_temps(tmp_path):
    old = os.umask(0o022)
    try:
        p = atomic_write(tmp_path / "a.json", "{}")
        assert stat.S_IMODE(p.stat().st_mode) == 0o644
        q = atomic_save_npy(tmp_path / "e.npy", np.arange(3))
        assert stat.S_IMODE(q.stat().st_mode) == 0o644
        os.umask(0o077)
        assert stat.S_IMODE(atomic_write(tmp_path / "b.json", "{}").stat().st_mode) == 0o600
    finally:
        os.umask(old)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()                                      # a pid that no longer runs
    stale = tmp_path / f".ckpt.pt.{dead.pid}.abcd1234.tmp"
    live = tmp_path / f".ckpt.pt.{os.getpid()}.abcd1234.tmp"    # a writer still running
    other = tmp_path / f".other.pt.{dead.pid}.abcd1234.tmp"     # another target's
    legacy = tmp_path / ".ckpt.pt.k3j_x9q2"                     # older naming scheme, old
    for f in (stale, live, other, legacy):
        f.write_bytes(b"x" * 100)
    os.utime(legacy, (0, 0))
    atomic_write(tmp_path / "ckpt.pt", b"data")
    assert not stale.exists() and not legacy.exists()
    assert live.exists() and other.exists()
    assert (tmp_path / "ckpt.pt").read_bytes() == b"data"


# ---------------------------------------------------------------------------------------------
# 8. commands that do not need torch never import it
# ---------------------------------------------------------------------------------------------
def test_torch_free_commands(corpus, tmp_path):
    cmds = [["data", "stats", "--dataset", str(corpus), "--min-count", "2"],
            ["evaluate", "--model", "itemknn", "--dataset", str(corpus), "--min-count", "2",
             "--out", str(tmp_path / "r")],
            ["evaluate", "--model", "userknn", "--tune", "--trials", "2", "--dataset",
             str(corpus), "--min-count", "2", "--out", str(tmp_path / "r")],
            ["embed", "--method", "leporid", "--input", str(corpus), "--dim", "3",
             "--neighbors", "5", "--out", str(tmp_path / "e")]]
    code = ("import sys, json; from leporid.cli import main; rc = main(json.loads(sys.argv[1]));"
            "print('TORCH', 'torch' in sys.modules, rc)")
    env = {**os.environ, "PYTHONPATH": SRC}
    for cmd in cmds:
        r = subprocess.run([sys.executable, "-c", code, json.dumps(cmd)], capture_output=True,
                           text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        assert "TORCH False 0" in r.stdout, (cmd, r.stdout, r.stderr)


# ---------------------------------------------------------------------------------------------
# 9 / 10 / 11. bad options and parameters: exit 2, one line naming the option, before any work
# ---------------------------------------------------------------------------------------------
BAD_OPTIONS = [
    (["embed", "--dim", "1000"], "n_components"),          # 30 users x 20 items
    (["embed", "--neighbors", "0"], "--neighbors"),
    (["embed", "--neighbors", "-3"], "--neighbors"),
    (["embed", "--alpha", "1.5"], "--alpha"),
    (["embed", "--alpha", "nan"], "--alpha"),
    (["embed", "--alpha", "-0.1"], "--alpha"),
    (["embed", "--dim", "0"], "--dim"),
    (["embed", "--dim", "abc"], "--dim"),
    (["embed", "--device", "banana"], "device"),
    (["embed", "--method", "le", "--alpha", "0.3"], "--alpha"),
    (["embed", "--method", "pca"], "--method"),
    (["embed", "--laplacian", "x"], "--laplacian"),
    (["embed", "--seed", "-1"], "--seed"),
    (["evaluate", "--metric", "HR@7"], "--metric"),
    (["evaluate", "--metric", "hr@10"], "--metric"),
    (["evaluate", "--trials", "0"], "--trials"),
    (["evaluate", "--timeout", "-5"], "--timeout"),
    (["evaluate", "--batch-size", "-1"], "--batch-size"),
    (["evaluate", "--model", "nope"], "--model"),
    (["evaluate", "--param", "topk"], "--param"),
    (["evaluate", "--model", "bpr", "--param", "dim=0"], "dim must be"),
    (["evaluate", "--model", "bpr", "--param", "factors=8"], "unknown parameter"),
    (["evaluate", "--model", "bpr", "--param", "epochs=-1"], "epochs must be"),
    (["evaluate", "--model", "bpr", "--param", "reg=-5"], "reg must be"),
    (["evaluate", "--model", "bpr", "--param", "lr=0"], "lr must be"),
    (["evaluate", "--model", "slim", "--param", "topk=0"], "topk"),
    (["evaluate", "--model", "slim", "--param", "l1_ratio=2"], "l1_ratio"),
    (["evaluate", "--model", "itemknn", "--param", "tversky_alpha=-1"], "tversky_alpha"),
    (["evaluate", "--model", "userknn", "--param", "shrink=-1"], "shrink"),
    (["evaluate", "--model", "userknn", "--param", "similarity=euclid"], "similarity"),
    (["evaluate", "--model", "itemknn", "--param", "topk=abc"], "topk"),
    (["evaluate", "--model", "itemknn", "--param", "nosuch=1"], "nosuch"),
    (["evaluate", "--model", "toppop", "--param", "topk=5"], "topk"),
    (["evaluate", "--model", "toppop", "--tune", "--metric", "NDCG@3"], "--metric"),
    (["evaluate", "--model", "itemknn", "--param", "fold_in=maybe"], "fold_in"),
    (["evaluate", "--model", "userknn", "--param", "normalize=1"], "normalize must be true"),
    (["evaluate", "--seed", str(2**40)], "--seed"),
    (["data", "stats", "--format", "nope"], "--format"),
    (["data", "stats", "--min-count", "-5"], "--min-count"),
    (["data", "stats", "--min-count", "x"], "--min-count"),
    (["data", "prepare", "--min-count", "-1", "--out", "x"], "--min-count"),
    (["demo", "--trials", "0"], "--trials"),
    (["demo", "--epochs", "-1"], "--epochs"),
    (["demo", "--neighbors", "0"], "--neighbors"),
    (["demo", "--device", "banana"], "--device"),
]


@pytest.mark.parametrize("argv,needle", BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_bad_options_exit_2_with_one_line(argv, needle, corpus, tmp_path, capsys):
    data = ["--input" if argv[0] == "embed" else "--dataset", str(corpus)]
    if argv[0] != "data" or argv[1] == "stats":
        extra = ["--out", str(tmp_path / "out")] if "--out" not in argv else []
    else:
        extra = []
    full = argv[:2] + data + argv[2:] + extra if argv[0] == "data" else \
        argv[:1] + data + argv[1:] + extra
    if argv[:2] == ["data", "stats"]:
        full = [a for a in full if a not in ("--out", str(tmp_path / "out"))]
    if argv[0] == "embed" and "--dim" not in argv:
        full += ["--dim", "3", "--neighbors", "5"] if "--neighbors" not in argv else ["--dim", "3"]
    assert main(full) == 2
    one_line_error(capsys.readouterr().err, needle)
    assert not (tmp_path / "out").exists()          # refused before anything was written


@pytest.mark.parametrize("case", ["out_is_file", "save_split_is_dir", "save_recs_in_file"])
def test_bad_output_paths_refused_before_work(case, corpus, tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("keep")
    argv = ["evaluate", "--dataset", str(corpus), "--min-count", "2", "--model", "toppop"]
    if case == "out_is_file":
        argv += ["--out", str(f)]
    elif case == "save_split_is_dir":
        argv += ["--out", str(tmp_path / "r"), "--save-split", str(tmp_path)]
    else:
        argv += ["--out", str(tmp_path / "r"), "--save-recommendations", str(f / "recs.csv")]
    assert main(argv) == 2
    one_line_error(capsys.readouterr().err, "--")
    assert f.read_text() == "keep" and not (tmp_path / "r").exists()
    for argv in (["embed", "--input", str(corpus), "--out", str(f)],
                 ["data", "prepare", "--dataset", str(corpus), "--out", str(f)]):
        assert main(argv) == 2
        one_line_error(capsys.readouterr().err, "--out")


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc")
def test_unwritable_output_is_a_clean_error(corpus, tmp_path, capsys):
    assert main(["evaluate", "--dataset", str(corpus), "--min-count", "2", "--model", "toppop",
                 "--out", str(tmp_path / "r"), "--save-recommendations", "/proc/recs.csv"]) == 1
    one_line_error(capsys.readouterr().err, "cannot write /proc/recs.csv")


def test_model_parameters_validated_for_library_users():
    for name, params, word in [("bpr", {"dim": 0}, "dim must be"),
                               ("bpr", {"epochs": -1}, "epochs must be"),
                               ("bpr", {"reg": -5}, "reg must be"), ("slim", {"topk": 0}, "topk"),
                               ("itemknn", {"tversky_alpha": -1}, "tversky_alpha"),
                               ("slim", {"n_jobs": 0}, "n_jobs")]:
        with pytest.raises(ValueError, match=word):
            make_model(name, **params)
    with pytest.raises(ValueError, match="unknown parameter.*known: topk"):
        make_model("itemknn", bogus=1)
    with pytest.raises(ValueError, match="n_components"):
        LeporidEmbedding(n_components=50).fit(ratings_matrix())   # 30 items < 50
    with pytest.raises(ValueError, match="alpha"):
        LeporidEmbedding(alpha=2.0).fit(ratings_matrix())
    with pytest.raises(ValueError, match="min_count"):
        from leporid.data import kcore
        kcore(load(write_corpus(Path(os.environ.get("TMPDIR", "/tmp")) / "kc.csv")), -5)


def test_authors_format_huge_ids_refused_quickly(tmp_path, capsys):
    f = tmp_path / "train.txt"
    f.write_text("0 0 5 1\n1 1 5 2\n1000000000 1 5 3\n")
    assert main(["embed", "--input", str(f), "--format", "authors", "--dim", "1",
                 "--neighbors", "2", "--out", str(tmp_path / "e")]) == 1
    one_line_error(capsys.readouterr().err, "renumber")


# ---------------------------------------------------------------------------------------------
# 12. LeporidEmbedding / LaplacianEigenmaps are scikit-learn estimators
# ---------------------------------------------------------------------------------------------
def test_sklearn_api_basics():
    from sklearn.base import clone

    est = LeporidEmbedding(n_components=3, n_neighbors=5)
    c = clone(est).set_params(alpha=0.3)
    assert c.get_params(deep=True)["alpha"] == 0.3 and est.alpha == 0.5
    assert clone(LaplacianEigenmaps()).get_params()["alpha"] == 0.0
    X = ratings_matrix()
    U = c.fit_transform(X, np.zeros(X.shape[0]))
    assert c.n_features_in_ == X.shape[1] and U.shape == (X.shape[0], 3)
    assert c.fit(X, y=None) is c


def _estimator_checks():
    from sklearn.utils.estimator_checks import parametrize_with_checks

    # n_components=2, n_neighbors=5: scikit-learn's check data have as few as 3-4 features
    # (items), fewer than the default 64 components. No check needs to be skipped:
    # check_array_api_input skips itself (no SCIPY_ARRAY_API); everything else passes.
    return parametrize_with_checks(
        [LeporidEmbedding(n_components=2, n_neighbors=5),
         LaplacianEigenmaps(n_components=2, n_neighbors=5)],
        expected_failed_checks=lambda est: {})


@_estimator_checks()
def test_sklearn_check_estimator(estimator, check):
    check(estimator)


def test_spectral_entry_points_refuse_non_finite_graphs():
    from leporid.spectral import smallest_eigenpairs
    from leporid.spectral.laplacian import laplacian

    W = jaccard_knn_graph(ratings_matrix(), 5)
    for bad, word in ((np.nan, "NaN"), (np.inf, "inf")):
        B = W.copy()
        B.data[[0, 1]] = bad          # keep it symmetric-looking; the values are what is bad
        for fn in (lambda G: smallest_eigenpairs(G, 2), lambda G: laplacian(G)):
            with pytest.raises(ValueError, match=word):
                fn(B)


def test_save_split_removes_stale_temp_folders(corpus, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".s.{dead.pid}.abcd1234.tmp"
    (stale / "sub").mkdir(parents=True)
    (stale / "interactions.parquet").write_bytes(b"x" * 1000)
    old = os.umask(0o022)
    try:
        save_split(prepare(load(corpus), min_count=2), tmp_path / "s")
    finally:
        os.umask(old)
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inter.v2.csv", "s"]
    assert stat.S_IMODE((tmp_path / "s").stat().st_mode) == 0o755


def test_one_column_for_two_roles_and_empty_input_are_clean_errors(corpus, tmp_path, capsys,
                                                                   monkeypatch):
    assert main(["data", "stats", "--dataset", str(corpus), "--time-col", "user"]) == 1
    one_line_error(capsys.readouterr().err, "cannot be both the user and the time column")
    pq.write_table(pa.table({"user": [1, 2], "item": [3, 4]}), tmp_path / "t.parquet")
    with pytest.raises(DataError, match="cannot be both"):
        load(tmp_path / "t.parquet", item_col="user")
    # an empty --input is not silently replaced by the default --dataset
    monkeypatch.chdir(tmp_path)
    assert main(["embed", "--input", "", "--dim", "2"]) == 1
    one_line_error(capsys.readouterr().err, "interactions file")


def test_result_stem_parts_keep_their_identity():
    a = result_stem("r", "train", "d.csv", "dlr2", "le.v2").name
    b = result_stem("r", "train", "d.csv", "dlr2", "le.v3").name
    c = result_stem("r", "train", "d.csv", "dlr2", "le").name
    assert len({a, b, c}) == 3 and "." not in a + b + c and c == "train_d_dlr2_le"


def test_result_names_carry_a_non_default_seed(tmp_path):
    """Runs of several seeds into one --out never share result or checkpoint files; the
    default seed keeps the plain name."""
    from leporid.cli.common import result_stem, seed_part

    plain = result_stem(tmp_path, "evaluate", "u.data", "itemknn", seed_part(123))
    other = result_stem(tmp_path, "evaluate", "u.data", "itemknn", seed_part(124))
    assert plain.name == "evaluate_u_itemknn" and other.name == "evaluate_u_itemknn_seed124"


def test_help_says_each_default_once_and_never_none():
    """Every command's --help: no "(default: None)" and no option whose help gives its default
    twice (argparse's ArgumentDefaultsHelpFormatter appended "(default: None)" after
    "default 1000" in `leporid embed --help`)."""
    from leporid.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        text = " ".join(p.format_help().split())
        assert "(default: None)" not in text, name
        formatter = p._get_formatter()
        for action in p._actions:
            if action.help and "default" in action.help:  # says it already: nothing appended
                assert formatter._get_help_string(action) == action.help, (name, action.help)


def test_help_formatter_says_a_zero_default():
    """The formatter tells "no default" (None, False, []) by identity: 0 is a default."""
    import argparse

    from leporid.cli.common import DefaultsHelpFormatter

    p = argparse.ArgumentParser(formatter_class=DefaultsHelpFormatter)
    p.add_argument("--jobs", type=int, default=0, help="workers")
    p.add_argument("--flag", action="store_true", help="a switch")
    text = " ".join(p.format_help().split())
    assert "workers (default: 0)" in text
    assert "a switch (default" not in text
