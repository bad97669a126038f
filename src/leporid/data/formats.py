"""The data formats: one :class:`Format` record per format, in one registry.

A record says everything about its format: the name, a one-line description, how a file is read
(a :class:`Layout` for delimited text, read by the loaders' shared fast path and reference
parser, or a ``parser`` function for anything else), the aliases ``--format`` accepts, the
standard file names a dataset directory holds, the file-name endings that imply it and an
optional look at the content (``sniff``). ``leporid data formats``, ``--format``,
:func:`detect_format` and the directory search all read the records, so a new format is one
:func:`register` call (see docs/add-a-format.md). The built-in formats are registered by
:mod:`leporid.data.loaders`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .interactions import DataError

# the separators the text readers split on (" ": any run of blanks)
SEPARATORS = (",", "\t", "::", " ")


@dataclass(frozen=True)
class Column:
    """One column of a delimited text format."""

    role: str                    # user | item | rating | time
    kind: str                    # int | token | float | time (number or ISO-8601 date-time)
    names: tuple[str, ...] = ()  # accepted header names (case-insensitive); header formats only
    required: bool = True


@dataclass(frozen=True)
class Layout:
    """What a delimited text format looks like."""

    sep: str                     # ",", "\t", "::" or " " (any run of blanks)
    header: bool
    columns: tuple[Column, ...]
    strip_types: bool = False    # header names carry a ':type' suffix (RecBole atomic files)

    def __post_init__(self):
        if self.sep not in SEPARATORS:
            raise ValueError(f"layout separator {self.sep!r}: not one of {list(SEPARATORS)}")


def positional(*columns: tuple[str, str]) -> tuple[Column, ...]:
    """Columns of a header-less layout from ``(role, kind)`` pairs, in file order."""
    return tuple(Column(role, kind) for role, kind in columns)


@dataclass(frozen=True)
class Format:
    """One data format.

    Parameters
    ----------
    name, description
        The canonical name (``--format NAME``) and the line ``leporid data formats`` prints.
    layout
        A delimited text format's layout; its parser is the loaders' shared text reader.
    parser
        Otherwise: ``parser(path, name=None, **column_options) -> Interactions``.
    aliases
        Other names ``--format`` accepts (case-insensitive).
    files
        Standard file names (lower case): a file so named is this format, and a dataset
        directory holding one is read from it.
    suffixes
        File-name endings (lower case) that imply this format.
    sniff, sniff_says
        A look at the file that must also accept it (``sniff(path) -> bool``), and what it
        checks, in words, for ``leporid data formats``.
    one_per_directory
        A dataset directory holding exactly one file with one of ``suffixes`` is read from it.
    """

    name: str
    description: str
    layout: Layout | None = None
    parser: Callable | None = None
    aliases: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    sniff: Callable[[Path], bool] | None = None
    sniff_says: str = ""
    one_per_directory: bool = False

    def __post_init__(self):
        if (self.layout is None) == (self.parser is None):
            raise TypeError(f"format {self.name!r}: give exactly one of layout and parser")

    def claims(self, path: Path, by_name: bool) -> bool:
        """Whether ``path``'s name (``by_name``: a standard file name, else an ending) implies
        this format and the sniff, if any, accepts the file."""
        low = path.name.lower()
        hit = low in self.files if by_name else low.endswith(self.suffixes or ("\0",))
        return hit and (self.sniff is None or self.sniff(path))


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    """Add ``fmt`` to the registry (its name and aliases must be new); returns it."""
    taken = _aliases()
    for key in (fmt.name, *fmt.aliases):
        if key.lower() in FORMATS or key.lower() in taken:
            raise ValueError(f"format name {key!r} is already registered")
    FORMATS[fmt.name] = fmt
    return fmt


def _aliases() -> dict[str, str]:
    return {a.lower(): f.name for f in FORMATS.values() for a in f.aliases}


def normalise_format(fmt: str | None) -> str | None:
    """Canonical format name (aliases such as ``ml-1m`` accepted); DataError for unknown names."""
    if fmt is None:
        return None
    fmt = _aliases().get(fmt.lower(), fmt.lower())
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
    return fmt


def known_files() -> dict[str, str]:
    """Standard file name -> format name, in registry order."""
    return {f: fmt.name for fmt in FORMATS.values() for f in fmt.files}


def detect_format(path) -> str:
    """The format a file name implies; DataError asking for ``--format`` when it implies none.

    Standard file names are tried before endings, each in registry order; the first format that
    claims the file (and whose sniff accepts it) wins.
    """
    path = Path(path)
    for by_name in (True, False):
        for fmt in FORMATS.values():
            if fmt.claims(path, by_name):
                return fmt.name
    raise DataError(f"{path}: cannot tell the file format from its name; pass --format "
                    f"(one of: {', '.join(FORMATS)})")


def find_in_directory(path: Path) -> Path:
    """The interactions file of a dataset directory: one with a standard file name (in registry
    order), else the only file of a ``one_per_directory`` format (``*.inter``)."""
    for fname in known_files():
        if (path / fname).is_file():
            return path / fname
    single = [f"*{s}" for fmt in FORMATS.values() if fmt.one_per_directory for s in fmt.suffixes]
    for pattern in single:
        found = sorted(path.glob(pattern))
        if len(found) == 1:
            return found[0]
    raise DataError(f"{path}: a directory without a known interactions file "
                    f"({', '.join([*known_files(), *(f'one {p}' for p in single)])}); "
                    f"name the file instead")


def detection_rules() -> list[tuple[str, str]]:
    """``(file names, format)`` lines saying how a file name decides the format."""
    rules = []
    for by_name in (True, False):
        for fmt in FORMATS.values():
            names = fmt.files if by_name else tuple(f"*{s}" for s in fmt.suffixes)
            if names:
                says = f" if {fmt.sniff_says}" if fmt.sniff is not None else ""
                rules.append((", ".join(names), fmt.name + says))
    return rules
