"""tsvae: synthetic multivariate time series with sequence VAEs, and the tests that check them.

Examples
--------
>>> import tsvae
>>> sorted(tsvae.generation.SAMPLERS)
['aggregate', 'noisy_posterior', 'posterior', 'prior']
"""

from tsvae import datasets, diagnostics, generation
from tsvae._version import __version__
from tsvae.estimator import TimeSeriesVAE
from tsvae.evaluation import EvaluationReport, compare_methods, evaluate
from tsvae.generation.generate import generate_new_data, generate_series

__all__ = [
    "EvaluationReport",
    "TimeSeriesVAE",
    "compare_methods",
    "evaluate",
    "__version__",
    "datasets",
    "diagnostics",
    "generate_new_data",
    "generate_series",
    "generation",
]
