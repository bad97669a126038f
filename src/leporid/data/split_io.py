"""Save and reload a prepared :class:`Split` so that it reloads identically.

On-disk format (version 1): a directory holding two files.

``interactions.parquet``
    One row per interaction, in the order of ``split.interactions`` (filtered file order).
    Columns: ``user`` and ``item`` (raw ids; ``int64`` or ``string``), ``timestamp`` (``float64``,
    absent when the data has no timestamps), ``rating`` (``float64``, absent when there are no
    ratings), ``part`` (``int8``: 0 train, 1 validation, 2 test).
``split.json``
    ``format`` (``"leporid-split"``), ``version`` (1), ``name``, ``rows``, ``ratios``, ``report``
    (what de-duplication and the k-core filter dropped), ``fingerprint`` (of the interactions),
    ``split_fingerprint`` (:meth:`Split.fingerprint`: interactions, parts and ratios),
    ``user_id_dtype`` / ``item_id_dtype`` (``"int64"`` or ``"str"``), ``unused_user_ids`` /
    ``unused_item_ids`` (raw ids in the id tables that no row uses; normally empty), ``meta`` (the
    loader's notes) and provenance (``leporid_version``, ``created``).

Indices are rebuilt as the sorted raw ids, as :class:`Interactions` defines them; a reload checks
both fingerprints, so an edited row, part column or ratio is refused. The directory is written
to a temporary sibling and renamed into place, so a reader never sees half a split; an existing
split at the path is replaced, anything else there is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .interactions import DataError, Interactions
from .split import PARTS, Split

FORMAT = "leporid-split"
VERSION = 1
JSON_NAME = "split.json"
TABLE_NAME = "interactions.parquet"


def is_saved_split(path) -> bool:
    """Whether ``path`` is a directory in the saved-split format."""
    return split_problem(path) is None


def split_problem(path) -> str | None:
    """None when ``path`` is a saved split, else what is missing or damaged (a sentence)."""
    p = Path(path)
    try:
        if not p.is_dir():
            return "not a directory"
        if not (p / JSON_NAME).is_file():
            return f"no {JSON_NAME}"
        if not (p / TABLE_NAME).is_file():
            return f"{JSON_NAME} but no {TABLE_NAME}"
        with open(p / JSON_NAME, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, UnicodeDecodeError) as exc:
        return f"unreadable ({exc.__class__.__name__}: {exc})"
    except ValueError as exc:
        return f"{JSON_NAME} is not valid JSON ({exc})"
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return f"{JSON_NAME} is not a leporid split description (no \"format\": \"{FORMAT}\")"
    return None


def looks_like_split(path) -> bool:
    """Whether the directory ``path`` holds either file of a saved split (damaged or not)."""
    p = Path(path)
    return p.is_dir() and ((p / JSON_NAME).exists() or (p / TABLE_NAME).exists())


def _id_kind(ids: np.ndarray, what: str) -> str:
    if ids.dtype.kind in "iu":
        return "int64"
    if ids.dtype.kind == "U" or (ids.dtype == object and all(isinstance(x, str) for x in ids)):
        return "str"
    raise DataError(f"cannot save raw {what} ids of dtype {ids.dtype}: expected integers or "
                    f"strings")


def _id_column(raw: np.ndarray, kind: str):
    import pyarrow as pa

    if kind == "int64":
        return pa.array(raw.astype(np.int64), pa.int64())
    return pa.array(raw.astype(object), pa.string())


def check_split_target(path) -> Path:
    """``path`` if a split may be written there (nothing, an empty folder or a saved split);
    ``DataError`` otherwise — callers check before preparing the data."""
    path = Path(path)
    empty_dir = path.is_dir() and not any(path.iterdir())
    if path.exists() and not is_saved_split(path) and not empty_dir:
        raise DataError(f"{path}: exists and is not a saved split; refusing to overwrite it")
    return path


def save_split(split: Split, path) -> Path:
    """Write ``split`` to the directory ``path`` (atomically); return the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .. import __version__
    from ..results import current_umask, jsonable, remove_stale_temps, temp_prefix

    path = check_split_target(path)
    inter = split.interactions
    part = np.asarray(split.part)
    if part.shape != (len(inter),) or not np.isin(part, range(len(PARTS))).all():
        raise DataError("split.part must give a part in 0..2 for every interaction")
    kinds = {"user": _id_kind(inter.user_ids, "user"), "item": _id_kind(inter.item_ids, "item")}
    columns = {"user": _id_column(inter.user_ids[inter.users], kinds["user"]),
               "item": _id_column(inter.item_ids[inter.items], kinds["item"])}
    if inter.timestamps is not None:
        columns["timestamp"] = pa.array(inter.timestamps, pa.float64())
    if inter.ratings is not None:
        columns["rating"] = pa.array(inter.ratings, pa.float64())
    columns["part"] = pa.array(part.astype(np.int8), pa.int8())

    def unused(ids, idx):
        return ids[np.bincount(idx, minlength=len(ids)) == 0]

    doc = {"format": FORMAT, "version": VERSION, "name": inter.name, "rows": len(inter),
           "ratios": list(split.ratios), "report": split.report,
           "fingerprint": inter.fingerprint(), "split_fingerprint": split.fingerprint(),
           "user_id_dtype": kinds["user"], "item_id_dtype": kinds["item"],
           "unused_user_ids": unused(inter.user_ids, inter.users),
           "unused_item_ids": unused(inter.item_ids, inter.items),
           "meta": inter.meta, "leporid_version": __version__}
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        # mkdtemp makes it private; a split is an ordinary directory
        tmp.chmod(0o777 & ~current_umask())
        pq.write_table(pa.table(columns), tmp / TABLE_NAME)
        text = json.dumps(jsonable(doc), indent=2, default=str) + "\n"
        (tmp / JSON_NAME).write_text(text, encoding="utf-8")
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent))
            os.replace(path, old / "split")
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _ids(raw: np.ndarray, unused: list, kind: str) -> tuple[np.ndarray, np.ndarray]:
    dtype = np.int64 if kind == "int64" else str
    raw = raw.astype(dtype)
    extra = np.asarray(unused, dtype=dtype)
    ids = np.unique(np.concatenate([raw, extra]) if len(extra) else raw)
    return ids, np.searchsorted(ids, raw).astype(np.int64)


