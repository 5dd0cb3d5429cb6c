"""The import rules of docs/architecture.md, checked on the source (function-local imports
included): layers import only downwards, the core never imports the built-in plugins, no
import cycle, few modules at the package root, none over 400 lines, one name per concept."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"anobench": ROOT / "bench", "anobench.detectors": ROOT / "detectors",
            "anobench.datasets": ROOT / "datasets"}  # fmt: skip

#: modules directly in bench/ and the layer each belongs to
ROOT_LAYERS = {
    "types": "base", "record": "base", "errors": "base", "settings": "base", "registry": "base",
    "seeding": "base", "provenance": "base", "paths": "base", "spawning": "base",
    "contract": "contract", "testing": "contract", "api": "api",
}  # fmt: skip

#: layer -> the layers it may import (docs/architecture.md draws the same table)
ALLOWED = {
    "base": {"base"},
    "data": {"base", "data"},
    "metrics": {"base", "data", "metrics"},
    "selection": {"base", "selection"},
    "contract": {"base", "data", "metrics", "contract"},
    "plan": {"base", "data", "metrics", "selection", "contract", "plan"},
    "execution": {"base", "data", "metrics", "contract", "plan", "execution"},
    "results": {"base", "data", "metrics", "selection", "plan", "execution", "results"},
    "report": {"base", "data", "metrics", "selection", "contract", "plan", "execution",
               "results", "report"},
    "export": {"base", "data", "metrics", "execution", "results", "export"},
    "perf": {"base", "data", "metrics", "contract", "plan", "execution", "results", "perf"},
    "api": {"base", "data", "metrics", "selection", "contract", "plan", "execution", "results",
            "report", "api"},
    "cli": {"base", "data", "metrics", "selection", "contract", "plan", "execution", "results",
            "report", "export", "perf", "api", "cli"},
}  # fmt: skip

MAX_LINES = 400
MAX_ROOT_MODULES = 12


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every anobench module ``name`` imports, at any depth of its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]  # fmt: skip
        for target in targets:
            while target and target not in MODULES:  # a name inside a module
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> str | None:
    """The layer of a core module; None outside the core (the plugin packages)."""
    if module.startswith(("anobench.detectors", "anobench.datasets")):
        return None
    parts = module.split(".")
    if len(parts) == 1:  # the package itself: the public API, loaded lazily
        return "api"
    return ROOT_LAYERS.get(parts[1], parts[1])


def test_every_core_module_has_a_known_layer() -> None:
    unknown = {m for m in MODULES if _layer(m) is not None and _layer(m) not in ALLOWED}
    assert not unknown, f"modules outside every layer of docs/architecture.md: {sorted(unknown)}"


def test_layers_import_only_downwards() -> None:
    broken = [
        f"{m} ({_layer(m)}) imports {d} ({_layer(d)})"
        for m, deps in GRAPH.items()
        if _layer(m) is not None
        for d in deps
        if _layer(d) is not None and _layer(d) not in ALLOWED[_layer(m) or ""]
    ]
    assert not broken, "\n".join(sorted(broken))


def test_the_core_never_imports_the_builtin_plugins() -> None:
    broken = [
        f"{m} imports {d}"
        for m, deps in GRAPH.items()
        if _layer(m) is not None
        for d in deps
        if _layer(d) is None
    ]
    assert not broken, "\n".join(sorted(broken))


def test_no_import_cycle() -> None:
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(GRAPH.get(node, ())):
            if state[dep] == 1:
                return [*stack[stack.index(dep):], dep]
            if state[dep] == 0 and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for module in sorted(MODULES):
        if state[module] == 0 and (cycle := visit(module)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_few_modules_at_the_package_root() -> None:
    root = sorted(p.name for p in PACKAGES["anobench"].glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root
    assert {p.removesuffix(".py") for p in root} <= {*ROOT_LAYERS, "__init__"}, root


def test_no_module_over_400_lines() -> None:
    long = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    over = {n: k for n, k in long.items() if k > MAX_LINES}
    assert not over, over


def test_no_two_module_names_differ_by_a_plural() -> None:
    stems = {n.rpartition(".")[2] for n in MODULES}
    pairs = sorted((s, s + "s") for s in stems if s + "s" in stems)
    assert not pairs, pairs


def _declares_all(path: Path) -> bool:
    return any(
        isinstance(node, ast.Assign | ast.AnnAssign)
        and any(isinstance(t, ast.Name) and t.id == "__all__"
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))
        for node in ast.parse(path.read_text()).body
    )  # fmt: skip


def test_every_public_module_declares_all() -> None:
    """Every module assigns ``__all__`` at its top level; a package's ``__init__`` does
    when it defines or re-exports anything."""
    missing = [
        n for n, p in MODULES.items()
        if not n.rpartition(".")[2].startswith("_")
        and (p.name != "__init__.py" or _has_code(p))
        and not _declares_all(p)
    ]  # fmt: skip
    assert not missing, sorted(missing)


def _has_code(path: Path) -> bool:
    """A module that is more than a docstring."""
    body = ast.parse(path.read_text()).body
    return any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in body)


#: where text is made (tabulate imported): renderers, the command line, perf's printouts
FORMATTING = ("anobench.report.render", "anobench.cli", "anobench.perf")


def test_compute_never_formats() -> None:
    """Only renderers, the command line and perf's printouts import tabulate: statistics,
    leaderboards, effects, the gate, the driver and the report model return data."""
    broken = [
        name for name, path in MODULES.items()
        if _layer(name) is not None and not name.startswith(FORMATTING)
        and any(
            (isinstance(n, ast.Import) and any(a.name == "tabulate" for a in n.names))
            or (isinstance(n, ast.ImportFrom) and n.module == "tabulate")
            for n in ast.walk(ast.parse(path.read_text()))
        )
    ]  # fmt: skip
    assert not broken, broken


def test_the_graph_sees_function_local_imports() -> None:
    """The checks above are only as good as the graph: a deferred import counts."""
    assert "anobench.api" in GRAPH["anobench"]  # imported inside __getattr__


def test_the_contracts_are_the_cores() -> None:
    """Built-in and adapted detectors satisfy the core's Detector protocol; the data-set
    spec is the core's and provides what DataSource names."""
    from sklearn.ensemble import IsolationForest

    from anobench.contract import BaseDetector
    from anobench.data.spec import DatasetSpec
    from anobench.detectors.classical import OCSVM
    from anobench.plan.adapters import adapt
    from anobench.types import DataSource, Detector

    assert issubclass(BaseDetector, Detector) and issubclass(OCSVM, Detector)
    assert issubclass(adapt(IsolationForest, "sklearn.ensemble:IsolationForest", print), Detector)
    assert DatasetSpec.__module__ == "anobench.data.spec"
    names = set(DataSource.__annotations__)
    assert names == {"name", "modality", "load"}
    assert names <= {f.name for f in __import__("dataclasses").fields(DatasetSpec)}


