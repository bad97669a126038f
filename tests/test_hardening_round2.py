"""Issue 23, round-2 defects: wrong results, hangs, tracebacks and unclear messages.

Every case fails on the code before the fix. Exit statuses: 1 bad data, 2 bad option; errors
are one line ``leporid CMD: error: ...`` naming the option or the file. Cases marked "before any
work" name a dataset that does not exist: the error must be the option's, not the dataset's.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from test_hardening import one_line_error, write_corpus

from leporid.cli import main
from leporid.data import load, prepare
from leporid.init import initialize, load_embeddings, resolve_params
from leporid.init.spectral_estimators import LeporidEmbedding
from leporid.spectral import laplacian, smallest_eigenpairs

NO_DATA = "/nonexistent/ratings.csv"


@pytest.fixture()
def corpus(tmp_path):
    return write_corpus(tmp_path / "inter.csv", n_users=40, n_items=25, per_user=10)


@pytest.fixture()
def no_cuda(monkeypatch):
    """A machine with a GPU driver but no usable CUDA device (the check must not rely on the
    test machine having no GPU)."""
    import leporid.utils.device as dev

    monkeypatch.setattr(dev, "gpu_driver_present", lambda: True)
    monkeypatch.setattr(dev, "cuda_device_count", lambda: 0, raising=False)
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def run_cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def small_matrix(seed=0, n_users=30, n_items=20, density=0.3):
    rng = np.random.default_rng(seed)
    X = (rng.random((n_users, n_items)) < density).astype(np.float32)
    X[np.arange(n_users), rng.integers(0, n_items, n_users)] = 1
    return sp.csr_matrix(X)


# ---------------------------------------------------------------------------------------------
# --device: one validation, before any work, for every entry point
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,needle", [
    (["embed", "--device", "cuda"], "--device 'cuda'"),
    (["embed", "--device", "gpu"], "--device: unknown device 'gpu'"),
    (["embed", "--method", "svd", "--device", "cuda:1"], "--device 'cuda:1'"),
    (["embed", "--param", "device=cuda"], "CUDA is not available"),
    (["demo", "--device", "cuda"], "--device 'cuda'"),
    (["train", "--model", "bpr", "--init", "leporid", "--init-param", "device=cuda"],
     "CUDA is not available"),
    (["train", "--model", "bpr", "--device", "cuda"], "CUDA is not available"),
])
def test_device_refused_before_any_work(no_cuda, argv, needle, tmp_path, capsys):
    code, _, err = run_cli([*argv, "--dataset", NO_DATA, "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    one_line_error(err, needle)


def test_device_refused_by_the_library(no_cuda):
    X = small_matrix()
    with pytest.raises(ValueError, match="CUDA is not available"):
        LeporidEmbedding(n_components=2, n_neighbors=5, device="cuda").fit(X)
    with pytest.raises(ValueError, match="CUDA is not available"):
        initialize("leporid", X, dim=2, n_neighbors=5, device="cuda", cache=False)
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        resolve_params("le", {"device": "gpu"}, 4)


def test_embed_records_the_resolved_device_and_labels_its_timing(corpus, tmp_path, capsys):
    out = tmp_path / "e"
    code, stdout, _ = run_cli(["embed", "--input", str(corpus), "--dim", "3", "--neighbors", "5",
                               "--out", str(out), "--no-cache"], capsys)
    assert code == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["params"]["device"] == "cpu" and meta["config"]["device"] == "cpu"
    timing = [line for line in stdout.splitlines() if line.strip().endswith("s")
              and line.strip()[:1].isdigit()]
    assert not timing, stdout                       # no bare "1.02s" line
    assert "computed in" in stdout


# ---------------------------------------------------------------------------------------------
# approximate: one reading of the setting; {} / "" / no value mean "approximate, defaults"
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag", [["--approximate"], ["--approximate="],
                                  ["--param", "approximate=true"],
                                  ["--param", "approximate=sample=10"]])
def test_embed_approximate_without_values_builds_the_approximate_graph(flag, corpus, tmp_path,
                                                                        capsys):
    out = tmp_path / "e"
    code, stdout, _ = run_cli(["embed", "--input", str(corpus), "--dim", "3", "--neighbors", "5",
                               "--out", str(out), "--no-cache", *flag], capsys)
    assert code == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert "graph_recall" in meta["graphs"]["user"], meta["graphs"]["user"]
    assert "approximate graph recall" in stdout


def test_library_approximate_empty_dict_is_approximate():
    X = small_matrix()
    est = LeporidEmbedding(n_components=2, n_neighbors=5, approximate={}).fit(X)
    assert "graph_recall" in est.info_["user"]
    exact = LeporidEmbedding(n_components=2, n_neighbors=5, approximate=False).fit(X)
    assert "graph_recall" not in exact.info_["user"]


@pytest.mark.parametrize("value,needle", [("yes", "KEY=INT"), ("5", "approximate must be"),
                                          ("bands=x", "bands must be a whole number"),
                                          ("colour=3", "KEY=INT")])
def test_approximate_param_errors_are_clear_and_early(value, needle, tmp_path, capsys):
    code, _, err = run_cli(["embed", "--dataset", NO_DATA, "--param", f"approximate={value}",
                            "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    one_line_error(err, needle)
    assert "dictionary update" not in err


def test_approximate_param_parses_a_spec():
    p = resolve_params("leporid", {"approximate": "bands=64,refine=2"}, 8)
    assert p["approximate"] == {"bands": 64, "refine": 2}
    assert resolve_params("leporid", {"approximate": ""}, 8)["approximate"] == {}
    assert resolve_params("leporid", {}, 8)["approximate"] is None


def test_approximate_sample_is_clamped_in_the_message(corpus, tmp_path, capsys):
    code, stdout, _ = run_cli(["embed", "--input", str(corpus), "--dim", "3", "--neighbors", "5",
                               "--out", str(tmp_path / "e"), "--no-cache",
                               "--approximate", "sample=99999999"], capsys)
    assert code == 0
    assert "sample of 99999999" not in stdout
    assert "sample of 40 rows" in stdout and "sample of 25 rows" in stdout


# ---------------------------------------------------------------------------------------------
# dimensions and values the data cannot carry
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["svd", "netmf", "le", "leporid"])
def test_dim_above_the_smaller_side_is_refused_for_every_factorisation(method, corpus, tmp_path,
                                                                       capsys):
    code, _, err = run_cli(["embed", "--input", str(corpus), "--method", method, "--dim", "2000",
                            "--out", str(tmp_path / "e"), "--no-cache"]
                           + (["--neighbors", "5"] if method != "svd" else []), capsys)
    assert code == 2
    one_line_error(err, "must be <= 25", method)
    assert not (tmp_path / "e").exists()


def test_random_std_beyond_float32_is_refused(corpus, tmp_path, capsys):
    code, _, err = run_cli(["embed", "--input", str(corpus), "--method", "random", "--param",
                            "std=1e39", "--out", str(tmp_path / "e")], capsys)
    assert code == 2
    one_line_error(err, "non-finite")
    assert not (tmp_path / "e" / "user_embeddings.npy").exists()


def test_matrix_that_is_none_or_text_is_named(tmp_path):
    for bad in (None, "ratings.csv", np.array([["a", "b"]])):
        with pytest.raises((TypeError, ValueError), match="matrix|real numbers") as info:
            LeporidEmbedding(n_components=2).fit(bad)
        assert "NaN" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# isolated nodes: zero rows, exactly, even when eigenvalue 1 is among the 𝒟 smallest
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sym", "rw", "unnorm"])
@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_isolated_nodes_get_zero_rows_against_dense_eigh(kind, alpha):
    rng = np.random.default_rng(3)
    n = 24
    A = np.triu((rng.random((n, n)) < 0.3) * rng.random((n, n)), 1)
    A = A + A.T
    iso = [2, 9, 17]
    A[iso, :] = 0
    A[:, iso] = 0
    W = sp.csr_matrix(A)
    keep = np.flatnonzero(A.sum(1) > 0)
    assert set(iso) <= set(np.flatnonzero(A.sum(1) == 0))
    k = len(keep)               # every eigenvalue: 1 (sym/rw) or d_reg (unnorm) is among them
    res = smallest_eigenpairs(W, k, alpha=alpha, kind=kind)
    assert np.abs(res.vectors[A.sum(1) == 0]).max() == 0.0
    L = laplacian(W[keep][:, keep], alpha, kind).toarray()
    want = np.sort(np.linalg.eigvals(L).real) if kind == "rw" else scipy.linalg.eigvalsh(L)
    np.testing.assert_allclose(res.eigenvalues, want, atol=1e-8)
    assert res.residuals.max() < 1e-6
    # more columns than connected nodes: the rest are unit vectors of isolated nodes
    iso_rows = A.sum(1) == 0
    more = smallest_eigenpairs(W, k + 2, alpha=alpha, kind=kind)
    unit = np.flatnonzero(np.abs(more.vectors[iso_rows]).sum(0) > 0)
    assert len(unit) == 2 and (np.abs(more.vectors[iso_rows][:, unit]).sum(0) == 1).all()
    assert (np.diff(more.eigenvalues) >= 0).all() and more.residuals.max() < 1e-6


# ---------------------------------------------------------------------------------------------
# the cache is optional: damaged entries are recomputed and replaced, a bad folder is a note
# ---------------------------------------------------------------------------------------------
def _entries(root: Path, kind: str, suffix: str):
    return sorted((root / kind).glob(f"*{suffix}"))


@pytest.mark.parametrize("kind,suffix,damage", [
    ("embeddings", ".npz", "truncate"), ("embeddings", ".json", "list"),
    ("embeddings", ".json", "binary"), ("graphs", ".npz", "truncate"),
    ("graphs", ".npz", "empty")])
def test_damaged_cache_entry_is_recomputed_and_replaced(kind, suffix, damage, tmp_path):
    X = small_matrix()
    cache = tmp_path / "cache"
    args = dict(dim=3, n_neighbors=5, output="raw", cache=cache)
    u0, i0 = initialize("leporid", X, **args)
    entry = _entries(cache, kind, suffix)[0]
    good = entry.read_bytes()
    entry.write_bytes({"truncate": good[: len(good) // 2], "list": b"[1, 2]", "empty": b"",
                       "binary": b"\xff\xfe\x00"}[damage])
    if kind == "graphs":       # reach the graph: drop the embedding entry
        for f in _entries(cache, "embeddings", ""):
            f.unlink()
    with pytest.warns(UserWarning, match=entry.name):
        u1, i1 = initialize("leporid", X, **args)
    np.testing.assert_array_equal(u0, u1)
    np.testing.assert_array_equal(i0, i1)
    if suffix == ".npz":                           # replaced by the recomputed entry
        assert entry.read_bytes() == good
    else:                                          # (its timings differ)
        assert json.loads(entry.read_text())["key"] == json.loads(good)["key"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        initialize("leporid", X, **args)           # and read back without a note


def test_unwritable_cache_folder_never_aborts_embed(corpus, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")                        # the cache root cannot be created
    monkeypatch.setenv("LEPORID_CACHE", str(blocker / "cache"))
    code, _, err = run_cli(["embed", "--input", str(corpus), "--dim", "3", "--neighbors", "5",
                            "--out", str(tmp_path / "e")], capsys)
    assert code == 0 and (tmp_path / "e" / "user_embeddings.npy").is_file()
    # said as every command says a note: one line, no Python warning format
    assert "leporid embed: note: could not write the cache entry" in err
    assert "Warning" not in err and ".py:" not in err


# ---------------------------------------------------------------------------------------------
# --init-file folders: one reader that checks every file and names it
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """A corpus, its split and a folder of its LE embeddings (``leporid embed``)."""
    root = tmp_path_factory.mktemp("emb")
    corpus = write_corpus(root / "inter.csv", n_users=40, n_items=25, per_user=10)
    folder = root / "e"
    assert main(["embed", "--dataset", str(corpus), "--min-count", "2", "--method", "svd",
                 "--dim", "4", "--out", str(folder), "--no-cache"]) == 0
    return corpus, folder, prepare(load(corpus), min_count=2)


def _damaged_copy(folder: Path, tmp_path: Path, file: str, content) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    target = copy / file
    if callable(content):
        content(target)
    else:
        target.write_bytes(content)
    return copy


def _npz_under_npy_name(target):
    with open(target, "wb") as f:
        np.savez(f, a=np.ones((3, 4)))


def _too_big_for_float32(target):
    E = np.load(target).astype(np.float64)
    E[0, 0] = 1e39
    np.save(target, E)


def _config_string(target):
    meta = json.loads(target.read_text())
    meta["config"] = "leporid"
    target.write_text(json.dumps(meta))


@pytest.mark.parametrize("file,content,needle", [
    ("user_embeddings.npy", b"", "empty file"),
    ("item_ids.npy", b"", "empty file"),
    ("user_embeddings.npy", _npz_under_npy_name, ".npz archive"),
    ("item_embeddings.npy", b"not an array", "not a readable .npy"),
    ("metadata.json", b"[1, 2]", "expected a JSON object"),
    ("metadata.json", b"\xff\xfe{", "not valid JSON"),
    ("metadata.json", _config_string, "'config' must be an object"),
    ("user_embeddings.npy", _too_big_for_float32, "do not fit float32"),
])
def test_damaged_init_folder_names_the_file(embedded, tmp_path, file, content, needle):
    _, folder, split = embedded
    copy = _damaged_copy(folder, tmp_path, file, content)
    for kwargs in ({}, {"split": split}):
        with pytest.raises(ValueError, match=needle) as info:
            load_embeddings(copy, **kwargs)
        assert file in str(info.value)


def test_init_folder_of_other_data_is_refused(embedded, tmp_path):
    corpus, folder, split = embedded
    other_file = write_corpus(tmp_path / "other.csv", n_users=40, n_items=25, per_user=10,
                              seed=1)
    other = prepare(load(other_file), min_count=2)  # another dataset, the same raw ids
    assert other.fingerprint() != split.fingerprint()
    with pytest.raises(ValueError, match="other data") as info:
        load_embeddings(folder, other)
    assert "metadata.json" in str(info.value)
    assert load_embeddings(folder, split).dim == 4


def test_missing_ids_are_printed_plainly(embedded, tmp_path):
    _, folder, split = embedded
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    for side in ("user", "item"):
        E = np.load(copy / f"{side}_embeddings.npy")[1:]
        np.save(copy / f"{side}_embeddings.npy", E)
        np.save(copy / f"{side}_ids.npy", np.load(copy / f"{side}_ids.npy")[1:])
    with pytest.raises(ValueError, match="have no embedding") as info:
        load_embeddings(copy, split)
    assert "np.str_" not in str(info.value) and "(e.g. id '" in str(info.value)


def test_init_folders_differ_by_fingerprint(embedded, tmp_path):
    _, folder, _ = embedded
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    E = np.load(copy / "user_embeddings.npy")
    np.save(copy / "user_embeddings.npy", E + 1)
    a, b = load_embeddings(folder).info["folder"], load_embeddings(copy).info["folder"]
    assert a["fingerprint"] != b["fingerprint"]


# ---------------------------------------------------------------------------------------------
# embed: options checked before the embeddings are computed
# ---------------------------------------------------------------------------------------------
def test_embed_unwritable_plot_fails_before_work(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, _, err = run_cli(["embed", "--dataset", NO_DATA, "--plot", str(blocker / "p.png"),
                            "--out", str(tmp_path / "e")], capsys)
    assert code == 2
    one_line_error(err, "--plot")


# ---------------------------------------------------------------------------------------------
# --scheduler: bounded, refused forms, no scratch folders left
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec,needle", [("local:100000", "at most"),
                                         ("ucx://host:13337", "expected local:N"),
                                         ("inproc://foo", "expected local:N")])
def test_scheduler_refused_by_the_parser(spec, needle, tmp_path, capsys):
    code, _, err = run_cli(["embed", "--dataset", NO_DATA, "--scheduler", spec,
                            "--out", str(tmp_path / "e")], capsys)
    assert code == 2
    one_line_error(err, "--scheduler", needle)


def test_local_cluster_leaves_no_scratch_folder(corpus, tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    code, _, _ = run_cli(["embed", "--input", str(corpus), "--dim", "3", "--neighbors", "5",
                          "--scheduler", "local:1", "--out", str(tmp_path / "e"), "--no-cache",
                          "--approximate"], capsys)
    assert code == 0
    assert list(scratch.iterdir()) == []
    meta = json.loads((tmp_path / "e" / "metadata.json").read_text())
    assert "graph_recall" in meta["graphs"]["user"]     # on Dask too: {} is approximate


# ---------------------------------------------------------------------------------------------
# train --init-file: other embeddings never share a checkpoint or a result
# ---------------------------------------------------------------------------------------------
def test_train_init_files_never_share_a_checkpoint(embedded, tmp_path, capsys):
    corpus, folder, _ = embedded
    other = tmp_path / "e2"
    shutil.copytree(folder, other)
    np.save(other / "user_embeddings.npy", np.load(other / "user_embeddings.npy") * 0.5)
    out = tmp_path / "res"
    base = ["train", "--dataset", str(corpus), "--min-count", "2", "--model", "bpr",
            "--epochs", "1", "--out", str(out)]
    assert main([*base, "--init-file", str(folder)]) == 0
    capsys.readouterr()
    assert main([*base, "--init-file", str(other)]) == 0
    assert "resuming" not in capsys.readouterr().out
    results = sorted(out.glob("train_*_bpr_file*.json"))
    assert len(results) == 2, results
    recorded = [json.loads(r.read_text())["config"]["init_file"] for r in results]
    assert {r["fingerprint"] for r in recorded} == {
        load_embeddings(f).info["folder"]["fingerprint"] for f in (folder, other)}
    assert all(not Path(r["path"]).is_absolute() for r in recorded)


# ---------------------------------------------------------------------------------------------
# reproduce / report: options validated before any work, exit 2, one line
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv,needle", [
    (["reproduce", "table3", "--device", "gpu"], "--device"),
    (["reproduce", "table3", "--device", "cuda"], "--device"),
    (["reproduce", "table3", "--seeds", "99999999999999999999"], "--seeds"),
    (["reproduce", "table3", "--models", "itemknn"], "not a Table 3 model"),
])
def test_reproduce_options_refused_before_any_work(no_cuda, argv, needle, tmp_path, capsys):
    code, _, err = run_cli([*argv, "--dataset", NO_DATA, "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    one_line_error(err, needle)


@pytest.mark.parametrize("argv", [
    ["reproduce", "table2", "--dataset", NO_DATA],
    ["report", "RESULTS"]])
def test_out_that_is_a_file_is_a_usage_error(argv, tmp_path, capsys):
    results = _results_folder(tmp_path / "res")
    target = tmp_path / "file.txt"
    target.write_text("x")
    argv = [str(results) if a == "RESULTS" else a for a in argv]
    code, _, err = run_cli([*argv, "--out", str(target)], capsys)
    assert code == 2
    one_line_error(err, "--out")


def _results_folder(folder: Path, name: str = "table2", **doc) -> Path:
    """A results folder with a sound artefact (Table 2: JSON with rows + its Markdown table),
    and ``name`` (when not table2) with ``doc``'s fields over the sound ones."""
    folder.mkdir(parents=True, exist_ok=True)
    base = {"artefact": "table2", "rows": [{"dataset": "x", "users": 3}],
            "config": {"dataset": "x", "budget": {"name": "smoke"}}, "seed": 123}
    table = "## Table 2\n\n| dataset | users |\n|---|---|\n| x | 3 |\n"
    for stem, fields in {"table2": {}, name: doc}.items():
        (folder / f"{stem}.json").write_text(json.dumps({**base, "artefact": stem, **fields}))
        (folder / f"{stem}.md").write_text(table)
    return folder


