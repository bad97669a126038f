"""``leporid embed`` as a whole process against the naive scipy pipeline as a whole process.

Wall time and peak RSS of each process, the runs interleaved (leporid, naive, leporid, ...)
so that a busy machine slows both alike; the median of ``--repeats`` runs is compared.
``leporid embed`` runs with ``--no-cache`` (the embedding cache would answer every run after
the first).

    python benchmarks/bench_cli.py                       # synthetic ML-1M-sized file
    python benchmarks/bench_cli.py --ml1m                # + the real ML-1M training matrix
    python benchmarks/bench_cli.py --scheduler local:2   # + the same embed on a local Dask cluster

The synthetic file is ``power_law_interactions(6040, 3650, 1_000_000, seed=123)`` written as a
tab-separated ``user item rating time`` file (ml-100k layout), read by both pipelines. With
``--ml1m`` both pipelines embed the training part of ``../shared/datasets/ml-1m/ml-1m.pairs.txt``
under the paper's protocol as run (``--protocol authors``: 6,040 x 3,647, 697k interactions)
and under the 20-core one (the naive script calls leporid's loader for the split, so only
graph + eigensolver + process overheads differ). Also times ``leporid --help``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# ../shared beside the checkout (main at /work/main, worktrees at /work/wt/NAME)
ML1M = next((p / "shared/datasets/ml-1m/ml-1m.pairs.txt" for p in HERE.parents
             if (p / "shared/datasets/ml-1m").is_dir()), HERE / "ml-1m.pairs.txt")


def run(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout+stderr tail) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{out[-2000:]}")
    return wall, usage.ru_maxrss / 1024, out


def synthetic_file(workdir: Path) -> Path:
    path = workdir / "ml1m_synthetic.inter"
    if not path.exists():
        import numpy as np

        from leporid.data.synthetic import power_law_interactions

        it = power_law_interactions(6040, 3650, 1_000_000, seed=123)
        rows = np.column_stack([it.user_ids[it.users], it.item_ids[it.items],
                                np.ones(len(it.users), np.int64),
                                it.timestamps.astype(np.int64)])
        tmp = path.with_suffix(".tmp")
        np.savetxt(tmp, rows, fmt="%d", delimiter="\t")
        tmp.replace(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ml1m", action="store_true", help="also the real ML-1M (20-core train)")
    ap.add_argument("--no-synthetic", action="store_true")
    ap.add_argument("--scheduler", default=None, help="also run embed --scheduler THIS")
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--workdir", default=None, help="where the synthetic file is cached")
    args = ap.parse_args()
    py = sys.executable
    work = Path(args.workdir or Path(tempfile.gettempdir()) / "leporid-bench")
    work.mkdir(parents=True, exist_ok=True)

    helps = [run([py, "-m", "leporid", "--help"])[0] for _ in range(5)]
    print(f"leporid --help: median {statistics.median(helps):.2f} s over 5 "
          f"(min {min(helps):.2f})", flush=True)

    cases = []
    if not args.no_synthetic:
        f = str(synthetic_file(work))
        cases.append(("synthetic ML-1M size", ["--input", f, "--format", "ml-100k"], [f]))
    if args.ml1m:
        if not ML1M.exists():
            print(f"skipping --ml1m: {ML1M} not found")
        else:
            for protocol in ("authors", "kcore"):
                cases.append((f"ML-1M train, protocol {protocol}",
                              ["--dataset", str(ML1M), "--format", "steam-seq", "--protocol",
                               protocol],
                              [str(ML1M), "--split", "--format", "steam-seq", "--protocol",
                               protocol]))
    k = ["--neighbors", str(args.k)]
    for name, embed_args, naive_args in cases:
        variants = {
            "leporid embed": [py, "-m", "leporid", "embed", *embed_args, *k, "--device", "cpu",
                              "--no-cache", "--out", str(work / "out-leporid")],
            "naive scipy": [py, str(HERE / "naive_embed.py"), naive_args[0],
                            str(work / "out-naive"), *naive_args[1:], "--k", str(args.k)],
        }
        if args.scheduler:
            variants[f"embed --scheduler {args.scheduler}"] = [
                *variants["leporid embed"], "--scheduler", args.scheduler]
        run(variants["leporid embed"])  # warm-up: numba cache, OS file cache (not timed)
        times = {v: [] for v in variants}
        peaks = {v: [] for v in variants}
        for _ in range(args.repeats):
            for v, cmd in variants.items():
                wall, peak, _ = run(cmd)
                times[v].append(wall)
                peaks[v].append(peak)
        base = statistics.median(times["naive scipy"])
        print(f"\n{name} (K={args.k}, dim 64, median of {args.repeats}, interleaved)")
        for v in variants:
            med = statistics.median(times[v])
            print(f"  {v:32s} {med:6.2f} s  (runs {', '.join(f'{t:.2f}' for t in times[v])})"
                  f"  peak {max(peaks[v]):5.0f} MiB  ratio to naive {med / base:.2f}", flush=True)
        if args.scheduler:
            one = statistics.median(times["leporid embed"])
            dist = statistics.median(times[f"embed --scheduler {args.scheduler}"])
            print(f"  Dask overhead ({args.scheduler} vs one process): {dist / one - 1:+.0%}")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (2-core machine shared)")


if __name__ == "__main__":
    main()
