"""Loaders: one function per file format, all returning :class:`Interactions` in file order.

``load(name_or_path, format=None, **column_options)`` is the entry point. ``name_or_path`` is a
bundled dataset name (``ml-latest-small``, shipped inside the package, no network), a file, or a
directory holding one of the known files (``ratings.csv``, ``ratings.dat``, ``u.data``, ...).
``format`` defaults to a guess from the file name (see :func:`detect_format`). Every format is one
:class:`~leporid.data.formats.Format` record, registered at the end of this module; ``FORMATS``
(from :mod:`leporid.data.formats`) maps each name to its record.

Text formats are read by a fast path (pyarrow's CSV reader); whenever that path meets anything it
does not accept, the file is re-read by a strict line-by-line reference parser that either
returns the same data or raises :class:`DataError` naming the file, the 1-based line number (as in
an editor), the column and the problem. Rules of both paths: blank lines are ignored; every other
line must have exactly the expected number of fields; integer ids are ASCII digits with an
optional minus sign; numbers (ratings, timestamps) must be finite; token ids (formats whose ids
may be strings) are stripped of surrounding blanks, must not be empty, and become ``int64`` when
every id of the column is an integer written canonically (no sign, no leading zeros), else
``str``. Nothing is dropped silently: the only rows a loader drops are MovieLens ratings of
movies missing from ``movies.csv``, which are counted in ``meta['dropped_unknown_items']`` and
announced with a warning.
"""

from __future__ import annotations

import ast
import csv
import gzip
import io
import math
import os
import re
import sys
import warnings
import zlib
from array import array
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from .datasets import dataset, is_registered
from .formats import (
    FORMATS,
    Column,
    Format,
    Layout,
    detect_format,
    find_in_directory,
    normalise_format,
    positional,
    register,
)
from .interactions import DataError, Interactions

BUNDLED = {"ml-latest-small": "MovieLens latest-small (GroupLens, 2018): 100,836 ratings, "
                              "610 users, 9,742 movies; shipped with the package"}

# header names tried, in order and case-insensitively, when a column is not named explicitly
GUESSES = {
    "user": ("user_id", "userid", "user", "uid", "user-id", "customer_id", "visitor_id"),
    "item": ("item_id", "itemid", "item", "movieid", "movie_id", "iid", "item-id", "anime_id",
             "product_id", "business_id", "song_id", "track_id"),
    "time": ("timestamp", "time", "ts", "datetime", "date", "unix_time", "unixreviewtime"),
    "rating": ("rating", "ratings", "score", "stars"),
}
_OPTION_ROLE = {"user_col": "user", "item_col": "item", "time_col": "time", "rating_col": "rating"}

_MAX_LISTED = 10  # how many line numbers / ids a report keeps


# --------------------------------------------------------------------------------------------
# layouts (leporid.data.formats.Layout): column options and header resolution
# --------------------------------------------------------------------------------------------
_SEP_NAMES = {",": "commas", "\t": "tabs", "::": "'::'", " ": "whitespace"}

# the columns of csv, tsv and parquet files: found by the usual header names
_GENERIC_COLUMNS = (Column("user", "token", GUESSES["user"]),
                    Column("item", "token", GUESSES["item"]),
                    Column("rating", "float", GUESSES["rating"], required=False),
                    Column("time", "time", GUESSES["time"], required=False))


def _with_options(layout: Layout, fmt: str, options: dict) -> Layout:
    """Apply ``user_col=...`` style options: an explicitly named column is required, exactly."""
    options = {k: v for k, v in options.items() if v is not None}
    unknown = set(options) - set(_OPTION_ROLE)
    if unknown:
        raise DataError(f"format {fmt!r}: unknown option(s) {sorted(unknown)}; "
                        f"known: {sorted(_OPTION_ROLE)}")
    if not options:
        return layout
    if not layout.header:
        raise DataError(f"format {fmt!r} has no header, so its columns cannot be chosen by name "
                        f"(got {sorted(options)})")
    by_role = {_OPTION_ROLE[k]: str(v) for k, v in options.items()}
    fields = []
    for f in layout.columns:
        if f.role in by_role:
            f = replace(f, names=(by_role.pop(f.role),), required=True)
        fields.append(f)
    for role, name in by_role.items():  # a role this format does not read by default
        fields.append(Column(role, "float" if role == "rating" else "time", (name,)))
    return replace(layout, columns=tuple(fields))


