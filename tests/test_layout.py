"""The package layout follows STYLE.md's "One home for each thing".

- A module never imports private names from a sibling: what two modules
  share lives in a private module both import (``_base.py``, ``_palette.py``,
  ``_validation.py``).
- A module and a function never share a name in the package namespace:
  ``import kmeans_core.x`` gives the module ``x``, never a function that
  hides it (``kmeans_core.quantize`` is the function; its module is
  ``_quantize.py``).
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
