"""The Examples in the package's docstrings run, and show what they print.

Every module of ``kmeans_core`` (found, not listed, so a new one is not
missed) is run through ``doctest``; examples marked ``+SKIP`` (they need a
photo or write a file) are the only ones left out.
"""

import doctest
import importlib
import pkgutil

import pytest

import kmeans_core


def _modules():
    names = [kmeans_core.__name__]
    for info in pkgutil.walk_packages(kmeans_core.__path__, f"{kmeans_core.__name__}."):
        names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failed == 0, f"{failed} docstring example(s) of {name} failed (see above)"


def test_the_examples_are_found():
    finder = doctest.DocTestFinder()
    n_examples = sum(len(test.examples) for name in _modules()
                     for test in finder.find(importlib.import_module(name)))
    assert n_examples >= 60
