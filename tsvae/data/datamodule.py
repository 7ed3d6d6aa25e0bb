"""Torch dataset over window starts, and the LightningDataModule that serves it."""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset


class WindowDataset(Dataset):
    """Windows ``values[start:start + length]`` of one shared tensor, fetched a batch at a time.

    Examples
    --------
    >>> import numpy as np, torch
    >>> ds = WindowDataset(torch.arange(20.0).reshape(10, 2), np.array([0, 5]), 3)
    >>> len(ds), tuple(ds[1].shape)
    (2, (3, 2))
    """

    def __init__(self, values: torch.Tensor, starts: np.ndarray, length: int) -> None:
        self.values = values
        self.starts = torch.as_tensor(np.asarray(starts, dtype=np.int64))
        self.offsets = torch.arange(length)
        self.length = length

    def __len__(self) -> int:
        return int(self.starts.numel())

    def __getitem__(self, i: int) -> torch.Tensor:
        start = int(self.starts[i])
        return self.values[start : start + self.length]

    def __getitems__(self, indices: list[int]) -> torch.Tensor:
        # One gather per batch instead of one slice per window.
        rows = self.starts[torch.as_tensor(indices)].unsqueeze(1) + self.offsets
        return self.values[rows]


def _already_batched(batch: torch.Tensor) -> torch.Tensor:
    return batch


class WindowDataModule(pl.LightningDataModule):
    """Training and validation windows of one contiguous scaled array."""

    def __init__(
        self,
        values: np.ndarray,
        train_starts: np.ndarray,
        val_starts: np.ndarray,
        length: int,
        *,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        tensor = torch.from_numpy(values)  # shares memory with the scaled array
        self.train_set = WindowDataset(tensor, train_starts, length)
        self.val_set = WindowDataset(tensor, val_starts, length)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed

    def _loader(self, dataset: WindowDataset, shuffle: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            collate_fn=_already_batched,
            generator=generator,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)
