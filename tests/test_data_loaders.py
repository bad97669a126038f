"""Loaders: every format on a small file written here, the bundled and shared data, bad input."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leporid.data import FORMATS, DataError, detect_format, load
from leporid.data import loaders as L

# ../shared beside the checkout (DESIGN.md); never copied into the project (its licence)
ML100K_INTER = Path(__file__).resolve().parents[2] / "shared/datasets/ml-100k/ml-100k.inter"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def raw_rows(inter):
    """(raw user, raw item) per row, in the Interactions' (file) order."""
    return list(zip(inter.user_ids[inter.users].tolist(), inter.item_ids[inter.items].tolist()))


# ---------------------------------------------------------------------------------------------
# each format on a small file in that exact format
# ---------------------------------------------------------------------------------------------
def test_ml100k_u_data(tmp_path):
    # invented rows in the u.data layout (the real file is read from ../shared, below)
    p = write(tmp_path, "ml-100k/u.data", "123\t45\t3\t880000100\n10\t67\t3\t890000200\n"
                                          "9\t89\t1\t870000300\n123\t12\t2\t880000400\n")
    inter = load(p)
    assert inter.meta["format"] == "ml100k" and inter.name == "ml-100k"
    assert raw_rows(inter) == [(123, 45), (10, 67), (9, 89), (123, 12)]
    assert inter.user_ids.dtype == np.int64 and inter.user_ids.tolist() == [9, 10, 123]
    assert inter.timestamps.tolist() == [880000100, 890000200, 870000300, 880000400]
    assert inter.ratings.tolist() == [3, 3, 1, 2]


def test_ml1m_ratings_dat(tmp_path):
    # invented rows in the ratings.dat layout (CRLF line ends, "::" separators)
    p = write(tmp_path, "ratings.dat", "1::2001::5::970000100\r\n1::302::3::970000200\r\n"
                                       "2::2001::4::970000050\r\n")
    inter = load(p)
    assert inter.meta["format"] == "ml1m"
    assert raw_rows(inter) == [(1, 2001), (1, 302), (2, 2001)]
    assert inter.timestamps.tolist() == [970000100, 970000200, 970000050]
    assert inter.ratings.tolist() == [5, 3, 4]


def test_atomic_inter_columns_by_name(tmp_path):
    text = ("timestamp:float\titem_id:token\textra:token_seq\tuser_id:token\trating:float\n"
            "880000100\t45\ta b\t123\t3\n890000200\t67\tc\t77\t4.5\n")
    inter = load(write(tmp_path, "x.inter", text))
    assert inter.meta["format"] == "atomic" and inter.name == "x"
    assert raw_rows(inter) == [(123, 45), (77, 67)]
    assert inter.ratings.tolist() == [3.0, 4.5]
    assert inter.timestamps.tolist() == [880000100, 890000200]


def test_atomic_string_tokens_and_optional_columns(tmp_path):
    inter = load(write(tmp_path, "s.inter", "user_id:token\titem_id:token\nu1\tA\nu10\tB\nu2\tA\n"))
    assert inter.user_ids.dtype.kind == "U" and inter.timestamps is None and inter.ratings is None
    assert raw_rows(inter) == [("u1", "A"), ("u10", "B"), ("u2", "A")]


def test_movielens_csv_with_movies_check(tmp_path):
    write(tmp_path, "movies.csv", 'movieId,title,genres\n1,"Toy Story, (1995)",A|B\n3,X,C\n')
    p = write(tmp_path, "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n"
                                       "1,7,4.0,964981247\n2,3,5.0,964982224\n")
    with pytest.warns(UserWarning, match=r"ratings\.csv: dropped 1 rating.*line 3: movieId 7"):
        inter = load(p)
    assert inter.meta["format"] == "movielens-csv"
    assert raw_rows(inter) == [(1, 1), (2, 3)]
    assert inter.meta["dropped_unknown_items"] == {"count": 1, "reference": "movies.csv",
                                                   "lines": [3], "item_ids": [7]}
    # no movies.csv to check against: nothing dropped
    q = write(tmp_path, "other/ratings.csv", p.read_text())
    assert len(load(q)) == 3


