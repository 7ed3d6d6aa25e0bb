"""``evaluate``: run the bundled checks on real vs synthetic data."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from tsvae.evaluation import plots
from tsvae.evaluation.authenticity import Authenticity
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
    DistanceToClosestRecord(), Authenticity(),
    BoundaryAdherence(), DiscreteAdherence(),
)}
GROUPS = sorted({check.group for check in CHECKS.values()})
#: Named sets of checks: ``"default"`` (what runs when ``checks`` is None) and ``"timegan"``.
#: The TimeGAN-protocol GRU scores (discriminative, predictive) keep the published protocol
#: (2,000 and 5,000 training steps), which takes minutes on a CPU: they run only when named.
TIMEGAN = ("discriminative", "predictive")
OPT_IN: tuple[str, ...] = TIMEGAN
#: How to get what the default leaves out (shown in reports that left it out).
OPT_IN_HINT = ("The TimeGAN-protocol GRU scores (discriminative, predictive) take minutes and "
               "are not in the default: pass checks=['default', 'timegan'] to evaluate or "
               "compare_methods, or --timegan to 'tsvae evaluate', 'tsvae check' and "
               "'tsvae compare'.")


def _select(checks) -> list:
    if checks is None:
        checks = ["default"]
    checks = [checks] if isinstance(checks, str) else list(checks)
    if not checks:
        raise ValueError(f"checks is empty, so nothing would be evaluated; pass None for the "
                         f"default checks, or names from checks {list(CHECKS)}, groups "
                         f"{GROUPS} or the sets ['default', 'timegan'].")
    chosen = []
    for name in checks:
        if name in CHECKS:
            chosen.append(CHECKS[name])
        elif name == "default":
            chosen.extend(c for c in CHECKS.values() if c.name not in OPT_IN)
        elif name == "timegan":
            chosen.extend(CHECKS[n] for n in TIMEGAN)
        elif name in GROUPS:
            chosen.extend(c for c in CHECKS.values()
                          if c.group == name and c.name not in OPT_IN)
        else:
            raise ValueError(f"Unknown check {name!r}; choose from checks {list(CHECKS)}, "
                             f"groups {GROUPS} or the sets ['default', 'timegan'].")
    return list(dict.fromkeys(chosen))


def evaluate(real, synthetic, n_past: int | None = None, *, checks=None, holdout=None,
             fast: bool = False, discriminative_iterations: int = 2_000,
             predictive_iterations: int = 5_000, plots_in_report: bool = True, model=None,
             random_state: int | None = 0, progress: bool | None = None, by=None,
             baseline: str | None = None, sources: dict | None = None,
             threads: int | None = 1):
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
        Check names, groups (``marginal``, ``temporal``, ``multivariate``, ``ml``,
        ``detection``, ``privacy``, ``validity``) or sets: ``"default"`` (every check but
        the TimeGAN GRU scores; what runs when ``checks`` is None) and ``"timegan"`` (the
        GRU discriminative and predictive scores of the TimeGAN protocol, minutes on a CPU,
        run only when named: ``checks=["default", "timegan"]``). Groups leave the TimeGAN
        scores out. See
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

    sources : dict, optional
        ``role -> path`` of the files the inputs were read from (e.g. ``{"real data":
        "energy.csv", "model": "energy.tsvae"}``): the report's provenance names each file
        with its size and SHA-256.

    threads : int, optional
        Threads of the numerical libraries (OpenMP, BLAS) while the checks run. One by
        default: beside another job, their spinning threads made one gradient-boosting fit
        ten times slower (53 s against 5 s on 2 cores). None leaves the libraries' settings.

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
    if threads is not None:
        from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

        with threadpool_limits(limits=int(threads)):
            return evaluate(real, synthetic, n_past, checks=checks, holdout=holdout, fast=fast,
                            discriminative_iterations=discriminative_iterations,
                            predictive_iterations=predictive_iterations,
                            plots_in_report=plots_in_report, model=model,
                            random_state=random_state, progress=progress, by=by,
                            baseline=baseline, sources=sources, threads=None)
    selected = _select(checks)  # a bad name fails before any work, with by= too
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
    skipped, timings = {}, {}
    bar = tqdm(selected, desc="evaluate", unit="check", disable=not progress, leave=False)
    for number, check in enumerate(bar, 1):
        bar.set_postfix_str(check.name)
        logger.info("running check %s (%s), %d of %d", check.name, check.group, number,
                    len(selected))
        start = time.perf_counter()
        try:
            rows.extend(check.run(data, options))
        except NotApplicable as reason:
            logger.warning("check %s skipped: %s", check.name, reason)
            skipped[check.name] = str(reason)
        timings[check.name] = round(time.perf_counter() - start, 3)
        logger.info("check %s done in %.1f s", check.name, timings[check.name])
    table = pd.DataFrame(rows, columns=ROW_COLUMNS)
    selected = [c for c in selected if c.name not in skipped]
    described = {c.name: {"group": c.group, "description": c.description, "rule": c.rule}
                 for c in selected}
    figures, latent = {}, None
    if plots_in_report:
        from tsvae.evaluation.scores import worst_features

        start = time.perf_counter()
        figures = _figures(data, options, tsne=not fast,
                           features=worst_features(table, data.columns))
        timings["(figures)"] = round(time.perf_counter() - start, 3)
        logger.info("figures done in %.1f s", timings["(figures)"])
    if model is not None:
        latent = model.latent_diagnostics()
        if plots_in_report:
            figures["latent"] = plots.figure_to_base64(plots.latent_pca(model))
    meta = {"real_windows": len(data.real), "synthetic_windows": len(data.synthetic),
            "steps": data.real.shape[1], "features": data.real.shape[2], "fast": fast,
            "random_state": random_state, "seconds": timings}
    if options.details:
        meta["detection"] = options.details
    if skipped:
        meta["skipped"] = skipped
    left_out = [name for name in TIMEGAN if name not in described and name not in skipped]
    if left_out:
        meta["not_run"] = {"checks": left_out, "how": OPT_IN_HINT}
    from tsvae.evaluation.provenance import provenance

    meta.update(provenance(synthetic, model, sources))
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
