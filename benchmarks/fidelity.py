"""Fidelity benchmark in the TimeGAN protocol: Sines, Stocks, Energy, ETTh, air quality.

For each data set: windows of 24 steps, stride 1, min-max scaled per feature by the real data
(Sines are left as generated, in [0.5, 1], as TimeGAN's own code scores them: min-max scaling
them would double every MAE). tsvae is trained with its defaults (``TimeSeriesVAE(n_past=24)``,
limited by ``--max-time`` seconds of CPU training), then generates as many windows as the real
set with every method; the conv architecture (same defaults otherwise) is scored on the fresh
methods and timed beside it.
Beside it, in the same run: a statsmodels VAR(2) baseline and the real-vs-real floor (a random
half of the real windows against the other half). Discriminative and predictive scores, and
a stricter feature-classifier score (gradient boosting on window summaries, real windows in
interleaved time blocks; ``tsvae.evaluation.feature_classifier``), are mean ± std over
``--seeds`` metric seeds; marginal (KS), ACF and correlation figures come from
``tsvae.evaluate``. Results go to ``benchmarks/results/fidelity.csv`` and a markdown table.

The detectability profile (``tsvae.evaluation.profile``; skip it with ``--no-profile``), per
data set and generator: the GRU score paired over ``--gru-seeds`` metric seeds (mean and 95%
interval), the feature classifier and MiniRocket under the detection split rule (real windows in
interleaved time blocks with a gap of one window, synthetic at random; 95% intervals over
``--detect-seeds``), MiniRocket's learning curve (50, 200 and 1,500 labelled windows a class),
"tie" / "below" / "above" against the VAR(2) with fresh starts, the real-vs-real floor, the
reconstructions of training windows (``noisy_posterior`` at ``noise_scale=0``, every value
drawn from the decoder's likelihood as every method draws it: if they are detected no sampler
can pass) and what
gives each generator away (the feature classifier's
most important window summaries). Up to ``--profile-windows`` real windows (time-ordered) and
as many of each generator's. Results: ``benchmarks/results/fidelity_profile.csv`` and a
section of the markdown.

Run: ``make bench-fidelity`` (full) or ``python benchmarks/fidelity.py --quick`` (smoke run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import quiet_lightning  # noqa: E402

import tsvae  # noqa: E402
from tsvae.baselines import VARBaseline  # noqa: E402
from tsvae.data.windows import sliding_windows  # noqa: E402
from tsvae.evaluation.feature_classifier import feature_discriminative_score  # noqa: E402
from tsvae.evaluation.inputs import subsample  # noqa: E402
from tsvae.evaluation.ml_scores import discriminative_score, predictive_mae  # noqa: E402
from tsvae.evaluation.profile import FLOOR_LABEL, detectability_profile  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PUBLISHED = {  # ../shared/data/README.md
    "TimeGAN (2019)": {"sines": .011, "stocks": .102, "energy": .236, "etth": .114},
    "TimeVAE (Diffusion-TS re-run)": {"sines": .041, "stocks": .145, "energy": .499,
                                      "etth": .209},
    "Diffusion-TS (2024)": {"sines": .006, "stocks": .067, "energy": .122, "etth": .061},
    "ImagenTime (NeurIPS 2024)": {"stocks": .037, "energy": .040},
}
PUBLISHED_PRED = {"TimeGAN (2019)": {"sines": .093, "stocks": .038, "energy": .273},
                  "TimeVAE (Diffusion-TS re-run)": {"sines": .093, "stocks": .039,
                                                    "energy": .292},
                  "Diffusion-TS (2024)": {"sines": .093, "stocks": .036, "energy": .250},
                  "ImagenTime (NeurIPS 2024)": {"stocks": .036, "energy": .250}}
NOISE_SCALE = 1.5


def load(name: str):
    if name == "sines":
        return tsvae.datasets.make_sines(10_000, length=24, n_features=5, random_state=0)
    if name == "air_quality":
        # As in the project's other studies: the 90%-missing NMHC column dropped (filled, it
        # is straight lines any detector sees), the other gaps interpolated in time.
        return tsvae.datasets.load_air_quality().drop(columns="NMHC(GT)").interpolate(
            limit_direction="both")
    return {"stocks": tsvae.datasets.load_stocks, "energy": tsvae.datasets.load_energy,
            "etth": tsvae.datasets.load_etth1}[name]()


def real_windows(data) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return data.astype(np.float64)
    return np.ascontiguousarray(sliding_windows(data.to_numpy(np.float64), 24))


def scores(real_s, synth_s, seeds, disc_iters, pred_iters, max_windows):
    """GRU discriminative and predictive scores, and the feature classifier's, per seed."""
    rng = np.random.default_rng(0)
    # subsample keeps the real windows in time order, which the feature classifier's
    # block split needs.
    real_s = subsample(real_s, max_windows, rng)
    synth_s = subsample(synth_s, max_windows, rng)
    disc = [discriminative_score(real_s, synth_s, iterations=disc_iters, seed=s) for s in seeds]
    pred = [predictive_mae(synth_s, real_s, iterations=pred_iters, seed=s) for s in seeds]
    feature = [feature_discriminative_score(real_s, synth_s, seed=s) for s in seeds]
    return disc, pred, feature