def _resolve(path, header: list[str], layout: Layout, where: str) -> list[tuple[Column, int]]:
    """Column position of each wanted field (by header name); DataError naming what is missing."""
    names = [h.strip() for h in header]
    if layout.strip_types:
        names = [h.split(":", 1)[0] for h in names]
    lower = [h.lower() for h in names]
    out = []
    for f in layout.columns:
        hit = next((n for n in f.names if n.lower() in lower), None)
        if hit is None:
            if f.required:
                want = f.names[0] if len(f.names) == 1 else " or ".join(repr(n) for n in f.names)
                raise DataError(f"{path}: {where}: missing {f.role} column {want}; "
                                f"the columns are {names}")
            continue
        if lower.count(hit.lower()) > 1:
            raise DataError(f"{path}: {where}: column {hit!r} appears more than once")
        k = lower.index(hit.lower())
        other = next((g for g, j in out if j == k), None)
        if other is not None:
            raise DataError(f"{path}: {where}: column {names[k]!r} cannot be both the "
                            f"{other.role} and the {f.role} column (see --{other.role}-col / "
                            f"--{f.role}-col)")
        out.append((f, k))
    return out


# --------------------------------------------------------------------------------------------
# value conversion shared by both paths
# --------------------------------------------------------------------------------------------
_INT_RE = re.compile(r"-?[0-9]+")
_INT64_MAX = 2**63 - 1


def _parse_int(s: str) -> int:
    s = s.strip()
    if not _INT_RE.fullmatch(s) or abs(int(s)) > _INT64_MAX:
        raise ValueError(f"{s!r} is not an integer id")
    return int(s)


def _parse_float(s: str) -> float:
    s = s.strip()
    try:
        if not s.isascii() or "_" in s:
            raise ValueError
        v = float(s)
    except ValueError:
        raise ValueError(f"{s!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{s!r} is not a finite number")
    return v


def _parse_token(s: str) -> str:
    s = s.strip()
    if not s:
        raise ValueError("empty id")
    return s


def _parse_datetime(s: str) -> float:
    s = s.strip()
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"{s!r} is neither a number nor an ISO-8601 date-time") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.timestamp()


_PARSERS = {"int": _parse_int, "float": _parse_float, "token": _parse_token}


def _ids_from_tokens(arr: pa.Array) -> np.ndarray:
    """``int64`` when every token is a canonically written integer, else a numpy str array."""
    try:
        ints = pc.cast(arr, pa.int64())
        if pc.all(pc.equal(pc.cast(ints, pa.string()), arr)).as_py():
            return ints.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    return arr.to_numpy(zero_copy_only=False).astype(str)