def test_report_embeds_only_files_inside_the_results_folder(tmp_path, capsys):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"SECRET-BYTES-OUTSIDE")
    res = _results_folder(tmp_path / "res")
    with open(res / "table2.md", "a") as f:
        f.write("\n![leak](../secret.png)\n")
    main(["report", str(res)])
    capsys.readouterr()
    import base64

    from leporid.experiments.report import markdown_to_html

    leaked = base64.b64encode(b"SECRET-BYTES-OUTSIDE").decode()
    assert leaked not in (res / "report.html").read_text()
    for name in ("../secret.png", str(secret)):  # the renderer itself, for any page
        assert leaked not in markdown_to_html(f"![x]({name})\n", res)


def test_report_names_an_unreadable_artefact(tmp_path, capsys):
    res = _results_folder(tmp_path / "res")
    (res / "table3.json").write_text('{"rows": [1, 2')
    (res / "table3.md").write_text("## Table 3\n")
    code, out, err = run_cli(["report", str(res)], capsys)
    assert "table3.json" in out + err


@pytest.mark.parametrize("doc", [{"config": [1]}, {"config": {"budget": "smoke"}},
                                 {"config": "text"}, {"claims": [{"verdict": "x"}]},
                                 {"claims": ["text"]}, {"md": b"## T\n\xff\xfe\n"}])
