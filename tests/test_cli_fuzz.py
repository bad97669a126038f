"""Fuzzing the CLI (issue 11): generated option values and malformed data lines.

Every generated case runs ``leporid.cli.main`` in-process and is classified by an oracle that
does not use the code under test:

- a *traceback*: an exception escapes ``main``, or stderr shows a traceback / several lines;
- a *silent wrong result*: exit 0 although the oracle says the input was invalid, or exit 0 with
  a result that differs from an independent computation (brute-force k-core counts, the
  row count of the valid lines, the metrics of a run with the default batch size, embedding
  shapes), or a non-zero exit although the input was valid;
- otherwise a *clean error* (exit 1 for bad data, 2 for a bad option, one line) or a correct
  success.

The counts are asserted (tracebacks and wrong results: 0) and, with ``LEPORID_FUZZ_REPORT=FILE``,
written to FILE. Bounded: a few dozen examples per test, no deadline (numba warm-up).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leporid.cli import main

COUNTS: Counter = Counter()
SETTINGS = dict(deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
N_USERS, N_ITEMS, PER_USER = 24, 16, 10
METRIC_NAMES = [f"{m}@{k}" for m in ("HR", "Precision", "Recall", "F1", "NDCG") for k in (1, 5, 10)]


def corpus_rows(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(N_USERS):
        k = PER_USER - (u % 4)                   # 7..10 interactions: the k-core has work to do
        for t, i in enumerate(rng.choice(N_ITEMS, k, replace=False)):
            rows.append((f"u{u}", f"i{i}", 100 * u + t))
    return rows


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    p = d / "fuzz.data.csv"
    p.write_text("user,item,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in corpus_rows()))
    return p


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    path = os.environ.get("LEPORID_FUZZ_REPORT")
    if path:
        Path(path).write_text(json.dumps(dict(COUNTS), indent=2) + "\n")


def run(argv):
    """(exit status, stdout, stderr); an escaping exception is a traceback."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except BaseException as exc:  # noqa: BLE001 - anything escaping main is the bug sought
            COUNTS["traceback"] += 1
            pytest.fail(f"{argv}: {type(exc).__name__}: {exc}")
    return rc, out.getvalue(), err.getvalue()


def classify(argv, rc, err, valid: bool, result_ok=lambda: True):
    COUNTS["cases"] += 1
    lines = [x for x in err.splitlines() if x.strip() and "%|" not in x and "it/s" not in x
             and "warning" not in x]
    if "Traceback" in err:
        COUNTS["traceback"] += 1
        pytest.fail(f"{argv}: traceback\n{err}")
    if valid:
        if rc != 0 or not result_ok():
            COUNTS["silent_wrong"] += 1
            pytest.fail(f"{argv}: valid input gave rc={rc} or a wrong result\n{err}")
        COUNTS["correct_success"] += 1
        return
    if rc == 0:
        COUNTS["silent_wrong"] += 1
        pytest.fail(f"{argv}: invalid input accepted (exit 0)")
    assert rc in (1, 2) and len(lines) == 1 and ": error: " in lines[0], (argv, rc, err)
    COUNTS["clean_error"] += 1


# --- independent oracles ---------------------------------------------------------------------
def as_int(text):
    try:
        return int(text)
    except ValueError:
        return None


def as_float(text):
    try:
        return float(text)
    except ValueError:
        return None


def kcore_size(rows, m):
    """Brute-force iterative k-core: interactions left."""
    rows = list({(u, i) for u, i, _ in rows})
    while True:
        uc, ic = Counter(u for u, _ in rows), Counter(i for _, i in rows)
        keep = [(u, i) for u, i in rows if uc[u] >= m and ic[i] >= m]
        if len(keep) == len(rows):
            return len(keep)
        rows = keep


# --- generated option values -----------------------------------------------------------------
VALUES = st.one_of(st.integers(-10**12, 10**12).map(str),
                   st.sampled_from(["0", "1", "2", "3", "-1", "1.5", "0.5", "nan", "inf", "-inf",
                                    "1e400", "", " ", "abc", "1_0", "+3", "0x10", "3.0", "true",
                                    "HR@10", "HR@7", "NDCG@5"]),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.text(max_size=6))


def likely(*valid):
    """Mostly plausible values (so successes get checked too), else anything."""
    ok = st.sampled_from(list(valid))
    return st.integers(0, 3).flatmap(lambda k: VALUES if k == 0 else ok)  # 3 in 4 plausible


