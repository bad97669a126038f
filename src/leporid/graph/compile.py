"""First-use compilation of the numba kernels: paid once per install, said when it happens.

Every kernel is compiled with ``cache=True``, so numba writes machine code next to the module
(or in the user's cache directory when the install is read-only) and later processes load it in
milliseconds. ``warm_up`` runs the kernels once on tiny inputs of the exact argument types the
real calls use, *before* anything is timed: a compile then shows up as its own line on stderr
("compiling ... once per install") and in ``timings_["compile"]``, never inside a printed graph
or eigen time.
"""

from __future__ import annotations

import sys
import time


def _misses(dispatchers) -> int:
    return sum(sum(d.stats.cache_misses.values()) for d in dispatchers)


def warm_up(run, dispatchers, what: str, *, quiet: bool = False) -> float:
    """Call ``run()`` (which calls ``dispatchers`` on tiny inputs); return the seconds spent
    compiling (0.0 when every kernel came from numba's cache). A compile is announced on stderr
    unless ``quiet``."""
    before = _misses(dispatchers)
    t0 = time.perf_counter()
    run()
    dt = time.perf_counter() - t0
    if _misses(dispatchers) == before:
        return 0.0
    if not quiet:
        print(f"leporid: compiled the {what} kernels in {dt:.1f} s (first use; cached for later "
              f"runs)", file=sys.stderr, flush=True)
    return dt