def test_report_names_an_odd_artefact_and_keeps_the_rest(doc, tmp_path, capsys):
    md = doc.pop("md", None)
    res = _results_folder(tmp_path / "res", "table3", **doc)
    if md is not None:
        (res / "table3.md").write_bytes(md)
    code, _, err = run_cli(["report", str(res)], capsys)
    assert code == 0 and "Traceback" not in err
    page = (res / "report.md").read_text()
    assert "table2" in page
    if "table3" not in page:                   # left out: then said, naming the file
        assert "table3.json" in err and "note:" in err


def test_report_md_escapes_dataset_names(tmp_path, capsys):
    res = _results_folder(tmp_path / "res",
                          config={"dataset": "<img src=x onerror=alert(1)>", "budget": {}})
    assert main(["report", str(res)]) == 0
    md = (res / "report.md").read_text()
    assert "<img src=x" not in md


@pytest.mark.parametrize("content", [b"[]", b'"text"', b"\xff\xfe"])
def test_damaged_cell_cache_file_is_recomputed(content, tmp_path):
    from leporid.experiments.grid import CellCache

    cache = CellCache(tmp_path / "cells", fresh=False)
    config = {"kind": "test", "x": 1}
    cache.path(config).parent.mkdir(parents=True, exist_ok=True)
    cache.path(config).write_bytes(content)
    assert cache.get(config) is None


