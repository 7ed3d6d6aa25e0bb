"""Training under Lightning's DDP strategy: 2 CPU processes (gloo), as a user would run it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np

import tsvae
from tests.conftest import tiny_model

SCRIPT = textwrap.dedent('''
    import json, logging, os, sys
    import tsvae
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    out = sys.argv[1]
    data = tsvae.datasets.load_energy().iloc[:600, :6]
    model = tsvae.TimeSeriesVAE(
        n_past=12, latent_dim=3, hidden_size=12, max_epochs=2, batch_size=64,
        progress_bar=False, random_state=0,
        trainer_kwargs={"accelerator": "cpu", "devices": 2, "strategy": "ddp"}).fit(data)
    rank = int(os.environ.get("LOCAL_RANK", 0))
    # Every rank asks to save under its own name: only rank 0 may write.
    model.save(os.path.join(out, f"model_rank{rank}.tsvae"))
    sample = model.generate(5, as_array=True, random_state=0)
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump({"is_global_zero": model.is_global_zero_, "sample": sample.tolist()}, f)
''')


def test_ddp_on_two_cpu_processes_trains_saves_once_and_loads(tmp_path, energy_small):
    script = tmp_path / "train_ddp.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MEMBER: 2/2" in done.stdout + done.stderr  # really two processes

    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["is_global_zero"] for r in ranks] == [True, False]
    # DDP keeps the replicas identical, so both ranks generate the same windows.
    np.testing.assert_allclose(ranks[0]["sample"], ranks[1]["sample"], rtol=1e-6)
    assert (tmp_path / "model_rank0.tsvae").exists()
    assert not (tmp_path / "model_rank1.tsvae").exists()

    loaded = tsvae.TimeSeriesVAE.load(tmp_path / "model_rank0.tsvae")
    # Same draws; float32 sums may round differently under another thread count.
    np.testing.assert_allclose(loaded.generate(5, as_array=True, random_state=0),
                               ranks[0]["sample"], rtol=1e-5, atol=1e-5)
    single = tiny_model().fit(energy_small)
    frame, single_frame = loaded.generate(200, random_state=1), single.generate(200,
                                                                               random_state=1)
    assert list(frame.columns) == list(single_frame.columns)
    assert frame.shape == single_frame.shape
    # Decoded means of an (undertrained) DDP model stay within the data's scale.
    values = loaded.generate(200, random_state=1, observation_noise=False)[energy_small.columns]
    span = energy_small.max() - energy_small.min()
    assert ((values >= energy_small.min() - span) & (values <= energy_small.max() + span)).all(
        ).all()
