"""Layering: a lower layer never imports a higher one, and the torch-free commands stay free.

Order (DESIGN §2): data -> graph -> spectral -> init -> models -> train / eval -> experiments
-> cli. Every import of every module is read with ``ast`` -- top-level ones *and* those inside
functions -- and resolved (relative imports included) to the ``leporid`` sub-package it names.
Same-layer imports are allowed (``train`` uses ``eval``).

Utilities outside the order: ``leporid/__init__.py`` (version, seed and lazy facade attributes
such as ``leporid.seed_embeddings``; it may reach any layer, lazily), ``results.py`` (atomic
writes, provenance), the ``utils`` package (device names, scipy -> torch sparse tensors, JSON
adapters) — both usable by every layer, importing no layer — and ``__main__.py`` (runs the cli).

Dependencies named by a dotted string (``"leporid.models.bpr:bpr_initializer"`` in
``leporid.init.registry``, ``"leporid.train.loop:train"`` in ``leporid.models.neural``, the
model registry's entries) are imported at run time, so the import checks do not see them: every
one is listed in ``DOTTED`` below, and a new one fails the test until it is listed (a lower
layer may name a higher one this way, on purpose, and only here). Likewise every module that
imports by a computed name (``importlib.import_module``) is listed in ``DYNAMIC_IMPORTERS``.
"""

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "leporid"
LAYERS = {"data": 0, "graph": 1, "spectral": 2, "init": 3, "models": 4, "train": 5, "eval": 5,
          "experiments": 6, "cli": 7}
UTILITIES = {"__init__", "results", "__main__", "utils"}

#: (module naming it, "module:attribute") for every dependency given as a dotted string
DOTTED = {
    ("leporid.init.registry", "leporid.models.bpr:bpr_initializer"),  # the lazy `bpr` scheme
    ("leporid.models.neural", "leporid.train.loop:train"),            # fit() runs the loop
    # the model registry's records (imported when a model is asked for)
    *(("leporid.models.registry", f"leporid.models.{path}") for path in (
        "toppop:TopPop", "knn:ItemKNN", "knn:UserKNN", "slim:SLIM", "bpr:BPRMF", "dlr2:DLR2",
        "lightgcn:LightGCN", "ngcf:NGCF", "ncf:NeuMF", "hgn:HGN", "dgcf:DGCF")),
}
#: modules importing by a computed name: what they import is listed in DOTTED or is one of
#: their own sub-modules (the CLI's commands, the experiments' artefacts)
DYNAMIC_IMPORTERS = {"leporid.init.registry", "leporid.models.registry", "leporid.cli",
                     "leporid.experiments"}
