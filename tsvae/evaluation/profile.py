"""The detectability profile: every generator against real windows, by every detector.

One row per generator (and one for the real-vs-real floor): the TimeGAN GRU score paired over
metric seeds (the same seeds and subsample for every generator) with a 95% interval, the
feature classifier's and MiniRocket's scores under the detection split rule
(:mod:`tsvae.evaluation.splits`) with 95% intervals, MiniRocket's learning curve (the score with
a few labelled windows a class), how each score compares with a reference generator's
(``"below"``, ``"above"`` or ``"tie"`` where the 95% intervals overlap), and the window
summaries that give the generator away (:func:`~tsvae.evaluation.feature_classifier.
summary_gaps`: largest real-vs-synthetic KS gap first, as in the report).

:func:`model_profile` builds the candidates from a fitted model (each method, the
reconstructions of training windows, a VAR(2)) and calls :func:`detectability_profile`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsvae.evaluation.detection import (
    DetectionResult,
    detection_score,
    floor_score,
    mean_interval,
)
from tsvae.evaluation.feature_classifier import feature_detector, summary_gaps
from tsvae.evaluation.minirocket import NUM_KERNELS, limit_training, minirocket_detector
from tsvae.evaluation.splits import block_roles

FLOOR_LABEL = "real vs real (floor)"
SCORES = ("gru", "feature", "minirocket")


def _gru(real, synthetic, seeds, iterations) -> DetectionResult:
    from tsvae.evaluation.ml_scores import discriminative_score

    return DetectionResult([discriminative_score(real, synthetic, iterations=iterations, seed=s)
                            for s in seeds])


def _gru_floor(real, seeds, iterations) -> DetectionResult:
    """The GRU on alternate time blocks of the real windows against each other."""
    roles = block_roles(len(real), real.shape[1], pattern=(0, 1), seed=None)
    return _gru(real[roles == 0], real[roles == 1], seeds, iterations)


def _compare(result: DetectionResult, reference: DetectionResult) -> str:
    (low, high), (ref_low, ref_high) = result.interval, reference.interval
    if high < ref_low:
        return "below"
    if low > ref_high:
        return "above"
    return "tie"


def detectability_profile(real: np.ndarray, candidates: dict, *, columns=None,
                          seeds=(0, 1, 2), gru_seeds=tuple(range(10)),
                          gru_iterations: int = 2_000, num_kernels: int = NUM_KERNELS,
                          curve=(50, 200, 1_500), reference: str | None = None,
                          giveaways: int = 3) -> pd.DataFrame:
    """Score every candidate's windows against ``real`` with every detector.

    Parameters
    ----------
    real : numpy.ndarray
        Real windows ``(N, T, F)`` **in time order**, on the scale the detectors should see
        (e.g. min-max by the real data, as :func:`tsvae.evaluate` does).
    candidates : dict
        ``label -> windows (M, T, F)`` on the same scale.
    columns : list of str, optional
        Feature names, for the give-aways.
    seeds : sequence of int
        Splits and fits of the feature classifier and MiniRocket.
    gru_seeds : sequence of int
        Metric seeds of the GRU score (paired: the same for every candidate).
    gru_iterations : int
        Training steps of the GRU (2,000 in the TimeGAN protocol).
    num_kernels : int
        MiniRocket features.
    curve : sequence of int
        Labelled windows a class for MiniRocket's learning curve (sizes larger than the
        training part are skipped).
    reference : str, optional
        Candidate the others are compared with (``vs_<reference>_<score>`` columns: "below",
        "above" or "tie" where the 95% intervals overlap).
    giveaways : int
        Top window summaries that give each candidate away (0: none).

    Returns
    -------
    pandas.DataFrame
        One row per candidate and one for the floor: ``<score>_mean``, ``<score>_low``,
        ``<score>_high`` for ``gru``, ``feature``, ``minirocket``; ``minirocket_<n>`` per
        curve size; ``grade`` (the feature classifier's, in words); comparisons; ``giveaways``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(400, 12, 2))
    >>> candidates = {"same": rng.normal(size=(400, 12, 2)),
    ...               "loud": 3 * rng.normal(size=(400, 12, 2))}
    >>> table = detectability_profile(
    ...     real, candidates,
    ...     seeds=(0, 1), gru_seeds=(0, 1), gru_iterations=20, num_kernels=84, curve=(50,),
    ...     reference="loud", giveaways=0)
    >>> table["generator"].tolist()
    ['same', 'loud', 'real vs real (floor)']
    >>> table.loc[0, "vs_loud_feature"]
    'below'
    """
    if reference is not None and reference not in candidates:
        raise ValueError(f"reference={reference!r} is not one of the candidates "
                         f"{list(candidates)}.")
    real = np.asarray(real, dtype=np.float64)
    features, rocket = feature_detector(), minirocket_detector(num_kernels)
    results, rows = {}, []
    for label, synthetic in candidates.items():
        synthetic = np.asarray(synthetic, dtype=np.float64)
        scores = {"gru": _gru(real, synthetic, gru_seeds, gru_iterations),
                  "feature": detection_score(real, synthetic, features, seeds=seeds),
                  "minirocket": detection_score(real, synthetic, rocket, seeds=seeds)}
        row = {"generator": label, **_flatten(scores)}
        for n in curve:
            if n <= scores["minirocket"].n_train:
                row[f"minirocket_{n}"] = detection_score(
                    real, synthetic, limit_training(rocket, n), seeds=seeds).mean
        if giveaways:
            top = summary_gaps(real, synthetic, columns, top=giveaways)
            row["giveaways"] = "; ".join(
                f"{r.summary} (KS {r.ks:.2f}, real {r.real_mean:.3g}, synthetic "
                f"{r.synthetic_mean:.3g})" for r in top.itertuples())
        results[label] = scores
        rows.append(row)
    floor = {"gru": _gru_floor(real, gru_seeds, gru_iterations),
             "feature": floor_score(real, features, seeds=seeds),
             "minirocket": floor_score(real, rocket, seeds=seeds)}
    floor_row = {"generator": FLOOR_LABEL, **_flatten(floor)}
    for n in curve:
        if n <= floor["minirocket"].n_train:
            floor_row[f"minirocket_{n}"] = floor_score(real, limit_training(rocket, n),
                                                       seeds=seeds).mean
    rows.append(floor_row)
    table = pd.DataFrame(rows)
    if reference is not None:
        for score in SCORES:
            table[f"vs_{reference}_{score}"] = [
                _compare(results[label][score], results[reference][score])
                if label in results and label != reference else ""
                for label in table["generator"]]
    return table


def _flatten(scores: dict) -> dict:
    out = {}
    for name, result in scores.items():
        low, high = mean_interval(result.scores)
        out.update({f"{name}_mean": result.mean, f"{name}_low": low, f"{name}_high": high})
    out["grade"] = scores["feature"].grade()
    return out


def model_profile(model, real, *, methods=("prior", "aggregate"), n: int | None = None,
                  max_windows: int = 3_000, baseline: bool = True, random_state: int = 0,
                  **kwargs) -> pd.DataFrame:
    """The detectability profile of a fitted model on a real series frame.

    Candidates: each of ``methods``; the reconstructions of training windows
    (``noisy_posterior`` at ``noise_scale=0``: each window's posterior mean, every value
    drawn from the decoder's likelihood as every method draws it; what a perfect latent
    sampler would give; if they are detected no sampler can pass; they need the training
    windows' codes, which a model has after ``fit`` or when loaded from a file saved with
    ``keep_training_data=True``); a VAR(2) with fresh starts fitted on ``real`` (the
    reference of the comparisons). Windows are min-max scaled by the real windows.

    Parameters
    ----------
    model : TimeSeriesVAE
        A fitted model with ``n_future = 0``.
    real : pandas.DataFrame
        A real series frame (cut into stride-1 windows of ``model.n_past``, time order).
    methods : sequence of str
        Generation methods to profile.
    n : int, optional
        Windows per candidate (default: as many as the real windows used).
    max_windows : int
        Most real windows used (an evenly spread, time-ordered subsample).
    baseline : bool
        Add the VAR(2) and compare every candidate with it.
    random_state : int
        Seed of generation and subsampling.
    **kwargs
        Passed to :func:`detectability_profile` (``seeds``, ``gru_seeds``, ...).

    Returns
    -------
    pandas.DataFrame
        See :func:`detectability_profile`.
    """
    from tsvae.baselines import VARBaseline
    from tsvae.evaluation.inputs import prepare, subsample

    data = prepare(real, real, model.n_past)
    rng = np.random.default_rng(random_state)
    windows = subsample(data.real, max_windows, rng)
    n = len(windows) if n is None else n
    candidates = {m: model.generate(n, method=m, random_state=random_state, as_array=True)
                  for m in methods}
    # Reconstructions of training windows, or of the judged real windows for a model saved
    # without its training codes.
    candidates["reconstruction (noisy_posterior, noise_scale=0)"] = model.generate(
        n, method="noisy_posterior", noise_scale=0.0, random_state=random_state, as_array=True,
        x=windows if model.train_latents_ is None else None)
    if baseline:
        candidates["VAR(2)"] = VARBaseline(2, start="gaussian").fit(real).generate(
            n, model.n_past, random_state=random_state)
        kwargs.setdefault("reference", "VAR(2)")
    scaled = {label: data.scale(np.asarray(w, dtype=np.float64))
              for label, w in candidates.items()}
    return detectability_profile(data.scale(windows), scaled, columns=data.columns, **kwargs)
