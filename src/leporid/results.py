"""Atomic result files (JSON, CSV, Markdown) that record config, seed, data fingerprint, version."""

from __future__ import annotations

import io
import json
import os
import platform
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

from . import __version__
from .utils.jsonio import jsonable


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's live process (or an odd number): leave its file alone
    return True


def temp_prefix(path: Path) -> str:
    """Prefix of the temporary files (and folders) written on the way to ``path``:
    ``.NAME.PID.`` — with suffix ``.tmp`` they are recognised, and removed once PID is gone."""
    return f".{Path(path).name}.{os.getpid()}."


def remove_stale_temps(path: str | os.PathLike) -> None:
    """Delete temporary files or folders of earlier writes of ``path`` whose writer is gone
    (SIGKILL, power loss): names ``.NAME.PID.XXXXXXXX.tmp`` with PID no longer running; files
    of the older scheme ``.NAME.XXXXXXXX`` once they are an hour old."""
    path = Path(path)
    pattern = re.compile(r"\." + re.escape(path.name) + r"\.(?:(\d+)\.)?[A-Za-z0-9_]{8}(\.tmp)?$")
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for e in entries:
        m = pattern.match(e.name)
        if not m:
            continue
        pid, new_style = m.group(1), m.group(2)
        try:
            if pid and new_style:
                stale = not _pid_alive(int(pid))
            else:
                stale = e.is_file(follow_symlinks=False) and \
                    time.time() - e.stat().st_mtime > 3600
            if not stale:
                continue
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path, ignore_errors=True)
            else:
                os.unlink(e.path)
        except OSError:
            pass


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` via a temporary file + rename, so readers never see half a file.

    The file gets the mode an ordinary ``open`` would (0666 less the umask: 0644 under umask
    022), not the temporary file's private 0600. Temporary files that earlier, killed writes of
    the same ``path`` left behind are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    mode = "wb" if isinstance(data, bytes) else "w"
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
    except OSError as exc:           # name the file asked for, not the temporary one
        raise type(exc)(exc.errno, f"cannot write {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, mode) as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """``np.save`` (no pickles) through :func:`atomic_write`."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return atomic_write(path, buf.getvalue())


def provenance(config: dict, seed: int | None, fingerprint: str | None) -> dict:
    """The block every result file carries. ``host`` is the machine's name (as in the grid's
    cell claims), so results computed on, say, a GPU machine and here can be told apart once
    they sit in one folder."""
    return {"leporid_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "host": socket.gethostname(), "python": platform.python_version(), "seed": seed,
            "data_fingerprint": fingerprint, "config": jsonable(config)}


def write_json(path, obj: dict) -> Path:
    return atomic_write(path, json.dumps(jsonable(obj), indent=2, sort_keys=False) + "\n")


def markdown_table(rows: list[dict], columns: list[str] | None = None,
                   floatfmt: str = ".4f") -> str:
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

    def named(ext):  # appended, never ``with_suffix``: a dot in the stem must not be eaten
        return stem.with_name(stem.name + ext)

    columns = columns or (list(rows[0]) if rows else [])
    paths = {"json": write_json(named(".json"), {**meta, "rows": rows})}
    paths["csv"] = atomic_write(named(".csv"),
                                pd.DataFrame(rows, columns=columns).to_csv(index=False))
    head = (f"<!-- leporid {meta.get('leporid_version', __version__)}; seed {meta.get('seed')}; "
            f"data {meta.get('data_fingerprint')} -->\n")
    paths["md"] = atomic_write(named(".md"), head + markdown_table(rows, columns))
    return paths


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG to ``path`` atomically, close it, and return the path."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    pyplot().close(fig)
    return atomic_write(path, buf.getvalue())