def test_anime_rating_csv_keeps_minus_one(tmp_path):
    p = write(tmp_path, "anime/rating.csv", "user_id,anime_id,rating\n1,20,-1\n1,24,-1\n2,20,8\n")
    inter = load(p)
    assert inter.meta["format"] == "anime" and inter.timestamps is None
    assert raw_rows(inter) == [(1, 20), (1, 24), (2, 20)]
    assert inter.ratings.tolist() == [-1, -1, 8]
    assert inter.order().tolist() == [0, 1, 2]  # file order is the time order


def test_steam_json_literal_lines(tmp_path):
    lines = [
        "{'user_id': '76561197970982479', 'items_count': 2, 'items': "
        "[{'item_id': '10', 'item_name': \"Assassin's Creed\", 'playtime_forever': 6}, "
        "{'item_id': '20', 'item_name': 'Team Fortress', 'playtime_forever': 0}]}",
        "{'user_id': 'js41637', 'items_count': 0, 'items': []}",
        "{'user_id': 'evcentric', 'items': [{'item_id': '9', 'playtime_forever': 3.5}]}",
    ]
    p = write(tmp_path, "australian_users_items.json", "\n".join(lines) + "\n")
    inter = load(p)
    assert inter.meta["format"] == "steam-json" and inter.timestamps is None
    assert raw_rows(inter) == [("76561197970982479", 10), ("76561197970982479", 20),
                               ("evcentric", 9)]
    assert inter.item_ids.dtype == np.int64 and inter.item_ids.tolist() == [9, 10, 20]
    assert inter.meta["users_without_items"] == 1
    inter = load(p, rating_col="playtime_forever")
    assert inter.ratings.tolist() == [6, 0, 3.5]


def test_steam_seq_and_authors_text(tmp_path):
    seq = load(write(tmp_path, "steam.txt", "1 5\n1   7\n\t2 5 \n10 9\n"), "steam-seq")
    assert raw_rows(seq) == [(1, 5), (1, 7), (2, 5), (10, 9)] and seq.timestamps is None
    assert seq.user_ids.dtype == np.int64
    auth = load(write(tmp_path, "train.txt", "0 3 5 100\n1 3 4 90\n0 1 1 100\n"), "authors")
    assert raw_rows(auth) == [(0, 3), (1, 3), (0, 1)]
    assert auth.timestamps.tolist() == [100, 90, 100] and auth.ratings.tolist() == [5, 4, 1]
    assert auth.order().tolist() == [1, 0, 2]  # by time, the tie keeps file order


def test_generic_csv_guessed_and_explicit_columns(tmp_path):
    p = write(tmp_path, "events.csv", "ItemId,score,User,time\nb,1,7,3\na,2,7,1\n")
    inter = load(p)
    assert inter.meta["format"] == "csv"
    assert raw_rows(inter) == [(7, "b"), (7, "a")]
    assert inter.timestamps.tolist() == [3, 1] and inter.ratings.tolist() == [1, 2]
    q = write(tmp_path, "custom.csv", "who,what,when\nx,1,2020-01-01T00:00:01\ny,2,2020-01-01\n")
    inter = load(q, user_col="who", item_col="what", time_col="when")
    assert raw_rows(inter) == [("x", 1), ("y", 2)]
    assert inter.timestamps.tolist() == [1577836801.0, 1577836800.0]


def test_tsv_and_leading_zero_ids_stay_strings(tmp_path):
    inter = load(write(tmp_path, "d.tsv", "user\titem\n007\t1\n7\t2\n"))
    assert inter.meta["format"] == "tsv"
    assert inter.user_ids.dtype.kind == "U" and sorted(inter.user_ids) == ["007", "7"]


