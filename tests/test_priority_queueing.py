"""The formulas of classes and priorities, against references built here by hand.

Every reference is written out independently of :mod:`sandbox.priority_queueing`:
Cobham's formula for two classes term by term, Pollaczek-Khinchine for one class,
Erlang's C from its textbook sum, and Kleinrock's conservation law (under any
work-conserving non-preemptive order of an M/G/1, sum rho_k W_k is the same as
under FIFO), so a slip in the module shows up as a failure. Everything here is
deterministic: the tolerances are round-off.
"""

from __future__ import annotations

import math

import pytest

from sandbox.priority_queueing import (carried_rates, cobham_waits, mixture_moments, mmc_priority_waits,
                                       priority_waits)


def erlang_c_textbook(c: int, a: float) -> float:
    """P(wait > 0) in M/M/c with offered load a < c (Erlang's C formula)."""
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


def pollaczek_khinchine(rate: float, mean: float, second: float) -> float:
    """Mean wait in M/G/1: lambda E[S^2] / (2 (1 - rho))."""
    return rate * second / (2 * (1 - rate * mean))


# ── the mixture ──────────────────────────────────────────────────────────────

def test_a_mix_of_two_exponentials_is_a_hyperexponential() -> None:
    # 80% at 5 ms, 20% at 20 ms: E[S] = 8, E[S^2] = 0.8 x 2 x 25 + 0.2 x 2 x 400 = 200, Var = 200 - 64
    mean, var = mixture_moments([0.8, 0.2], [5.0, 20.0], [25.0, 400.0])
    assert mean == pytest.approx(8.0, rel=1e-12)
    assert var == pytest.approx(136.0, rel=1e-12)
    assert var / mean ** 2 > 1          # more variable than either part: a mix is never less variable


def test_a_mix_of_one_part_is_that_part_and_weights_need_not_sum_to_one() -> None:
    assert mixture_moments([3.0], [7.0], [2.0]) == pytest.approx((7.0, 2.0), rel=1e-12)
    assert mixture_moments([2.0, 2.0], [4.0, 4.0], [1.0, 1.0]) == pytest.approx((4.0, 1.0), rel=1e-12)