def _times_from_strings(arr: pa.Array) -> np.ndarray | None:
    """Numbers or ISO-8601 date-times (naive = UTC) as seconds; None if the column is neither."""
    arr = pc.utf8_trim_whitespace(arr)
    try:
        v = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        import pandas as pd
        try:
            t = pd.to_datetime(arr.to_pandas(), format="ISO8601", utc=True)
        except (ValueError, TypeError, OverflowError):
            return None
        if t.isna().any():
            return None
        v = (t - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(np.float64)
    return v if np.isfinite(v).all() else None


# --------------------------------------------------------------------------------------------
# delimited text: fast path + reference parser
# --------------------------------------------------------------------------------------------
class _Fallback(Exception):
    """The fast path declines; the reference parser decides."""


@dataclass
class _Table:
    columns: dict             # role -> np.ndarray
    lines: np.ndarray | None  # 1-based line number of every row (None: not known cheaply)


_BLANKS = re.compile(rb"[ \t\r\f\v]+")
_EDGES = re.compile(rb"(?m)^ | $")


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data.strip():
        raise DataError(f"{path}: empty file (no data rows)")
    return data


def _read_text(path: Path, layout: Layout) -> _Table:
    data = _read_bytes(path)
    try:
        return _fast(path, data, layout)
    except _Fallback:
        return _reference(path, data, layout)


def _first_row(data: bytes, sep: str) -> list[str]:
    """Fields of the first non-blank line (the header), split as the csv module does."""
    for raw in data[:1 << 16].split(b"\n"):
        if raw.strip():
            text = raw.decode("utf-8-sig", errors="replace").rstrip("\r")
            return next(csv.reader([text], delimiter=sep))
    return []


def _fast(path: Path, data: bytes, layout: Layout) -> _Table:
    sep, quote = layout.sep, '"'
    if sep == "::":
        if b"\t" in data:
            raise _Fallback
        data, sep, quote = data.replace(b"::", b"\t"), "\t", False
    elif sep == " ":
        quote = False
        if any(x in data for x in (b"\t", b"\r", b"\f", b"\v", b"  ", b"\n ", b" \n")) \
                or data.startswith(b" "):  # (a regex pass over big files costs seconds)
            data = _EDGES.sub(b"", _BLANKS.sub(b" ", data))
    if layout.header:
        try:
            header = _first_row(data, sep)
            wanted = _resolve(path, header, layout, "line 1 (header)")
        except DataError:
            raise _Fallback from None
        names, keys = None, [header[k] for _, k in wanted]
    else:
        wanted = [(f, k) for k, f in enumerate(layout.columns)]
        names = keys = [f"f{k}" for k in range(len(layout.columns))]
    ptype = {"int": pa.int64(), "float": pa.float64(), "token": pa.string(), "time": pa.string()}
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            # use_threads=False: pyarrow's reader threads can abort the interpreter at exit
            # ('terminate called without an active exception') when torch is loaded too
            pa_csv.ReadOptions(column_names=names, autogenerate_column_names=False,
                               use_threads=False),
            pa_csv.ParseOptions(delimiter=sep, quote_char=quote),
            pa_csv.ConvertOptions(
                column_types={c: ptype[f.kind] for c, (f, _) in zip(keys, wanted)},
                include_columns=keys, strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError):
        raise _Fallback from None
    if table.num_rows == 0:
        raise _Fallback
    cols = {}
    for key, (f, _) in zip(keys, wanted):
        col = table.column(key).combine_chunks()
        if col.null_count:
            raise _Fallback
        if f.kind == "token":
            col = pc.utf8_trim_whitespace(col)
            if pc.any(pc.equal(pc.utf8_length(col), 0)).as_py():
                raise _Fallback
            cols[f.role] = _ids_from_tokens(col)
        elif f.kind == "time":
            v = _times_from_strings(col)
            if v is None:
                raise _Fallback
            cols[f.role] = v
        else:
            v = col.to_numpy(zero_copy_only=False)
            if f.kind == "float" and not np.isfinite(v).all():
                raise _Fallback
            cols[f.role] = v
    n_lines = data.count(b"\n") + (not data.endswith(b"\n"))
    first = 2 if layout.header else 1
    lines = (np.arange(first, first + table.num_rows, dtype=np.int64)
             if n_lines == table.num_rows + first - 1 else None)
    return _Table(cols, lines)


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 text ({exc.reason})") from None


def _rows(path: Path, data: bytes, sep: str):
    """(line number, fields) of every non-blank line, decoding and splitting like the fast path."""
    text = _decode(path, data)
    if sep in (",", "\t"):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
        start = 1
        try:
            for row in reader:
                line, start = start, reader.line_num + 1
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                yield line, row
        except csv.Error as exc:
            raise DataError(f"{path}:{start}: malformed line ({exc})") from None
        return
    for line, raw in enumerate(text.split("\n"), 1):
        raw = raw.rstrip("\r")
        if not raw.strip():
            continue
        yield line, (raw.split() if sep == " " else raw.split(sep))


def _reference(path: Path, data: bytes, layout: Layout) -> _Table:
    rows = _rows(path, data, layout.sep)
    sep_name = _SEP_NAMES[layout.sep]
    if layout.header:
        first = next(rows, None)
        if first is None:
            raise DataError(f"{path}: empty file (no data rows)")
        header_line, header = first
        wanted = _resolve(path, header, layout, f"line {header_line} (header)")
        n_fields = len(header)
        labels = [f"column {header[k].strip()!r}" for _, k in wanted]
    else:
        wanted = [(f, k) for k, f in enumerate(layout.columns)]
        n_fields = len(layout.columns)
        labels = [f"field {k + 1} ({f.role})" for f, k in wanted]
    values: list[list] = [[] for _ in wanted]
    lines: list[int] = []
    time_mode: dict[int, object] = {}
    for line, row in rows:
        if len(row) != n_fields:
            roles = " ".join(f.role for f in layout.columns)
            what = "header" if layout.header else f"'{roles}'"
            raise DataError(f"{path}:{line}: expected {n_fields} fields separated by {sep_name} "
                            f"(as the {what}), found {len(row)}")
        for j, (f, k) in enumerate(wanted):
            try:
                if f.kind == "time":
                    if j not in time_mode:  # the first value decides: numbers or date-times
                        try:
                            _parse_float(row[k])
                            time_mode[j] = _parse_float
                        except ValueError:
                            time_mode[j] = _parse_datetime
                    v = time_mode[j](row[k])
                else:
                    v = _PARSERS[f.kind](row[k])
            except ValueError as exc:
                raise DataError(f"{path}:{line}: {labels[j]}: {exc}") from None
            values[j].append(v)
        lines.append(line)
    if not lines:
        where = " after the header" if layout.header else ""
        raise DataError(f"{path}: no data rows{where}")
    cols = {}
    for (f, _), v in zip(wanted, values):
        if f.kind == "token":
            cols[f.role] = _ids_from_tokens(pa.array(v, pa.string()))
        else:
            cols[f.role] = np.asarray(v, dtype=np.int64 if f.kind == "int" else np.float64)
    return _Table(cols, np.asarray(lines, dtype=np.int64))


def _interactions(table: _Table, path: Path, fmt: str, name: str | None, meta: dict | None = None
                  ) -> Interactions:
    c = table.columns
    meta = {"source": str(path), "format": fmt, "rows": int(len(c["user"])), **(meta or {})}
    return Interactions.from_raw(c["user"], c["item"], c.get("time"), c.get("rating"),
                                 name=name or _default_name(path), meta=meta)


def _default_name(path: Path) -> str:
    generic = {"ratings", "rating", "u", "data", "interactions", "train", "australian_users_items"}
    stem = path.name.split(".")[0]
    return path.parent.name if stem.lower() in generic and path.parent.name else stem


def load_format(fmt: Format, path, name: str | None = None, **column_options) -> Interactions:
    """Read ``path`` in the format ``fmt``: by its parser, or by the shared text reader (fast
    path and reference parser) for a format given by a layout."""
    if fmt.parser is not None:
        return fmt.parser(path, name=name, **column_options)
    path = Path(path)
    table = _read_text(path, _with_options(fmt.layout, fmt.name, column_options))
    return _interactions(table, path, fmt.name, name)


# --------------------------------------------------------------------------------------------
# MovieLens csv (+ the movies.csv cross-check) and the bundled dataset
# --------------------------------------------------------------------------------------------
def _movie_ids(path: Path) -> np.ndarray:
    table = _read_text(path, Layout(",", True, (Column("item", "int", ("movieId",)),)))
    return table.columns["item"]


_MOVIELENS = Layout(",", True, (Column("user", "int", ("userId",)),
                                Column("item", "int", ("movieId",)),
                                Column("rating", "float", ("rating",)),
                                Column("time", "float", ("timestamp",))))


def load_movielens_csv(path, movies="auto", name: str | None = None,
                       **column_options) -> Interactions:
    """MovieLens ``ratings.csv`` (header ``userId,movieId,rating,timestamp``).

    ``movies``: a ``movies.csv`` to cross-check movieIds against; ``"auto"`` uses one lying beside
    the ratings file if there is one, ``None`` skips the check. Ratings of unknown movies are
    dropped, counted in ``meta['dropped_unknown_items']`` and announced with a warning.
    """
    path = Path(path)
    table = _read_text(path, _with_options(_MOVIELENS, "movielens-csv", column_options))
    if isinstance(movies, str) and movies == "auto":
        movies = path.with_name("movies.csv")
        movies = movies if movies.is_file() else None
    meta = {}
    if movies is not None:
        movies = Path(movies)
        known = np.isin(table.columns["item"], _movie_ids(movies))
        if not known.all():
            meta["dropped_unknown_items"] = _drop_report(path, data_rows=table, keep=known,
                                                         reference=movies)
            table = _Table({k: v[known] for k, v in table.columns.items()},
                           None if table.lines is None else table.lines[known])
        if not len(table.columns["user"]):
            raise DataError(f"{path}: no rating refers to a movie listed in {movies}")
    return _interactions(table, path, "movielens-csv", name, meta)


def _drop_report(path: Path, data_rows: _Table, keep: np.ndarray, reference: Path) -> dict:
    bad = np.flatnonzero(~keep)
    lines = data_rows.lines
    if lines is None:  # blank lines shifted the numbering: ask the reference parser
        lines = _reference(path, _read_bytes(path), _MOVIELENS).lines
    report = {"count": int(len(bad)), "reference": reference.name,
              "lines": [int(x) for x in lines[bad[:_MAX_LISTED]]],
              "item_ids": [int(x) for x in data_rows.columns["item"][bad[:_MAX_LISTED]]]}
    first = f"line {report['lines'][0]}: movieId {report['item_ids'][0]}"
    more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
    _warn(f"{path}: dropped {len(bad)} rating(s) whose movieId is not in {reference.name} "
          f"({first}{more})")
    return report


def _warn(message: str) -> None:
    """``warnings.warn`` attributed to the first caller outside ``leporid.data``."""
    here, level, frame = os.path.dirname(__file__), 2, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(here):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, stacklevel=level)