def test_parquet(tmp_path):
    import pandas as pd

    p = tmp_path / "d.parquet"
    pd.DataFrame({"user_id": [10, 9, 10], "movieId": ["3", "1", "2"], "rating": [1.0, 2.0, 3.0],
                  "timestamp": pd.to_datetime(["2020-01-01", "2020-01-02", "1970-01-01 00:00:05"],
                                              format="ISO8601")
                  }).to_parquet(p)
    inter = load(p)
    assert inter.meta["format"] == "parquet"
    assert raw_rows(inter) == [(10, 3), (9, 1), (10, 2)]
    assert inter.user_ids.tolist() == [9, 10] and inter.item_ids.dtype == np.int64
    assert inter.timestamps.tolist() == [1577836800.0, 1577923200.0, 5.0]


def test_numeric_ids_sort_numerically(tmp_path):
    inter = load(write(tmp_path, "u.data", "10\t1\t1\t1\n9\t2\t1\t1\n100\t3\t1\t1\n"))
    assert inter.user_ids.tolist() == [9, 10, 100]
    assert inter.users.tolist() == [1, 0, 2]


def test_blank_lines_ignored_and_line_numbers_kept(tmp_path):
    write(tmp_path, "movies.csv", "movieId,title\n1,a\n")
    p = write(tmp_path, "ratings.csv", "userId,movieId,rating,timestamp\n\n1,1,4,1\n\n2,5,3,2\n")
    with pytest.warns(UserWarning, match="line 5"):
        inter = load(p)
    assert inter.meta["dropped_unknown_items"]["lines"] == [5]


def test_detect_format_and_directories(tmp_path):
    assert detect_format("x/ratings.dat") == "ml1m"
    assert detect_format("u.data") == "ml100k"
    assert detect_format("a/b.inter") == "atomic"
    assert detect_format("rating.csv") == "anime"
    assert detect_format("australian_users_items.json") == "steam-json"
    assert detect_format("t.parquet") == "parquet"
    assert detect_format("t.tsv") == "tsv"
    ml = write(tmp_path, "m.csv", "userId,movieId,rating,timestamp\n1,1,1,1\n")
    other = write(tmp_path, "o.csv", "user,item\n1,1\n")
    assert detect_format(ml) == "movielens-csv" and detect_format(other) == "csv"
    with pytest.raises(DataError, match=r"train\.txt.*--format"):
        detect_format(tmp_path / "train.txt")
    write(tmp_path, "d/ratings.dat", "1::2::3::4\n")
    assert load(tmp_path / "d").meta["format"] == "ml1m"
    with pytest.raises(DataError, match="unknown format 'nope'"):
        load(ml, "nope")
    assert load(ml, "ml-latest-small").meta["format"] == "movielens-csv"


# ---------------------------------------------------------------------------------------------
# bundled and shared datasets
# ---------------------------------------------------------------------------------------------
def test_bundled_ml_latest_small_reports_the_bogus_row():
    with pytest.warns(UserWarning) as rec:
        inter = load("ml-latest-small")
    msg = str(rec[0].message)
    assert "ratings.csv" in msg and "line 100838" in msg and "999999" in msg
    assert rec[0].filename == __file__  # attributed to the caller, not to leporid internals
    assert len(inter) == 100_836 and inter.n_users == 610
    assert 999999 not in inter.item_ids
    assert inter.meta["dropped_unknown_items"]["count"] == 1
    assert inter.meta["source"] == "bundled:ml-latest-small"
    assert inter.timestamps is not None and inter.user_ids.dtype == np.int64


@pytest.mark.skipif(not ML100K_INTER.exists(), reason="shared ml-100k not present")
def test_shared_ml100k_inter_fast_and_complete():
    load(ML100K_INTER)  # warm imports
    t0 = time.perf_counter()
    inter = load(ML100K_INTER)
    elapsed = time.perf_counter() - t0
    assert len(inter) == 100_000 and inter.n_users == 943 and inter.n_items == 1_682
    assert inter.user_ids.dtype == np.int64 and inter.timestamps is not None
    assert raw_rows(inter)[0] == (196, 242)
    assert elapsed < 1.0, f"loading took {elapsed:.2f} s"