def window_scaler(name: str, real: np.ndarray):
    """The protocol's scaling of windows: min-max per feature by ``real``; Sines as generated."""
    low, span = real.min(axis=(0, 1)), np.ptp(real, axis=(0, 1))
    span[span == 0] = 1.0

    def scale(windows: np.ndarray) -> np.ndarray:
        if name == "sines":
            return windows.astype(np.float32)
        return ((windows - low) / span).astype(np.float32)

    return scale


METHODS = ("prior", "aggregate", "posterior", "noisy_posterior")
FRESH = ("prior", "aggregate")
RECONSTRUCTION = "reconstruction (noise_scale=0)"
PROFILE_REFERENCE = "VAR(2), fresh starts"


def fit_and_generate(name, data, n, architecture, args):
    """Train tsvae defaults (one architecture), generate ``n`` windows with every method;
    returns the windows per method and the speed row."""
    config = dict(n_past=24, architecture=architecture, max_time=args.max_time,
                  random_state=0, progress_bar=False, trainer_kwargs={"accelerator": "cpu"},
                  **json.loads(args.params))
    model = tsvae.TimeSeriesVAE(**config)
    start = time.perf_counter()
    model.fit(data)
    fit_s = time.perf_counter() - start
    n_train = len(model.train_latents_.series)
    speed = {"dataset": name, "architecture": architecture, "fit_s": fit_s,
             "epochs": model.n_epochs_,
             "train_windows_per_s": n_train * model.n_epochs_ / fit_s}
    windows = {}
    for method in args.methods:
        start = time.perf_counter()
        windows[method] = model.generate(n, method=method, noise_scale=NOISE_SCALE,
                                         random_state=1, as_array=True)
        speed[f"generate_{method}_windows_per_s"] = n / (time.perf_counter() - start)
    if not args.no_profile:  # the decoder's own accuracy, for the profile only
        windows[RECONSTRUCTION] = model.generate(n, method="noisy_posterior", noise_scale=0.0,
                                                 random_state=1, as_array=True)
    return windows, speed


def run_dataset(name, args, seeds):
    data = load(name)
    real = real_windows(data)
    scale = window_scaler(name, real)

    rows, speed, candidates, reconstructions = [], [], {}, {}
    if not args.only_baselines:
        for architecture in args.architectures:
            windows, timing = fit_and_generate(name, data, len(real), architecture, args)
            speed.append(timing)
            prefix = "tsvae" if architecture == "lstm" else f"tsvae {architecture}"
            if json.loads(args.params):
                prefix += f" {args.params}"
            for method, synth in windows.items():
                if method == RECONSTRUCTION:
                    if architecture == "lstm":
                        reconstructions[f"{prefix} {method}"] = synth
                elif architecture == "lstm" or method in FRESH:
                    candidates[f"{prefix} {method}"] = synth
    if not args.skip_baselines:
        candidates["VAR(2), real starts"] = VARBaseline(2, start="real").fit(data).generate(
            len(real), 24, random_state=1)
        candidates["VAR(2), fresh starts"] = VARBaseline(2, start="gaussian").fit(
            data).generate(len(real), 24, random_state=1)
    order = np.random.default_rng(0).permutation(len(real))
    half = len(real) // 2
    reference, held_out = real[order[:half]], real[order[half:]]

    trtr = [predictive_mae(scale(real), scale(real), iterations=args.pred_iters, seed=s)
            for s in seeds]
    floor = [] if args.skip_baselines else [("real vs real (floor)", held_out)]
    for label, synth in [*candidates.items(), *floor]:
        ref = reference if label.startswith("real") else real
        start = time.perf_counter()
        disc, pred, feature = scores(scale(ref), scale(synth), seeds, args.disc_iters,
                                     args.pred_iters, args.max_windows)
        score_s = time.perf_counter() - start
        start = time.perf_counter()
        report = tsvae.evaluate(ref, synth, checks=["ks", "acf", "correlation"], fast=True,
                                plots_in_report=False, random_state=0)
        eval_s = time.perf_counter() - start
        for timing in speed:
            if label.startswith("tsvae") and label.endswith(" prior") and (
                    (timing["architecture"] == "lstm") == ("conv" not in label)):
                timing["scores_s"] = score_s
                timing["checks_s"] = eval_s
        rows.append({
            "dataset": name, "generator": label,
            "disc_mean": float(np.mean(disc)), "disc_std": float(np.std(disc)),
            "pred_mean": float(np.mean(pred)), "pred_std": float(np.std(pred)),
            "pred_real": float(np.mean(trtr)),
            "feature_disc_mean": float(np.mean(feature)),
            "feature_disc_std": float(np.std(feature)),
            "ks_mean": report.score("ks"), "acf_gap_mean": report.score("acf"),
            "corr_gap": report.score("correlation"), "scores_s": score_s,
            "checks_eval_s": eval_s,
        })
        print(json.dumps(rows[-1]), flush=True)
    profile = pd.DataFrame()
    if not args.no_profile:
        profile = profile_dataset(name, real, scale, {**candidates, **reconstructions}, args)
    return rows, speed, profile


