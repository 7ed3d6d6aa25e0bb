"""Which generator changes make tsvae's windows harder to detect? Tuned on training splits only.

Each data set is cut in time: the model is fitted on the first 70% of the rows (the
*training split*), and every variant is scored there, by the feature classifier (gradient
boosting on window summaries, the detection split rule of ``tsvae.evaluation.splits``) against
the training split's own real windows, next to the real-vs-real floor. The last 30% is never
looked at here; it is for the final check (``benchmarks/fidelity.py``). For each variant the
script also prints the window summaries with the largest real-vs-synthetic KS gap (what gives
the windows away).

A *variant* is a name from :data:`VARIANTS`: estimator parameters, generation options, or
both. Run, one data set at a time (each variant trains for ``--max-time`` seconds):

    python benchmarks/generator_variants.py --datasets stocks --variants default wide
    python benchmarks/generator_variants.py --quick    # smoke run

Results append to ``benchmarks/results/generator_variants.csv``.
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
from _common import quiet_lightning  # noqa: E402

import tsvae  # noqa: E402
from tsvae.evaluation.detection import detection_score, floor_score  # noqa: E402
from tsvae.evaluation.feature_classifier import feature_detector, summary_gaps  # noqa: E402
from tsvae.evaluation.inputs import prepare, subsample  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TRAIN_SHARE = 0.7

#: name -> (estimator parameters, generate() options)
VARIANTS = {
    "default": ({}, {}),
    "no_noise": ({}, {"observation_noise": False}),
    "wide": ({"hidden_size": 128, "latent_dim": 16}, {}),
    "two_layers": ({"num_layers": 2}, {}),
    "latent16": ({"latent_dim": 16}, {}),
    "lags4": ({"noise_lags": 4}, {}),
    "conv": ({"architecture": "conv"}, {}),
}


def load(name: str):
    """The training split of a bundled data set: (frame or panel, id column or None)."""
    if name == "sines":
        data = tsvae.datasets.make_sines(3_000, length=24, n_features=5, random_state=0)
        return data[: int(TRAIN_SHARE * len(data))], None
    if name == "basic_motions":
        from sktime.datasets import load_basic_motions

        x, _ = load_basic_motions(split="train", return_type="pd-multiindex")
        frame = x.reset_index().rename(columns={"instances": "case", "timepoints": "t"})
        return frame.drop(columns="t"), "case"
    frame = {"stocks": tsvae.datasets.load_stocks, "energy": tsvae.datasets.load_energy,
             "etth": tsvae.datasets.load_etth1,
             "air_quality": tsvae.datasets.load_air_quality}[name]()
    frame = frame.iloc[: int(TRAIN_SHARE * len(frame))]
    # Air quality has gaps: filled by interpolation in time for the model and the detector.
    return frame.interpolate(limit_direction="both"), None


@contextlib.contextmanager
def _noise_mode(model, mode: str):
    """Temporarily draw the observation noise another way, for comparison: ``"var"`` runs
    the VAR on one training window's innovations (what other lengths get), ``"per step"``
    runs it on innovations drawn step by step from all training windows at once (before
    whole-window draws)."""
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


def _with_nearest_residual_windows(model, data, id_col, n: int) -> np.ndarray:
    """Decoded ``aggregate`` means plus the whole residual window (``x - decode(mu)``) of a
    training window whose posterior mean is near the draw's latent (one of its 5 nearest,
    at random) instead of a random one."""
    import torch

    from tsvae.data.windows import sliding_windows

    frames = [g.drop(columns=id_col) for _, g in data.groupby(id_col)] if id_col else [data]
    if isinstance(data, np.ndarray):
        real = data
    else:
        real = np.concatenate([sliding_windows(f[model.columns_].to_numpy(np.float64), 24)
                               for f in frames])
    scaled = torch.from_numpy(model.scaled_windows(real).astype(np.float32))
    _, z = model.generate(n, method="aggregate", random_state=0, as_array=True,
                          observation_noise=False, return_latents=True)
    with torch.inference_mode():
        mu, _ = model.vae_.encode(scaled)
        residual = (scaled - model.vae_.decode(mu)).numpy()
        means = model.vae_.decode(torch.from_numpy(np.asarray(z, np.float32))).numpy()
    from sklearn.neighbors import NearestNeighbors

    _, neighbours = NearestNeighbors(n_neighbors=5).fit(mu.numpy()).kneighbors(np.asarray(z))
    pick = neighbours[np.arange(n), np.random.default_rng(0).integers(5, size=n)]
    return model.to_output_units(means + residual[pick])


def run(name: str, variant: str, args) -> dict:
    params, options = VARIANTS[variant]
    data, id_col = load(name)
    model = tsvae.TimeSeriesVAE(n_past=24, max_time=args.max_time, max_epochs=args.max_epochs,
                                progress_bar=False, random_state=0, **params)
    start = time.perf_counter()
    model.fit(data, id_col=id_col) if id_col else model.fit(data)
    fit_s = time.perf_counter() - start
    real_frame = data.drop(columns=id_col) if id_col else data
    evaluation = prepare(real_frame if not isinstance(data, np.ndarray) else data,
                         real_frame if not isinstance(data, np.ndarray) else data, 24)
    real = subsample(evaluation.real, args.windows, np.random.default_rng(0))
    real_s = evaluation.scale(real)
    detector = feature_detector()
    row = {"dataset": name, "variant": variant, "fit_s": round(fit_s, 1),
           "epochs": model.n_epochs_,
           "floor": floor_score(real_s, detector, seeds=args.seeds).mean}
    labels = [(m, m) for m in args.methods]
    if args.compare_noise:
        labels += [("aggregate", "aggregate, VAR on one window's innovations"),
                   ("aggregate", "aggregate, VAR on innovations drawn per step"),
                   ("aggregate", "aggregate, nearest-latent residual window")]
    for method, label in labels:
        if label.endswith("nearest-latent residual window"):
            synth = _with_nearest_residual_windows(model, data, id_col, len(real))
        else:
            mode = ("per step" if label.endswith("per step")
                    else "var" if label.endswith("innovations") else "default")
            with _noise_mode(model, mode):
                synth = model.generate(len(real), method=method, random_state=0,
                                       as_array=True, **options)
        synth_s = evaluation.scale(np.asarray(synth, dtype=np.float64))
        result = detection_score(real_s, synth_s, detector, seeds=args.seeds)
        row[label] = result.mean
        gaps = summary_gaps(real_s, synth_s, evaluation.columns, top=4)
        row[f"{label}_giveaways"] = "; ".join(
            f"{g.summary} KS {g.ks:.2f} (real {g.real_mean:.3g}, synth {g.synthetic_mean:.3g})"
            for g in gaps.itertuples())
        print(f"{name} {variant} {label}: feature {result.mean:.3f} "
              f"(floor {row['floor']:.3f}); {row[f'{label}_giveaways']}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["stocks", "etth"])
    parser.add_argument("--variants", nargs="+", default=["default"], choices=list(VARIANTS))
    parser.add_argument("--methods", nargs="+", default=["prior", "aggregate",
                                                         "noisy_posterior"])
    parser.add_argument("--max-time", type=float, default=90.0)
    parser.add_argument("--max-epochs", type=int, default=1_000)
    parser.add_argument("--windows", type=int, default=2_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--compare-noise", action="store_true",
                        help="also score 'aggregate' with the observation noise drawn other "
                             "ways (VAR on one window's innovations, VAR on innovations "
                             "drawn per step, the residual window of a nearby latent)")
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
    if args.output:
        path = Path(args.output)
        table.to_csv(path, mode="a", header=not path.exists(), index=False)


if __name__ == "__main__":
    main()