def test_mixture_refuses_bad_input_with_the_values() -> None:
    with pytest.raises(ValueError, match="one entry per part"):
        mixture_moments([1.0], [1.0, 2.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="at least one must be positive"):
        mixture_moments([0.0], [1.0], [0.0])
    with pytest.raises(ValueError, match="at least 0"):
        mixture_moments([1.0], [1.0], [-1.0])


# ── Cobham: M/G/1 with non-preemptive priorities ─────────────────────────────

def test_cobham_for_two_classes_written_out_by_hand() -> None:
    # high: Poisson 40/s, exponential 5 ms; low: 40/s, exponential 12 ms
    lam_h, m_h, lam_l, m_l = 40.0, 0.005, 40.0, 0.012
    rho_h, rho_l = lam_h * m_h, lam_l * m_l                     # 0.2, 0.48
    w0 = (lam_h * 2 * m_h ** 2 + lam_l * 2 * m_l ** 2) / 2      # the mean residual work found in service
    high = w0 / (1 - rho_h)                                     # only the high class ahead of it
    low = w0 / ((1 - rho_h) * (1 - rho_h - rho_l))              # and the high class arriving while it waits
    got = cobham_waits([lam_l, lam_h], [m_l, m_h], [2 * m_l ** 2, 2 * m_h ** 2], [0, 1])
    assert got == pytest.approx([low, high], rel=1e-12)


def test_cobham_with_one_class_is_pollaczek_khinchine() -> None:
    # constant service (M/D/1) and a variable one: E[S^2] = m^2 (1 + cs^2)
    for mean, scv in ((0.010, 0.0), (0.010, 3.0)):
        second = mean ** 2 * (1 + scv)
        w, = cobham_waits([70.0], [mean], [second], [5])
        assert w == pytest.approx(pollaczek_khinchine(70.0, mean, second), rel=1e-12)


def test_classes_of_one_priority_share_a_level_and_wait_as_under_fifo() -> None:
    rates, means, seconds = [20.0, 30.0, 10.0], [0.004, 0.010, 0.020], [3.2e-5, 2e-4, 8e-4]
    fifo = pollaczek_khinchine(sum(rates), sum(r * m for r, m in zip(rates, means)) / sum(rates),
                               sum(r * s for r, s in zip(rates, seconds)) / sum(rates))
    assert cobham_waits(rates, means, seconds, [2, 2, 2]) == pytest.approx([fifo] * 3, rel=1e-12)
    # two classes at one level wait alike, as one class of their merged stream would
    w = cobham_waits(rates, means, seconds, [1, 0, 1])
    assert w[0] == pytest.approx(w[2], rel=1e-12)
    merged = cobham_waits([30.0, 30.0], [(20 * 0.004 + 10 * 0.020) / 30, 0.010],
                          [(20 * 3.2e-5 + 10 * 8e-4) / 30, 2e-4], [1, 0])
    assert [w[0], w[1]] == pytest.approx(merged, rel=1e-12)


def test_cobham_obeys_kleinrocks_conservation_law() -> None:
    # any non-preemptive work-conserving order leaves sum rho_k W_k = rho x W_fifo (Kleinrock vol. 2, 3.4)
    rates, means, seconds = [25.0, 15.0, 30.0], [0.006, 0.020, 0.004], [7.2e-5, 1.2e-3, 1.6e-5]
    rho = sum(r * m for r, m in zip(rates, means))
    fifo = sum(r * s for r, s in zip(rates, seconds)) / 2 / (1 - rho)
    for order in ([0, 1, 2], [2, 1, 0], [1, 0, 1]):
        w = cobham_waits(rates, means, seconds, order)
        assert sum(r * m * x for r, m, x in zip(rates, means, w)) == pytest.approx(rho * fifo, rel=1e-12)


def test_in_overload_the_high_class_still_has_a_finite_wait() -> None:
    # M/M/1, high 50/s and low 100/s at 10 ms: 150% offered. The server is always busy, so a high call waits
    # the residual of the call in service (10 ms, memoryless) plus the high calls ahead: 10 ms / (1 - 0.5)
    high, low = cobham_waits([50.0, 100.0], [0.010, 0.010], [2e-4, 2e-4], [1, 0])
    assert high == pytest.approx(0.020, rel=1e-12)
    assert low == math.inf
    assert carried_rates([50.0, 100.0], [0.5, 1.0], [1, 0]) == pytest.approx([50.0, 50.0])


# ── the M/M/c extension ──────────────────────────────────────────────────────

def test_mmc_priority_with_one_class_is_the_erlang_c_wait() -> None:
    for c, rate, mean in ((1, 80.0, 0.010), (4, 300.0, 0.010), (12, 100.0, 0.100)):
        w, = mmc_priority_waits(c, [rate], mean, [0])
        a = rate * mean
        assert w == pytest.approx(erlang_c_textbook(c, a) / (c / mean - rate), rel=1e-10)


def test_mmc_priority_for_two_classes_written_out_by_hand() -> None:
    c, mean, lam_h, lam_l = 3, 0.010, 90.0, 150.0
    sigma_h, sigma = lam_h * mean / c, (lam_h + lam_l) * mean / c
    w0 = erlang_c_textbook(c, (lam_h + lam_l) * mean) * mean / c
    got = mmc_priority_waits(c, [lam_h, lam_l], mean, [1, 0])
    assert got == pytest.approx([w0 / (1 - sigma_h), w0 / ((1 - sigma_h) * (1 - sigma))], rel=1e-10)


def test_mmc_priority_keeps_the_fifo_mean_wait_when_every_class_has_one_mean() -> None:
    # one exponential mean: the number waiting is the same under any order, so the mean wait over all calls is too
    c, mean, rates = 4, 0.010, [100.0, 120.0, 60.0]
    w = mmc_priority_waits(c, rates, mean, [2, 0, 1])
    fifo, = mmc_priority_waits(c, [sum(rates)], mean, [0])
    assert sum(r * x for r, x in zip(rates, w)) / sum(rates) == pytest.approx(fifo, rel=1e-12)


# ── the general form reduces to both ─────────────────────────────────────────

def test_priority_waits_is_cobham_for_one_server() -> None:
    rates, means, variances = [30.0, 20.0, 10.0], [0.005, 0.012, 0.020], [1e-5, 1.44e-4, 0.0]
    seconds = [v + m * m for v, m in zip(variances, means)]
    assert priority_waits(1, rates, means, variances, [0, 2, 1]) == \
        pytest.approx(cobham_waits(rates, means, seconds, [0, 2, 1]), rel=1e-12)


def test_priority_waits_is_the_mmc_formula_for_one_exponential_mean() -> None:
    rates = [100.0, 150.0]
    assert priority_waits(3, rates, [0.010, 0.010], [1e-4, 1e-4], [1, 0]) == \
        pytest.approx(mmc_priority_waits(3, rates, 0.010, [1, 0]), rel=1e-12)


def test_priority_waits_with_one_class_is_allen_cunneen() -> None:
    c, rate, mean, scv, ca2 = 4, 300.0, 0.010, 0.5, 0.25
    w, = priority_waits(c, [rate], [mean], [scv * mean ** 2], [0], ca2)
    assert w == pytest.approx(erlang_c_textbook(c, rate * mean) / (c / mean - rate) * (ca2 + scv) / 2, rel=1e-10)


def test_bad_input_is_refused_with_the_values() -> None:
    with pytest.raises(ValueError, match="servers: must be at least 1, got 0"):
        priority_waits(0, [1.0], [0.01], [0.0], [0])
    with pytest.raises(ValueError, match="one entry per class"):
        cobham_waits([1.0, 2.0], [0.01], [0.0], [0])
    with pytest.raises(ValueError, match="at least 0"):
        mmc_priority_waits(2, [-1.0], 0.01, [0])
