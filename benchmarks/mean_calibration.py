"""How much does the mean calibration lower the detection score, and at what privacy cost?

For each data set and each variance share of ``tsvae.generation.mean_calibration`` (the map
reads the decoded windows' principal directions with at least that share of their average
variance; ``none``: no calibration, ``calibrate_means=False``), a model with the defaults is
fitted on the training blocks of ``generator_variants.py`` (eight of ten blocks in time; a
fixed number of epochs, so the network is the same for every share and a busy machine
cannot change it). For ``prior``
and ``aggregate``, two generation seeds of 2,000 windows each are scored by

- the feature classifier against the training blocks' own windows (in-sample, the TimeGAN
  protocol) and against the held-out blocks 3 and 8;
- the ``dcr`` check: the share of synthetic windows closer to a training window than the 5th
  percentile of held-out windows are (about 0.05 for data as new as held-out);
- with ``--minirocket``, MiniRocket against the training blocks as well (the profile's second
  detector: a map tuned on the feature classifier must not make the windows easier to tell
  apart by another);
- with ``--gru``, the TimeGAN GRU score against the training blocks (the figure compared
  with papers), mean over the ``--seeds`` metric seeds.

Run one data set at a time (each share trains a model):

    python benchmarks/mean_calibration.py --datasets etth --shares none 0.3 1
    python benchmarks/mean_calibration.py --quick    # smoke run

Results append to ``--output`` (default ``benchmarks/results/mean_calibration.csv``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import append_rows, quiet_lightning  # noqa: E402
from generator_variants import dcr_close_share, judged_parts, load, real_windows  # noqa: E402

import tsvae  # noqa: E402
import tsvae.generation.mean_calibration as mean_calibration  # noqa: E402
from tsvae.evaluation.detection import detection_score, floor_score  # noqa: E402
from tsvae.evaluation.feature_classifier import feature_detector  # noqa: E402
from tsvae.evaluation.minirocket import minirocket_detector  # noqa: E402
from tsvae.evaluation.ml_scores import discriminative_score  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def run(name: str, share: float | None, args) -> list[dict]:
    data, id_col = load(name)
    held, _ = load(name, "held_out")
    default_share = mean_calibration.MIN_VARIANCE_SHARE
    if share is not None:  # read when the map is fitted, at the end of fit
        mean_calibration.MIN_VARIANCE_SHARE = share
    try:
        model = tsvae.TimeSeriesVAE(n_past=24, max_time=100_000, max_epochs=args.max_epochs,
                                    progress_bar=False, random_state=0,
                                    calibrate_means=share is not None)
        model.fit(data, id_col=id_col) if id_col else model.fit(data)
    finally:
        mean_calibration.MIN_VARIANCE_SHARE = default_share
    train_w = real_windows(data, id_col, model.columns_)
    held_w = real_windows(held, id_col, model.columns_)
    detector, rows = feature_detector(), []
    judged = {part: (evaluation, real, floor_score(real, detector, seeds=args.seeds).mean)
              for part, (evaluation, real)
              in judged_parts(train_w, held_w, args.windows).items()}
    for method in args.methods:
        row = {"dataset": name, "share": "none" if share is None else share, "method": method,
               "epochs": model.n_epochs_}
        scores = {part: [] for part in judged}
        dcr, rocket, gru = [], [], []
        for seed in args.generation_seeds:
            synth = np.asarray(model.generate(args.windows, method=method, random_state=seed,
                                              as_array=True), dtype=np.float64)
            for part, (evaluation, real, _) in judged.items():
                scores[part].append(detection_score(real, evaluation.scale(synth), detector,
                                                    seeds=args.seeds).mean)
            if args.minirocket:
                evaluation, real, _ = judged["in-sample"]
                rocket.append(detection_score(real, evaluation.scale(synth),
                                              minirocket_detector(), seeds=args.seeds).mean)
            if args.gru:
                evaluation, real, _ = judged["in-sample"]
                gru.append(np.mean([discriminative_score(real, evaluation.scale(synth), seed=s)
                                    for s in args.seeds]))
            dcr.append(dcr_close_share(train_w, held_w, synth))
        for part, (_, _, floor) in judged.items():
            row[f"feature {part}"] = float(np.mean(scores[part]))
            row[f"floor {part}"] = floor
        row["dcr close share"] = float(np.mean(dcr))
        if args.minirocket:
            row["minirocket in-sample"] = float(np.mean(rocket))
        if args.gru:
            row["gru in-sample"] = float(np.mean(gru))
        residuals = getattr(model.train_latents_.noise, "residual_windows", None)
        row["residual rms"] = (float("nan") if residuals is None
                               else float(np.sqrt((residuals.astype(np.float64) ** 2).mean())))
        print(f"{name} share={row['share']} {method}: feature in-sample "
              f"{row['feature in-sample']:.3f} (floor {row['floor in-sample']:.3f}), held-out "
              f"{row['feature held-out']:.3f} (floor {row['floor held-out']:.3f}), dcr close "
              f"share {row['dcr close share']:.3f}, residual rms {row['residual rms']:.4f}"
              + (f", MiniRocket in-sample {row['minirocket in-sample']:.3f}"
                 if args.minirocket else "")
              + (f", GRU in-sample {row['gru in-sample']:.3f}" if args.gru else ""),
              flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["etth"],
                        choices=["sines", "stocks", "energy", "etth", "air_quality",
                                 "basic_motions"])
    parser.add_argument("--shares", nargs="+", default=["none", "0.3", "1"],
                        help="variance shares to fit ('none': calibrate_means=False)")
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--windows", type=int, default=2_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="splits of the feature classifier")
    parser.add_argument("--generation-seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--minirocket", action="store_true",
                        help="also score MiniRocket against the training blocks")
    parser.add_argument("--gru", action="store_true",
                        help="also score the TimeGAN GRU against the training blocks")
    parser.add_argument("--methods", nargs="+", default=["prior", "aggregate"],
                        choices=["prior", "aggregate"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", default=str(RESULTS / "mean_calibration.csv"))
    args = parser.parse_args()
    if args.quick:
        args.datasets, args.shares, args.max_epochs = ["sines"], ["none", "0.3"], 2
        args.windows, args.seeds, args.generation_seeds, args.output = 300, [0], [0], None
    shares = [None if r == "none" else float(r) for r in args.shares]
    quiet_lightning()
    table = pd.DataFrame([row for name in args.datasets for share in shares
                          for row in run(name, share, args)])
    print(table.to_string())
    append_rows(table, args.output)


if __name__ == "__main__":
    main()