def load_bundled(name: str = "ml-latest-small") -> Interactions:
    """A dataset shipped inside the package (no network)."""
    if name not in BUNDLED:
        raise DataError(f"no bundled dataset {name!r}; bundled: {sorted(BUNDLED)}")
    folder = resources.files("leporid.data").joinpath("bundled", name)
    with resources.as_file(folder.joinpath("ratings.csv")) as ratings, \
            resources.as_file(folder.joinpath("movies.csv")) as movies:
        inter = load_movielens_csv(ratings, movies=movies, name=name)
    inter.meta.update(source=f"bundled:{name}", format="ml-latest-small")
    return inter


# --------------------------------------------------------------------------------------------
# Steam json lines
# --------------------------------------------------------------------------------------------
def load_steam_json(path, name: str | None = None, user_col: str = "user_id",
                    item_col: str = "item_id", rating_col: str | None = None,
                    **column_options) -> Interactions:
    """``australian_users_items.json``: one Python-literal dict per line, parsed with
    ``ast.literal_eval`` (never ``eval``); ``items`` in list order is the time order.

    ``rating_col`` names an item field to keep as the rating (e.g. ``playtime_forever``).
    Users with an empty item list yield no rows; they are counted in
    ``meta['users_without_items']``.
    """
    if set(column_options) - {"time_col"} or column_options.get("time_col"):
        raise DataError(f"format 'steam-json' takes user_col, item_col and rating_col only "
                        f"(got {sorted(column_options)}); it has no timestamps")
    path = Path(path)
    data = _read_bytes(path)
    users, items, ratings, lines = [], [], [], []
    empty = 0
    for line, raw in _numbered_lines(path, data):
        try:
            rec = ast.literal_eval(raw.strip())
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError) as exc:
            raise DataError(f"{path}:{line}: not a Python literal dict "
                            f"({type(exc).__name__}: {exc})") from None
        if not isinstance(rec, dict):
            raise DataError(f"{path}:{line}: expected a dict with {user_col!r} and 'items', "
                            f"found {type(rec).__name__}")
        for key in (user_col, "items"):
            if key not in rec:
                raise DataError(f"{path}:{line}: missing key {key!r}")
        if not isinstance(rec["items"], list):
            raise DataError(f"{path}:{line}: 'items' is {type(rec['items']).__name__}, not a list")
        try:
            user = _parse_token(_id_text(rec[user_col]))
        except ValueError as exc:
            raise DataError(f"{path}:{line}: {user_col!r}: {exc}") from None
        if not rec["items"]:
            empty += 1
        for k, it in enumerate(rec["items"]):
            where = f"{path}:{line}: items[{k}]"
            if not isinstance(it, dict) or item_col not in it:
                raise DataError(f"{where}: expected a dict with key {item_col!r}")
            try:
                items.append(_parse_token(_id_text(it[item_col])))
                if rating_col is not None:
                    if rating_col not in it:
                        raise ValueError(f"missing key {rating_col!r}")
                    ratings.append(_parse_float(_id_text(it[rating_col], "number")))
            except ValueError as exc:
                raise DataError(f"{where}: {exc}") from None
            users.append(user)
            lines.append(line)
    if not users:
        raise DataError(f"{path}: no interactions (every user has an empty 'items' list)")
    cols = {"user": _ids_from_tokens(pa.array(users, pa.string())),
            "item": _ids_from_tokens(pa.array(items, pa.string()))}
    if rating_col is not None:
        cols["rating"] = np.asarray(ratings, np.float64)
    meta = {"users_without_items": empty} if empty else {}
    return _interactions(_Table(cols, np.asarray(lines)), path, "steam-json", name, meta)


