"""The plan of the house: imports follow the data flow and never go round in circles.

``dataset -> model -> rendered passages -> test design -> web app -> ratings -> analysis``:
the layers below may be imported by the ones above, never the other way round.

    dmc.contracts   the shared vocabulary (condition names, manifest, ratings format)
    dmc             datasets, model, rendering, metrics, figures
    evaluation      listening-test designs
    analysis        ratings in, screening, statistics, simulated panels, power
    webapp          the application on top: serves designs, shows the analysis's screening

Every ``import`` counts, also those inside functions, so a lazy import cannot hide an
upward dependency; and no module is loaded by name (``importlib.import_module``,
``__import__``), which would hide a dependency from this plan altogether.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dmc", "evaluation", "analysis", "webapp")
LAYERS = ("dmc.contracts", "dmc", "evaluation", "analysis", "webapp")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module ``name`` refers to (a module, or the package holding the name)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            # ``from pkg import sub`` depends on the submodule; ``from pkg import name`` on pkg
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                targets.add(target)
    return targets


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _layer(module: str) -> int:
    return max(
        i for i, layer in enumerate(LAYERS) if module == layer or module.startswith(layer + ".")
    )


def test_every_import_points_down_the_data_flow():
    upward = [
        f"{module} ({LAYERS[_layer(module)]}) imports {target} ({LAYERS[_layer(target)]})"
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(target) > _layer(module)
    ]
    assert upward == []


def test_the_model_package_imports_none_of_the_later_parts():
    later = ("evaluation", "analysis", "webapp")
    assert [
        (m, t)
        for m, ts in GRAPH.items()
        if m.split(".")[0] == "dmc"
        for t in ts
        if t.split(".")[0] in later
    ] == []
    assert [
        (m, t)
        for m, ts in GRAPH.items()
        if m.startswith("analysis")
        for t in ts
        if t.startswith("webapp")
    ] == []


def test_no_import_cycles():
    """Tarjan's strongly connected components: every one must be a single module."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_vocabulary_is_defined_once():
    """Condition names, the reference and the anchors are spelt out only in dmc.contracts."""
    offenders = []
    for module, path in MODULES.items():
        if module.startswith("dmc.contracts"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Tuple, ast.List)):
                values = {elt.value for elt in node.value.elts if isinstance(elt, ast.Constant)}
                if {"target", "console", "mono"} <= values or {"anchor_3k5", "anchor_7k"} <= values:
                    offenders.append(f"{module}: line {node.lineno}")
    assert offenders == []


#: Where a system's name means something else: a training recipe and its subcommand, and
#: the renderer of ``dmc.mix`` that plays what a console hears.
OTHER_MEANINGS = {
    ("dmc.train.__main__", "console"),
    ("dmc.train.__main__", "demucs"),
    ("dmc.train.console", "console"),
    ("dmc.train.demucs", "demucs"),
    ("dmc.mix", "console"),
}


def test_method_names_are_spelt_only_in_the_contracts():
    """Every system and anchor name comes from dmc.contracts.conditions: a method added or
    renamed there reaches the renderer, the evaluation, the page and the simulator alone.

    (``target`` and ``input`` are ordinary words in this code base, and the emulation
    table's ``tcn10``... are named after the TCN presets and checkpoints: those are left out.)
    """
    from dmc.contracts.conditions import ANCHORS, SYSTEMS

    names = set(SYSTEMS) | set(ANCHORS)
    offenders = []
    for module, path in MODULES.items():
        if module.startswith("dmc.contracts"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and node.value in names
                and (module, node.value) not in OTHER_MEANINGS
            ):
                offenders.append(f"{module}: line {node.lineno}: {node.value!r}")
    assert offenders == []


def test_no_module_is_loaded_by_name():
    """A dependency spelt as a string is invisible to the import graph (and to a reader):
    dispatch tables hold functions that import explicitly instead."""
    by_name = {"import_module", "__import__", "find_spec", "spec_from_file_location"}
    offenders = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name in by_name:
                    offenders.append(f"{module}: line {node.lineno} calls {name}")
            elif isinstance(node, ast.ImportFrom) and node.module == "importlib":
                offenders.append(f"{module}: line {node.lineno} imports from importlib")
            elif isinstance(node, ast.Import) and any(
                alias.name.startswith("importlib") for alias in node.names
            ):
                offenders.append(f"{module}: line {node.lineno} imports importlib")
    assert offenders == []


#: The web app's folders, each allowed to import only the ones before it (and itself).
WEBAPP_ROLES = ("webapp.storage", "webapp.services", "webapp.routes", "webapp.commands")


def test_the_web_app_is_laid_out_by_role():
    """Folders that say which module is which: ``storage`` (the database) below
    ``services`` (what is done) below ``routes`` (HTTP) and ``commands`` (the command
    line); no module loose beside them but the settings and ``python -m webapp``."""
    top = {m for m in MODULES if m.startswith("webapp.") and m.count(".") == 1}
    assert top == {*WEBAPP_ROLES, "webapp.config", "webapp.__main__"}

    def role(module: str) -> int | None:
        found = [i for i, r in enumerate(WEBAPP_ROLES) if module == r or module.startswith(r + ".")]
        return found[0] if found else None

    upward = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if role(module) is not None and role(module) < 2  # storage, services
        for target in targets
        if role(target) is not None and role(target) > role(module)
    ]
    routes_and_commands = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if role(module) in (2, 3)
        for target in targets
        if role(target) in (2, 3) and role(target) != role(module)
    ]
    assert upward == [] and routes_and_commands == []
