"""The package layout: "One home for each thing" and layers that hold.

- A module never imports private names from a sibling: what two modules
  share lives in a private module both import (``_base.py``, ``_palette.py``,
  ``_validation.py``).
- A module and a function never share a name in the package namespace:
  ``import kmeans_core.x`` gives the module ``x``, never a function that
  hides it (``kmeans_core.quantize`` is the function; its module is
  ``_quantize.py``).
- The library never imports the command line (``kmeans_core.cli``), and no
  two modules import each other, directly or round a longer loop, lazy
  imports inside functions included.
"""

import ast
import importlib
import pkgutil
from pathlib import Path

import kmeans_core

PACKAGE = Path(kmeans_core.__file__).parent


def _private_imports(path):
    """(line, module, name) of every private name imported from a sibling."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        # ``from . import _kernels`` imports a private module, which is how
        # shared helpers are reached; ``from .x import _name`` is not.
        if isinstance(node, ast.ImportFrom) and node.level and node.module:
            found += [(node.lineno, node.module, alias.name) for alias in node.names
                      if alias.name.startswith("_") and not alias.name.startswith("__")]
    return found


def test_no_module_imports_private_names_from_a_sibling():
    offenders = {str(path.relative_to(PACKAGE)): found
                 for path in sorted(PACKAGE.rglob("*.py"))
                 if (found := _private_imports(path))}
    assert offenders == {}


def test_no_function_hides_a_module():
    hidden = []
    for info in pkgutil.walk_packages(kmeans_core.__path__, "kmeans_core."):
        module = importlib.import_module(info.name)
        parent_name, _, name = info.name.rpartition(".")
        if getattr(importlib.import_module(parent_name), name) is not module:
            hidden.append(info.name)
    assert hidden == []


def _imports(path):
    """Every module ``path`` imports from the package, at any depth (lazy
    imports inside functions too), as dotted names."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]  # the package the module is in (for an __init__, its own)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("kmeans_core")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - node.level + 1])
                if node.module:
                    base += node.module.split(".")
            elif node.module and node.module.startswith("kmeans_core"):
                base = node.module.split(".")
            else:
                continue
            name = ".".join(base)
            if node.module:
                found.add(name)
            # ``from . import x`` imports the module x (or a name of the package).
            for alias in node.names:
                candidate = PACKAGE.parent.joinpath(*base, alias.name)
                if candidate.with_suffix(".py").exists() or candidate.is_dir():
                    found.add(f"{name}.{alias.name}")
    return found


def _modules():
    return {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
            .removesuffix(".__init__"): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_the_library_never_imports_the_command_line():
    offenders = {name: sorted(i for i in _imports(path) if i.startswith("kmeans_core.cli"))
                 for name, path in _modules().items()
                 if not name.startswith("kmeans_core.cli")}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_no_import_cycle():
    # Between modules of the package, lazy imports included; a package's
    # __init__ is left out as a target (importing a submodule runs it first
    # anyway, and kmeans_core/__init__ only names what to import lazily).
    modules = _modules()
    graph = {name: {i for i in _imports(path) if i in modules and i != name
                    and modules[i].name != "__init__.py"}
             for name, path in modules.items()}
    cycles, state = [], {}

    def visit(name, stack):
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open":
                cycles.append(stack[stack.index(other):] + [other])
            elif other not in state:
                visit(other, stack + [other])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


# Each kernel module and its plain NumPy reference (kmeans_core/reference/).
REFERENCES = {
    "_kernels": "lloyd",
    "_kernels_seeding": "seeding",
    "_kernels_minibatch": "minibatch",
    "_kernels_colors": "colors",
    "_kernels_dither": "dither",
}


def test_every_kernel_module_has_a_numpy_reference_module():
    kernel_modules = {p.stem for p in PACKAGE.glob("_kernels*.py")}
    assert kernel_modules == set(REFERENCES)
    for kernels, reference in REFERENCES.items():
        module = importlib.import_module(f"kmeans_core.reference.{reference}")
        assert f"{kernels}.py" in module.__doc__, (reference, kernels)
