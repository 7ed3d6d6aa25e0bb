"""The API reference shows each parameter's true default.

mkdocstrings renders a parameter's default from what griffe reads out of the numpy docstring
and the signature; parameters that share one docstring entry ("a, b : int") all show the
default of one of them. This test reads the pages' objects with griffe as mkdocstrings does
and compares every documented default with ``inspect.signature``.
"""

import ast
import importlib
import inspect
from pathlib import Path

import griffe
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTED = [line.split(":::", 1)[1].strip()
              for line in (ROOT / "docs" / "api.md").read_text().splitlines()
              if line.startswith(":::")]
MISSING = object()


def _runtime(path: str):
    module, _, name = path.rpartition(".")
    try:
        return importlib.import_module(path)
    except ImportError:
        return getattr(importlib.import_module(module), name)


def _callables(obj, runtime):
    """(griffe object, runtime callable) of a page entry and of its public members."""
    if obj.is_function:
        yield obj, runtime
    elif obj.is_class:
        yield obj, runtime.__init__
        for name, member in obj.members.items():
            if member.is_function and not name.startswith("_"):
                yield member, getattr(runtime, name)
    elif obj.is_module:
        for name, member in obj.members.items():
            if name.startswith("_") or member.is_alias:
                continue
            if member.is_function or member.is_class:
                yield from _callables(member, getattr(runtime, name))


def _value(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return MISSING


def _documented_defaults():
    package = griffe.load("tsvae", search_paths=[str(ROOT)], docstring_parser="numpy")
    for path in DOCUMENTED:
        obj = package[path.removeprefix("tsvae.")] if path != "tsvae" else package
        obj = obj.final_target if obj.is_alias else obj
        runtime = _runtime(path)
        if obj.is_module and not inspect.ismodule(runtime):
            # A function named as its module (tsvae.evaluation.evaluate): take the function.
            obj = obj.members[runtime.__name__]
            obj = obj.final_target if obj.is_alias else obj
        for member, function in _callables(obj, runtime):
            if member.docstring is None:
                continue
            signature = inspect.signature(function).parameters
            for section in member.docstring.parse(griffe.Parser.numpy):
                if section.kind.value != "parameters":
                    continue
                for parameter in section.value:
                    if parameter.name in signature:
                        yield member.path, parameter, signature[parameter.name].default


CASES = list(_documented_defaults())


def test_the_pages_document_parameters():
    assert len(CASES) > 50
    assert any(p.name == "hidden_size" for _, p, _ in CASES)


@pytest.mark.parametrize("where, parameter, default", CASES,
                         ids=[f"{w}:{p.name}" for w, p, _ in CASES])
def test_rendered_default_is_the_signature_default(where, parameter, default):
    if default is inspect.Parameter.empty:
        assert parameter.default in (None, ""), f"{where}: {parameter.name} has no default"
        return
    shown = _value(parameter.default) if parameter.default is not None else MISSING
    if shown is MISSING and isinstance(parameter.default, griffe.ExprName):
        # A named constant (DECODE_BATCH): the page shows the name; its value must match.
        module = parameter.default.parent
        module = module.module if not module.is_module else module
        shown = getattr(importlib.import_module(module.path), str(parameter.default))
    if shown is MISSING:  # another expression: compare the text
        assert str(parameter.default) in (repr(default), str(default)), (where, parameter.name)
    else:
        assert shown == default, f"{where}: {parameter.name} shows {parameter.default}"
