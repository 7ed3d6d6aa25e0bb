"""Which generator changes make tsvae's windows harder to detect? Tuned on training data only.

Each data set is cut into ten blocks in time; the model is fitted on eight of them (the
*training split*; blocks 3 and 8 are held out, so held-out windows come from the same years).
Every variant is scored by the feature classifier (gradient boosting on window summaries,
the detection split rule of ``tsvae.evaluation.splits``) against the real windows of the
training split, next to the real-vs-real floor; with ``--held-out`` against the held-out
blocks instead, plus the DCR share of the privacy check (synthetic windows closer to the
training windows than the 5th percentile of held-out ones). For each variant the script also
prints the window summaries with the largest real-vs-synthetic KS gap (what gives the windows
away). BasicMotions (bundled with sktime, 3-axis accelerometer and gyroscope recordings) is a
set tsvae was never tuned on: its training recordings are the training split, its test
recordings the held-out part.

A *variant* is a name from :data:`VARIANTS`: estimator parameters, generation options, or
both; ``--compare-noise`` also scores the observation noise drawn in the ways tried before.
Run, one data set at a time (each variant trains for ``--max-time`` seconds):

    python benchmarks/generator_variants.py --datasets stocks --compare-noise --held-out
    python benchmarks/generator_variants.py --quick    # smoke run

Results append to ``--output`` (default ``benchmarks/results/generator_variants.csv``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import append_rows, quiet_lightning  # noqa: E402

import tsvae  # noqa: E402
from tsvae.evaluation.detection import detection_score, floor_score  # noqa: E402
from tsvae.evaluation.feature_classifier import feature_detector, summary_gaps  # noqa: E402
from tsvae.evaluation.inputs import prepare, subsample  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
N_BLOCKS, HELD_OUT_BLOCKS = 10, (3, 8)

#: name -> (estimator parameters, generate() options)
VARIANTS = {
    "default": ({}, {}),
    "no_noise": ({}, {"observation_noise": False}),
    # Decoded means as they are, without the linear map onto the data fitted after training.
    "no_calibration": ({"calibrate_means": False}, {}),
    "wide": ({"hidden_size": 128, "latent_dim": 16}, {}),
    "two_layers": ({"num_layers": 2}, {}),
    "latent16": ({"latent_dim": 16}, {}),
    "lags4": ({"noise_lags": 4}, {}),
    "conv": ({"architecture": "conv"}, {}),
    # A weaker KL term: sharper reconstructions (smaller residuals to mismatch), at the
    # cost of a prior further from the aggregate posterior (``aggregate`` samples the latter).
    "beta_tenth": ({"beta": 0.1}, {}),
    "beta_hundredth": ({"beta": 0.01}, {}),
    # The aggregate sampler's mixture with more components than BIC picks (at most 10):
    # closer to the aggregated posterior itself, which ``posterior`` samples exactly.
    "components_30": ({"aggregate_components": 30}, {}),
    "components_100": ({"aggregate_components": 100}, {}),
    # The aggregate mixture fitted to posterior draws (the default before means).
    "mixture_on_draws": ({"aggregate_fit": "draws"}, {}),
}


def load(name: str, part: str = "train"):
    """One split of a bundled data set: (frame or panel, id column or None).

    Series are cut into ten blocks in time; blocks 3 and 8 are held out (as in
    ``prior_vs_posterior.py``: held-out windows come from the same years as the training
    ones, where a held-out final stretch of a trending series would be told apart by its
    level alone). ``part="train"`` is the other eight blocks, a panel with one series per
    block (``id_col="block"``); ``"held_out"`` blocks 3 and 8. BasicMotions: its training
    and test recordings; Sines: independent draws.
    """
    if name == "sines":
        data = tsvae.datasets.make_sines(3_000, length=24, n_features=5, random_state=0)
        cut = int(0.8 * len(data))
        return (data[:cut] if part == "train" else data[cut:]), None
    if name == "basic_motions":
        from sktime.datasets import load_basic_motions

        # sktime's bundled copy of the UEA BasicMotions set: 40 + 40 recordings of 100 steps,
        # 3-axis accelerometer and gyroscope (a real multivariate set tsvae was not tuned on).
        x, _ = load_basic_motions(split="train" if part == "train" else "test",
                                  return_type="pd-multiindex")
        x.index = x.index.set_names(["case", "t"])
        return x.reset_index().drop(columns="t"), "case"
    frame = {"stocks": tsvae.datasets.load_stocks, "energy": tsvae.datasets.load_energy,
             "etth": tsvae.datasets.load_etth1,
             "air_quality": tsvae.datasets.load_air_quality}[name]()
    if name == "air_quality":
        # As in the project's other studies: the 90%-missing NMHC column dropped (filled, it
        # is straight lines any detector sees), the other gaps interpolated in time.
        frame = frame.drop(columns="NMHC(GT)").interpolate(limit_direction="both")
    block = np.minimum(np.arange(len(frame)) * N_BLOCKS // len(frame), N_BLOCKS - 1)
    held = np.isin(block, HELD_OUT_BLOCKS)
    keep = ~held if part == "train" else held
    return frame[keep].assign(block=block[keep]).reset_index(drop=True), "block"


def real_windows(data, id_col, columns) -> np.ndarray:
    """Stride-1 windows of 24 steps in time order (within each series, series after series)."""
    from tsvae.data.windows import sliding_windows

    if isinstance(data, np.ndarray):
        return data
    frames = [g for _, g in data.groupby(id_col, sort=False)] if id_col else [data]
    return np.concatenate([sliding_windows(f[columns].to_numpy(np.float64), 24)
                           for f in frames])


def judged_parts(train_w: np.ndarray, held_w: np.ndarray, n: int) -> dict:
    """What fixed-epoch studies judge against: ``{"in-sample": (evaluation, real), "held-out":
    ...}``, each with up to ``n`` scaled real windows of the training or held-out blocks."""
    judged = {}
    for part, windows in (("in-sample", train_w), ("held-out", held_w)):
        evaluation = prepare(windows, windows, 24)
        judged[part] = (evaluation, evaluation.scale(
            subsample(evaluation.real, n, np.random.default_rng(0))))
    return judged


def dcr_close_share(train_w: np.ndarray, held_w: np.ndarray, synth: np.ndarray) -> float:
    """Share of synthetic windows closer to a training window than the 5th percentile of
    held-out windows are (the ``dcr`` check; about 0.05 for data as new as held-out)."""
    return tsvae.evaluate(train_w, synth, 24, checks=["dcr"], holdout=held_w,
                          plots_in_report=False, random_state=0).score("dcr")


@contextlib.contextmanager
def _noise_mode(model, mode: str):
    """Temporarily draw the observation noise another way, for comparison: ``"var"`` runs
    the VAR on one training window's innovations (what other lengths get), ``"per step"``
    runs it on innovations drawn step by step from all training windows at once (the
    behaviour before whole windows)."""
    noise = model.train_latents_.noise
    if mode == "default" or getattr(noise, "residual_windows", None) is None:
        yield
        return
    tensors = noise._torch()
    saved = dict(tensors)
    del tensors["residual_windows"]
    if mode == "per step":
        windows = tensors.pop("innovation_windows")
        tensors["innovation_pool"] = windows.reshape(-1, windows.shape[2])
    try:
        yield
    finally:
        tensors.clear()
        tensors.update(saved)


def _with_nearest_residual_windows(model, data, id_col, n: int, k: int) -> np.ndarray:
    """Decoded ``aggregate`` means plus the whole residual window (``x - decode(mu)``) of a
    training window whose posterior mean is near the draw's latent (one of its ``k``
    nearest, at random) instead of a random one."""
    import torch

    real = real_windows(data, id_col, model.columns_)
    scaled = torch.from_numpy(model.scaled_windows(real).astype(np.float32))
    _, z = model.generate(n, method="aggregate", random_state=0, as_array=True,
                          observation_noise=False, return_latents=True)
    with torch.inference_mode():
        mu, _ = model.vae_.encode(scaled)
        residual = (scaled - model.vae_.decode(mu)).numpy()
        means = model.vae_.decode(torch.from_numpy(np.asarray(z, np.float32))).numpy()
    from sklearn.neighbors import NearestNeighbors

    _, neighbours = NearestNeighbors(n_neighbors=k).fit(mu.numpy()).kneighbors(np.asarray(z))
    pick = neighbours[np.arange(n), np.random.default_rng(0).integers(k, size=n)]
    return model.to_output_units(means + residual[pick])


def _with_widened_matching(model, n: int, widen: float) -> np.ndarray:
    """``aggregate`` with ``match_residuals=True``, except that each training window's
    posterior is widened ``widen`` times (standard deviations) before the residual window is
    drawn by posterior density: more candidate windows per draw, fewer near-copies."""
    import torch

    from tsvae.generation.observation import _posterior_picks

    noise = model.train_latents_.noise
    tensors = noise._torch()
    _, z = model.generate(n, method="aggregate", random_state=0, as_array=True,
                          observation_noise=False, return_latents=True)
    z = torch.as_tensor(np.asarray(z), dtype=torch.float32)
    widened = dict(tensors)
    widened["residual_precision"] = tensors["residual_precision"] / widen**2
    picks = _posterior_picks(widened, z, torch.Generator().manual_seed(0))
    with torch.inference_mode():
        means = model.vae_.decode(z).numpy()
    return model.to_output_units(means + tensors["residual_windows"][picks].numpy())


@contextlib.contextmanager
def _mixture(model, components: int, on_means: bool):
    """Temporarily sample ``aggregate`` from a Gaussian mixture of ``components`` components
    fitted to the training latents (one posterior draw per window, or the posterior means),
    on the same trained network."""
    from tsvae.generation.samplers import AggregateSampler

    saved = model.aggregate_sampler_
    model.aggregate_sampler_ = AggregateSampler(
        components, fit_to="means" if on_means else "draws", random_state=0,
    ).fit(model.train_latents_.latents)
    try:
        yield
    finally:
        model.aggregate_sampler_ = saved


def run(name: str, variant: str, args) -> dict:
    params, options = VARIANTS[variant]
    data, id_col = load(name)
    model = tsvae.TimeSeriesVAE(n_past=24, max_time=args.max_time, max_epochs=args.max_epochs,
                                progress_bar=False, random_state=0, **params)
    start = time.perf_counter()
    model.fit(data, id_col=id_col) if id_col else model.fit(data)
    fit_s = time.perf_counter() - start
    # Judged against the training split's own windows, or (--held-out) the unseen rest.
    judged, _ = load(name, "held_out") if args.held_out else (data, None)
    judged_windows = real_windows(judged, id_col, model.columns_)
    evaluation = prepare(judged_windows, judged_windows, 24)
    real = subsample(evaluation.real, args.windows, np.random.default_rng(0))
    real_s = evaluation.scale(real)
    detector = feature_detector()
    row = {"dataset": name, "variant": variant, "fit_s": round(fit_s, 1),
           "epochs": model.n_epochs_,
           "floor": floor_score(real_s, detector, seeds=args.seeds).mean}
    labels = [(m, m) for m in args.methods]
    if args.held_out:
        # What the training windows themselves score against the held-out blocks: the level
        # of a generator that reproduced its training data exactly (on a trending series the
        # held-out blocks' levels alone tell them apart).
        labels.append(("real", "real training windows"))
    for k in args.components:
        labels.append(("aggregate", f"aggregate, mixture of {k} components"))
        labels.append(("aggregate", f"aggregate, mixture of {k} components on posterior means"))
    if args.compare_noise:
        labels += [("aggregate", "aggregate, matched residual window"),
                   ("aggregate", "aggregate, VAR on one window's innovations"),
                   ("aggregate", "aggregate, VAR on innovations drawn per step")]
        labels += [("aggregate", f"aggregate, residual window of one of the {k} nearest "
                                 "latents") for k in args.neighbours]
        labels += [("aggregate", f"aggregate, residual window matched, posteriors widened "
                                 f"{w:g} times") for w in args.widen]
    for method, label in labels:
        if method == "real":
            train_windows = real_windows(data, id_col, model.columns_)
            synth = subsample(train_windows, len(real), np.random.default_rng(1))
        elif " widened " in label:
            synth = _with_widened_matching(model, len(real),
                                           float(label.split(" widened ")[1].split()[0]))
        elif label.endswith("nearest latents"):
            k = int(label.split(" of the ")[1].split()[0])
            synth = _with_nearest_residual_windows(model, data, id_col, len(real), k)
        else:
            mode = ("per step" if label.endswith("per step")
                    else "var" if label.endswith("innovations") else "default")
            matched = label.endswith("matched residual window")
            mixture = (_mixture(model, int(label.split(" of ")[1].split()[0]),
                                label.endswith("posterior means"))
                       if ", mixture of " in label else contextlib.nullcontext())
            with _noise_mode(model, mode), mixture:
                synth = model.generate(len(real), method=method, random_state=0,
                                       as_array=True, match_residuals=matched, **options)
        if method not in ("prior", "real") and args.held_out:
            # Privacy: share of synthetic windows closer to the training windows than the
            # 5th percentile of held-out windows (about 0.05 for data as new as held-out).
            row[f"{label}_dcr_close_share"] = tsvae.evaluate(
                real_windows(data, id_col, model.columns_), np.asarray(synth), 24,
                checks=["dcr"], holdout=judged_windows, plots_in_report=False,
                random_state=0).score("dcr")
        if method != "real" and args.held_out:
            # The same windows judged against the training split: a score far below the
            # held-out one would mean the detector is fooled by copies of training material.
            if "floor_training_split" not in row:
                train_eval = prepare(real_windows(data, id_col, model.columns_),
                                     real_windows(data, id_col, model.columns_), 24)
                train_real = train_eval.scale(subsample(train_eval.real, args.windows,
                                                        np.random.default_rng(0)))
                row["floor_training_split"] = floor_score(train_real, detector,
                                                          seeds=args.seeds).mean
            row[f"{label}_vs_training_split"] = detection_score(
                train_real, train_eval.scale(np.asarray(synth, dtype=np.float64)), detector,
                seeds=args.seeds).mean
        synth_s = evaluation.scale(np.asarray(synth, dtype=np.float64))
        result = detection_score(real_s, synth_s, detector, seeds=args.seeds)
        row[label] = result.mean
        gaps = summary_gaps(real_s, synth_s, evaluation.columns, top=4)
        row[f"{label}_giveaways"] = "; ".join(
            f"{g.summary} KS {g.ks:.2f} (real {g.real_mean:.3g}, synth {g.synthetic_mean:.3g})"
            for g in gaps.itertuples())
        in_sample = (f", vs training split {row[f'{label}_vs_training_split']:.3f} (floor "
                     f"{row['floor_training_split']:.3f})"
                     if f"{label}_vs_training_split" in row else "")
        print(f"{name} {variant} {label}: feature {result.mean:.3f} "
              f"(floor {row['floor']:.3f}){in_sample}; {row[f'{label}_giveaways']}",
              flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["stocks", "etth"],
                        choices=["sines", "stocks", "energy", "etth", "air_quality",
                                 "basic_motions"])
    parser.add_argument("--variants", nargs="+", default=["default"], choices=list(VARIANTS))
    parser.add_argument("--methods", nargs="+", default=["prior", "aggregate",
                                                         "noisy_posterior"])
    parser.add_argument("--max-time", type=float, default=90.0)
    parser.add_argument("--max-epochs", type=int, default=1_000)
    parser.add_argument("--windows", type=int, default=2_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--compare-noise", action="store_true",
                        help="also score 'aggregate' with the observation noise drawn other "
                             "ways (residual windows matched to z, the VAR on one window's "
                             "innovations, the VAR on innovations drawn per step)")
    parser.add_argument("--held-out", action="store_true",
                        help="judge against the held-out blocks 3 and 8 of 10 (BasicMotions: "
                             "its test recordings) instead of the training blocks; adds the "
                             "DCR share")
    parser.add_argument("--neighbours", type=int, nargs="*", default=[],
                        help="with --compare-noise: nearest latents to pick a residual "
                             "window from")
    parser.add_argument("--components", type=int, nargs="*", default=[],
                        help="also score 'aggregate' from Gaussian mixtures of these many "
                             "components (fitted to posterior draws, and to posterior means), "
                             "on the same trained network")
    parser.add_argument("--widen", type=float, nargs="*", default=[],
                        help="with --compare-noise: also match residual windows with each "
                             "training posterior widened this many times")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", default=str(RESULTS / "generator_variants.csv"))
    args = parser.parse_args()
    if args.quick:
        args.datasets, args.max_time, args.max_epochs = ["sines"], 10.0, 2
        args.windows, args.seeds, args.output = 400, [0], None
    quiet_lightning()
    rows = [run(name, variant, args) for name in args.datasets for variant in args.variants]
    table = pd.DataFrame(rows)
    print(table.drop(columns=[c for c in table if c.endswith("giveaways")]).to_string())
    append_rows(table, args.output)


if __name__ == "__main__":
    main()
