"""The shape of the package, read from the source (no import runs): no import circle, no private name imported across
modules, each layer imports only the layers below it, and no source file grows past ~500 lines without a reason.

Layers, bottom up: ``nbviz/*.py`` (data, checks, colours, files, export), ``nbviz/kernels`` (compute),
``nbviz/integrations`` (other tools' formats), ``nbviz/widgets``, then the package entry points. Every import counts,
also one inside a function: a lazy import still ties the two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "nbviz"

#: Upward imports that stay, each inside the one function that needs it, with why.
UPWARD = {
    ("nbviz.data", "nbviz.kernels.activations"):
        "Features.from_model, the documented way to get features from a model, hands the work to the kernel",
    ("nbviz.data", "nbviz.kernels.checkpoints"):
        "Features.from_checkpoint, the one call from a checkpoint file to features, hands the loading to the kernel",
    ("nbviz.widgets.embedding_explorer", "nbviz.integrations.tensorboard"):
        "EmbeddingExplorer.export_projector, a convenience that hands the explorer's features to the exporter",
}

#: Source files allowed past MAX_LINES, with why splitting them would not help a reader.
LONG_FILES = {
    "nbviz/kernels/recorder.py": "one class, ProbMapRecorder, whose methods share one lock and its stored arrays; "
                                 "the background half already lives in recorder_worker.py",
}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _target(module: str, node: ast.ImportFrom) -> str:
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    if not node.level:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, bool]]:
    """(imported module, name taken from it or None, at module level?) for every nbviz import in ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    top = {id(n) for n in tree.body} | {id(n) for s in tree.body if isinstance(s, ast.If) for n in s.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, None, id(node) in top) for a in node.names if a.name.split(".")[0] == "nbviz"]
        elif isinstance(node, ast.ImportFrom):
            target = _target(module, node)
            if target.split(".")[0] != "nbviz":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                # ``from . import images`` imports a module; ``from .images import atlas`` a name of one
                found.append((sub, None, id(node) in top) if sub in MODULES else (target, alias.name, id(node) in top))
    return found


GRAPH = {m: {t for t, _, _ in _imports(m) if t in MODULES and t != m} for m in MODULES}


def _layer(module: str) -> int:
    if module in ("nbviz", "nbviz.demo"):
        return 4
    return {"kernels": 1, "integrations": 2, "widgets": 3}.get(module.split(".")[1], 0)


def _cycle() -> list[str] | None:
    """One import circle, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for t in sorted(GRAPH[m]):
            if state.get(t) == 1:
                return path[path.index(t):] + [t]
            if t not in state and (found := visit(t)):
                return found
        state[m] = 2
        path.pop()
        return None

    for m in sorted(MODULES):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_checker_sees_the_package():
    assert {"nbviz.data", "nbviz.kernels.neighbors", "nbviz.widgets.embedding_explorer"} <= set(MODULES)
    assert "nbviz.kernels.neighbors" in GRAPH["nbviz.widgets.embedding_explorer"]
    assert _layer("nbviz.export") == 0 and _layer("nbviz.kernels.graph") == 1 and _layer("nbviz.widgets.base") == 3


def test_no_import_circle():
    cycle = _cycle()
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_circle_finder_finds_one():
    back = ("nbviz.kernels.neighbors", "nbviz.widgets.embedding_explorer")  # the explorer imports neighbors
    GRAPH[back[0]].add(back[1])
    try:
        assert _cycle() is not None
    finally:
        GRAPH[back[0]].discard(back[1])


def test_no_private_name_imported_across_modules():
    private = [f"{m} imports {name} from {t}" for m in MODULES for t, name, _ in _imports(m)
               if name and name.startswith("_") and t != m]
    assert not private, "private names used across modules (make them public or move them):\n" + "\n".join(private)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module):
    for target, _, at_top in _imports(module):
        if target not in MODULES or _layer(target) <= _layer(module):
            continue
        reason = UPWARD.get((module, target))
        assert reason, f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
        assert not at_top, f"{module} -> {target} is allowed only inside the function that needs it ({reason})"


def test_every_allowed_upward_import_still_exists():
    for module, target in UPWARD:
        assert target in GRAPH[module], f"{module} no longer imports {target}: remove it from UPWARD"


def _sources() -> list[Path]:
    return sorted([*PACKAGE.rglob("*.py"), *(ROOT / "js" / "src").rglob("*.ts")])


def test_source_files_stay_small():
    long = {str(p.relative_to(ROOT)): n for p in _sources() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    unexplained = {f: n for f, n in long.items() if f not in LONG_FILES}
    assert not unexplained, f"files over {MAX_LINES} lines (split them by what they do, or say why in LONG_FILES): " \
                            f"{unexplained}"
    stale = set(LONG_FILES) - set(long)
    assert not stale, f"no longer long, remove from LONG_FILES: {stale}"
