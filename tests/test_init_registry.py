"""The initialiser registry (user registration, lazy entries, parameters), the embedding and
KNN-graph cache, `leporid embed` options and the embedding-directory loader."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import leporid.init as init
import leporid.init.registry as registry
from leporid.cli import main
from leporid.data.synthetic import power_law_interactions
from leporid.init import compute, load_embeddings, parameters, resolve_params
from leporid.init.cache import EmbeddingCache, matrix_fingerprint

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def small():
    return power_law_interactions(60, 40, 700, min_per_user=5, seed=2).to_csr()


@pytest.fixture
def counting(monkeypatch):
    """A user scheme registered with the decorator; ``calls`` counts its computations."""
    monkeypatch.setattr(registry, "SCHEMES", dict(registry.SCHEMES))
    calls = []

    @init.register("counting", check=init.positive("scale"))
    def counting_init(train, dim=64, seed=123, scale=1.0, label="x"):
        """A test scheme: seeded normal entries times ``scale``."""
        calls.append(scale)
        rng = np.random.default_rng(seed)
        return scale * rng.random((train.shape[0], dim)), scale * rng.random((train.shape[1], dim))

    return calls


# --- registry ----------------------------------------------------------------------------------
def test_registered_scheme_appears_everywhere(counting, small, capsys):
    assert "counting" in init.available()
    assert parameters("counting") == {"scale": 1.0, "label": "x"}
    assert main(["embed", "--list"]) == 0
    out = capsys.readouterr().out
    assert "counting" in out and "scale=1.0" in out and "A test scheme" in out
    u, i = init.initialize("counting", small, dim=3, seed=1, cache=False, scale=2)
    assert u.shape == (60, 3) and u.dtype == np.float32 and u.max() <= 2


def test_registration_refuses_a_signature_without_defaults(monkeypatch):
    monkeypatch.setattr(registry, "SCHEMES", dict(registry.SCHEMES))
    with pytest.raises(TypeError, match="needs a default"):
        init.register("bad")(lambda train, dim=64, seed=123, k=None, *args: None)
    with pytest.raises(TypeError, match="train, dim, seed"):
        init.register("bad")(lambda X, dim=64, seed=1: None)


def test_parameters_are_checked_before_any_work(counting):
    with pytest.raises(ValueError, match="unknown initialiser 'nope'"):
        resolve_params("nope")
    with pytest.raises(ValueError, match="unknown parameter.*foo.*known: scale, label"):
        resolve_params("counting", {"foo": 1})
    with pytest.raises(ValueError, match="scale expects float"):
        resolve_params("counting", {"scale": "big"})
    with pytest.raises(ValueError, match="counting: parameter scale must be > 0"):
        resolve_params("counting", {"scale": -1})
    with pytest.raises(ValueError, match="scale expects float"):
        resolve_params("counting", {"scale": float("inf")})
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        resolve_params("counting", {}, dim=0)
    assert resolve_params("counting", {"scale": 3}) == {"scale": 3.0, "label": "x"}
    assert counting == []


def test_lazy_entry_resolves_on_first_use(monkeypatch):
    monkeypatch.setattr(registry, "SCHEMES", {
        **registry.SCHEMES, "bpr": registry.Scheme("bpr", target=registry.LAZY["bpr"])})
    assert "bpr" in init.available() and registry.SCHEMES["bpr"].function is None
    from leporid.models.bpr import bpr_initializer
    assert init.get("bpr") is bpr_initializer
    assert registry.SCHEMES["bpr"].function is bpr_initializer
    assert parameters("bpr")["reg"] == 0.1 and parameters("bpr")["lr"] == 0.25


# --- cache -------------------------------------------------------------------------------------
def test_cache_hit_is_identical_without_recomputation(counting, small, tmp_path):
    store = EmbeddingCache(tmp_path)
    a = compute("counting", small, dim=4, seed=7, params={"scale": 2.0}, cache=store)
    b = compute("counting", small, dim=4, seed=7, params={"scale": 2.0}, cache=store)
    assert counting == [2.0] and not a.cache_hit and b.cache_hit
    np.testing.assert_array_equal(a.user, b.user)
    np.testing.assert_array_equal(a.item, b.item)
    # a fresh cache object on the same directory (another process) hits too
    c = compute("counting", small, dim=4, seed=7, params={"scale": 2}, cache=tmp_path)
    assert c.cache_hit and counting == [2.0]
    # any change of parameter, dim, seed or data misses
    compute("counting", small, dim=4, seed=7, params={"scale": 3.0}, cache=store)
    compute("counting", small, dim=4, seed=7, params={"label": "y"}, cache=store)
    compute("counting", small, dim=5, seed=7, cache=store)
    compute("counting", small, dim=4, seed=8, cache=store)
    other = small.tolil()
    other[0, 0] = 1 - other[0, 0]
    compute("counting", other.tocsr(), dim=4, seed=7, params={"scale": 2.0}, cache=store)
    assert len(counting) == 6
    assert not list(tmp_path.rglob("*.pkl"))


def test_cache_off_and_corrupt_entries(counting, small, tmp_path, monkeypatch):
    compute("counting", small, dim=2, seed=1, cache=False)
    compute("counting", small, dim=2, seed=1, cache=False)
    assert len(counting) == 2
    monkeypatch.setenv("LEPORID_CACHE", "off")
    compute("counting", small, dim=2, seed=1)
    assert len(counting) == 3
    monkeypatch.setenv("LEPORID_CACHE", str(tmp_path))
    compute("counting", small, dim=2, seed=1)
    for f in tmp_path.rglob("*.npz"):
        f.write_bytes(b"garbage")
    e = compute("counting", small, dim=2, seed=1)
    assert not e.cache_hit and len(counting) == 5


def test_knn_graph_built_once_across_an_alpha_sweep(small, tmp_path, monkeypatch):
    import leporid.graph

    built = []
    real = leporid.graph.jaccard_knn_graph

    def spy(X, k, **kw):
        built.append((X.shape, k))
        return real(X, k, **kw)

    monkeypatch.setattr(leporid.graph, "jaccard_knn_graph", spy)
    store = EmbeddingCache(tmp_path)
    outs = [compute("leporid", small, dim=4, seed=1, cache=store,
                    params={"n_neighbors": 15, "alpha": a}) for a in (0.2, 0.5, 0.8)]
    compute("netmf", small, dim=4, seed=1, cache=store, params={"n_neighbors": 15, "rank": 20})
    assert built == [((60, 40), 15), ((40, 60), 15)]
    assert not np.allclose(outs[0].user, outs[2].user)
    ref = compute("leporid", small, dim=4, seed=1, cache=False,
                  params={"n_neighbors": 15, "alpha": 0.5})
    np.testing.assert_allclose(outs[1].user, ref.user, atol=1e-6)
    assert len(built) == 4  # no cache: built again
    compute("leporid", small, dim=4, seed=1, cache=store, params={"n_neighbors": 16})
    assert built[4:] == [((60, 40), 16), ((40, 60), 16)]


def test_fingerprint_depends_on_the_pattern_only():
    X = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 0]], np.float32))
    Y = X.copy()
    Y.data[:] = 5.0
    assert matrix_fingerprint(X) == matrix_fingerprint(Y)
    assert matrix_fingerprint(X) != matrix_fingerprint(X.T.tocsr())
    assert matrix_fingerprint(X) != matrix_fingerprint(sp.csr_matrix((2, 4)))


# --- leporid embed -----------------------------------------------------------------------------
@pytest.mark.parametrize("argv,message", [
    (["--method", "nope"], "unknown initialiser 'nope'"),
    (["--method", "svd", "--param", "foo=1"], "unknown parameter(s) foo"),
    (["--method", "node2vec", "--param", "p=-1"], "p must be > 0"),
    (["--method", "node2vec", "--param", "p=abc"], "p expects float"),
    (["--method", "le", "--alpha", "0.3"], "--alpha does not apply to le"),
    (["--method", "svd", "--dim", "0"], "argument --dim: must be an integer >= 1"),
    (["--method", "svd", "--plot", "x.pdf"], "--plot expects a .png"),
])
def test_embed_user_errors_exit_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    import leporid.data

    monkeypatch.setattr(leporid.data, "load", lambda *a, **k: pytest.fail("loaded data"))
    assert main(["embed", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_embed_param_writes_today_format_and_loads_back(tmp_path, capsys):
    from leporid.cli import build_parser
    from leporid.cli.common import load_split

    out = tmp_path / "svd"
    argv = ["embed", "--method", "node2vec", "--param", "walk_length=10",
            "--param", "walks_per_node=2", "--param", "q=0.5", "--dim", "6", "--out", str(out),
            "--plot", str(tmp_path / "p.png")]
    assert main(argv) == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["params"]["q"] == 0.5 and meta["params"]["walk_length"] == 10
    assert meta["config"]["method"] == "node2vec" and meta["data_fingerprint"]
    assert meta["cache"] == "miss" and "skipgram" in meta["timings_s"]
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(argv) == 0
    assert json.loads((out / "metadata.json").read_text())["cache"] == "hit"
    split = load_split(build_parser().parse_args(["embed"]))
    e = load_embeddings(out, split)
    assert e.user.shape == (split.n_users, 6) and e.scheme == "node2vec" and e.params["q"] == 0.5
    np.testing.assert_array_equal(e.user, np.load(out / "user_embeddings.npy"))
    assert main(argv[:-2] + ["--no-cache"]) == 0
    assert json.loads((out / "metadata.json").read_text())["cache"] == "miss"


def test_embed_does_not_import_torch_for_non_torch_schemes(tmp_path):
    code = (
        "import argparse, sys\n"
        "from leporid.cli import embed_cmd\n"
        "p = argparse.ArgumentParser(); sub = p.add_subparsers(); embed_cmd.register(sub)\n"
        "for m in ('svd', 'random', 'leporid', 'le', 'netmf'):\n"
        f"    a = p.parse_args(['embed', '--method', m, '--dim', '4', '--neighbors', '30',"
        f" '--out', r'{tmp_path}/' + m, '--device', 'cpu', '--no-cache'] +"
        " ([] if m in ('le', 'leporid', 'netmf') else []))\n"
        "    if m in ('svd', 'random'): a.neighbors = None\n"
        "    assert a.func(a) == 0\n"
        "print(sorted(k for k in ('torch', 'gensim', 'matplotlib') if k in sys.modules))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin",
                              "HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"


# --- loader ------------------------------------------------------------------------------------
def _write(tmp_path, U, I, uids, iids):
    from leporid.init.loader import save_embeddings

    return save_embeddings(tmp_path / "e", U, I, uids, iids, {"config": {"method": "x"}})


def test_loader_reorders_rows_to_the_split_and_refuses_mismatches(tmp_path):
    from types import SimpleNamespace

    U = np.arange(12, dtype=np.float32).reshape(4, 3)
    I = np.arange(9, dtype=np.float32).reshape(3, 3)
    d = _write(tmp_path, U, I, np.array([10, 11, 12, 13]), np.array(["a", "b", "c"]))
    split = SimpleNamespace(user_ids=np.array([12, 10]), item_ids=np.array(["c", "a", "b"],
                                                                           dtype=object))
    e = load_embeddings(d, split)
    np.testing.assert_array_equal(e.user, U[[2, 0]])
    np.testing.assert_array_equal(e.item, I[[2, 0, 1]])
    with pytest.raises(ValueError, match="1 of the split's 2 users have no embedding.*99"):
        load_embeddings(d, SimpleNamespace(user_ids=np.array([10, 99]), item_ids=split.item_ids))
    (d / "item_ids.npy").unlink()
    with pytest.raises(FileNotFoundError, match="missing item_ids.npy"):
        load_embeddings(d)


@pytest.mark.parametrize("bad,match", [
    (lambda U, I: (U, I[:, :2]), "dimension"),
    (lambda U, I: (U[:3], I), "4 ids for 3 rows"),
    (lambda U, I: (U * np.nan, I), "NaN"),
    (lambda U, I: (U.ravel(), I), "2-D float"),
])
def test_loader_checks_shapes_and_values(tmp_path, bad, match):
    U, I = np.ones((4, 3), np.float32), np.ones((3, 3), np.float32)
    U, I = bad(U, I)
    d = _write(tmp_path, U, I, np.arange(4), np.arange(3))
    with pytest.raises(ValueError, match=match):
        load_embeddings(d)


def test_plot_projections(tmp_path):
    from leporid.init.plot import plot_embeddings, project

    rng = np.random.default_rng(0)
    E = rng.standard_normal((40, 5))
    Y = project(E, "pca")
    C = E - E.mean(0)
    np.testing.assert_allclose(np.abs(Y[:, 0]), np.abs(C @ np.linalg.svd(C)[2][0]), atol=1e-10)
    assert project(E, "tsne", seed=1).shape == (40, 2)
    with pytest.raises(ValueError, match="projection"):
        project(E, "umap")
    path = plot_embeddings(E, E[:30], np.arange(40), np.arange(30), tmp_path / "p.png",
                           projection="pca", title="t")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_editing_a_schemes_source_invalidates_its_cache(counting, small, tmp_path, monkeypatch):
    import leporid.init.cache as cache

    store = EmbeddingCache(tmp_path)
    compute("counting", small, dim=2, seed=1, cache=store)
    monkeypatch.setattr(cache, "code_fingerprint", lambda fn: "edited")
    e = compute("counting", small, dim=2, seed=1, cache=store)
    assert not e.cache_hit and len(counting) == 2


def test_cache_key_fingerprints_the_code_that_was_imported(tmp_path, monkeypatch):
    """A file edited while a long run is going must not give the old in-memory code's output the
    edited file's key: the fingerprint is taken when the scheme is registered."""
    import importlib

    from leporid.init.cache import code_fingerprint
    from leporid.init.registry import SCHEMES

    src = tmp_path / "leporid_tmp_scheme.py"
    src.write_text("from leporid.init import register\n\n"
                   "@register('tmp-edited')\ndef tmp(train, dim=2, seed=1):\n"
                   "    return train, train\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        importlib.import_module("leporid_tmp_scheme")
        fn = SCHEMES["tmp-edited"].function
        before = code_fingerprint(fn)
        src.write_text(src.read_text() + "# edited\n")
        assert code_fingerprint(fn) == before
    finally:
        SCHEMES.pop("tmp-edited", None)


def test_train_from_an_embedding_directory(tmp_path, capsys):
    emb = tmp_path / "svd"
    assert main(["embed", "--method", "svd", "--dim", "8", "--out", str(emb)]) == 0
    out = tmp_path / "res"
    assert main(["train", "--model", "bpr", "--init-file", str(emb), "--epochs", "1",
                 "--out", str(out)]) == 0
    assert "initial embeddings from" in capsys.readouterr().out
    assert list(out.glob("train_*_bpr_file.json"))
    capsys.readouterr()
    for argv, message in ((["--dim", "16"], "dimension 8"),
                          (["--init", "leporid"], "replaces --init"),
                          (["--init-file", str(tmp_path / "none")], "no such directory"),
                          (["--init", "node2vec", "--init-param", "q=0"], "q must be > 0")):
        base = ["train", "--model", "bpr", "--epochs", "1", "--out", str(out)]
        if "--init-file" not in argv and "node2vec" not in argv:
            base += ["--init-file", str(emb)]
        assert main(base + argv) == 2
        assert message in capsys.readouterr().err


def test_doc_example_registers_a_scheme_that_reaches_every_consumer(monkeypatch, capsys):
    """docs/add-an-initialiser.md's code blocks, run as written."""
    import re

    monkeypatch.setattr(registry, "SCHEMES", dict(registry.SCHEMES))
    doc = Path(__file__).resolve().parents[1] / "docs" / "add-an-initialiser.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert len(blocks) == 2
    namespace = {}
    for block in blocks:
        exec(compile(block, str(doc), "exec"), namespace)
    assert main(["embed", "--list"]) == 0
    assert "degree-random" in capsys.readouterr().out
    with pytest.raises(ValueError, match="std must be > 0"):
        resolve_params("degree-random", {"std": 0.0})
