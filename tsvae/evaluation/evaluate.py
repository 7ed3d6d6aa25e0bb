"""``evaluate``: run the bundled checks on real vs synthetic data."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from tsvae.evaluation import plots
from tsvae.evaluation.base import ROW_COLUMNS, NotApplicable
from tsvae.evaluation.feature_classifier import FeatureDiscriminative
from tsvae.evaluation.inputs import EvalOptions, prepare, subsample
from tsvae.evaluation.marginal import KolmogorovSmirnov, Moments, Wasserstein
from tsvae.evaluation.minirocket import MiniRocket
from tsvae.evaluation.ml_scores import MMD, Discriminative, Predictive
from tsvae.evaluation.multivariate import CorrelationDistance
from tsvae.evaluation.privacy import DistanceToClosestRecord
from tsvae.evaluation.report import EvaluationReport
from tsvae.evaluation.temporal import (
    ADF,
    KPSS,
    Autocorrelation,
    LjungBox,
    PartialAutocorrelation,
    Spectral,
)
from tsvae.evaluation.validity import BoundaryAdherence, DiscreteAdherence

logger = logging.getLogger(__name__)

#: name -> check instance, in report order.
CHECKS = {check.name: check for check in (
    KolmogorovSmirnov(), Wasserstein(), Moments(),
    Autocorrelation(), PartialAutocorrelation(), LjungBox(), ADF(), KPSS(), Spectral(),
    CorrelationDistance(),
    Discriminative(), Predictive(), MMD(),
    FeatureDiscriminative(), MiniRocket(),
    DistanceToClosestRecord(),
    BoundaryAdherence(), DiscreteAdherence(),
)}
GROUPS = sorted({check.group for check in CHECKS.values()})
#: Checks run only when named (none at present).
OPT_IN: tuple[str, ...] = ()


def _select(checks) -> list:
    if checks is None:
        return [c for c in CHECKS.values() if c.name not in OPT_IN]
    if isinstance(checks, str):
        checks = [checks]
    chosen = []
    for name in checks:
        if name in CHECKS:
            chosen.append(CHECKS[name])
        elif name in GROUPS:
            chosen.extend(c for c in CHECKS.values()
                          if c.group == name and c.name not in OPT_IN)
        else:
            raise ValueError(f"Unknown check {name!r}; choose from checks {list(CHECKS)} or "
                             f"groups {GROUPS}.")
    return list(dict.fromkeys(chosen))


def evaluate(real, synthetic, n_past: int | None = None, *, checks=None, holdout=None,
             fast: bool = False, discriminative_iterations: int = 2_000,
             predictive_iterations: int = 5_000, plots_in_report: bool = True, model=None,
             random_state: int | None = 0, progress: bool | None = None, by=None,
             baseline: str | None = None):
    """Compare synthetic with real data using the bundled statistical checks.

    Parameters
    ----------
    real : DataFrame or array
        A series frame (cut into windows of ``n_past`` steps, stride 1), a long windows frame
        (``sample``, ``step``, features) or an array ``(N, T, F)``.
    synthetic : DataFrame or array
        What :meth:`TimeSeriesVAE.generate` returns (frame or array), or a series frame.
    n_past : int, optional
        Window length for series frames (default: the length of the real windows).
    checks : list of str, optional
        Check names or groups (``marginal``, ``temporal``, ``multivariate``, ``ml``,
        ``detection``, ``privacy``, ``validity``); default all. See
        ``tsvae.evaluation.CHECKS`` for descriptions and ``docs/evaluation.md`` for the
        detection checks' split rule.
    holdout : DataFrame or array, optional
        Real data not used for training, for the privacy check and the real figure of the
        validity checks.
    fast : bool
        Smaller samples and classifier budgets (a quick look, about 10x faster).
    discriminative_iterations : int
        Training steps of the post-hoc GRU classifier (TimeGAN protocol: 2,000).
    predictive_iterations : int
        Training steps of the post-hoc GRU predictor (TimeGAN protocol: 5,000).
    plots_in_report : bool
        Compute the figures for :meth:`EvaluationReport.to_html`.
    model : TimeSeriesVAE, optional
        Adds latent diagnostics to the report.
    random_state : int, optional
        Seed of every subsample and classifier.
    progress : bool, optional
        Show a progress bar over the checks (on stderr). Default: when someone watches (a
        terminal or a notebook); each check is also logged at INFO level.
    by : str or list of str, optional
        Condition column(s) in both frames: run the checks separately per condition value
        and measure condition fidelity (see :mod:`tsvae.evaluation.conditional`). Real series
        windows take their last row's value; generated windows carry theirs.
    baseline : str, optional
        ``"var"``: also score a baseline generator fitted here on the real data (a VAR(2)) with the
        detection checks; its scores go to ``report.meta["detection"]`` beside the
        synthetic data's and the real-vs-real floor (no effect on the verdict).

    Returns
    -------
    EvaluationReport
        Or, with ``by``, a :class:`~tsvae.evaluation.conditional.ConditionalReport`.

    Examples
    --------
    >>> import numpy as np
    >>> from tsvae.datasets import make_sines
    >>> real, other = make_sines(300, random_state=0), make_sines(300, random_state=1)
    >>> report = evaluate(real, other, checks=["marginal"], plots_in_report=False)
    >>> report.passed
    True
    """
    if by is not None:
        from tsvae.evaluation.conditional import evaluate_by

        def evaluate_one(real_windows, synthetic_windows):
            return evaluate(real_windows, synthetic_windows, checks=checks, fast=fast,
                            discriminative_iterations=discriminative_iterations,
                            predictive_iterations=predictive_iterations,
                            plots_in_report=plots_in_report, random_state=random_state)

        return evaluate_by(real, synthetic, by, n_past, evaluate_one,
                           fidelity_iterations=1_000,
                           seed=0 if random_state is None else int(random_state))
    selected = _select(checks)
    data = prepare(real, synthetic, n_past, holdout=holdout)
    seed = 0 if random_state is None else int(random_state)
    options = EvalOptions(fast=fast, discriminative_iterations=discriminative_iterations,
                          predictive_iterations=predictive_iterations,
                          rng=np.random.default_rng(seed), seed=seed)
    if baseline is not None:
        from tsvae.evaluation.detection import BASELINES, baseline_windows

        if baseline not in BASELINES:
            raise ValueError(f"baseline={baseline!r} is not known; use one of {list(BASELINES)} "
                             "or None.")
        if any(c.group == "detection" for c in selected):
            options.baseline = baseline_windows(baseline, real, data, seed)
            options.baseline_name = baseline
    from tqdm.auto import tqdm

    rows = []
    if progress is None:
        from tsvae._quiet import interactive

        progress = interactive()
    skipped = {}
    bar = tqdm(selected, desc="evaluate", unit="check", disable=not progress, leave=False)
    for check in bar:
        bar.set_postfix_str(check.name)
        logger.info("running check %s (%s)", check.name, check.group)
        try:
            rows.extend(check.run(data, options))
        except NotApplicable as reason:
            logger.warning("check %s skipped: %s", check.name, reason)
            skipped[check.name] = str(reason)
    table = pd.DataFrame(rows, columns=ROW_COLUMNS)
    selected = [c for c in selected if c.name not in skipped]
    described = {c.name: {"group": c.group, "description": c.description, "rule": c.rule}
                 for c in selected}
    figures, latent = {}, None
    if plots_in_report:
        from tsvae.evaluation.scores import worst_features

        figures = _figures(data, options, tsne=not fast,
                           features=worst_features(table, data.columns))
    if model is not None:
        latent = model.latent_diagnostics()
        if plots_in_report:
            figures["latent"] = plots.figure_to_base64(plots.latent_pca(model))
    meta = {"real_windows": len(data.real), "synthetic_windows": len(data.synthetic),
            "steps": data.real.shape[1], "features": data.real.shape[2], "fast": fast,
            "random_state": random_state}
    if options.details:
        meta["detection"] = options.details
    if skipped:
        meta["skipped"] = skipped
    from tsvae.evaluation.provenance import provenance

    meta.update(provenance(synthetic, model))
    return EvaluationReport(table, described, figures=figures, latent=latent, meta=meta)


def _figures(data, options, *, tsne: bool, features=None) -> dict:
    rng = np.random.default_rng(options.seed)
    real = subsample(data.real, 2_000, rng)
    synth = subsample(data.synthetic, 2_000, rng)
    makers = {
        "overlays": lambda: plots.sample_overlays(real, synth, data.columns, rng,
                                                  features=features),
        "distributions": lambda: plots.distributions(real, synth, data.columns,
                                                     features=features),
        "acf": lambda: plots.acf_plots(real, synth, data.columns, features=features),
        "embeddings": lambda: plots.embeddings(data.scale(real), data.scale(synth), rng,
                                               tsne=tsne),
        "correlations": lambda: plots.correlation_heatmaps(real, synth, data.columns),
    }
    return {key: plots.figure_to_base64(make()) for key, make in makers.items()}
