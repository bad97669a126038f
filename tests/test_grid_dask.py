"""The experiment grid on Dask (``reproduce --jobs N`` / ``--scheduler``): a local process
cluster gives the cells of one process bit for bit; a worker killed mid-cell has its cell
recomputed elsewhere; a scheduler started by hand is reached by its address; an unreachable
one fails in seconds; a terminated run leaves no worker behind; no claim file anywhere."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from test_reproduce import TINY  # noqa: E402

from leporid.cli import main  # noqa: E402
from leporid.data import prepare  # noqa: E402
from leporid.data.synthetic import power_law_interactions  # noqa: E402
from leporid.experiments import ARTEFACTS, Context, reproduce  # noqa: E402
from leporid.experiments.cluster import GridCluster  # noqa: E402
from leporid.experiments.grid import Cell, CellCache, run_cells  # noqa: E402

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"


def _split():
    return prepare(power_law_interactions(50, 70, 1800, min_per_user=20, seed=3, name="tiny"),
                   min_count=5)


def _cells(folder: Path) -> dict:
    return {p.name: json.loads(p.read_text()) for p in folder.glob("*.json")}


@pytest.mark.slow
def test_local_cluster_equals_one_process_cell_for_cell(tmp_path):
    """``reproduce all`` (a classic model and DLR² from two initialisations: classic, BPR-MF,
    DLR² and simulation cells) through ``local:2`` — the whole grid submitted at once — equals
    the same grid in this process: every metric and per-user value, bit for bit."""
    split = _split()
    pick = {"models": ("toppop", "dlr2"), "inits": ("random", "leporid")}
    here = Context(split, TINY, tmp_path / "one", dataset="tiny", progress=False, **pick)
    cluster = GridCluster("local:2")
    try:
        there = Context(split, TINY, tmp_path / "two", dataset="tiny", progress=False,
                        cluster=cluster, **pick)
        assert list(reproduce("all", there)) == list(ARTEFACTS)
    finally:
        cluster.close()
    reproduce("all", here)
    one, two = _cells(here.cache.folder), _cells(there.cache.folder)
    assert len(one) >= 12 and sorted(one) == sorted(two)
    for name, doc in one.items():
        assert "error" not in doc, doc
        for part in ("test", "per_user", "users", "in_tail", "params", "simulation"):
            assert doc.get(part) == two[name].get(part), (name, part)
    # the cells ran in the workers (other processes), the artefacts were written here
    pids = {d["computed_by"].rsplit(":", 1)[1] for d in two.values()}
    assert str(os.getpid()) not in pids
    for art in ARTEFACTS:
        a, b = (json.loads((c.out / f"{art}.json").read_text()) for c in (here, there))
        assert a["rows"] == b["rows"], art
    assert json.loads((there.out / "table7.json").read_text())["cell_hosts"] == [
        socket.gethostname()]
    assert not list(tmp_path.rglob("*.claim"))


# --------------------------------------------------------------------------- killed workers
def _signalling_cell(config: dict, ctx) -> dict:
    """A test cell: announces its start (its worker's pid) in a file; the ``victim`` cell then
    waits to be killed the first time it runs."""
    flags = Path(config["flags"])
    (flags / f"{config['setting']}-{os.getpid()}.start").write_text("")
    if config["victim"] and not (flags / "killed").exists():
        time.sleep(120)
    return {"value": config["setting"] * 10}


def _kill_victim_when_it_starts(flags: Path) -> int:
    """SIGKILL the worker process running the victim cell (setting 1); its pid."""
    deadline = time.time() + 120
    while time.time() < deadline:
        started = list(flags.glob("1-*.start"))
        if started:
            pid = int(started[0].stem.split("-")[1])
            (flags / "killed").write_text("")
            time.sleep(1)       # mid-cell: its start has reached the client
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.1)
    raise AssertionError("the victim cell never started")


def _run_with_a_kill(cluster, tmp_path):
    import threading

    flags = tmp_path / "flags"
    flags.mkdir()
    cells = [Cell({"kind": "t", "setting": i, "victim": i == 1, "flags": str(flags), "seed": 1},
                  _signalling_cell) for i in range(4)]
    ctx = Context(None, TINY, tmp_path / "r", dataset="d", progress=False, cluster=cluster)
    killed = []
    t = threading.Thread(target=lambda: killed.append(_kill_victim_when_it_starts(flags)))
    t.start()
    res = run_cells(cells, CellCache(tmp_path / "cells"), None, progress=False, ctx=ctx,
                    cluster=cluster)
    t.join()
    assert [r.get("value") for r in res] == [0, 10, 20, 30], res  # every cell, right values
    assert cluster.restarted >= 1           # the killed cell counted (a cell finished there
    #                                         and not yet fetched is computed again, counted too)
    starts = sorted(p.name for p in flags.glob("1-*.start"))
    assert len(starts) == 2 and f"1-{killed[0]}.start" in starts  # rerun in another process
    assert res[1]["computed_by"].rsplit(":", 1)[1] != str(killed[0])
    assert len(list((tmp_path / "cells").glob("*.json"))) == 4
    assert not list(tmp_path.rglob("*.claim"))


def test_a_local_worker_killed_mid_cell_has_its_cell_recomputed(tmp_path):
    cluster = GridCluster("local:2")
    try:
        _run_with_a_kill(cluster, tmp_path)
    finally:
        cluster.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_scheduler_started_by_hand_is_reached_by_address(tmp_path):
    """``dask scheduler`` + two ``dask worker`` processes (127.0.0.1 only): the grid runs there
    through ``tcp://HOST:PORT``, and survives one worker SIGKILLed mid-cell."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS)])}
    dask = str(Path(sys.executable).with_name("dask"))      # the dask command of this Python
    log = open(tmp_path / "dask.log", "ab")                 # noqa: SIM115 - closed below
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stderr=log)]
    try:
        procs += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--host",
                                    "127.0.0.1", "--no-dashboard"], env=env, stderr=log)
                  for _ in range(2)]
        cluster = None
        for _ in range(60):         # the scheduler takes a few seconds to listen
            try:
                cluster = GridCluster(address)
                break
            except OSError:
                time.sleep(1)
        assert cluster is not None, "the scheduler never answered"
        try:
            cluster.client.wait_for_workers(2, timeout=60)
            _run_with_a_kill(cluster, tmp_path)
        finally:
            cluster.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()
        log.close()


