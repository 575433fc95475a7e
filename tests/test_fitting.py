"""Fitting service times: the gamma CDF against closed forms, and each family recognised from its own samples.

Sample sizes: 4,000 draws give a KS 5% critical value of 0.0215; the families
differ from each other by more than that at the shapes used, so the right one
wins with room to spare (a fixed seed makes each outcome fixed).
"""

from __future__ import annotations

import math
import random

import pytest

from sandbox.fitting import fit_service_time, gamma_cdf, quantile


@pytest.mark.parametrize("x", [0.1, 0.5, 1.0, 2.0, 5.0, 12.0])
def test_gamma_cdf_matches_closed_forms(x: float) -> None:
    # shape 1: exponential; shape 2: 1 - e^-x (1 + x); shape 3: 1 - e^-x (1 + x + x^2/2)
    assert gamma_cdf(x, 1.0, 1.0) == pytest.approx(1 - math.exp(-x), abs=1e-12)
    assert gamma_cdf(x, 2.0, 1.0) == pytest.approx(1 - math.exp(-x) * (1 + x), abs=1e-12)
    assert gamma_cdf(2 * x, 3.0, 2.0) == pytest.approx(1 - math.exp(-x) * (1 + x + x * x / 2), abs=1e-12)


def test_gamma_cdf_half_integer_shape_is_the_chi_square() -> None:
    # chi-square with 1 degree of freedom = gamma(1/2, 2): P(X <= x) = erf(sqrt(x/2))
    for x in (0.01, 0.5, 3.84, 10.0):
        assert gamma_cdf(x, 0.5, 2.0) == pytest.approx(math.erf(math.sqrt(x / 2)), abs=1e-10)


def _draws(kind: str, n: int = 4000) -> list[float]:
    rng = random.Random(11)
    if kind == "exponential":
        return [rng.expovariate(1 / 10) for _ in range(n)]
    if kind == "gamma":
        return [rng.gammavariate(4.0, 2.5) for _ in range(n)]       # mean 10, cv 0.5
    if kind == "lognormal":
        return [rng.lognormvariate(2.0, 1.2) for _ in range(n)]
    return [5.0 + rng.uniform(-0.01, 0.01) for _ in range(n)]        # constant, within 0.2%


@pytest.mark.parametrize("kind", ["exponential", "gamma", "lognormal", "constant"])
def test_each_family_is_recognised(kind: str) -> None:
    xs = _draws(kind)
    fit = fit_service_time(xs)
    assert fit.spec["dist"] == kind, fit.candidates
    assert fit.spec["mean_ms"] == pytest.approx(sum(xs) / len(xs), rel=1e-3)   # the mean is kept
    assert fit.fits


def test_the_shapes_are_recovered() -> None:
    assert fit_service_time(_draws("gamma")).spec["cv"] == pytest.approx(0.5, rel=0.05)
    assert fit_service_time(_draws("lognormal")).spec["sigma"] == pytest.approx(1.2, rel=0.05)


def test_a_bimodal_sample_fits_nothing_and_says_so() -> None:
    rng = random.Random(2)
    xs = [rng.gauss(5, 0.3) if rng.random() < 0.5 else rng.gauss(50, 1) for _ in range(4000)]
    assert not fit_service_time(xs).fits


def test_quantile_interpolates_like_numpy() -> None:
    assert quantile([1, 2, 3, 4], 0.5) == 2.5 and quantile([3, 1, 2], 1.0) == 3
    with pytest.raises(ValueError):
        fit_service_time([])
