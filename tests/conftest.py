"""Shared fixtures: tiny CPU models on slices of the bundled real data."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

import tsvae

logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

TINY = dict(latent_dim=3, hidden_size=12, max_epochs=2, batch_size=64, progress_bar=False,
            random_state=0, trainer_kwargs={"accelerator": "cpu"})


def tiny_model(**overrides) -> tsvae.TimeSeriesVAE:
    """A small, fast, CPU-only model; keyword arguments override the tiny defaults."""
    return tsvae.TimeSeriesVAE(**{**dict(n_past=12), **TINY, **overrides})


@pytest.fixture(scope="session")
def energy_small() -> pd.DataFrame:
    """600 rows x 6 real columns of the energy data (10-minute DatetimeIndex)."""
    return tsvae.datasets.load_energy().iloc[:600, :6].copy()


@pytest.fixture(scope="session")
def fitted_model(energy_small) -> tsvae.TimeSeriesVAE:
    return tiny_model(max_epochs=8, learning_rate=3e-3).fit(energy_small)


@pytest.fixture(scope="session")
def conditional_model(energy_small) -> tsvae.TimeSeriesVAE:
    return tiny_model(n_future=4).fit(energy_small)
