"""Evidence for the pass rule of the detection checks (``evaluate``'s ``detection`` group).

On bundled sets: tsvae defaults (short training) with ``prior`` and ``aggregate``, a VAR(2)
with fresh starts, real windows with their steps shuffled (time-shuffled real), iid Gaussian
noise with the real per-feature mean and std, and fresh real data where the set has it
(Sines). Each runs through ``tsvae.evaluate(real, synthetic, n_past=24,
checks=["detection"])`` exactly as a user would (real = the whole series frame, stride-1
windows), and the table shows each score, the floor and the verdict of the rule.

Run: ``python benchmarks/detection_rule.py --datasets sines stocks etth --max-time 60``.
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
from tsvae.baselines import VARBaseline  # noqa: E402
from tsvae.data.windows import sliding_windows  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
LOADERS = {"sines": lambda: tsvae.datasets.make_sines(3_000, length=24, n_features=5,
                                                      random_state=0),
           "stocks": tsvae.datasets.load_stocks, "energy": tsvae.datasets.load_energy,
           "etth": tsvae.datasets.load_etth1, "air": tsvae.datasets.load_air_quality}


def candidates(name, data, args):
    rng = np.random.default_rng(1)
    real = (data if isinstance(data, np.ndarray)
            else np.ascontiguousarray(sliding_windows(data.to_numpy(np.float64), 24)))
    n = min(len(real), 3_000)
    out = {}
    if not args.skip_tsvae:
        model = tsvae.TimeSeriesVAE(n_past=24, max_time=args.max_time, random_state=0,
                                    progress_bar=False, trainer_kwargs={"accelerator": "cpu"})
        model.fit(data if not isinstance(data, np.ndarray) else data)
        for method in ("prior", "aggregate"):
            out[f"tsvae {method}"] = model.generate(n, method=method, random_state=1,
                                                    as_array=True)
    source = data if not isinstance(data, np.ndarray) else real
    out["VAR(2)"] = VARBaseline(2, start="gaussian").fit(source).generate(n, 24, random_state=1)
    picked = real[rng.choice(len(real), n, replace=False)]
    out["time-shuffled real"] = np.stack([w[rng.permutation(len(w))] for w in picked])
    flat = real.reshape(-1, real.shape[2])
    out["iid noise"] = flat.mean(axis=0) + flat.std(axis=0) * rng.standard_normal(
        (n, 24, real.shape[2]))
    if name == "sines":
        out["fresh real"] = tsvae.datasets.make_sines(n, length=24, n_features=5,
                                                      random_state=7)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["sines", "stocks", "etth"],
                        choices=list(LOADERS))
    parser.add_argument("--max-time", type=float, default=60.0, help="training seconds")
    parser.add_argument("--skip-tsvae", action="store_true")
    parser.add_argument("--output", default=str(RESULTS / "detection_rule.csv"))
    args = parser.parse_args()
    quiet_lightning()
    rows = []
    for name in args.datasets:
        data = LOADERS[name]()
        for label, synthetic in candidates(name, data, args).items():
            start = time.perf_counter()
            report = tsvae.evaluate(data, synthetic, n_past=24, checks=["detection"],
                                    plots_in_report=False, random_state=0)
            seconds = time.perf_counter() - start
            for check, details in report.meta["detection"].items():
                passed = bool(report.table.loc[report.table.check == check, "passed"].iloc[0])
                rows.append({"dataset": name, "generator": label, "check": check,
                             "score": details["score"], "low": details["low"],
                             "high": details["high"], "floor": details["floor"]["score"],
                             "passed": passed, "evaluate_s": seconds})
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(output, index=False)
    wide = table.pivot_table(index=["dataset", "generator"], columns="check",
                             values=["score", "floor", "passed"], aggfunc="first")
    print(wide.to_string())


if __name__ == "__main__":
    main()
