"""Evaluation: statistical checks of synthetic vs real series, ML scores, privacy, reports."""

from tsvae.evaluation.compare import MethodComparison, compare_methods
from tsvae.evaluation.evaluate import CHECKS, GROUPS, evaluate
from tsvae.evaluation.report import EvaluationReport

__all__ = ["CHECKS", "GROUPS", "EvaluationReport", "MethodComparison", "compare_methods",
           "evaluate"]