@settings(max_examples=80, **SETTINGS)
@given(min_count=likely("0", "1", "2", "5", "8", "9", "11"))
def test_fuzz_data_stats_min_count(corpus, min_count):
    argv = ["data", "stats", "--dataset", str(corpus), "--json", "--min-count", min_count]
    rc, out, err = run(argv)
    m = as_int(min_count)
    rows = corpus_rows()
    valid = m is not None and m >= 0 and kcore_size(rows, max(m, 1)) > 0
    classify(argv, rc, err, valid,
             lambda: json.loads(out)["prepared"]["interactions"] == kcore_size(rows, max(m, 1)))


@settings(max_examples=60, **SETTINGS)
@given(batch=likely("1", "3", "64", "1024"), metric=likely(*METRIC_NAMES),
       topk=likely("1", "5", "50", "2.0"), model=st.sampled_from(["itemknn", "toppop"]))
def test_fuzz_evaluate_options(corpus, tmp_path_factory, batch, metric, topk, model):
    out_dir = tmp_path_factory.mktemp("ev")
    argv = ["evaluate", "--dataset", str(corpus), "--min-count", "1", "--model", model,
            "--batch-size", batch, "--metric", metric, "--out", str(out_dir)]
    if model == "itemknn":
        argv += ["--param", f"topk={topk}"]
    rc, _, err = run(argv)
    b = as_int(batch)
    valid = b is not None and b >= 1 and metric in METRIC_NAMES
    if model == "itemknn":
        raw = topk.strip()
        tk = as_int(raw) if as_int(raw) is not None else as_float(raw)
        if raw.lower() in ("true", "false", "none", "null"):
            tk = None
        valid &= tk is not None and np.isfinite(tk) and float(tk).is_integer() and tk >= 1

    def same_as_default_batch():
        res = json.loads(next(out_dir.glob("*.json")).read_text())["rows"]
        ref_dir = tmp_path_factory.mktemp("ref")
        ref_argv = [a for a in argv]
        ref_argv[ref_argv.index("--batch-size") + 1] = "1024"
        ref_argv[ref_argv.index("--out") + 1] = str(ref_dir)
        assert run(ref_argv)[0] == 0
        ref = json.loads(next(ref_dir.glob("*.json")).read_text())["rows"]
        return all(np.isclose(r[k], s[k]) for r, s in zip(res, ref) for k in METRIC_NAMES) and \
            all(0 <= r[k] <= 1 for r in res for k in METRIC_NAMES)

    classify(argv, rc, err, valid, same_as_default_batch)


@settings(max_examples=60, **SETTINGS)
@given(dim=likely("1", "2", "4", str(N_ITEMS), str(N_ITEMS + 1)),
       neighbors=likely("1", "3", "1000"), alpha=likely("0", "0.5", "1", "0.999"))
def test_fuzz_embed_options(corpus, tmp_path_factory, dim, neighbors, alpha):
    out_dir = tmp_path_factory.mktemp("emb")
    argv = ["embed", "--input", str(corpus), "--dim", dim, "--neighbors", neighbors,
            "--alpha", alpha, "--out", str(out_dir), "--device", "cpu"]
    rc, _, err = run(argv)
    d, k, a = as_int(dim), as_int(neighbors), as_float(alpha)
    valid = (d is not None and 1 <= d <= N_ITEMS and k is not None and k >= 1
             and a is not None and 0 <= a <= 1)

    def shapes_ok():
        U = np.load(out_dir / "user_embeddings.npy")
        V = np.load(out_dir / "item_embeddings.npy")
        return U.shape == (N_USERS, d) and V.shape == (N_ITEMS, d) and \
            np.isfinite(U).all() and np.isfinite(V).all()

    classify(argv, rc, err, valid, shapes_ok)


# --- malformed lines -------------------------------------------------------------------------
GOOD = st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 10**6)).map(
    lambda r: (f"u{r[0]},i{r[1]},{r[2]}", True))
BAD = st.sampled_from([
    ("u1,i2", False), ("u1,i2,3,4", False), (",i2,3", False), ("u1,,3", False),
    ("u1,i2,abc", False), ("u1,i2,nan", False), ("u1,i2,inf", False), ("u1,i2,", False),
    (",,", False), ("u1;i2;3", False), ("u1,i2,1e999", False), ('"u1,i2,3', False),
    ("u1,i2,0x10", False), ("\x00,i1,3", None), ("u1,i2,3\x00", False),
])
BLANK = st.sampled_from([("", True), ("   ", True)])


