import math

import pytest
import torch

from tsvae.model import SequenceVAE, vae_loss
from tsvae.nn import ARCHITECTURES
from tsvae.nn.likelihood import StepParams, fixed_scale


def _params(mean: torch.Tensor) -> StepParams:
    """Independent unit Gaussians around ``mean`` (log-scale 0, no shared factors)."""
    return StepParams(mean, torch.zeros_like(mean), None)


@pytest.fixture(params=sorted(ARCHITECTURES))
def vae(request):
    torch.manual_seed(0)
    return SequenceVAE(n_features=3, n_past=16, architecture=request.param, latent_dim=4,
                       hidden_size=8)


def test_decoder_output_changes_with_z(vae):
    z = torch.randn(6, 4)
    a = vae.decode(z)
    b = vae.decode(z + 1.0)
    assert a.shape == (6, 16, 3)
    assert (a - b).abs().mean() > 1e-4


def test_kl_gradient_reaches_the_encoder(vae):
    x = torch.randn(8, 16, 3)
    mu, log_var = vae.encode(x)
    loss = vae_loss(_params(torch.zeros(8, 16, 3)), torch.zeros(8, 16, 3), mu, log_var)["kl"]
    loss.backward()
    grads = [p.grad for p in vae.encoder.parameters()]
    assert all(g is not None for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_reparameterize_uses_log_variance():
    torch.manual_seed(0)
    mu = torch.full((200_000, 1), 2.0)
    log_var = torch.full((200_000, 1), 2.0 * torch.log(torch.tensor(3.0)))  # sigma = 3
    z = SequenceVAE.reparameterize(mu, log_var)
    assert float(z.mean()) == pytest.approx(2.0, abs=0.05)
    assert float(z.std()) == pytest.approx(3.0, rel=0.02)
    assert torch.equal(SequenceVAE.reparameterize(mu, log_var, noise_scale=0.0), mu)


def test_log_var_is_clamped():
    vae = SequenceVAE(n_features=2, n_past=8, latent_dim=2, hidden_size=4)
    with torch.no_grad():
        vae.log_var_head.bias.fill_(1e6)
    _, log_var = vae.encode(torch.zeros(1, 8, 2))
    assert torch.isfinite(torch.exp(0.5 * log_var)).all()


def test_conditional_vae_decodes_the_future_from_the_past():
    torch.manual_seed(0)
    vae = SequenceVAE(n_features=2, n_past=10, n_future=4, latent_dim=3, hidden_size=8)
    x = torch.randn(5, 14, 2)
    params, _, _ = vae(x)
    assert params.mean.shape == (5, 4, 2)
    assert torch.equal(vae.target(x), x[:, 10:])
    z = torch.zeros(5, 3)
    assert not torch.allclose(vae.decode(z, x[:, :10]), vae.decode(z, x[:, :10] + 1))


def test_loss_matches_its_definition():
    params, target = _params(torch.zeros(4, 5, 2)), torch.ones(4, 5, 2)
    mu, log_var = torch.ones(4, 3), torch.zeros(4, 3)
    out = vae_loss(params, target, mu, log_var, alpha=2.0, beta=0.5)
    assert float(out["recon"]) == pytest.approx(10.0)  # summed over steps x features
    assert float(out["kl"]) == pytest.approx(1.5)  # 0.5 * mu^2 summed over 3 dims
    assert float(out["loss"]) == pytest.approx(2.0 * 10.0 + 0.5 * 1.5)
    # alpha * SSE is a Gaussian of standard deviation 1 / sqrt(2 alpha): its NLL per window.
    variance = fixed_scale(2.0) ** 2
    nll = 10.0 / (2 * variance) + 0.5 * 10 * math.log(2 * math.pi * variance)
    assert float(out["nll"]) == pytest.approx(nll)
    assert float(out["elbo_per_value"]) == pytest.approx(-(nll + 1.5) / 10)


def test_learned_likelihood_loss_is_nll_plus_kl():
    params, target = _params(torch.zeros(4, 5, 2)), torch.ones(4, 5, 2)
    mu, log_var = torch.ones(4, 3), torch.zeros(4, 3)
    out = vae_loss(params, target, mu, log_var, alpha=None, beta=0.5)
    nll = 10 * (0.5 + 0.5 * math.log(2 * math.pi))  # unit Gaussians, error 1 on 10 values
    assert float(out["nll"]) == pytest.approx(nll)
    assert float(out["loss"]) == pytest.approx(nll + 0.5 * 1.5)
    assert float(out["elbo_per_value"]) == pytest.approx(-(nll + 1.5) / 10)


def test_free_bits_keep_small_kl_dimensions_at_their_floor():
    params, target = _params(torch.zeros(4, 5, 2)), torch.zeros(4, 5, 2)
    mu, log_var = torch.zeros(4, 3), torch.zeros(4, 3)  # KL 0 in every dimension
    out = vae_loss(params, target, mu, log_var, free_bits=0.25)
    assert float(out["kl"]) == 0.0
    assert float(out["loss"]) == pytest.approx(float(out["nll"]) + 3 * 0.25)


def test_unknown_architecture():
    with pytest.raises(ValueError, match="architecture='gru'"):
        SequenceVAE(n_features=2, n_past=8, architecture="gru")


def test_study_options_of_the_head_are_off_by_default_and_do_what_they_say():
    """The head's study options (benchmarks/likelihood_variants.py) leave a fitted model's
    head as it is; ``offset_cap`` ties the first step's scale and loadings to the second's."""
    from tsvae.nn.likelihood import AutoregressiveGaussianHead

    torch.manual_seed(0)
    head = AutoregressiveGaussianHead(4, 3, rank=2, lags=2)
    assert head.offset_cap is None and head.teacher_dropout == 0.0
    h, x = torch.randn(5, 6, 4), torch.randn(5, 6, 3)
    free = head(h, x)
    assert not torch.allclose(free.log_scale[:, 0], free.log_scale[:, 1])
    head.offset_cap = 2.0
    tied = head(h, x)
    torch.testing.assert_close(tied.log_scale[:, 0], free.log_scale[:, 1] + math.log(2.0))
    torch.testing.assert_close(tied.factor[:, 0], free.factor[:, 1] * 2.0)
    torch.testing.assert_close(tied.log_scale[:, 1:], free.log_scale[:, 1:])
    torch.testing.assert_close(tied.mean, free.mean)  # the offset itself is still the data's