_DOTTED_RE = re.compile(r"leporid(\.\w+)+:\w+")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path):
    """Absolute names of every ``leporid`` module imported anywhere in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    mod = _module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            for a in node.names:                 # ``from . import x`` names a module too
                yield node.lineno, f"{target}.{a.name}"


def _layer(name: str):
    parts = name.split(".")
    if parts[0] != "leporid":
        return None
    if len(parts) == 1 or parts[1] in UTILITIES:
        return "utility"
    return parts[1] if parts[1] in LAYERS else None


def violations():
    out = []
    for path in sorted(PKG.rglob("*.py")):
        src = _layer(_module_name(path))
        if src in (None, "utility"):
            if _module_name(path) in ("leporid", "leporid.__main__"):
                continue                         # the facade and the entry point
            # results.py: a utility imports no layer at all
            for line, target in _imports(path):
                if _layer(target) not in (None, "utility"):
                    out.append(f"{path.relative_to(SRC)}:{line} (utility) imports {target}")
            continue
        for line, target in _imports(path):
            dst = _layer(target)
            if dst in (None, "utility"):
                continue
            if LAYERS[dst] > LAYERS[src]:
                out.append(f"{path.relative_to(SRC)}:{line} ({src}) imports {target} ({dst})")
    return out


def test_no_lower_layer_imports_a_higher_one():
    assert violations() == []


def test_the_checker_sees_imports_inside_functions(tmp_path, monkeypatch):
    # a planted violation (a lazy import inside a function) must be reported
    fake = tmp_path / "leporid" / "data"
    fake.mkdir(parents=True)
    (tmp_path / "leporid" / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "bad.py").write_text("def f():\n    from ..models import MODELS\n    return MODELS\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PKG", tmp_path / "leporid")
    assert "leporid/data/bad.py:2 (data) imports leporid.models (models)" in violations()


def dotted_strings() -> set[tuple[str, str]]:
    """(module, string) of every string constant in ``leporid`` that is a ``module:attribute``
    path into the package."""
    out = set()
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and _DOTTED_RE.fullmatch(node.value):
                out.add((_module_name(path), node.value))
    return out


def dynamic_importers() -> set[str]:
    out = set()
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Attribute) and node.attr in ("import_module", "__import__"):
                out.add(_module_name(path))
            elif isinstance(node, ast.Name) and node.id == "__import__":
                out.add(_module_name(path))
    return out


def test_every_dotted_string_dependency_is_listed():
    assert dotted_strings() == DOTTED
    assert dynamic_importers() == DYNAMIC_IMPORTERS


def test_listed_dotted_strings_resolve():
    for _, target in DOTTED:
        module, _, attr = target.partition(":")
        assert hasattr(importlib.import_module(module), attr), target


def import_graph() -> dict[str, set[str]]:
    """module -> the ``leporid`` modules it imports (lazy imports included; the facade
    ``leporid`` itself, whose attributes are lazy, left out)."""
    mods = {_module_name(p): p for p in PKG.rglob("*.py")}
    return {name: {t for _, t in _imports(path) if t in mods and t not in (name, "leporid")}
            for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_at_all():
    """No cycle of any length between any modules, packages included (lazy imports too)."""
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_planted_cycle():
    graph = {**import_graph(), "leporid.data.loaders": {"leporid.data.split"},
             "leporid.data.split": {"leporid.data.stats"},
             "leporid.data.stats": {"leporid.data.loaders"}}
    assert ["leporid.data.loaders", "leporid.data.split", "leporid.data.stats"] in cycles(graph)


def test_no_import_cycles_between_modules():
    """Module-level import graph inside leporid has no cycle (lazy imports included)."""
    graph = {}
    mods = {_module_name(p): p for p in PKG.rglob("*.py")}
    for name, path in mods.items():
        graph[name] = {t for _, t in _imports(path) if t in mods and t != name
                       and not name.startswith(t + ".") and t != "leporid"}
    # package __init__ re-exports are edges parent -> child; only module <-> module cycles
    # between two distinct non-package modules count
    cycles = []
    for a, targets in graph.items():
        for b in targets:
            if a in graph.get(b, ()) and not (mods[a].name == "__init__.py"
                                              or mods[b].name == "__init__.py"):
                cycles.append(tuple(sorted((a, b))))
    assert sorted(set(cycles)) == []


CHECK = """
import sys
from leporid.cli import build_parser
build_parser()
loaded_at_parse = 'torch' in sys.modules
from leporid.cli import main
rc = main(sys.argv[1:])
print('RESULT', {json!r}.format(rc, loaded_at_parse, 'torch' in sys.modules))
"""


def _run(args, tmp_path):
    code = CHECK.replace("{json!r}", repr('{{"rc": {}, "parse": {}, "run": {}}}'))
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=300)
    line = [x for x in res.stdout.splitlines() if x.startswith("RESULT")]
    assert line, res.stderr[-2000:]
    return json.loads(line[-1][len("RESULT "):].replace("True", "true").replace("False", "false"))


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    import numpy as np

    tmp = tmp_path_factory.mktemp("layering")
    rng = np.random.default_rng(0)
    rows = [f"{u}\t{i}\t{t}" for t, (u, i) in enumerate(
        {(int(u), int(i)) for u, i in zip(rng.integers(0, 30, 900), rng.integers(0, 25, 900))})]
    path = tmp / "tiny.inter"
    path.write_text("user_id:token\titem_id:token\ttimestamp:float\n" + "\n".join(rows) + "\n")
    return tmp, path


@pytest.mark.parametrize("args", [
    ["data", "stats", "--dataset", "{data}", "--min-count", "1"],
    ["evaluate", "--model", "itemknn", "--dataset", "{data}", "--min-count", "1", "--out", "r"],
    # --device cpu: the default "auto" probes CUDA through torch (graph.resolve_device)
    ["embed", "--dataset", "{data}", "--min-count", "1", "--method", "leporid", "--dim", "4",
     "--device", "cpu", "--out", "e"],
])
def test_torch_free_commands_do_not_import_torch(args, tiny_dataset):
    tmp, data = tiny_dataset
    res = _run([a.replace("{data}", str(data)) for a in args], tmp)
    assert res["rc"] == 0
    assert not res["parse"] and not res["run"], res
