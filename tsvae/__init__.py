"""tsvae: synthetic multivariate time series with sequence VAEs, and the tests that check them.

The heavy parts (torch, Lightning, the evaluation checks) load on first use, so
``import tsvae`` and ``tsvae --help`` stay quick.

Examples
--------
>>> import tsvae
>>> sorted(tsvae.generation.SAMPLERS)
['aggregate', 'noisy_posterior', 'posterior', 'prior']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from tsvae._version import __version__

if TYPE_CHECKING:  # what type checkers and the API docs see; loaded lazily at run time
    from tsvae import datasets, diagnostics, evaluation, generation
    from tsvae.estimator import TimeSeriesVAE
    from tsvae.evaluation import EvaluationReport, compare_methods, evaluate
    from tsvae.generation.generate import generate_new_data, generate_series

#: public name -> module that defines it (an attribute) or that it is (a submodule).
_LAZY = {
    "EvaluationReport": ("tsvae.evaluation", "EvaluationReport"),
    "TimeSeriesVAE": ("tsvae.estimator", "TimeSeriesVAE"),
    "compare_methods": ("tsvae.evaluation", "compare_methods"),
    "evaluate": ("tsvae.evaluation", "evaluate"),
    "generate_new_data": ("tsvae.generation.generate", "generate_new_data"),
    "generate_series": ("tsvae.generation.generate", "generate_series"),
    "datasets": ("tsvae.datasets", None),
    "diagnostics": ("tsvae.diagnostics", None),
    "generation": ("tsvae.generation", None),
    "evaluation": ("tsvae.evaluation", None),
}

__all__ = [
    "EvaluationReport",
    "TimeSeriesVAE",
    "compare_methods",
    "evaluate",
    "__version__",
    "datasets",
    "diagnostics",
    "evaluation",
    "generate_new_data",
    "generate_series",
    "generation",
]


def __getattr__(name: str):
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'tsvae' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
