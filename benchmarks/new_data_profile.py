"""Is the output realistic *and* new? Detector scores beside copy shares, on held-out blocks.

Each data set is cut into ten blocks in time; the model trains on eight with its defaults
(``TimeSeriesVAE(n_past=24)``, at most ``--max-time`` seconds), and every generator is judged
against the real windows of the two held-out blocks (3 and 8, see ``heldout_blocks.load``):

- feature classifier and MiniRocket: ``|balanced accuracy - 0.5|`` under the detection split
  rule (0: no better than chance), mean over ``--seeds``;
- step and shape copy shares (``tsvae.evaluation.authenticity``): the share of generated
  windows whose steps (or mean-removed shapes) lie closer to a training window than the
  closest 5% of held-out windows do (about 0.05 for new data, near 1 for a copier);
- the DCR share of the ``dcr`` check (whole windows, the same rule);
- for tsvae: the held-out ELBO per value (nats, on the scaled data; the validation part of
  the training blocks), seconds per epoch and epochs.

Rows: tsvae ``prior`` and ``aggregate``, a VAR(2) fitted to the training blocks (fresh
Gaussian starts), and the real training windows themselves, the perfect copier: where a
generator that hands back its training data would sit. Results append to ``--output``.

    python benchmarks/new_data_profile.py --datasets etth        # one set, about 8 minutes
    python benchmarks/new_data_profile.py --quick                # smoke run
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
from _common import append_rows, quiet_lightning  # noqa: E402
from heldout_blocks import load, real_windows  # noqa: E402

import tsvae  # noqa: E402
from tsvae.baselines import VARBaseline  # noqa: E402
from tsvae.evaluation.authenticity import VIEWS, _spread, copy_share  # noqa: E402
from tsvae.evaluation.detection import detection_score, floor_score  # noqa: E402
from tsvae.evaluation.feature_classifier import feature_detector, summary_gaps  # noqa: E402
from tsvae.evaluation.inputs import prepare, subsample  # noqa: E402
from tsvae.evaluation.minirocket import minirocket_detector  # noqa: E402
from tsvae.evaluation.privacy import closest_distances  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = ("stocks", "etth", "air_quality", "energy", "sines", "basic_motions")


def copy_shares(train_s: np.ndarray, held_s: np.ndarray, synth_s: np.ndarray,
                limit: int = 1_000) -> dict:
    """Step, shape and whole-window (DCR) copy shares of scaled windows."""
    rng = np.random.default_rng(0)
    reference = subsample(train_s, 20_000, rng)
    held, synth = subsample(held_s, limit, rng), subsample(synth_s, limit, rng)
    out = {}
    for name, view in VIEWS.items():
        spread = _spread(view(reference, np.ones(reference.shape[2])))
        flat = [view(w, spread).reshape(len(w), -1) for w in (reference, held, synth)]
        out[f"{name}_copy_share"] = copy_share(*flat)[0]
    held_d = closest_distances(reference, held)
    synth_d = closest_distances(reference, synth)
    out["dcr_share"] = float(np.mean(synth_d < np.quantile(held_d, 0.05)))
    return out


def fit(name: str, data, id_col, args):
    params = json.loads(args.params)
    model = tsvae.TimeSeriesVAE(n_past=24, max_time=args.max_time, max_epochs=args.max_epochs,
                                progress_bar=False, random_state=0, **params)
    start = time.perf_counter()
    model.fit(data, id_col=id_col) if id_col else model.fit(data)
    return model, time.perf_counter() - start


def run(name: str, args) -> pd.DataFrame:
    data, id_col = load(name, "train")
    held, _ = load(name, "held_out")
    model, fit_s = fit(name, data, id_col, args)
    columns = model.columns_
    train_w = real_windows(data, id_col, columns)
    held_w = real_windows(held, id_col, columns)
    evaluation = prepare(held_w, held_w, 24)  # min-max scale of the held-out blocks
    real_s = evaluation.scale(subsample(evaluation.real, args.windows, np.random.default_rng(0)))
    train_s = evaluation.scale(train_w)
    n = len(real_s)
    candidates = {}
    for method in args.methods:
        start = time.perf_counter()
        candidates[f"tsvae {method}"] = model.generate(n, method=method, random_state=0,
                                                       as_array=True)
        print(f"{name}: {method} generated {n} windows in {time.perf_counter() - start:.1f} s",
              flush=True)
    var = VARBaseline(lags=2, start="gaussian").fit(train_w)  # pooled over the windows
    candidates["VAR(2)"] = var.generate(n, 24, random_state=0)
    candidates["real training windows (a copier)"] = subsample(train_w, n,
                                                               np.random.default_rng(1))
    seeds = tuple(range(args.seeds))
    detectors = {"feature": feature_detector()}
    if not args.no_minirocket:
        detectors["minirocket"] = minirocket_detector()
    rows = [{"dataset": name, "generator": "real held-out vs itself (floor)",
             **{d: floor_score(real_s, det, seeds=seeds).mean
                for d, det in detectors.items()}}]
    history = model.history_
    for label, windows in candidates.items():
        synth_s = evaluation.scale(np.asarray(windows, dtype=np.float64))
        row = {"dataset": name, "generator": label}
        for d, det in detectors.items():
            row[d] = detection_score(real_s, synth_s, det, seeds=seeds).mean
        row.update(copy_shares(train_s, real_s, synth_s))
        gaps = summary_gaps(real_s, synth_s, columns, top=3)
        row["giveaways"] = "; ".join(f"{g.summary} (real {g.real_mean:.3g}, synth "
                                     f"{g.synthetic_mean:.3g})" for g in gaps.itertuples())
        if label.startswith("tsvae"):
            row.update(elbo_per_value=history.get("held_out_elbo_per_value"),
                       fit_s=round(fit_s, 1),
                       epochs=model.n_epochs_,
                       s_per_epoch=round(fit_s / max(model.n_epochs_, 1), 2),
                       params=args.params)
        rows.append(row)
        print(f"{name}: {label}: " + ", ".join(
            f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float)), flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--methods", nargs="+", default=["prior", "aggregate"])
    parser.add_argument("--max-time", type=float, default=300.0, help="training seconds")
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--windows", type=int, default=3_000, help="judged windows a side")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--params", default="{}", help="estimator parameters, JSON")
    parser.add_argument("--no-minirocket", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny budgets")
    parser.add_argument("--output", default=str(RESULTS / "new_data_profile.csv"))
    args = parser.parse_args()
    if args.quick:
        args.datasets, args.max_time, args.max_epochs = ["stocks"], 10.0, 2
        args.windows, args.seeds, args.no_minirocket, args.output = 300, 1, True, None
    quiet_lightning()
    for name in args.datasets:
        table = run(name, args)
        append_rows(table, args.output)
        print(table.drop(columns=["giveaways"]).to_string(index=False), flush=True)


if __name__ == "__main__":
    main()
