"""Torch dataset over window starts, and the LightningDataModule that serves it."""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class WindowDataset(Dataset):
    """Windows ``values[start:start + length]`` of one shared tensor, fetched a batch at a time.

    Examples
    --------
    >>> import numpy as np, torch
    >>> ds = WindowDataset(torch.arange(20.0).reshape(10, 2), np.array([0, 5]), 3)
    >>> len(ds), tuple(ds[1].shape)
    (2, (3, 2))
    """

    def __init__(self, values: torch.Tensor, starts: np.ndarray, length: int,
                 conditions: torch.Tensor | None = None) -> None:
        self.values = values
        #: per-row condition vectors; a window's condition is that of its last row
        self.conditions = conditions
        starts = np.asarray(starts)
        self.starts = torch.as_tensor(starts if starts.dtype in (np.int32, np.int64)
                                      else starts.astype(np.int64))
        self.offsets = torch.arange(length)
        self.length = length

    def __len__(self) -> int:
        return int(self.starts.numel())

    def __getitem__(self, i: int):
        start = int(self.starts[i])
        window = self.values[start : start + self.length]
        if self.conditions is None:
            return window
        return window, self.conditions[start + self.length - 1]

    def __getitems__(self, indices: list[int]):
        # One gather per batch instead of one slice per window.
        rows = self.starts[torch.as_tensor(indices)].unsqueeze(1) + self.offsets
        if self.conditions is None:
            return self.values[rows]
        return self.values[rows], self.conditions[rows[:, -1]]


class ChunkedRandomSampler(Sampler[int]):
    """Shuffled indices, handed out a chunk at a time.

    Same order as ``RandomSampler`` with the same generator, but without turning the whole
    permutation into a Python list (about 36 bytes a window: 650 MB for 18 million windows).

    Examples
    --------
    >>> import torch
    >>> sorted(ChunkedRandomSampler(5, torch.Generator().manual_seed(0)))
    [0, 1, 2, 3, 4]
    """

    def __init__(self, n: int, generator: torch.Generator, chunk: int = 65_536) -> None:
        self.n, self.generator, self.chunk = n, generator, chunk

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.generator)
        for part in order.split(self.chunk):
            yield from part.tolist()


def _already_batched(batch):
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
        conditions: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        tensor = torch.from_numpy(values)  # shares memory with the scaled array
        cond = torch.from_numpy(conditions) if conditions is not None else None
        self.train_set = WindowDataset(tensor, train_starts, length, cond)
        self.val_set = WindowDataset(tensor, val_starts, length, cond)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed

    def _loader(self, dataset: WindowDataset, shuffle: bool) -> DataLoader:
        sampler = None
        if shuffle:
            sampler = ChunkedRandomSampler(len(dataset), torch.Generator().manual_seed(self.seed))
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            collate_fn=_already_batched,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)
