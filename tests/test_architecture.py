"""The library's three layers (docs/architecture.md): each imports only the layers below.

Read off the source with ``ast``: every ``import node_edu.X`` / ``from node_edu.X import``
in a module of layer L must name a package of layer L or lower."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "node_edu"

LAYERS = {  # top-level name under node_edu -> its layer (0 is the bottom)
    "errors": 0, "validation": 0, "info": 0, "tools": 0,
    "solvers": 1, "adjoint": 1, "linear": 1, "autodiff": 1, "cnf": 1,
    "data": 2, "models": 2, "viz": 2, "viz_static": 2,
    "checks": 3, "widgets": 3, "solutions": 3, "progress": 3,
}  # fmt: skip
NAMES = {0: "shared", 1: "core", 2: "lesson support", 3: "lesson layer"}


def top(module):
    """'node_edu.solvers.rk' -> 'solvers'; None for another package or node_edu itself."""
    parts = module.split(".")
    return parts[1] if parts[0] == "node_edu" and len(parts) > 1 else None


def node_edu_imports(source):
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names += [node.module]
            if node.module == "node_edu":  # from node_edu import viz
                names += [f"node_edu.{alias.name}" for alias in node.names]
    return [n for n in names if top(n) is not None]


def upward_imports(path):
    """The imports of ``path`` that reach a higher layer than its own: readable strings."""
    rel = path.relative_to(ROOT)
    own = LAYERS[rel.parts[0].removesuffix(".py")]
    problems = []
    for name in node_edu_imports(path.read_text()):
        layer = LAYERS.get(top(name))
        if layer is None:
            problems.append(f"{rel} imports {name}, which is in no layer")
        elif layer > own:
            problems.append(f"{rel} ({NAMES[own]}) imports {name} ({NAMES[layer]})")
    return problems


MODULES = sorted(p for p in ROOT.rglob("*.py") if p.parent != ROOT or p.name != "__init__.py")


def test_every_top_level_module_has_a_layer():
    tops = {p.relative_to(ROOT).parts[0].removesuffix(".py") for p in MODULES}
    assert tops <= set(LAYERS), tops - set(LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_imports_only_its_layer_and_those_below(path):
    assert upward_imports(path) == []


def test_an_upward_import_is_caught(tmp_path, monkeypatch):
    fake = ROOT / "solvers" / "rk.py"
    source = fake.read_text() + "\nfrom node_edu.widgets import lesson03\n"
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source)
    assert upward_imports(fake) == ["solvers/rk.py (core) imports node_edu.widgets (lesson layer)"]
