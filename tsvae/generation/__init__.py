"""Generation: latent samplers and the functions that decode their draws into data."""

from tsvae.generation.generate import generate_new_data, generate_series
from tsvae.generation.samplers import (
    SAMPLERS,
    AggregateSampler,
    Latents,
    LatentSample,
    NoisyPosteriorSampler,
    PosteriorSampler,
    PriorSampler,
    make_sampler,
)

__all__ = [
    "SAMPLERS",
    "AggregateSampler",
    "Latents",
    "LatentSample",
    "NoisyPosteriorSampler",
    "PosteriorSampler",
    "PriorSampler",
    "generate_new_data",
    "generate_series",
    "make_sampler",
]
