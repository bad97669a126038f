"""DLR² training speed alone and beside a CPU-bound process, under each threading policy.

    python benchmarks/bench_busy.py [--seconds 12] [--spinners 1]

Each policy runs in a fresh subprocess (OpenMP reads its wait policy when torch loads): DLR²
training steps (ml-latest-small, batch 128, default architecture, bf16 where native) for
``--seconds`` after 3 warm-up steps, first alone, then beside ``--spinners`` child processes
that spin a core each (``while True: pass``). Printed: steps/s alone, beside, and the slowdown
ratio. Policies:

- ``before``: torch's default (one thread per core, OpenMP threads spin-wait; leporid used to
  leave this setting alone);
- ``1 thread``: ``torch.set_num_threads(1)``;
- ``passive``: all cores, ``OMP_WAIT_POLICY=PASSIVE`` (threads sleep instead of spinning);
- ``leporid default``: what ``leporid.train.loop.training_threads`` picks with no setting
  (one thread; the same as ``1 thread``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time, numpy as np
policy, seconds = sys.argv[1], float(sys.argv[2])
import torch
from leporid.data import load, prepare
from leporid.models.dlr2 import DLR2
from leporid.train.loop import training_threads, torch_threads
split = prepare(load("ml-latest-small"))
threads = {"before": torch.get_num_threads(), "1 thread": 1, "passive": torch.get_num_threads(),
           "leporid default": training_threads(None)}[policy]
m = DLR2(threads=threads)
with torch_threads(threads):
    m._build(split)
    batches = m.batches(np.random.default_rng(0))
    opt = torch.optim.Adam(m.network_.parameters(), lr=1e-3)
    def step(b):
        loss = m.batch_loss(b); opt.zero_grad(); loss.backward(); opt.step()
    for b in batches[:3]:
        step(b)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step(batches[3 + n % (len(batches) - 3)]); n += 1
    print(json.dumps({"steps_per_s": n / (time.perf_counter() - t0), "threads": threads}))
"""


def spin() -> None:
    while True:
        pass


def run(policy: str, seconds: float) -> dict:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    out = subprocess.run([sys.executable, "-c", CHILD, policy, str(seconds)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--spinners", type=int, default=1)
    ap.add_argument("--policies", nargs="+",
                    default=["before", "leporid default", "passive"])
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}")
    print("| policy | threads | alone steps/s | beside a busy process steps/s | slowdown |\n"
          "|---|---|---|---|---|")
    for policy in args.policies:
        alone = run(policy, args.seconds)
        spinners = [mp.Process(target=spin, daemon=True) for _ in range(args.spinners)]
        for p in spinners:
            p.start()
        time.sleep(0.5)
        try:
            busy = run(policy, args.seconds)
        finally:
            for p in spinners:
                p.terminate()
                p.join()
        print(f"| {policy} | {alone['threads']} | {alone['steps_per_s']:.2f} | "
              f"{busy['steps_per_s']:.2f} | {alone['steps_per_s'] / busy['steps_per_s']:.1f}x |",
              flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