# ---------------------------------------------------------------------------------------------
# bad input: the message names the file, the line (or column) and the problem
# ---------------------------------------------------------------------------------------------
BAD_TEXT = [
    # (file name, format, content, expected pattern after the file name)
    ("u.data", None, "1\t2\t3\t4\n5\t6\t7\n", r":2: expected 4 fields .*found 3"),
    ("u.data", None, "1\t2\t3\t4\t5\n", r":1: expected 4 fields .*found 5"),
    ("u.data", None, "1\t2\t3\t4\n\nx\t6\t7\t8\n", r":3: field 1 \(user\): 'x' is not an integer"),
    ("u.data", None, "1\t2\t3\t4\n5\t6.5\t7\t8\n", r":2: field 2 \(item\): '6\.5' is not an int"),
    ("u.data", None, "1\t2\t3\t4\n5\t6\t7\tyesterday\n",
     r":2: field 4 \(time\): 'yesterday' is not a number"),
    ("u.data", None, "1\t2\tnan\t4\n", r":1: field 3 \(rating\): 'nan' is not a finite"),
    ("ratings.dat", None, "1::2::3::4\n1::2::3\n", r":2: expected 4 fields separated by '::'"),
    ("ratings.dat", None, "1::2::3::4\n1:2::3::4::5\n", r":2: .*field"),
    ("ratings.csv", None, "userId,movieId,rating,timestamp\n1,2,3,4\n1,2,,4\n",
     r":3: column 'rating': '' is not a number"),
    ("ratings.csv", None, "userId,movieId,rating\n1,2,3\n",
     r"line 1 \(header\): missing time column timestamp"),
    ("ratings.csv", None, "userId,movieId,rating,timestamp\n", r": no data rows after the header"),
    ("rating.csv", None, "user_id,anime_id,rating\n1,2,3\n1,abc,3\n",
     r":3: column 'anime_id': 'abc' is not an integer"),
    ("x.inter", None, "user_id:token\tkind:token\n1\t2\n", r"missing item column item_id"),
    ("x.inter", None, "user_id:token\titem_id:token\n1\t2\n \t3\n",
     r":3: column 'user_id:token': empty id"),
    ("e.csv", None, "", r": empty file"),
    ("e.csv", None, "\n  \n", r": empty file"),
    ("e.csv", None, "a,b\n1,2\n", r"missing user column"),
    ("e.csv", None, "user,item,time\n1,2,3\n1,2,soon\n",
     r":3: column 'time': 'soon' is not a number"),
    ("e.csv", None, "user,item,date\n1,2,2020-01-01\n1,2,soon\n",
     r":3: column 'date': 'soon' is neither a number nor an ISO-8601"),
    ("t.txt", "authors", "1 2 3 4\n1 2 3\n", r":2: expected 4 fields separated by whitespace"),
    ("t.txt", "steam-seq", "a b\nc\n", r":2: expected 2 fields"),
    ("u.data", None, b"1\t2\t3\t4\n\xff\t2\t3\t4\n", r":2: not valid UTF-8"),
]


@pytest.mark.parametrize("name,fmt,content,pattern", BAD_TEXT)
def test_bad_text_input_names_file_and_line(tmp_path, name, fmt, content, pattern):
    p = write(tmp_path, name, content)
    with pytest.raises(DataError) as exc:
        load(p, fmt)
    msg = str(exc.value)
    assert msg.startswith(str(p)), msg
    assert re.search(pattern, msg), msg


BAD_STEAM = [
    ("{'user_id': 'a', 'items': []}\n{'user_id': 'b', 'items': [", r":2: not a Python literal"),
    ("[1, 2]\n", r":1: expected a dict"),
    ("{'user_id': 'a'}\n", r":1: missing key 'items'"),
    ("{'user_id': 'a', 'items': [{'name': 'x'}]}\n",
     r":1: items\[0\]: expected a dict with key 'item_id'"),
    ("{'user_id': 'a', 'items': [{'item_id': '1'}]}\n"
     "{'user_id': __import__('os').getpid(), 'items': []}\n",
     r":2: not a Python literal"),
    ("{'user_id': 'a', 'items': []}\n", r"no interactions"),
]


