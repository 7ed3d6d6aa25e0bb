"""Which likelihood head? One network per variant, scored on posterior draws of held-out windows.

The study behind the head's defaults. For each variant, a plain torch loop (no Lightning, so
that only the network differs) trains ``SequenceVAE`` (LSTM, latent 8, hidden 64) for
``--seconds`` on the training blocks of a data set (``heldout_blocks.load``), then:

- encodes held-out windows and draws each one back from ``p(x | z)`` at its posterior mean:
  the best case for any sampler (if these are detected, no latent sampler can pass);
- scores them with the feature classifier against the held-out windows (one seed);
- prints the held-out ELBO per value, the KL per latent dimension, the step standard
  deviations real vs drawn, and the window summaries that give the draws away.

Variants are ``key=value`` lists joined by ``+``: ``rank`` (shared innovation factors),
``lags`` (AR order of the deviations), ``likelihood`` (gaussian, student_t), ``alpha`` (a
fixed weight instead of the learned likelihood), ``beta``, ``free_bits``, ``latent``,
``dropout`` (share of training windows whose previous deviations the AR term does not see),
``cap`` (the first step's scale tied to the second step's times this factor: the offset can no
longer carry the window's level, the code must).
The head starts as ``fit`` starts it (the data's level and step size).

    python benchmarks/likelihood_variants.py --dataset etth --variants rank=3+lags=2 rank=0
    python benchmarks/likelihood_variants.py --quick
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from heldout_blocks import load, real_windows  # noqa: E402

from tsvae.evaluation.detection import detection_score  # noqa: E402
from tsvae.evaluation.feature_classifier import feature_detector, summary_gaps  # noqa: E402
from tsvae.model.vae import SequenceVAE, vae_loss  # noqa: E402

DEFAULTS = {"rank": 3, "lags": 2, "likelihood": "gaussian", "alpha": None, "beta": 1.0,
            "free_bits": 0.0, "latent": 8, "dropout": 0.0, "cap": None}


def parse(variant: str) -> dict:
    settings = dict(DEFAULTS)
    for part in filter(None, variant.split("+")):
        key, value = part.split("=")
        if key not in settings:
            raise SystemExit(f"unknown setting {key!r}; use {sorted(settings)}")
        settings[key] = value if key == "likelihood" else (
            None if value == "none" else float(value))
    return settings


def windows(name: str) -> tuple[np.ndarray, np.ndarray, list]:
    train, id_col = load(name, "train")
    held, _ = load(name, "held_out")
    if isinstance(train, np.ndarray):
        return train.astype(np.float32), held.astype(np.float32), None
    columns = [c for c in train.columns if c != id_col]
    train_w, held_w = real_windows(train, id_col, columns), real_windows(held, id_col, columns)
    flat = train_w.reshape(-1, train_w.shape[2])
    low, span = flat.min(0), np.where(np.ptp(flat, 0) > 0, np.ptp(flat, 0), 1.0)
    return (((train_w - low) / span).astype(np.float32),
            ((held_w - low) / span).astype(np.float32), columns)


def run(name: str, variant: str, seconds: float, n_held: int) -> None:
    s = parse(variant)
    train, held, columns = windows(name)
    x = torch.from_numpy(train)
    torch.manual_seed(0)
    vae = SequenceVAE(x.shape[2], x.shape[1], latent_dim=int(s["latent"]), hidden_size=64,
                      head_rank=int(s["rank"]), head_lags=int(s["lags"]),
                      likelihood=s["likelihood"])
    vae.initialise_head(x[torch.linspace(0, len(x) - 1, min(2_000, len(x))).long()])
    vae.head.teacher_dropout = s["dropout"]
    vae.head.offset_cap = s["cap"]
    optimizer = torch.optim.Adam(vae.parameters(), 1e-3)
    start, epochs = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        for batch in torch.randperm(len(x)).split(128):
            params, mu, log_var = vae(x[batch])
            loss = vae_loss(params, x[batch], mu, log_var, alpha=s["alpha"], beta=s["beta"],
                            free_bits=s["free_bits"])["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        epochs += 1
    vae.eval()
    real = held[:n_held]
    scale = None if s["alpha"] is None else (0.5 / s["alpha"]) ** 0.5
    with torch.no_grad():
        batch = torch.from_numpy(real)
        params, mu, log_var = vae(batch)
        out = vae_loss(params, batch, mu, log_var, alpha=s["alpha"])
        kl = (-0.5 * (1 + log_var - mu**2 - log_var.exp())).mean(0)
        drawn = vae.decode(mu, noise=True, generator=torch.Generator().manual_seed(0),
                           scale=scale).numpy()
        decoded = vae.decode(mu, noise=False).numpy()
    score = detection_score(real, drawn, feature_detector(), seeds=(0,)).mean
    print(f"{name} {variant or 'defaults'}: {epochs} epochs, held-out ELBO "
          f"{float(out['elbo_per_value']):.3f} nats/value, KL {float(kl.sum()):.2f} "
          f"(per dimension {[round(float(v), 2) for v in kl]}), feature classifier on "
          f"posterior draws {score:.3f}")
    for label, w in (("real ", real), ("drawn", drawn)):
        print(f"  step std {label}", [round(float(v), 4)
                                      for v in np.diff(w, axis=1).std(axis=(0, 1))])
    # Does the code carry each window's level? The spread of window means over windows (real,
    # drawn, decoded levels) and how well the drawn windows' means follow their real windows'.
    level = {k: w.mean(axis=1) for k, w in (("real", real), ("drawn", drawn),
                                            ("decoded", decoded))}
    follow = [float(np.corrcoef(level["real"][:, j], level["drawn"][:, j])[0, 1])
              for j in range(real.shape[2])]
    print("  window-level spread (std over windows, mean over features): real "
          f"{level['real'].std(0).mean():.4f}, drawn {level['drawn'].std(0).mean():.4f}, "
          f"decoded {level['decoded'].std(0).mean():.4f}; correlation drawn/real level "
          f"{np.nanmean(follow):.3f}")
    print(summary_gaps(real, drawn, columns, top=4).to_string(index=False), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="etth",
                        choices=["stocks", "etth", "air_quality", "energy", "sines",
                                 "basic_motions"])
    parser.add_argument("--variants", nargs="+", default=[""])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--held-windows", type=int, default=2_000)
    parser.add_argument("--quick", action="store_true", help="smoke run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.quick:
        args.dataset, args.seconds, args.held_windows = "stocks", 5.0, 300
    for variant in args.variants:
        run(args.dataset, variant, args.seconds, args.held_windows)


if __name__ == "__main__":
    main()
