"""Item titles, where a dataset has them: the bundled ml-latest-small, MovieLens folders
(``movies.csv``, ``movies.dat`` or ``u.item`` beside the ratings file) and RecBole atomic files
(``NAME.item`` beside ``NAME.inter``, a ``movie_title`` or ``title`` column). Used to show
recommendations as titles, not only ids; a dataset without titles gives ``{}``."""

from __future__ import annotations

import csv
import io
import json
from importlib import resources
from pathlib import Path

#: title files next to a MovieLens ratings file: name -> (separator, encoding, header row)
TITLE_FILES = {"movies.csv": (",", "utf-8", True),      # ml-latest(-small), ml-20m, ml-25m
               "movies.dat": ("::", "latin-1", False),  # ml-1m, ml-10m
               "u.item": ("|", "latin-1", False)}       # ml-100k


def item_titles(dataset) -> dict[str, str]:
    """``{raw item id (as text): title}`` for ``dataset`` (a bundled name, a ratings file or a
    folder); ``{}`` when there is no title file or it cannot be read."""
    from .loaders import BUNDLED

    if dataset is None:
        return {}
    if str(dataset) in BUNDLED:
        folder = resources.files("leporid.data").joinpath("bundled", str(dataset))
        return _read(folder.joinpath("movies.csv").read_bytes(), "movies.csv")
    path = Path(dataset)
    if path.suffix == ".inter" and path.with_suffix(".item").is_file():
        try:
            return _read_recbole(path.with_suffix(".item").read_bytes())
        except (OSError, ValueError):
            return {}
    folder = path if path.is_dir() else path.parent
    for name in TITLE_FILES:
        candidate = folder / name
        if candidate.is_file():
            try:
                return _read(candidate.read_bytes(), name)
            except (OSError, ValueError, csv.Error):
                return {}
    return {}


def _read(data: bytes, name: str) -> dict[str, str]:
    sep, encoding, header = TITLE_FILES[name]
    text = data.decode(encoding, errors="replace")
    if sep == ",":
        rows = csv.reader(io.StringIO(text))
    else:
        rows = (line.split(sep) for line in text.splitlines())
    if header:
        next(rows, None)
    return {row[0].strip(): row[1].strip() for row in rows if len(row) >= 2 and row[0].strip()}


def _read_recbole(data: bytes) -> dict[str, str]:
    lines = data.decode("utf-8", errors="replace").splitlines()
    names = [h.partition(":")[0] for h in lines[0].split("\t")] if lines else []
    if "item_id" not in names:
        return {}
    key = names.index("item_id")
    title = next((names.index(n) for n in ("movie_title", "title") if n in names), None)
    if title is None:
        return {}
    rows = (line.split("\t") for line in lines[1:])
    return {r[key].strip(): r[title].strip() for r in rows if len(r) > max(key, title)}


def checkpoint_titles(checkpoint, dataset=None) -> dict[str, str]:
    """Titles for a model file written by ``leporid train``: of ``dataset`` when given, else of
    the dataset its results file (the same name ending in ``.json``) records."""
    if dataset is None:
        path = Path(checkpoint)
        stem = path.name.removesuffix(".pt").removesuffix(".train")
        try:
            config = json.loads(path.with_name(stem + ".json").read_text()).get("config", {})
            dataset = config.get("dataset") if isinstance(config, dict) else None
        except (OSError, ValueError, AttributeError):
            return {}
    return item_titles(dataset)
