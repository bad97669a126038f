"""`leporid recommend` writes RFC-4180 CSV: ids with commas, quotes or newlines round-trip."""

import csv
import io

import numpy as np

from leporid.cli import main
from leporid.data import Interactions, prepare
from leporid.data.split_io import save_split


def test_recommend_quotes_ids(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n_users, n_items, length = 12, 20, 12
    start = rng.integers(0, n_items, n_users)
    users = np.repeat(np.arange(n_users), length)
    pos = np.tile(np.arange(length), n_users)
    items = (start[users] + pos) % n_items
    user_names = np.array([f'user, "{u}"' for u in range(n_users)])
    item_names = np.array([f'item,{i}\n"x"' if i % 2 else f"item{i}" for i in range(n_items)])
    inter = Interactions.from_raw(user_names[users], item_names[items], pos.astype(float))
    data = save_split(prepare(inter, min_count=1), tmp_path / "split")
    out = tmp_path / "out"
    assert main(["train", "--model", "dlr2", "--dataset", str(data), "--init", "random",
                 "--iterations", "4", "--eval-every", "4", "--dim", "8", "--seq-len", "3",
                 "--batch-size", "16", "--threads", "1", "--out", str(out)]) == 0
    ckpt = next(p for p in out.glob("*.pt") if not p.name.endswith(".train.pt"))
    capsys.readouterr()
    who = user_names[3]
    assert main(["recommend", "--checkpoint", str(ckpt), "--users", who, "-n", "5"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["user", "rank", "item"] and len(rows) == 6
    assert all(len(r) == 3 and r[0] == who for r in rows[1:])
    assert [r[1] for r in rows[1:]] == ["1", "2", "3", "4", "5"]
    assert {r[2] for r in rows[1:]} <= set(item_names)