def profile_dataset(name, real, scale, candidates, args) -> pd.DataFrame:
    """The detectability profile of every candidate on one data set (time-ordered real
    windows, min-max scaled as the protocol; as many windows a candidate)."""
    rng = np.random.default_rng(0)
    real_s = scale(subsample(real, args.profile_windows, rng))
    scaled = {label: scale(subsample(w, args.profile_windows, rng))
              for label, w in candidates.items()}
    columns = (None if name == "sines"
               else [str(c) for c in load(name).columns])
    start = time.perf_counter()
    table = detectability_profile(
        real_s, scaled, columns=columns, seeds=tuple(range(args.detect_seeds)),
        gru_seeds=tuple(range(args.gru_seeds)), gru_iterations=args.disc_iters,
        curve=(50, 200, 1_500),
        reference=PROFILE_REFERENCE if PROFILE_REFERENCE in scaled else None)
    table.insert(0, "dataset", name)
    print(f"profile {name}: {time.perf_counter() - start:.0f} s", flush=True)
    print(table.to_string(), flush=True)
    return table


def _interval(r, score: str) -> str:
    return f"{r[f'{score}_mean']:.3f} [{r[f'{score}_low']:.3f}, {r[f'{score}_high']:.3f}]"


def profile_markdown(profile: pd.DataFrame, args) -> list[str]:
    """One table per data set: each score with its 95% interval and how it compares with the
    VAR(2) ("below", "above", or "tie" where the intervals overlap), the learning curve and
    the give-aways."""
    if profile.empty:
        return []
    lines = ["", f"Detectability profile (|balanced accuracy - 0.5|, 0 = indistinguishable, "
             f"0.5 = always told apart; mean [95% interval]; GRU over {args.gru_seeds} paired "
             f"metric seeds, feature classifier and MiniRocket over {args.detect_seeds} splits; "
             f"up to {args.profile_windows} windows a side; vs VAR: compared with "
             f"'{PROFILE_REFERENCE}')"]
    curve = [c for c in ("minirocket_50", "minirocket_200", "minirocket_1500")
             if c in profile.columns]
    vs = {s: f"vs_{PROFILE_REFERENCE}_{s}" for s in ("gru", "feature", "minirocket")}
    for name, table in profile.groupby("dataset", sort=False):
        lines += ["", f"**{name}**", "",
                  "| generator | GRU | vs VAR | feature classifier | vs VAR | MiniRocket | "
                  "vs VAR | " + " | ".join(f"MiniRocket @{c.split('_')[1]}" for c in curve)
                  + " | what gives it away |",
                  "|---|" + "---|" * (7 + len(curve))]
        for _, r in table.iterrows():
            cells = [r["generator"]]
            for score in ("gru", "feature", "minirocket"):
                cells.append(_interval(r, score))
                value = r.get(vs[score], "")
                cells.append("" if not isinstance(value, str) else value)
            cells += [f"{r[c]:.3f}" if pd.notna(r.get(c)) else "–" for c in curve]
            give = r.get("giveaways", "")
            cells.append(give if isinstance(give, str) and r["generator"] != FLOOR_LABEL
                         else "")
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _score_rows(results: pd.DataFrame, score: str) -> list[str]:
    """Markdown header and one row per generator of ``<score>_mean ± <score>_std``."""
    lines = ["| generator | " + " | ".join(DATASETS) + " |", "|---|" + "---|" * len(DATASETS)]
    for label in results["generator"].unique():
        cells = []
        for d in DATASETS:
            r = results[(results.generator == label) & (results.dataset == d)]
            cells.append(f"{r[f'{score}_mean'].iloc[0]:.3f} ± {r[f'{score}_std'].iloc[0]:.3f}"
                         if len(r) else "–")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def markdown(results: pd.DataFrame, speed: pd.DataFrame, args,
             profile: pd.DataFrame | None = None) -> str:
    lines = [f"Discriminative score (lower is better; mean ± std over {args.seeds} metric seeds), "
             f"tsvae defaults trained at most {args.max_time:.0f} s on this CPU. "
             f"`noisy_posterior` uses noise_scale={NOISE_SCALE}.", "",
             *_score_rows(results, "disc")]
    for label, figures in PUBLISHED.items():
        lines.append(f"| {label} (published) | "
                     + " | ".join(f"{figures[d]:.3f}" if d in figures else "–"
                                  for d in DATASETS) + " |")
    lines += ["", "Predictive score (MAE, train on synthetic, test on real; lower is better)", "",
              *_score_rows(results, "pred")]
    real_row = [results[results.dataset == d].pred_real.iloc[0] if (results.dataset == d).any()
                else float("nan") for d in DATASETS]
    lines.append("| real data (train on real, this run) | "
                 + " | ".join(f"{v:.3f}" for v in real_row) + " |")
    for label, figures in PUBLISHED_PRED.items():
        lines.append(f"| {label} (published) | "
                     + " | ".join(f"{figures[d]:.3f}" if d in figures else "–"
                                  for d in DATASETS) + " |")
    lines += ["", "Feature-classifier score (`tsvae.evaluation.feature_classifier`: gradient "
              "boosting on window summaries, real windows split in interleaved time blocks; "
              "|accuracy - 0.5|, lower is better)", "", *_score_rows(results, "feature_disc")]
    lines += ["", "Other figures (KS D mean, ACF gap mean, correlation gap)", "",
              "| dataset | generator | KS | ACF gap | corr gap |", "|---|---|---|---|---|"]
    for r in results.itertuples():
        lines.append(f"| {r.dataset} | {r.generator} | {r.ks_mean:.3f} | {r.acf_gap_mean:.3f} |"
                     f" {r.corr_gap:.3f} |")
    lines += profile_markdown(profile if profile is not None else pd.DataFrame(), args)
    if speed.empty:
        return "\n".join(lines)
    lines += ["", "Speed (CPU, this run)", "", "| " + " | ".join(speed.columns) + " |",
              "|" + "---|" * len(speed.columns)]
    for r in speed.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:,.1f}" if isinstance(v, float) else str(v)
                                       for v in r) + " |")
    return "\n".join(lines)


