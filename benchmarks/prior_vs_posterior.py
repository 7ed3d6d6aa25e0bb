"""The prior-or-posterior study: which generation method, at which reconstruction weight?

For one data set per run, and for each reconstruction weight ``alpha`` (``beta = 1``; only the
ratio ``alpha / beta`` shapes the optimum, so a beta sweep repeats the alpha one) beside the
learned likelihood (``alpha=None``, the default, listed as ``learned``), the script
trains one LSTM VAE (``n_past=24``, a fixed ``max_epochs`` so that a busy machine does not
change the result) on the first 80% of the rows, then generates with every method, all
drawing every value from the decoder's likelihood (like with like), and measures over
``--seeds`` generation/classifier seeds:

- fidelity: the feature classifier score (gradient boosting on window summaries, the
  strongest detector of ``tsvae.evaluation``) and the TimeGAN GRU discriminative score
  (0 = indistinguishable from real, 0.5 = always told apart);
- diversity: the ratio of mean pairwise distances between windows, synthetic over real
  (1 = as spread out as real windows, below 1 = too alike);
- memorisation: distance of each synthetic window to its closest training window, as a ratio
  of the same distance for held-out real windows (1 = as new as unseen real data, towards 0 =
  copies), and the share closer than the held-out windows' 5th percentile (about 0.05 for
  data as new as held-out windows);
- the latent diagnostics of each model: KL per dimension, active units, prior-hole score.

Results: ``benchmarks/results/prior_vs_posterior_<dataset>.csv`` (one row per alpha, method
and seed) and ``..._<dataset>_latent.csv``; ``--plot`` draws
``docs/images/prior_vs_posterior.png`` from every results file present.

Run: ``python benchmarks/prior_vs_posterior.py --dataset stocks`` (``--quick`` for a smoke
run; ``--dataset`` one of sines, stocks, energy, etth1, air_quality), then ``--plot``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import quiet_lightning  # noqa: E402

import tsvae  # noqa: E402
from tsvae.data.windows import sliding_windows  # noqa: E402
from tsvae.evaluation.feature_classifier import feature_discriminative_score  # noqa: E402
from tsvae.evaluation.ml_scores import discriminative_score  # noqa: E402
from tsvae.evaluation.privacy import closest_distances  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "images" / "prior_vs_posterior.png"
METHODS = ("prior", "aggregate", "noisy_posterior", "posterior")
NOISE_SCALE = 1.5
N_PAST = 24
DATASETS = ("sines", "stocks", "energy", "etth1", "air_quality")


def load(name: str):
    """Rows in time order (a frame) or, for sines, independent windows (an array)."""
    if name == "sines":
        return tsvae.datasets.make_sines(3_000, length=N_PAST, n_features=5, random_state=0)
    loaders = {"stocks": tsvae.datasets.load_stocks, "energy": tsvae.datasets.load_energy,
               "etth1": tsvae.datasets.load_etth1,
               "air_quality": tsvae.datasets.load_air_quality}
    frame = loaders[name]()
    if name == "air_quality":  # as tune_defaults.py: the 90%-missing NMHC column dropped
        frame = frame.drop(columns="NMHC(GT)")
    return frame.interpolate(limit_direction="both") if frame.isna().any().any() else frame


N_BLOCKS, HELD_OUT_BLOCKS = 10, (3, 8)


def split(data):
    """(training data, training windows, held-out windows).

    Series are cut into ten blocks in time; blocks 3 and 8 are held out (20%), so held-out
    windows come from the same years as the training ones (a held-out final stretch of a
    trending series would be far from everything, and every synthetic window would look
    "new" beside it). The training blocks are separate series of one panel (``id_col``).
    """
    if isinstance(data, np.ndarray):
        cut = int(0.8 * len(data))
        return data[:cut], data[:cut].astype(np.float64), data[cut:].astype(np.float64)
    edges = np.linspace(0, len(data), N_BLOCKS + 1).astype(int)
    blocks = [data.iloc[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]
    train = [b.assign(block=i) for i, b in enumerate(blocks) if i not in HELD_OUT_BLOCKS]
    test = [b for i, b in enumerate(blocks) if i in HELD_OUT_BLOCKS]

    def windows(parts):
        return np.concatenate([sliding_windows(p[data.columns].to_numpy(np.float64), N_PAST)
                               for p in parts])

    return pd.concat(train), windows(train), windows(test)


def pairwise_spread(windows: np.ndarray, rng, n: int = 500) -> float:
    from scipy.spatial.distance import pdist

    pick = windows[rng.choice(len(windows), min(n, len(windows)), replace=False)]
    return float(pdist(pick.reshape(len(pick), -1)).mean())


def measure(scaled_train, scaled_test, synthetic, seed: int, gru_iterations: int) -> dict:
    rng = np.random.default_rng(seed)
    n = len(synthetic)
    # Real windows in time order for the feature classifier (its split is chronological).
    real_pick = np.sort(rng.choice(len(scaled_train), min(n, len(scaled_train)), replace=False))
    real = scaled_train[real_pick]
    reference = scaled_train[rng.choice(len(scaled_train), min(10_000, len(scaled_train)),
                                        replace=False)]
    held = scaled_test[rng.choice(len(scaled_test), min(1_000, len(scaled_test)),
                                  replace=False)]
    held_d = closest_distances(reference, held)
    synth_d = closest_distances(reference, synthetic[:1_000])
    return {
        "feature_discriminative": feature_discriminative_score(real, synthetic, seed=seed),
        "gru_discriminative": discriminative_score(real, synthetic,
                                                   iterations=gru_iterations, seed=seed),
        "spread_ratio": pairwise_spread(synthetic, rng) / pairwise_spread(real, rng),
        "dcr_ratio": float(np.median(synth_d) / np.median(held_d)),
        "close_share": float(np.mean(synth_d < np.quantile(held_d, 0.05))),
    }


def alpha_value(alpha: str) -> float | None:
    """``"learned"`` -> ``None`` (the learned likelihood), else the fixed weight."""
    return None if str(alpha) == "learned" else float(alpha)


def run(dataset: str, *, quick: bool, seeds: int, max_epochs: int, alphas, n_windows: int,
        gru_iterations: int, observation_noise: bool = True) -> None:
    quiet_lightning()
    data = load(dataset)
    train, train_windows, test_windows = split(data)
    flat = train_windows.reshape(-1, train_windows.shape[2])
    low, span = flat.min(axis=0), np.ptp(flat, axis=0)
    span = np.where(span > 0, span, 1.0)

    def scale(w):
        return ((w - low) / span).astype(np.float32)

    scaled_train, scaled_test = scale(train_windows), scale(test_windows)
    print(f"{dataset}: {len(train_windows)} training windows, {len(test_windows)} held out, "
          f"{train_windows.shape[2]} features; max_epochs={max_epochs}, seeds={seeds}")
    rows, latent_rows = [], []
    for alpha in alphas:
        start = time.perf_counter()
        model = tsvae.TimeSeriesVAE(
            n_past=N_PAST, alpha=alpha_value(alpha), beta=1.0, max_epochs=max_epochs,
            hidden_size=32 if quick else 64, stride=1 if dataset == "sines" else 2,
            early_stopping_patience=None, random_state=0, progress_bar=False,
            trainer_kwargs={"accelerator": "cpu"})
        model.fit(train, id_col=None if isinstance(train, np.ndarray) else "block")
        fit_seconds = time.perf_counter() - start
        diag = model.latent_diagnostics()
        latent_rows.append({
            "dataset": dataset, "alpha": alpha, "beta": 1.0, "epochs": model.n_epochs_,
            "fit_seconds": round(fit_seconds, 1), "max_epochs": max_epochs, "seeds": seeds,
            "n_windows": n_windows, "gru_iterations": gru_iterations,
            "active_units": diag.summary["active_units"],
            "latent_dim": diag.summary["latent_dim"],
            "total_kl": diag.summary["total_kl"],
            "prior_hole_score": diag.summary["prior_hole_score"],
            "gaussian_kl_from_prior": diag.summary["gaussian_kl_from_prior"],
            "kl_per_dim": " ".join(f"{v:.3g}" for v in diag.per_dimension["kl"]),
        })
        print(f"  alpha={alpha}: fit {fit_seconds:.0f} s, hole "
              f"{diag.summary['prior_hole_score']:.2f}, active "
              f"{diag.summary['active_units']}/{diag.summary['latent_dim']}, KL/dim "
              f"{latent_rows[-1]['kl_per_dim']}")
        for method in METHODS:
            for seed in range(seeds):
                synthetic = model.generate(n_windows, method=method, noise_scale=NOISE_SCALE,
                                           random_state=seed, as_array=True,
                                           observation_noise=observation_noise)
                figures = measure(scaled_train, scaled_test, scale(synthetic), seed,
                                  gru_iterations)
                rows.append({"dataset": dataset, "alpha": alpha, "beta": 1.0,
                             "method": method, "seed": seed, **figures})
            last = pd.DataFrame(rows[-seeds:]).mean(numeric_only=True)
            print(f"    {method:16s} feature {last['feature_discriminative']:.3f}  gru "
                  f"{last['gru_discriminative']:.3f}  spread {last['spread_ratio']:.2f}  "
                  f"dcr ratio {last['dcr_ratio']:.2f}  close {last['close_share']:.2f}")
    suffix = ("_quick" if quick else "") + ("" if observation_noise else "_decoded")
    RESULTS.mkdir(exist_ok=True)
    pd.DataFrame(rows).to_csv(RESULTS / f"prior_vs_posterior_{dataset}{suffix}.csv",
                              index=False, float_format="%.4g")
    pd.DataFrame(latent_rows).to_csv(RESULTS / f"prior_vs_posterior_{dataset}{suffix}_latent.csv",
                                     index=False, float_format="%.4g")


def privacy(dataset: str, *, max_epochs: int, alphas, n_windows: int, seeds: int) -> None:
    """Memorisation without the likelihood's draws: decoded means of every method (the
    posterior's are then reconstructions of training windows), distance ratio and close
    share only (no classifiers). Writes ``prior_vs_posterior_<dataset>_means.csv``."""
    quiet_lightning()
    train, train_windows, test_windows = split(load(dataset))
    flat = train_windows.reshape(-1, train_windows.shape[2])
    low, span = flat.min(axis=0), np.ptp(flat, axis=0)
    span = np.where(span > 0, span, 1.0)
    scaled_train = ((train_windows - low) / span).astype(np.float32)
    scaled_test = ((test_windows - low) / span).astype(np.float32)
    rows = []
    for alpha in alphas:
        model = tsvae.TimeSeriesVAE(
            n_past=N_PAST, alpha=alpha_value(alpha), beta=1.0, max_epochs=max_epochs,
            stride=1 if dataset == "sines" else 2, early_stopping_patience=None,
            random_state=0, progress_bar=False, trainer_kwargs={"accelerator": "cpu"})
        model.fit(train, id_col=None if isinstance(train, np.ndarray) else "block")
        for method in METHODS:
            for noise in (True, False):
                for seed in range(seeds):
                    rng = np.random.default_rng(seed)
                    synthetic = model.generate(n_windows, method=method, random_state=seed,
                                               noise_scale=NOISE_SCALE, as_array=True,
                                               observation_noise=noise)
                    synthetic = ((synthetic - low) / span).astype(np.float32)
                    reference = scaled_train[rng.choice(len(scaled_train),
                                                        min(10_000, len(scaled_train)),
                                                        replace=False)]
                    held = scaled_test[rng.choice(len(scaled_test), min(1_000, len(scaled_test)),
                                                  replace=False)]
                    held_d = closest_distances(reference, held)
                    synth_d = closest_distances(reference, synthetic[:1_000])
                    rows.append({"dataset": dataset, "alpha": alpha, "method": method,
                                 "observation_noise": noise, "seed": seed,
                                 "dcr_ratio": float(np.median(synth_d) / np.median(held_d)),
                                 "close_share": float(np.mean(
                                     synth_d < np.quantile(held_d, 0.05)))})
        last = pd.DataFrame(rows).query("alpha == @alpha").groupby(
            ["method", "observation_noise"])[["dcr_ratio", "close_share"]].mean()
        print(f"alpha={alpha}:\n{last.round(3)}")
    pd.DataFrame(rows).to_csv(RESULTS / f"prior_vs_posterior_{dataset}_means.csv",
                              index=False, float_format="%.4g")


def summary_table(pattern: str = "prior_vs_posterior_*[!t].csv") -> pd.DataFrame:
    """Mean and std over seeds of every figure, per dataset, alpha and method."""
    files = [p for p in sorted(RESULTS.glob("prior_vs_posterior_*.csv"))
             if not p.stem.endswith(("_latent", "_quick", "_means", "_decoded"))]
    frame = pd.concat([pd.read_csv(p) for p in files])
    return frame.groupby(["dataset", "alpha", "method"], sort=False).agg(["mean", "std"])


#: The figure's rows: (column, x-axis label, x limits).
PANELS = (("feature_discriminative", "feature classifier score\n(0 = like real, 0.5 = always "
           "detected)", (0, 0.5)),
          ("gru_discriminative", "GRU classifier score (TimeGAN protocol)\n(0 = like real, "
           "0.5 = always detected)", (0, 0.5)),
          ("dcr_ratio", "distance to closest training window\n/ same for held-out real "
           "windows (1 = as new)", None))


def plot() -> None:
    """One figure: detector scores (fidelity) and distance to training (novelty), per
    method, data set and alpha."""
    from matplotlib.figure import Figure

    table = summary_table()
    colors = {"prior": "#7f7f7f", "aggregate": "#2ca02c", "noisy_posterior": "#ff7f0e",
              "posterior": "#9467bd"}
    datasets = list(dict.fromkeys(table.index.get_level_values("dataset")))
    alphas = sorted(set(table.index.get_level_values("alpha")))
    fig = Figure(figsize=(4.2 * len(alphas), len(PANELS) * (1.6 + 0.45 * len(datasets))),
                 dpi=130, layout="constrained")
    grid = fig.subplots(len(PANELS), len(alphas), sharey=True, squeeze=False)
    width = 0.8 / len(METHODS)
    for row, (column, label, limits) in enumerate(PANELS):
        for ax, alpha in zip(grid[row], alphas, strict=True):
            for m, method in enumerate(METHODS):
                means, stds = [], []
                for dataset in datasets:
                    key = (dataset, alpha, method)
                    present = key in table.index
                    means.append(table.loc[key, (column, "mean")] if present else np.nan)
                    stds.append(table.loc[key, (column, "std")] if present else np.nan)
                ax.barh(np.arange(len(datasets)) + (m - 1.5) * width, means, width, xerr=stds,
                        color=colors[method], label=method, capsize=2,
                        error_kw={"elinewidth": 0.8})
            ax.set_yticks(np.arange(len(datasets)), datasets)
            ax.invert_yaxis()
            if limits:
                ax.set_xlim(*limits)
            else:
                ax.axvline(1.0, color="black", lw=0.8, ls=":")
            ax.set_xlabel(label, fontsize=8)
            ax.tick_params(labelsize=8)
            ax.grid(axis="x", alpha=0.3)
            if row == 0:
                ax.set_title(f"alpha = {alpha} (beta = 1)", fontsize=10)
    handles, labels = grid[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(METHODS), fontsize=9)
    FIGURE.parent.mkdir(exist_ok=True)
    fig.savefig(FIGURE)
    print(f"wrote {FIGURE}")


def markdown() -> str:
    """Tables of every results file: figures per method (mean ± std over seeds) and the
    latent diagnostics per model; written to ``results/prior_vs_posterior.md``."""
    table = summary_table()
    columns = ("feature_discriminative", "gru_discriminative", "spread_ratio", "dcr_ratio",
               "close_share")
    lines = ["| data | alpha | method | feature classifier | GRU | spread ratio | distance ratio"
             " | close share |", "|---|---|---|---|---|---|---|---|"]
    for (dataset, alpha, method), row in table.iterrows():
        cells = [f"{row[(c, 'mean')]:.3f} ± {row[(c, 'std')]:.3f}" for c in columns]
        lines.append(f"| {dataset} | {alpha} | {method} | " + " | ".join(cells) + " |")
    latent = pd.concat([pd.read_csv(p) for p in sorted(RESULTS.glob("prior_vs_posterior_*"
                                                                      "_latent.csv"))
                        if "_quick" not in p.stem and "_decoded" not in p.stem])
    latent["epochs"] = latent.get("max_epochs", latent["epochs"]).fillna(latent["epochs"])
    lines += ["", "| data | alpha | active units | total KL | KL per dimension | prior-hole score"
              " | epochs | fit (s) |", "|---|---|---|---|---|---|---|---|"]
    for row in latent.itertuples():
        lines.append(f"| {row.dataset} | {row.alpha} | {row.active_units}/{row.latent_dim} | "
                     f"{row.total_kl:.2f} | {row.kl_per_dim} | {row.prior_hole_score:.2f} | "
                     f"{int(row.epochs)} | {row.fit_seconds:.0f} |")
    text = "\n".join(lines) + "\n"
    (RESULTS / "prior_vs_posterior.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=DATASETS)
    parser.add_argument("--quick", action="store_true", help="tiny budgets (a smoke run)")
    parser.add_argument("--alphas", nargs="+", default=["learned", "1", "20", "300"],
                        help="fixed reconstruction weights, or 'learned' for the decoder's "
                             "learned likelihood (alpha=None, the default)")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--gru-iterations", type=int, default=None)
    parser.add_argument("--decoded-means", action="store_true",
                        help="every method as decoded means (observation_noise=False)")
    parser.add_argument("--privacy", action="store_true",
                        help="memorisation of decoded means vs observation-model draws only")
    parser.add_argument("--plot", action="store_true",
                        help="draw the figure and write the markdown tables from the results")
    args = parser.parse_args()
    if args.dataset and args.privacy:
        privacy(args.dataset, max_epochs=args.max_epochs or 15, alphas=args.alphas,
                n_windows=1_000, seeds=args.seeds or 2)
    elif args.dataset:
        run(args.dataset, quick=args.quick,
            seeds=args.seeds or (2 if args.quick else 3),
            max_epochs=args.max_epochs or (2 if args.quick else 15),
            alphas=args.alphas, n_windows=300 if args.quick else 1_000,
            gru_iterations=args.gru_iterations or (200 if args.quick else 1_000),
            observation_noise=not args.decoded_means)
    if args.plot:
        plot()
        print(markdown())
    if not (args.dataset or args.plot):
        parser.error("pass --dataset NAME and/or --plot")


if __name__ == "__main__":
    main()
