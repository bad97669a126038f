"""Input checks shared by every layer: interaction matrices and numeric parameters.

One place decides what a valid input is, so the library and the CLI say the same thing:

- :func:`check_matrix` — what every entry point that takes a user x item matrix does first:
  a **copy** (the caller's data is never modified), explicitly stored zeros dropped (a stored
  zero is not an interaction), duplicates summed, and NaN, infinite, complex or non-numeric
  values refused with a ``ValueError`` naming the problem. Any other non-zero value (a rating,
  a count, a negative weight) marks an interaction.
- :func:`check_number` / :func:`check_choice` / :func:`check_bool` — a parameter's type and
  range, with the
  parameter's name and the allowed values in the message (the CLI prints it as is).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.sparse as sp


def check_matrix(X, name: str = "X", binary: bool = True, dtype=np.float32) -> sp.csr_matrix:
    """A validated CSR **copy** of the 2-D matrix ``X`` (sparse, dense or array-like).

    Explicit zeros are removed and duplicates summed; with ``binary`` every remaining entry
    becomes 1. Raises ``ValueError`` for NaN / infinite values (message names "NaN" or "inf"),
    complex or non-numeric data, and for a matrix that is not 2-D or has no rows or columns;
    ``TypeError`` for something that is not a matrix at all.
    """
    if sp.issparse(X):
        if X.format not in ("csr", "csc", "coo"):   # dok, lil, dia, bsr: one common view
            X = X.tocoo()
        ndim = len(X.shape)
    else:
        try:
            arr = np.asarray(X)
        except Exception as exc:  # ragged lists etc.
            raise TypeError(f"{name} must be a 2-D matrix, got {type(X).__name__} "
                            f"({exc})") from None
        ndim = arr.ndim
        if arr.dtype.kind == "O":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{name} must hold real numbers; found a non-numeric value "
                                f"({exc})") from None
        X = arr
    check_real_values(X.data if sp.issparse(X) else X, name)
    if ndim != 2:
        raise ValueError(f"{name} must be 2-D (users x items), got {ndim} dimension(s)")
    if X.shape[0] < 1:
        raise ValueError(f"{name} has 0 sample(s) (shape={tuple(X.shape)}) while a minimum of 1 "
                         f"is required (users x items, at least one user)")
    if X.shape[1] < 1:
        raise ValueError(f"{name} has 0 feature(s) (shape={tuple(X.shape)}) while a minimum of 1 "
                         f"is required (users x items, at least one item)")
    M = sp.csr_matrix(X, dtype=np.float64, copy=True)
    M.sum_duplicates()
    M.eliminate_zeros()                  # a stored zero, or entries summing to zero, is no event
    M.sort_indices()
    if binary:
        M.data[:] = 1.0
    return M.astype(dtype, copy=False) if M.dtype != dtype else M


def check_real_values(values, name: str = "X") -> None:
    """``ValueError`` unless ``values`` (an array) holds finite real numbers (no NaN, inf,
    complex or non-numeric entries)."""
    values = np.asarray(values)
    kind = values.dtype.kind
    if kind == "c":
        raise ValueError(f"{name} has complex values (Complex data not supported); it must hold "
                         f"real numbers")
    if kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {values.dtype}")
    if kind == "f" and not np.isfinite(values).all():
        what = "NaN" if np.isnan(values).any() else "inf (infinite)"
        raise ValueError(f"{name} contains {what} values; it must be finite (no NaN or inf)")


def check_number(value, name: str, *, low=None, high=None, low_open: bool = False,
                 high_open: bool = False, integer: bool = False, allow_none: bool = False,
                 owner: str = ""):
    """``value`` as an int (``integer``) or float within ``[low, high]`` (``(`` with
    ``low_open``, ``)`` with ``high_open``); ``ValueError`` / ``TypeError`` naming the parameter
    and the allowed range otherwise. NaN and ±inf are never in range; booleans are not numbers."""
    where = f"{owner}: " if owner else ""
    if value is None and allow_none:
        return None
    lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
    hi = "" if high is None else f"{'<' if high_open else '<='} {high}"
    allowed = (f"{'an integer' if integer else 'a number'}"
               + (f" {lo}" if lo else "") + (" and" if lo and hi else "")
               + (f" {hi}" if hi else ""))
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)):
        raise TypeError(f"{where}{name} must be {allowed}, got {value!r}")
    given = value
    if integer:
        if isinstance(value, (float, np.floating)):
            if not (math.isfinite(value) and float(value).is_integer()):
                raise ValueError(f"{where}{name} must be {allowed}, got {value!r}")
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):  # no parameter of leporid is meaningful at NaN or ±inf
            raise ValueError(f"{where}{name} must be {allowed}, got {given!r}")
    bad_lo = low is not None and (value <= low if low_open else value < low)
    bad_hi = high is not None and (value >= high if high_open else value > high)
    if bad_lo or bad_hi:
        raise ValueError(f"{where}{name} must be {allowed}, got {given!r}")
    return value


def check_bool(value, name: str, owner: str = "") -> bool:
    """``value`` if it is a bool (numpy's too), else a ``TypeError``: ``"maybe"`` or ``2`` must
    not silently mean True."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    where = f"{owner}: " if owner else ""
    raise TypeError(f"{where}{name} must be true or false, got {value!r}")


def check_choice(value, name: str, choices, owner: str = ""):
    """``value`` if it is one of ``choices``, else a ``ValueError`` listing them."""
    if value not in choices:
        where = f"{owner}: " if owner else ""
        raise ValueError(f"{where}{name} must be one of {', '.join(map(str, choices))}; "
                         f"got {value!r}")
    return value