DATASETS = ["sines", "stocks", "energy", "etth", "air_quality"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny budgets")
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--max-time", type=float, default=300.0, help="training seconds")
    parser.add_argument("--architectures", nargs="+", default=["lstm", "conv"],
                        choices=["lstm", "conv"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                        help="generation methods scored (the profile takes them all)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--disc-iters", type=int, default=2000)
    parser.add_argument("--pred-iters", type=int, default=5000)
    parser.add_argument("--max-windows", type=int, default=20_000)
    parser.add_argument("--output", default=str(RESULTS / "fidelity.csv"))
    parser.add_argument("--params", default="{}",
                        help='JSON of TimeSeriesVAE parameters beside the defaults (a tuned '
                             'configuration), e.g. \'{"batch_size": 64}\'; rows are labelled '
                             'with it')
    parser.add_argument("--skip-baselines", action="store_true",
                        help="tsvae rows only (no VAR, no real floor)")
    parser.add_argument("--only-baselines", action="store_true",
                        help="skip tsvae: VAR baselines and the real floor only")
    parser.add_argument("--no-profile", action="store_true",
                        help="skip the detectability profile")
    parser.add_argument("--gru-seeds", type=int, default=10,
                        help="paired metric seeds of the GRU score in the profile")
    parser.add_argument("--detect-seeds", type=int, default=3,
                        help="splits of the feature classifier and MiniRocket in the profile")
    parser.add_argument("--profile-windows", type=int, default=3_000,
                        help="most real windows (and windows a generator) in the profile")
    args = parser.parse_args()
    if args.quick:
        args.max_time, args.seeds, args.disc_iters, args.pred_iters = 20.0, 1, 100, 100
        args.max_windows = 2000
        args.detect_seeds = 2
    quiet_lightning()
    seeds = list(range(args.seeds))
    rows, speeds, profiles = [], [], []
    for name in args.datasets:
        r, s, p = run_dataset(name, args, seeds)
        rows += r
        speeds += s
        profiles.append(p)
    results, speed = pd.DataFrame(rows), pd.DataFrame(speeds)
    profile = pd.concat(profiles, ignore_index=True)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(output, index=False)
    speed.to_csv(output.with_name(output.stem + "_speed.csv"), index=False)
    if not profile.empty:
        profile.to_csv(output.with_name(output.stem + "_profile.csv"), index=False)
    table = markdown(results, speed, args, profile)
    output.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
