"""Generation throughput: windows/s per method and ``batch_size`` (24 steps x ``--features``).

Run: ``make bench`` (or ``python benchmarks/generation_speed.py [--n 200000] [--repeats 5]``;
``--quick`` for a smoke run). Fits a default-size model (hidden 64, latent 8) briefly on
TimeGAN sines for each architecture, then times ``generate(n, as_array=True)``: latent draws,
the decoder network, every value drawn step by step from its likelihood head, back to
original units. Prints the median of repeats. Target: at least 50,000 windows/s of 24 x 28
on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from _common import median_time, quiet_lightning  # noqa: E402

import tsvae  # noqa: E402

METHODS = ("prior", "aggregate", "posterior", "noisy_posterior")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200_000, help="windows per timing")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 1024, 8192])
    parser.add_argument("--precisions", nargs="+", default=["32", "bf16-mixed"])
    parser.add_argument("--features", type=int, default=28)
    parser.add_argument("--architectures", nargs="+", default=["conv", "lstm"])
    parser.add_argument("--quick", action="store_true", help="smoke run: small n, one setting")
    args = parser.parse_args()
    if args.quick:
        args.n, args.repeats, args.batch_sizes, args.precisions = 5_000, 1, [1024], ["32"]
    quiet_lightning()
    windows = tsvae.datasets.make_sines(5_000, length=24, n_features=args.features,
                                        random_state=0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.n:,} windows "
          f"of 24 x {args.features} per timing, median of {args.repeats}")
    print(f"{'architecture':<13}{'precision':>11}{'batch_size':>11}"
          + "".join(f"{m:>17}" for m in METHODS))
    for architecture in args.architectures:
        model = tsvae.TimeSeriesVAE(n_past=24, architecture=architecture, max_epochs=2,
                                    progress_bar=False, random_state=0,
                                    trainer_kwargs={"accelerator": "cpu"}).fit(windows)
        for precision in args.precisions:
            for batch_size in args.batch_sizes:
                rates = []
                for method in METHODS:
                    def run(m=method, b=batch_size, p=precision, model=model):
                        model.generate(args.n, method=m, as_array=True, random_state=0,
                                       batch_size=b, precision=p)
                    run()  # warm-up: thread pools and allocator
                    seconds, _ = median_time(run, args.repeats)
                    rates.append(args.n / seconds)
                print(f"{architecture:<13}{precision:>11}{batch_size:>11,}"
                      + "".join(f"{r:>17,.0f}" for r in rates))
    print("(windows/s of generate(..., as_array=True): latent draw, decoding, every value drawn "
          "from the likelihood head, back to original units; posterior methods draw around the "
          "training windows' codes)")


if __name__ == "__main__":
    main()
