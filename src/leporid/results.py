"""Atomic result files (JSON, CSV, Markdown) that record config, seed, data fingerprint, version."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from . import __version__


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` via a temporary file + rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """``np.save`` through a temporary file + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npy", dir=path.parent)
    os.close(fd)
    try:
        np.save(tmp, np.asarray(array), allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def jsonable(x):
    """``x`` with numpy arrays/scalars and paths turned into JSON-serialisable values."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    return x


def provenance(config: dict, seed: int | None, fingerprint: str | None) -> dict:
    """The block every result file carries."""
    return {"leporid_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "python": platform.python_version(), "seed": seed, "data_fingerprint": fingerprint,
            "config": jsonable(config)}


def write_json(path, obj: dict) -> Path:
    return atomic_write(path, json.dumps(jsonable(obj), indent=2, sort_keys=False) + "\n")


def markdown_table(rows: list[dict], columns: list[str] | None = None, floatfmt: str = ".4f") -> str:
    """A GitHub-flavoured Markdown table of ``rows`` (dicts)."""
    if not rows:
        return ""
    columns = columns or list(rows[0])

    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return format(float(v), floatfmt)
        return "" if v is None else str(v)

    out = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    out += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(out) + "\n"


def write_table(stem: str | os.PathLike, rows: list[dict], meta: dict,
                columns: list[str] | None = None) -> dict[str, Path]:
    """``stem.json`` (meta + rows), ``stem.csv`` and ``stem.md``; returns the paths."""
    import pandas as pd

    stem = Path(stem)
    columns = columns or (list(rows[0]) if rows else [])
    paths = {"json": write_json(stem.with_suffix(".json"), {**meta, "rows": rows})}
    paths["csv"] = atomic_write(stem.with_suffix(".csv"),
                                pd.DataFrame(rows, columns=columns).to_csv(index=False))
    head = (f"<!-- leporid {meta.get('leporid_version', __version__)}; seed {meta.get('seed')}; "
            f"data {meta.get('data_fingerprint')} -->\n")
    paths["md"] = atomic_write(stem.with_suffix(".md"), head + markdown_table(rows, columns))
    return paths
