"""Table-2 statistics, the saved-split format, and the `leporid data` command."""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leporid.cli import main
from leporid.cli.common import load_split as cli_load_split
from leporid.data import (
    DataError,
    Interactions,
    Split,
    dataset_statistics,
    format_statistics,
    is_saved_split,
    load,
    load_split,
    prepare,
    save_split,
    tail_indices,
)


def bundled():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load("ml-latest-small")


# ---------------------------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------------------------
def test_table2_statistics_hand_computed():
    # user a: 1, b: 2, c: 3, d: 4 interactions (10 in total); items x: 4, y: 3, z: 2, w: 1
    users = list("abbcccdddd")
    items = list("xxyxyzxyzw")
    s = dataset_statistics(Interactions.from_raw(users, items, name="toy"))
    assert (s["users"], s["items"], s["interactions"]) == (4, 4, 10)
    assert s["density"] == pytest.approx(10 / 16)
    assert s["tail_users"] == 1 and s["tail_users_share"] == pytest.approx(1 / 10)  # user a
    assert s["tail_items"] == 1 and s["tail_items_share"] == pytest.approx(1 / 10)  # item w
    assert s["duplicate_pairs"] == 0 and s["has_timestamps"] is False and s["name"] == "toy"
    assert "train" not in s


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(0, 9), min_size=1, max_size=40))
def test_tail_is_the_quarter_with_fewest(counts):
    counts = np.array(counts)
    idx = tail_indices(counts)
    active = np.flatnonzero(counts > 0)
    assert len(idx) == int(0.25 * len(active) + 1e-9)
    assert np.all(counts[idx] > 0)
    if len(idx):
        rest = np.setdiff1d(active, idx)
        assert len(rest) == 0 or counts[idx].max() <= counts[rest].min()
        # ties at the boundary: lower indices first
        edge = counts[idx].max()
        tied = active[counts[active] == edge]
        assert set(idx[counts[idx] == edge]) == set(tied[:np.sum(counts[idx] == edge)])
    assert counts[idx].sum() == np.sort(counts[active])[:len(idx)].sum()


def test_split_statistics_and_pretty_print():
    split = prepare(bundled())
    s = dataset_statistics(split)
    assert (s["users"], s["items"], s["interactions"]) == (566, 1286, 67_020)
    assert s["train"] + s["validation"] + s["test"] == 67_020
    assert s["report"]["filtered_users"] == 44 and s["report"]["duplicates"] == 0
    assert s["load"]["dropped_unknown_items"]["count"] == 1
    uc = np.bincount(split.interactions.users)
    assert s["tail_users_share"] == pytest.approx(np.sort(uc)[:141].sum() / 67_020)
    text = format_statistics(s)
    for needle in ("566", "1,286", "67,020", "20-core", "line 100838",
                   f"{100 * s['density']:.2f}%", f"{100 * s['tail_items_share']:.2f}%",
                   f"train {s['train']:,}"):
        assert needle in text, needle


# ---------------------------------------------------------------------------------------------
# saved splits
# ---------------------------------------------------------------------------------------------
def assert_same(a: Split, b: Split):
    ia, ib = a.interactions, b.interactions
    assert a.fingerprint() == b.fingerprint()
    for attr in ("user_ids", "item_ids", "users", "items"):
        np.testing.assert_array_equal(getattr(ia, attr), getattr(ib, attr))
        assert getattr(ia, attr).dtype == getattr(ib, attr).dtype
    for attr in ("timestamps", "ratings"):
        x, y = getattr(ia, attr), getattr(ib, attr)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.part, b.part)
    assert a.report == b.report and tuple(a.ratios) == tuple(b.ratios) and ia.name == ib.name
    assert (a.train != b.train).nnz == 0


def test_round_trip_bundled(tmp_path):
    split = prepare(bundled())
    out = save_split(split, tmp_path / "s")
    assert is_saved_split(out) and sorted(p.name for p in out.iterdir()) == [
        "interactions.parquet", "split.json"]
    back = load_split(out)
    assert_same(split, back)
    assert back.interactions.meta["dropped_unknown_items"]["count"] == 1
    doc = json.loads((out / "split.json").read_text())
    assert doc["format"] == "leporid-split" and doc["version"] == 1
    assert pq.read_table(out / "interactions.parquet").column_names == [
        "user", "item", "timestamp", "rating", "part"]