def load_split(path) -> Split:
    """Read a split written by :func:`save_split`; DataError when it is not one or was altered."""
    import pyarrow as pa

    path = Path(path)
    problem = split_problem(path)
    if problem is not None:
        raise DataError(f"{path}: not a saved split: {problem} (a split directory holds "
                        f"{JSON_NAME} and {TABLE_NAME}, written by `leporid data prepare`)")
    try:
        return _read_split(path)
    except DataError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, pa.ArrowException,
            OSError) as exc:          # any other damage the checks below did not name
        raise DataError(f"{path}: damaged split ({exc.__class__.__name__}: {exc}); prepare it "
                        f"again with `leporid data prepare`") from None


def _read_split(path: Path) -> Split:
    import pyarrow as pa
    import pyarrow.parquet as pq

    jpath, tpath = path / JSON_NAME, path / TABLE_NAME
    doc = json.loads(jpath.read_text(encoding="utf-8"))
    if doc.get("version") != VERSION:
        raise DataError(f"{jpath}: split format version {doc.get('version')!r}; this leporid "
                        f"reads version {VERSION}")
    try:
        table = pq.read_table(tpath, use_threads=False)  # see loaders: no reader threads
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{tpath}: unreadable ({exc})") from None
    for col in ("user", "item", "part"):
        if col not in table.column_names:
            raise DataError(f"{tpath}: missing column {col!r}")
    if table.num_rows != doc.get("rows"):
        raise DataError(f"{tpath}: {table.num_rows} rows, {jpath.name} says {doc.get('rows')}")

    def col(name, dtype=None):
        if name not in table.column_names:
            return None
        a = table.column(name).to_numpy()
        return a if dtype is None else a.astype(dtype)

    user_ids, users = _ids(col("user"), doc.get("unused_user_ids", []), doc["user_id_dtype"])
    item_ids, items = _ids(col("item"), doc.get("unused_item_ids", []), doc["item_id_dtype"])
    inter = Interactions(user_ids, item_ids, users, items, col("timestamp", np.float64),
                         col("rating", np.float64), doc.get("name", path.name),
                         dict(doc.get("meta") or {}))
    if inter.fingerprint() != doc.get("fingerprint"):
        raise DataError(f"{path}: the interactions do not match the recorded fingerprint "
                        f"({inter.fingerprint()} != {doc.get('fingerprint')}); was it modified?")
    part = col("part")
    if not np.isin(part, range(len(PARTS))).all():
        raise DataError(f"{tpath}: column 'part' holds values other than 0, 1, 2")
    split = Split(inter, part.astype(np.int8), dict(doc.get("report") or {}),
                  tuple(doc.get("ratios", (0.7, 0.8))))
    if "split_fingerprint" not in doc:
        raise DataError(f"{jpath}: no split_fingerprint (written by an older leporid), so its "
                        f"part column cannot be verified; prepare the split again with "
                        f"`leporid data prepare`")
    if split.fingerprint() != doc["split_fingerprint"]:
        raise DataError(f"{path}: the train/validation/test parts or ratios do not match the "
                        f"recorded split fingerprint ({split.fingerprint()} != "
                        f"{doc['split_fingerprint']}); was it modified? Prepare it again with "
                        f"`leporid data prepare`")
    return split
