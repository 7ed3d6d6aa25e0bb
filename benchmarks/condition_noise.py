"""Per-condition against pooled observation noise on the same conditional models.

Run: ``python benchmarks/condition_noise.py``. Two-class sines (the test suite's data: slow
0.1-0.25 vs fast 0.6-0.8 rad/step, 2 features, 1,600 windows), default network sizes, 30
epochs at batch 64 and learning rate 3e-3, lstm and conv. Each fitted model generates 300
windows per class with its per-condition noise models and, swapped in, its pooled one;
prints the balanced accuracy of a real-trained condition classifier on them (overall and per
class) for ``prior`` and ``aggregate`` and two generation seeds.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
from _common import quiet_lightning  # noqa: E402

import tsvae  # noqa: E402
from tests.test_conditional import STEPS, as_long, two_class_sines  # noqa: E402


def main() -> None:
    quiet_lightning()
    x, y = two_class_sines(800)
    wanted = pd.DataFrame({"condition": ["slow"] * 300 + ["fast"] * 300})
    print("architecture, noise, method, seed: synthetic balanced accuracy (per class)")
    for architecture in ("lstm", "conv"):
        model = tsvae.TimeSeriesVAE(
            n_past=STEPS, architecture=architecture, max_epochs=30, batch_size=64,
            learning_rate=3e-3, progress_bar=False, random_state=0,
            trainer_kwargs={"accelerator": "cpu"}).fit(x, conditions=y)
        per_condition = model.train_latents_.noise
        for label, noise in (("per-condition", per_condition),
                             ("pooled", per_condition.pooled)):
            model.train_latents_.noise = noise
            for method in ("prior", "aggregate"):
                for seed in (1, 2):
                    synthetic = model.generate(method=method, conditions=wanted,
                                               random_state=seed)
                    report = tsvae.evaluate(as_long(x, y), synthetic, by="condition",
                                            checks=["marginal"], plots_in_report=False)
                    classes = dict(zip(report.table["condition"],
                                       report.table["condition_accuracy"].round(3), strict=True))
                    print(f"{architecture}, {label}, {method}, {seed}: "
                          f"{report.fidelity['synthetic_accuracy']:.3f} {classes}", flush=True)
        model.train_latents_.noise = per_condition


if __name__ == "__main__":
    main()