# ---------------------------------------------------------------------------------------------
# recommend and the models' library API
# ---------------------------------------------------------------------------------------------
def test_recommend_min_count_checked_before_loading(tmp_path, capsys):
    code, _, err = run_cli(["recommend", "--checkpoint", str(tmp_path / "none.pt"), "--users",
                            "1", "--dataset", NO_DATA, "--min-count", "-3"], capsys)
    assert code == 2
    one_line_error(err, "--min-count")


def _tables(n_users=30, n_items=20, dim=4):
    nn = pytest.importorskip("torch.nn")
    return nn.Embedding(n_users, dim), nn.Embedding(n_items, dim)


@pytest.mark.parametrize("case", ["data None", "text arrays", "dim 0", "freeze text",
                                  "padding beyond"])
def test_seed_embeddings_refuses_bad_arguments(case):
    from leporid.models.embedding import seed_embedding, seed_embeddings

    U, item_table = _tables()
    X = small_matrix()
    calls = {
        "data None": lambda: seed_embeddings(U, item_table, None, init="random"),
        "text arrays": lambda: seed_embeddings(U, item_table, X, init=(
            np.full((30, 4), "a"), np.full((20, 4), "b"))),
        "dim 0": lambda: seed_embeddings(U, item_table, X, init="random", dim=0),
        "freeze text": lambda: seed_embeddings(U, item_table, X, init="random", freeze="no"),
        "padding beyond": lambda: seed_embedding(_tables(21, 21)[1], np.zeros((20, 4)),
                                                 padding_idx=100),
    }
    with pytest.raises((ValueError, TypeError)) as info:
        calls[case]()
    assert type(info.value).__name__ in ("ValueError", "TypeError")
    assert "NoneType" not in str(info.value) and "ufunc" not in str(info.value)


