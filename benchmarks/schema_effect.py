"""What restoring the user's schema does to the fidelity figures.

For each data set: tsvae's defaults (``TimeSeriesVAE(n_past=24)``, trained for
``--max-epochs`` epochs so that CPU contention does not change the model) generate as many
windows as the real set with each fresh method, once, without the schema restoration
(``enforce_bounds``, ``enforce_types`` and ``snap_discrete`` off). The same windows are then
restored step by step (bounds only, integers/bools only, observed levels only, all three: the
default) and every variant is scored as ``benchmarks/fidelity.py`` scores a generator (GRU
discriminative and predictive scores, the feature classifier; its helpers are reused), beside
the share of values inside the real range and on the real levels (the ``validity`` checks).

Run: ``python benchmarks/schema_effect.py`` (all sets) or ``--quick`` (smoke run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import quiet_lightning  # noqa: E402
from fidelity import DATASETS, load, real_windows, scores, window_scaler  # noqa: E402

import tsvae  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: variant -> (bounds, types, snap) passed to ``OutputSchema.restore``
VARIANTS = {"none": (False, False, False), "bounds": (True, False, False),
            "types": (False, True, False), "snap": (False, False, True),
            "all (default)": (True, True, True)}
METHODS = ("prior", "aggregate")


def fit(data, args) -> tsvae.TimeSeriesVAE:
    return tsvae.TimeSeriesVAE(n_past=24, max_epochs=args.max_epochs, random_state=0,
                               progress_bar=False, trainer_kwargs={"accelerator": "cpu"},
                               enforce_bounds=False, enforce_types=False,
                               snap_discrete=False).fit(data)


def validity(real: np.ndarray, synth: np.ndarray) -> tuple[float, float]:
    """Share of synthetic values inside the real range, and on the real levels (features
    with levels or whole numbers only; NaN when there is none)."""
    report = tsvae.evaluate(real, synth, checks=["validity"], plots_in_report=False)
    table = report.table.set_index("check")["statistic"]
    levels = table.get("discrete_adherence")
    return (float(np.mean(table["boundary_adherence"])),
            float(np.mean(levels)) if levels is not None else float("nan"))


def run_dataset(name: str, args) -> list[dict]:
    data = load(name)
    real = real_windows(data)
    scale = window_scaler(name, real)
    model = fit(data, args)
    schema = model.output_schema
    rows = []
    for method in METHODS:
        raw = model.generate(len(real), method=method, random_state=1, as_array=True)
        for variant, (bounds, types, snap) in VARIANTS.items():
            synth = schema.restore(raw.copy(), bounds=bounds, types=types, snap=snap)
            disc, pred, feature = scores(scale(real), scale(synth), args.seeds,
                                         args.disc_iters, args.pred_iters, args.max_windows)
            inside, on_levels = validity(real, synth)
            rows.append({"dataset": name, "method": method, "schema": variant,
                         "disc": float(np.mean(disc)), "pred": float(np.mean(pred)),
                         "feature_disc": float(np.mean(feature)),
                         "in_range": inside, "on_levels": on_levels,
                         "epochs": model.n_epochs_})
            print(rows[-1], flush=True)
    return rows


def markdown(results: pd.DataFrame) -> str:
    lines = ["| data set | method | schema | GRU disc. | pred. MAE | feature disc. | in range |"
             " on levels |", "|---|---|---|---|---|---|---|---|"]
    for r in results.itertuples():
        lines.append(f"| {r.dataset} | {r.method} | {r.schema} | {r.disc:.3f} | {r.pred:.3f} "
                     f"| {r.feature_disc:.3f} | {r.in_range:.3f} | {r.on_levels:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny budgets")
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--disc-iters", type=int, default=2000)
    parser.add_argument("--pred-iters", type=int, default=5000)
    parser.add_argument("--max-windows", type=int, default=20_000)
    parser.add_argument("--output", default=None,
                        help="CSV path (default: results/schema_effect[_quick].csv)")
    args = parser.parse_args()
    if args.quick:
        args.max_epochs, args.seeds, args.disc_iters, args.pred_iters = 2, 1, 100, 100
        args.max_windows = 2000
    if args.output is None:
        args.output = str(RESULTS / f"schema_effect{'_quick' if args.quick else ''}.csv")
    args.seeds = list(range(args.seeds))
    quiet_lightning()
    results = pd.DataFrame([row for name in args.datasets for row in run_dataset(name, args)])
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(output, index=False)
    table = markdown(results)
    output.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