# --------------------------------------------------------------------------- the command
def test_bad_or_unreachable_scheduler_fails_in_seconds_with_one_line(tmp_path, capsys,
                                                                       monkeypatch):
    from leporid.experiments import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)
    out = tmp_path / "r"
    t0 = time.perf_counter()
    assert main(["reproduce", "table7", "--scheduler", f"tcp://127.0.0.1:{_free_port()}",
                 "--out", str(out), "--no-progress"]) == 1
    assert time.perf_counter() - t0 < 12
    err = capsys.readouterr().err.strip()
    assert err.startswith("leporid reproduce: error: cannot reach the Dask scheduler at tcp://")
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
    for bad in (["--scheduler", "local:0"], ["--scheduler", "host:8786"],
                ["--jobs", "2", "--scheduler", "local:2"]):
        assert main(["reproduce", "table7", *bad, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "--scheduler" in err and "Traceback" not in err


@pytest.mark.slow
def test_sigterm_leaves_no_worker_process_behind(tmp_path):
    """``reproduce --jobs 2`` terminated mid-grid: it exits and its workers go with it. The
    bundled data's DLR² cells take a minute or more each, so the signal surely lands mid-grid
    (the tiny split's whole grid ran in ~3 s and could end before it: a race)."""
    psutil = pytest.importorskip("psutil")

    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen([sys.executable, "-m", "leporid", "reproduce", "table7", "--budget",
                             "smoke", "--out", str(tmp_path / "r"),
                             "--jobs", "2", "--no-progress"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    me = psutil.Process(proc.pid)
    deadline = time.time() + 120
    workers = []
    while time.time() < deadline and len(workers) < 2:
        time.sleep(0.5)
        workers = [p for p in me.children(recursive=True)
                   if "resource_tracker" not in " ".join(p.cmdline())]
    assert len(workers) >= 2, "the local workers never started"
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, [p.cmdline() for p in alive]
    assert b"Traceback" not in proc.stderr.read()


def test_cuda_cells_are_refused_by_a_cluster_without_gpus():
    """``--device cuda`` on workers that offer no ``GPU`` resource: refused at once (the cells
    would wait forever), naming the recipe; CPU cells ask for no resource."""
    from leporid.graph.jaccard import resolve_device

    if resolve_device("auto") != "cpu":
        pytest.skip("this machine has a GPU: its local workers offer it")
    cluster = GridCluster("local:1", device="cuda")
    try:
        cluster.client.wait_for_workers(1, timeout=60)
        with pytest.raises(OSError, match='no worker of local:1 offers a GPU.*--resources "GPU=1"'):
            cluster.check_gpu()
    finally:
        cluster.close()