def test_round_trip_string_ids_no_time_unused_ids_and_overwrite(tmp_path):
    inter = Interactions.from_raw(["u10", "u9", "u10", "x"], ["b", "a", "a", "c"], name="s")
    split = Split(inter.subset(np.array([0, 1, 2]), reindex=False), np.array([0, 2, 1], np.int8),
                  {"note": 1}, (0.5, 0.75))
    save_split(split, tmp_path / "s")
    back = load_split(tmp_path / "s")
    assert_same(split, back)
    assert back.interactions.user_ids.tolist() == ["u10", "u9", "x"]  # 'x' kept although unused
    other = prepare(Interactions.from_raw([1, 1, 2], [1, 2, 1]), min_count=1)
    save_split(other, tmp_path / "s")  # replacing a saved split is allowed
    assert_same(other, load_split(tmp_path / "s"))
    assert [p.name for p in tmp_path.iterdir()] == ["s"]  # no temporary leftovers


def test_refuses_foreign_directory_and_detects_tampering(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    split = prepare(Interactions.from_raw([1, 1, 2], [1, 2, 1], [3, 2, 1]), min_count=1)
    with pytest.raises(DataError, match="not a saved split; refusing"):
        save_split(split, tmp_path / "notes")
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"
    save_split(split, tmp_path / "s")
    t = pq.read_table(tmp_path / "s" / "interactions.parquet").to_pandas()
    t.loc[0, "timestamp"] = 99.0
    t.to_parquet(tmp_path / "s" / "interactions.parquet", index=False)
    with pytest.raises(DataError, match="do not match the recorded fingerprint"):
        load_split(tmp_path / "s")
    assert not is_saved_split(tmp_path / "notes") and not is_saved_split(tmp_path / "nothing")
    with pytest.raises(DataError, match="not a saved split"):
        load_split(tmp_path / "notes")


# ---------------------------------------------------------------------------------------------
# `leporid data`
# ---------------------------------------------------------------------------------------------
def test_cli_formats(capsys):
    assert main(["data", "formats"]) == 0
    out = capsys.readouterr().out
    for name in ("movielens-csv", "ml100k", "atomic", "ml1m", "anime", "steam-json",
                 "steam-seq", "authors", "csv", "tsv", "parquet", "ml-latest-small"):
        assert f"\n  {name} " in out, name


def test_cli_stats_prepare_and_reload(tmp_path, capsys):
    src = tmp_path / "ev.csv"
    src.write_text("uid,iid,when\n" + "".join(f"{u},{i},{u * 10 + i}\n"
                                              for u in range(6) for i in range(5)) + "0,0,1\n")
    assert main(["data", "stats", "--dataset", str(src), "--min-count", "3",
                 "--user-col", "uid", "--item-col", "iid", "--time-col", "when"]) == 0
    out = capsys.readouterr().out
    assert "as loaded" in out and "3-core" in out and "#interactions           31" in out
    assert "duplicates 1" in out
    out_dir = tmp_path / "prepared"
    assert main(["data", "prepare", "--dataset", str(src), "--min-count", "3", "--user-col",
                 "uid", "--item-col", "iid", "--time-col", "when", "--out", str(out_dir)]) == 0
    assert str(out_dir) in capsys.readouterr().out
    args = argparse.Namespace(dataset=str(out_dir), format=None, min_count=20)
    split = cli_load_split(args)  # min-count of the saved split, not of the flag
    assert len(split.interactions) == 30 and split.report["min_count"] == 3
    assert main(["data", "stats", "--dataset", str(out_dir), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["prepared"]["interactions"] == 30 and stats["prepared"]["train"] == 18


def test_cli_bad_input_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "u.data"
    bad.write_text("1\t2\t3\t4\n1\t2\n")
    assert main(["data", "stats", "--dataset", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("leporid data: error: ") and f"{bad}:2: expected 4 fields" in err
    assert main(["data", "prepare", "--dataset", str(tmp_path / "missing.csv"),
                 "--out", str(tmp_path / "o")]) == 1
    assert "missing.csv: no such file" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