@pytest.mark.parametrize("model", ["itemknn", "toppop", "slim", "bpr", "dlr2"])
def test_fit_none_says_none_is_not_a_matrix(model):
    from leporid.models import make_model

    with pytest.raises((TypeError, ValueError), match="None") as info:
        make_model(model).fit(None)
    assert "NaN" not in str(info.value) and "dtype object" not in str(info.value)


def test_load_model_damaged_files_are_named(tmp_path):
    torch = pytest.importorskip("torch")
    from leporid.models import TopPop, load_model

    split = prepare(load(write_corpus(tmp_path / "c.csv")), min_count=2)
    path = TopPop().fit(split).save(tmp_path / "toppop.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    dropped = next(k for k in arrays if k.endswith(":data"))
    arrays.pop(dropped)
    np.savez(tmp_path / "damaged.npz", **arrays)
    with pytest.raises(ValueError, match="damaged.npz"):
        load_model(tmp_path / "damaged.npz")
    torch.save({"model": "itemknn", "params": {}}, tmp_path / "ik.pt")
    with pytest.raises(ValueError, match="ik.pt"):
        load_model(tmp_path / "ik.pt")


def test_train_model_checked_with_the_init_folders_dimension(embedded, tmp_path, capsys):
    corpus, folder, _ = embedded                  # dimension 4
    code, _, err = run_cli(["train", "--dataset", NO_DATA, "--model", "dgcf", "--param",
                            "factors=3", "--init-file", str(folder), "--out",
                            str(tmp_path / "r")], capsys)
    assert code == 2
    one_line_error(err, "dim (4)")


@pytest.mark.parametrize("content", [b"[]", b'"text"', b"\xff\xfe", b'{"row": 1'])
def test_demo_damaged_row_file_is_recomputed_with_a_note(content, tmp_path, capsys):
    from leporid.cli.demo_cmd import _RowStore

    store = _RowStore(tmp_path / "rows", {"fingerprint": "f"}, fresh=False)
    key = {"row": "leporid"}
    store.put(key, {"model": "x"})
    assert store.get(key) == {"model": "x"}
    path = next((tmp_path / "rows").glob("*.json"))
    path.write_bytes(content)
    assert store.get(key) is None
    assert path.name in capsys.readouterr().err