def _id_text(v, what: str = "id") -> str:
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise ValueError(f"{v!r} is not a valid {what}")
    return str(v)


def _numbered_lines(path: Path, data: bytes):
    for line, raw in enumerate(_decode(path, data).split("\n"), 1):
        if raw.strip():
            yield line, raw


# --------------------------------------------------------------------------------------------
# Steam reviews (UCSD version 2)
# --------------------------------------------------------------------------------------------
# a Python string literal ('...' or "...", escapes allowed), and one top-level field of a line
_PY_STR = r"""u?(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_REVIEW_FIELD = re.compile(r"'(username|product_id|date)': (" + _PY_STR + ")")
_REVIEW_KEYS = ("username", "product_id", "date")


def _review_fields(raw: str) -> tuple[str, str, str] | None:
    """(username, product_id, date) of one review line, read from the part before its 'text'
    (which may hold anything); None when that part does not hold all three."""
    found = dict(_REVIEW_FIELD.findall(raw.split(", 'text': ", 1)[0]))
    if len(found) != len(_REVIEW_KEYS):
        return None
    return tuple(ast.literal_eval(lit) if "\\" in lit else lit[lit[0] == "u" and 1:][1:-1]
                 for lit in (found[k] for k in _REVIEW_KEYS))


def load_steam_reviews(path, name: str | None = None, **column_options) -> Interactions:
    """UCSD ``steam_reviews.json(.gz)`` (version 2): one Python-literal dict per line with
    ``username``, ``product_id`` and ``date`` (``YYYY-MM-DD``); user = username, item =
    product_id, time = the date (day resolution; a day's reviews in file order). A ``.gz``
    file is read compressed, line by line. The three fields are taken by a pattern from the
    part of the line before the review text; a line where that fails is read whole with
    ``ast.literal_eval`` (never ``eval``)."""
    if column_options:
        raise DataError(f"format 'steam-reviews' takes no column options "
                        f"(got {sorted(column_options)})")
    path = Path(path)
    users, items, dates, lines = [], [], [], array("l")
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            for line, raw_bytes in enumerate(fh, 1):
                raw = raw_bytes.decode("utf-8", errors="replace").strip()
                if not raw:
                    continue
                fields = _review_fields(raw) or _review_literal(path, line, raw)
                user, item = fields[0].strip(), fields[1].strip()
                if not user or not item:
                    raise DataError(f"{path}:{line}: empty username or product_id")
                users.append(user)
                items.append(item)
                dates.append(fields[2])
                lines.append(line)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: damaged gzip file ({exc})") from None
    if not users:
        raise DataError(f"{path}: empty file (no data rows)")
    cols = {"user": _ids_from_tokens(pa.array(users, pa.string())),
            "item": _ids_from_tokens(pa.array(items, pa.string())),
            "time": _days(path, dates, lines) * 86400.0}
    return _interactions(_Table(cols, np.asarray(lines, np.int64)), path, "steam-reviews", name)


def _review_literal(path: Path, line: int, raw: str) -> tuple[str, str, str]:
    try:
        rec = ast.literal_eval(raw)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError) as exc:
        raise DataError(f"{path}:{line}: not a Python literal dict "
                        f"({type(exc).__name__}: {exc})") from None
    missing = [k for k in _REVIEW_KEYS if not isinstance(rec, dict) or k not in rec]
    if missing:
        raise DataError(f"{path}:{line}: missing key(s) {missing} (a steam_reviews.json line "
                        f"has username, product_id and date)")
    try:
        return tuple(_id_text(rec[k]) for k in _REVIEW_KEYS)
    except ValueError as exc:
        raise DataError(f"{path}:{line}: {exc}") from None


def _days(path: Path, dates: list, lines) -> np.ndarray:
    """Days since 1970-01-01 of ``YYYY-MM-DD`` dates; a DataError names the first bad line."""
    try:
        return np.array(dates, dtype="datetime64[D]").astype(np.int64).astype(np.float64)
    except ValueError:
        for text, line in zip(dates, lines):
            try:
                np.datetime64(text, "D")
            except ValueError:
                raise DataError(f"{path}:{line}: date {text!r} is not YYYY-MM-DD") from None
        raise


# --------------------------------------------------------------------------------------------
# Parquet
# --------------------------------------------------------------------------------------------
def load_parquet(path, name: str | None = None, **column_options) -> Interactions:
    """A Parquet table with named columns (ids: integers or strings; time: numbers or datetimes)."""
    import pyarrow.parquet as pq

    path = Path(path)
    layout = _with_options(Layout(",", True, _GENERIC_COLUMNS), "parquet", column_options)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    header = pf.schema_arrow.names
    wanted = _resolve(path, header, layout, "schema")
    table = pf.read(columns=[header[k] for _, k in wanted])
    if table.num_rows == 0:
        raise DataError(f"{path}: no rows")
    cols = {}
    for j, (f, k) in enumerate(wanted):
        cols[f.role] = _parquet_column(path, header[k], f, table.column(j).combine_chunks())
    return _interactions(_Table(cols, None), path, "parquet", name)


def _parquet_column(path: Path, name: str, f: Column, col: pa.Array) -> np.ndarray:
    where = f"{path}: column {name!r}"
    if col.null_count:
        row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0]) + 1
        raise DataError(f"{where}, row {row}: missing value")
    t = col.type
    if f.role in ("user", "item"):
        if pa.types.is_uint64(t):
            # ids >= 2**63 do not fit int64: as in the text formats, such a column's ids are
            # kept as (decimal) strings, never wrapped to negative numbers
            return _ids_from_tokens(pc.cast(col, pa.string()))
        if pa.types.is_integer(t):
            return col.to_numpy(zero_copy_only=False).astype(np.int64)
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            col = pc.utf8_trim_whitespace(col)
            return _ids_from_tokens(_check_values(where, col, _parse_token))
        if pa.types.is_floating(t):
            v = col.to_numpy(zero_copy_only=False)
            bad = np.flatnonzero(~np.isfinite(v) | (v != np.round(v)) | (np.abs(v) >= 2.0**63))
            if len(bad):
                raise DataError(f"{where}, row {bad[0] + 1}: {v[bad[0]]!r} is not an integer id")
            return v.astype(np.int64)
        raise DataError(f"{where}: ids must be integers or strings, found type {t}")
    if pa.types.is_timestamp(t):
        per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[t.unit]
        return col.cast(pa.int64()).to_numpy(zero_copy_only=False) / per_second
    if pa.types.is_date(t):
        return pc.cast(col, pa.timestamp("s")).cast(pa.int64()).to_numpy(
            zero_copy_only=False).astype(np.float64)
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        v = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(~np.isfinite(v))
        if len(bad):
            raise DataError(f"{where}, row {bad[0] + 1}: {v[bad[0]]!r} is not a finite number")
        return v
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        v = _times_from_strings(col) if f.kind == "time" else None
        if v is not None:
            return v
        parse = _parse_float
        if f.kind == "time":
            try:
                _parse_float(col[0].as_py())
            except ValueError:
                parse = _parse_datetime
        return _check_values(where, col, parse, convert=True)
    raise DataError(f"{where}: expected numbers, found type {t}")


def _check_values(where: str, col: pa.Array, parse, convert: bool = False):
    """Parse every value (to find the first bad row); return ``col`` or the parsed floats."""
    out = []
    for row, s in enumerate(col.to_pylist(), 1):
        try:
            out.append(parse(s))
        except ValueError as exc:
            raise DataError(f"{where}, row {row}: {exc}") from None
    return np.asarray(out, np.float64) if convert else col


# --------------------------------------------------------------------------------------------
# the formats: one record each
# --------------------------------------------------------------------------------------------
def _movielens_header(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            header = {h.strip() for h in _first_row(fh.read(65536), ",")}
    except (OSError, csv.Error):
        return False
    return {"userId", "movieId"} <= header


_ID4 = positional(("user", "int"), ("item", "int"), ("rating", "float"), ("time", "float"))

register(Format(
    "ml-latest-small", "the bundled MovieLens latest-small (a dataset name; no file needed)",
    parser=load_movielens_csv))  # as the format of a file: its layout
register(Format(
    "movielens-csv", "MovieLens ratings.csv: header userId,movieId,rating,timestamp; ratings of "
                     "movies missing from a movies.csv beside it are dropped and reported",
    parser=load_movielens_csv, aliases=("movielens",), files=("ratings.csv",),
    suffixes=(".csv",), sniff=_movielens_header, sniff_says="its header has userId and movieId"))
register(Format(
    "ml100k", "MovieLens-100K u.data: user item rating timestamp, tab-separated, no header",
    layout=Layout("\t", False, _ID4), aliases=("ml-100k",), files=("u.data",)))
register(Format(
    "atomic", "RecBole atomic .inter: tab-separated, header user_id:token item_id:token "
              "[rating:float] [timestamp:float], columns found by name",
    layout=Layout("\t", True, (Column("user", "token", ("user_id",)),
                               Column("item", "token", ("item_id",)),
                               Column("rating", "float", ("rating",), required=False),
                               Column("time", "float", ("timestamp",), required=False)),
                  strip_types=True),
    aliases=("inter", "recbole"), suffixes=(".inter",), one_per_directory=True))
register(Format(
    "ml1m", "MovieLens-1M ratings.dat: UserID::MovieID::Rating::Timestamp, no header",
    layout=Layout("::", False, _ID4), aliases=("ml-1m",), files=("ratings.dat",)))
register(Format(
    "anime", "Kaggle Anime rating.csv: header user_id,anime_id,rating (-1 = watched, kept); "
             "no timestamp, file order is time order",
    layout=Layout(",", True, (Column("user", "int", ("user_id",)),
                              Column("item", "int", ("anime_id",)),
                              Column("rating", "float", ("rating",)))),
    files=("rating.csv",)))
register(Format(
    "steam-json", "Steam australian_users_items.json: one Python-literal dict per line with "
                  "'user_id' and 'items' (list order is time order); no timestamp",
    parser=load_steam_json, aliases=("steam",), files=("australian_users_items.json",)))
register(Format(
    "steam-reviews", "UCSD Steam steam_reviews.json(.gz), version 2: one Python-literal dict "
                     "per line; user = username, item = product_id, time = date (a day)",
    parser=load_steam_reviews, files=("steam_reviews.json", "steam_reviews.json.gz")))
register(Format(
    "gowalla", "SNAP Gowalla check-ins: user, ISO-8601 time, latitude, longitude, location "
               "(the item), tab-separated, no header",
    layout=Layout("\t", False, positional(("user", "token"), ("time", "time"),
                                          ("latitude", "float"), ("longitude", "float"),
                                          ("item", "token"))),
    files=("loc-gowalla_totalcheckins.txt",)))
register(Format(
    "amazon-csv", "Amazon (2014) ratings_*.csv: user,item,rating,timestamp, no header",
    layout=Layout(",", False, positional(("user", "token"), ("item", "token"),
                                         ("rating", "float"), ("time", "float")))))
register(Format(
    "steam-seq", "'user item' per line, whitespace-separated, chronological, no header",
    layout=Layout(" ", False, positional(("user", "token"), ("item", "token"))),
    aliases=("steam-text",)))
register(Format(
    "authors", "the LEPORID authors' text: 'user item rating time', space-separated, no header",
    layout=Layout(" ", False, _ID4)))
register(Format(
    "csv", "comma-separated with a header; columns by name (--user-col ... or guessed from "
           "user/user_id/userId, item/item_id/movieId/itemId, timestamp/time, rating)",
    layout=Layout(",", True, _GENERIC_COLUMNS), suffixes=(".csv",)))
register(Format(
    "tsv", "tab-separated with a header; columns as for csv",
    layout=Layout("\t", True, _GENERIC_COLUMNS), suffixes=(".tsv",)))
register(Format(
    "parquet", "Parquet table; columns as for csv (timestamps may be numbers or datetimes)",
    parser=load_parquet, suffixes=(".parquet", ".pq")))


# --------------------------------------------------------------------------------------------
# the entry point
# --------------------------------------------------------------------------------------------
def load(name_or_path, format: str | None = None, **column_options) -> Interactions:  # noqa: A002
    """Load a dataset by name (bundled, or fetched: ``leporid data list``) or a file/directory
    (format from ``format`` or the name).

    ``column_options`` (``user_col``, ``item_col``, ``time_col``, ``rating_col``) name the columns
    of header-based formats; omitted ones are guessed from common header names.
    """
    fmt = normalise_format(format)
    path = Path(str(name_or_path)).expanduser()
    if str(name_or_path) in BUNDLED and not path.exists():
        if fmt not in (None, "ml-latest-small", "movielens-csv") or column_options:
            raise DataError(f"{name_or_path!r} is a bundled dataset; it takes no --format "
                            f"{format!r} or column options")
        return load_bundled(str(name_or_path))
    if not path.exists():
        if is_registered(str(name_or_path)):         # a registry name: its fetched copy
            return load_dataset(str(name_or_path), format, **column_options)[0]
        raise DataError(f"{path}: no such file (and not a dataset name: see `leporid data "
                        f"list`)")
    if path.is_dir():
        from .split_io import looks_like_split, split_problem

        if looks_like_split(path):
            problem = split_problem(path)
            if problem is None:
                raise DataError(f"{path}: is a saved split; read it with "
                                f"leporid.data.load_split")
            raise DataError(f"{path}: a damaged saved split: {problem}; prepare it again with "
                            f"`leporid data prepare`")
        path = find_in_directory(path)
    return load_format(FORMATS[fmt or detect_format(path)], path, **column_options)


def load_dataset(name_or_path, format: str | None = None, protocol: str | None = None,  # noqa: A002
                 download: bool = False, **column_options) -> tuple[Interactions, str]:
    """``(interactions, protocol)`` for a registry name (its fetched copy, read in its format,
    and its default protocol unless ``protocol`` is given) or for anything
    :func:`leporid.data.load` reads (a bundled name, a file, a folder; protocol ``kcore``)."""
    from .fetch import locate

    if not is_registered(name_or_path) or Path(name_or_path).exists():
        return load(name_or_path, format, **column_options), protocol or "kcore"
    rec = dataset(str(name_or_path))
    if format is not None or any(v is not None for v in column_options.values()):
        raise DataError(f"{rec.name!r} is a registry dataset read as {rec.format!r}; it takes "
                        f"no --format or column options (give its file's path to choose them)")
    if rec.bundled:
        return load(rec.name), protocol or rec.protocol
    inter = load(locate(rec.name, download), rec.format, **dict(rec.options))
    return replace(inter, name=rec.name), protocol or rec.protocol