@pytest.mark.parametrize("content,pattern", BAD_STEAM)
def test_bad_steam_json(tmp_path, content, pattern):
    p = write(tmp_path, "australian_users_items.json", content)
    with pytest.raises(DataError) as exc:
        load(p)
    assert str(exc.value).startswith(str(p)) and re.search(pattern, str(exc.value)), exc.value


def test_missing_file_unknown_name_and_unknown_directory(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        load(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="no such file"):
        load("ml-latest-tiny")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: a directory without a known interactions file"):
        load(tmp_path / "empty")


def test_explicit_missing_column_option(tmp_path):
    p = write(tmp_path, "e.csv", "user,item,t\n1,2,3\n")
    with pytest.raises(DataError, match=r"e\.csv: line 1 \(header\): missing time column tstamp"):
        load(p, time_col="tstamp")
    with pytest.raises(DataError, match="no header"):
        load(write(tmp_path, "u.data", "1\t2\t3\t4\n"), user_col="u")


def test_bad_parquet(tmp_path):
    import pandas as pd

    p = tmp_path / "d.parquet"
    pd.DataFrame({"user": [1, 2], "item": [1.0, None]}).to_parquet(p)
    with pytest.raises(DataError, match=r"d\.parquet: column 'item', row 2: missing value"):
        load(p)
    pd.DataFrame({"user": [1, 2], "thing": [1, 2]}).to_parquet(p)
    with pytest.raises(DataError, match=r"d\.parquet: schema: missing item column"):
        load(p)
    pd.DataFrame({"user": [1, 2], "item": [3, 4], "time": ["1", "later"]}).to_parquet(p)
    with pytest.raises(DataError,
                       match=r"d\.parquet: column 'time', row 2: 'later' is not a number"):
        load(p)
    write(tmp_path, "junk.parquet", "not parquet")
    with pytest.raises(DataError, match=r"junk\.parquet: not a readable Parquet file"):
        load(tmp_path / "junk.parquet")


# ---------------------------------------------------------------------------------------------
# the fast path and the reference parser agree; corruption is located exactly
# ---------------------------------------------------------------------------------------------
rows_st = st.lists(st.tuples(st.integers(0, 10**6), st.integers(-5, 10**12),
                             st.sampled_from(["1", "2.5", "-1", "4e0"]),
                             st.integers(0, 2**40)), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_st, sep=st.sampled_from(["\t", "::", " "]), blank=st.integers(0, 40),
       data=st.data())
def test_fast_path_equals_reference(rows, sep, blank, data):
    layout = FORMATS[{"\t": "ml100k", "::": "ml1m", " ": "authors"}[sep]].layout
    lines = [sep.join(map(str, r)) for r in rows]
    if blank < len(lines):
        lines.insert(blank, "")
    text = ("\n".join(lines) + "\n").encode()
    ref = L._reference(Path("f"), text, layout)
    fast = L._fast(Path("f"), text, layout)  # valid input: the fast path must accept it
    for role in ("user", "item", "rating", "time"):
        np.testing.assert_array_equal(fast.columns[role], ref.columns[role])
        assert fast.columns[role].dtype == ref.columns[role].dtype
    assert ref.columns["user"].tolist() == [r[0] for r in rows]
    if fast.lines is not None:
        np.testing.assert_array_equal(fast.lines, ref.lines)
    else:
        assert blank < len(rows)  # only a blank line may make the numbering unknown
    # corrupt one field of one row: the fast path declines, the reference names that line
    k = data.draw(st.integers(0, len(rows) - 1))
    bad = [list(map(str, r)) for r in rows]
    bad[k][data.draw(st.integers(0, 3))] = data.draw(st.sampled_from(["x", "1.5.1", "", "inf",
                                                                      "1_0", "NA"]))
    bad_text = ("\n".join(sep.join(r) for r in bad) + "\n").encode()
    with pytest.raises(L._Fallback):
        L._fast(Path("f"), bad_text, layout)
    with pytest.raises(DataError, match=rf"^f:{k + 1}: "):
        L._reference(Path("f"), bad_text, layout)