@settings(max_examples=100, **SETTINGS)
@given(lines=st.lists(st.one_of(GOOD, GOOD, BAD, BLANK), min_size=1, max_size=12))
def test_fuzz_malformed_lines(tmp_path_factory, lines):
    p = tmp_path_factory.mktemp("lines") / "ratings.csv"
    p.write_text("user,item,timestamp\n" + "\n".join(t for t, _ in lines) + "\n")
    argv = ["data", "stats", "--dataset", str(p), "--json", "--min-count", "1"]
    rc, out, err = run(argv)
    if any(ok is None for _, ok in lines):      # a NUL byte: accepting or refusing is fine
        COUNTS["cases"] += 1
        assert rc in (0, 1) and "Traceback" not in err
        COUNTS["clean_error" if rc else "correct_success"] += 1
        return
    n_rows = sum(1 for t, ok in lines if ok and t.strip())
    valid = all(ok for _, ok in lines) and n_rows > 0
    classify(argv, rc, err, valid,
             lambda: json.loads(out)["loaded"]["interactions"] == n_rows)
    if not valid:
        assert str(p) in err                    # the message names the file


# --- the authors' format: ids are row numbers ----------------------------------------------
ID = st.one_of(st.integers(0, 8).map(str), st.integers(0, 8).map(str),
               st.sampled_from(["-1", "1000000000", "99999999999999999999", "x", "1.0", ""]))
NUM = st.one_of(st.just("5"), st.just("3.5"), st.sampled_from(["nan", "inf", "abc", "1e999"]))
TIME = st.one_of(st.integers(0, 10**9).map(str), st.sampled_from(["-5", "nan", "t"]))


@settings(max_examples=50, **SETTINGS)
@given(rows=st.lists(st.tuples(ID, ID, NUM, TIME), min_size=1, max_size=10))
def test_fuzz_authors_format_lines(tmp_path_factory, rows):
    d = tmp_path_factory.mktemp("auth")
    p = d / "train.txt"
    p.write_text("".join(" ".join(r) + "\n" for r in rows))
    argv = ["embed", "--input", str(p), "--format", "authors", "--dim", "1", "--neighbors", "2",
            "--raw", "--out", str(d / "e"), "--device", "cpu"]
    rc, _, err = run(argv)

    def num_ok(t):
        try:
            return np.isfinite(float(t)) and t.strip() == t and t != ""
        except ValueError:
            return False

    ids_ok = all(r[0].isdigit() and r[1].isdigit() for r in rows)
    valid = ids_ok and all(num_ok(r[2]) and num_ok(r[3]) for r in rows)
    if valid:
        users, items = {int(r[0]) for r in rows}, {int(r[1]) for r in rows}
        # ids are row numbers; far-off ids are refused rather than allocated
        valid = (max(users) + 1 <= 2 * len(users) + 10_000
                 and max(items) + 1 <= 2 * len(items) + 10_000)

    def rows_are_ids():
        U = np.load(d / "e" / "user_embeddings.npy")
        V = np.load(d / "e" / "item_embeddings.npy")
        return U.shape == (max(users) + 1, 1) and V.shape == (max(items) + 1, 1) and \
            np.isfinite(U).all() and np.isfinite(V).all()

    classify(argv, rc, err, valid, rows_are_ids)


# --- damaged prepared splits: refused, or read back unchanged --------------------------------
@pytest.fixture(scope="module")
def saved_split(corpus, tmp_path_factory):
    d = tmp_path_factory.mktemp("split") / "s"
    assert run(["data", "prepare", "--dataset", str(corpus), "--min-count", "1",
                "--out", str(d)])[0] == 0
    return d


@settings(max_examples=40, **SETTINGS)
@given(which=st.sampled_from(["split.json", "interactions.parquet"]),
       edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                      min_size=1, max_size=4),
       truncate=st.booleans())
def test_fuzz_damaged_split_files(saved_split, tmp_path_factory, which, edits, truncate):
    import shutil

    from leporid.data import load_split

    d = tmp_path_factory.mktemp("dmg") / "s"
    shutil.copytree(saved_split, d)
    blob = bytearray((d / which).read_bytes())
    for pos, byte in edits:
        blob[int(pos * len(blob))] = byte
    if truncate:
        blob = blob[: len(blob) // 2]
    (d / which).write_bytes(bytes(blob))
    argv = ["data", "stats", "--dataset", str(d), "--json"]
    rc, out, err = run(argv)
    reference = load_split(saved_split)
    unchanged = (not truncate and all(
        (saved_split / which).read_bytes()[int(p * len(blob))] == b for p, b in edits))
    if rc == 0:
        # accepted: then it must be the same split (an edit that changed nothing that matters,
        # e.g. inside JSON whitespace or unused Parquet metadata)
        COUNTS["cases"] += 1
        same = load_split(d).fingerprint() == reference.fingerprint()
        if not same:
            COUNTS["silent_wrong"] += 1
            pytest.fail(f"damaged split accepted with other contents: {edits}, {truncate}")
        COUNTS["correct_success"] += 1
    else:
        classify(argv, rc, err, valid=False)
        assert not unchanged or truncate, "an unchanged split was refused"
