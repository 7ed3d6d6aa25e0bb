"""How far apart are two discriminative scores, really? Many metric seeds, paired.

The TimeGAN discriminative score of one metric seed varies by about +/- 0.01 on ETTh1, so a
3-seed mean cannot separate 0.0206 from 0.0205. This script trains the defaults once
(``TimeSeriesVAE(n_past=24)``, ``--max-time`` seconds), generates as many windows as the real set
with ``prior`` and ``aggregate``, draws the fresh-start VAR(2) baseline, and scores all three
against the real windows with the same ``--seeds`` metric seeds (the protocol's GRU, scaled as
in ``fidelity.py``). It prints one JSON line per seed, then the mean, std and median per
generator and, for each tsvae method, the paired difference to the VAR with a paired t-test and
a Wilcoxon signed-rank test.

Run: ``python benchmarks/seed_spread.py etth --seeds 10`` (about 20 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fidelity  # noqa: E402
from _common import quiet_lightning  # noqa: E402

from tsvae.baselines import VARBaseline  # noqa: E402
from tsvae.evaluation.ml_scores import discriminative_score  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=fidelity.DATASETS)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--max-time", type=float, default=300.0)
    args = parser.parse_args()
    quiet_lightning()

    data = fidelity.load(args.dataset)
    real = fidelity.real_windows(data)
    windows, speed = fidelity.fit_and_generate(
        args.dataset, data, len(real), "lstm",
        argparse.Namespace(max_time=args.max_time, params="{}"))
    print(json.dumps({"fit_s": round(speed["fit_s"], 1), "epochs": speed["epochs"]}),
          flush=True)
    synthetic = {method: windows[method] for method in fidelity.FRESH}
    synthetic["var"] = VARBaseline(2, start="gaussian").fit(data).generate(len(real), 24,
                                                                           random_state=1)
    scale = fidelity.window_scaler(args.dataset, real)

    real_scaled = scale(real)
    rows = []
    for name, generated in synthetic.items():
        generated_scaled = scale(generated)
        for seed in range(args.seeds):
            score = discriminative_score(real_scaled, generated_scaled, iterations=2_000,
                                         seed=seed)
            rows.append({"generator": name, "seed": seed, "disc": score})
            print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows).pivot(index="seed", columns="generator", values="disc")
    print(table.agg(["mean", "std", "median"]).round(4).to_string())
    for method in ("prior", "aggregate"):
        diff = table[method] - table["var"]
        print(f"{method} - var: mean {diff.mean():+.4f}, std {diff.std():.4f}, "
              f"lower in {(diff < 0).sum()}/{len(diff)} seeds, "
              f"paired t p={stats.ttest_rel(table[method], table['var']).pvalue:.3f}, "
              f"Wilcoxon p={stats.wilcoxon(table[method], table['var']).pvalue:.3f}")


if __name__ == "__main__":
    main()