#: modules a cell imports that cannot change its numbers (so not in the harness hash)
NOT_RESULT_AFFECTING = {
    "anobench.execution.compile_clock": "measures compile time",
    "anobench.execution.environment": "records what the cell ran on",
    "anobench.execution.resources": "measures memory",
    "anobench.data.io": "finds and hashes files (the data's fingerprint is in the id)",
    "anobench.provenance": "computes the hashes themselves",
    "anobench.record": "the record's schema (a change of meaning bumps SCHEMA_VERSION)",
    "anobench.registry": "finds entry points",
    "anobench.settings": "reads settings",
    "anobench.plan.imports": "resolves references (the referenced code is hashed)",
    "anobench.types": "plain containers",
    "anobench.testing": "the contract checks (the probe's data is testing.toys)",
}


def test_every_module_a_cell_imports_is_in_the_harness_hash_or_says_why() -> None:
    """A module that can change a cell's numbers is in provenance.RESULT_MODULES (so
    editing it reruns the cells); every other module a cell imports says why not."""
    from anobench.provenance import RESULT_MODULES, harness_identity

    closure, stack = set(), ["anobench.execution.cell"]
    while stack:
        name = stack.pop()
        if name not in closure:
            closure.add(name)
            stack.extend(GRAPH.get(name, ()))
    unclassified = closure - set(RESULT_MODULES) - set(NOT_RESULT_AFFECTING)
    assert not unclassified, sorted(unclassified)
    assert set(RESULT_MODULES) <= set(MODULES), set(RESULT_MODULES) - set(MODULES)
    harness_identity()  # every listed module imports (a missing one raises)
