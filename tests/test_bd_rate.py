"""BD-rate (SPEC section 10): known answers, properties, and the monotone fit against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symcodec.errors import SymcodecError
from symcodec.report.bd_rate import (
    PairedCurves,
    bd_rate,
    bd_rate_bootstrap,
    bd_rate_bootstrap_seeds,
    covered_band,
    pareto_front,
    pchip,
)

RATE = [10_000.0, 20_000.0, 40_000.0, 80_000.0, 160_000.0]
ACC = [85.0, 89.0, 91.0, 91.8, 92.0]


def test_identical_curves_give_zero():
    assert bd_rate(RATE, ACC, RATE, ACC, band=(88.0, 91.5)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("factor, expected", [(0.5, -50.0), (2.0, 100.0), (0.8, -20.0)])
def test_a_constant_byte_factor_gives_exactly_that_rate(factor, expected):
    scaled = [r * factor for r in RATE]
    assert bd_rate(scaled, ACC, RATE, ACC, band=(86.0, 91.9)) == pytest.approx(expected)


def test_a_hand_computed_linear_case():
    # log10 bytes linear in accuracy on both curves, offset by 0.1 decade on [1, 2] of the
    # band, 0 on [0, 1]: A is shifted by 0.1 decade only where accuracies are above 91.
    a_acc, b_acc = [90.0, 91.0, 92.0], [90.0, 91.0, 92.0]
    a_bytes = [1e4, 1e5, 1e6 * 10**0.1]
    b_bytes = [1e4, 1e5, 1e6]
    # both fits are the pchip of these three points; compare with the integral done here
    grid = np.linspace(90.0, 92.0, 20001)
    fa = pchip(np.array(a_acc), np.log10(a_bytes), grid)
    fb = pchip(np.array(b_acc), np.log10(b_bytes), grid)
    expected = 100 * (10 ** (np.trapezoid(fa - fb, grid) / 2.0) - 1)
    assert bd_rate(a_bytes, a_acc, b_bytes, b_acc, band=(90.0, 92.0)) == pytest.approx(
        expected, rel=1e-6
    )
    assert 0 < expected < 100 * (10**0.1 - 1)


def test_lucky_points_do_not_set_the_rate():
    # a smaller stream that scored higher than a larger one: the larger one is dominated
    acc, rate = pareto_front([10, 20, 30], [95.1, 94.2, 95.3])
    assert list(rate) == [10, 30] and list(acc) == [95.1, 95.3]


def test_curves_that_do_not_overlap_are_refused():
    with pytest.raises(SymcodecError, match="do not overlap"):
        bd_rate(RATE, ACC, RATE, [a - 10 for a in ACC], band=(88.0, 91.0))


def test_the_bootstrap_is_paired_over_images():
    rng = np.random.default_rng(1)
    truth = rng.random(3000) < 0.92
    points = np.stack([truth & (rng.random(3000) < p) for p in (0.95, 0.97, 0.99, 1.0)])
    sizes = [1e4, 2e4, 4e4, 8e4]
    same = bd_rate_bootstrap(sizes, points, sizes, points, truth, band_pp=(3.0, 0.3), resamples=100)
    assert (same.bd_rate_pct, same.ci_low_pct, same.ci_high_pct) == (0.0, 0.0, 0.0)
    noisy = points.copy()
    noisy[:, : 3000 // 50] = ~noisy[:, : 3000 // 50]  # B differs on 2% of the images
    r = bd_rate_bootstrap(sizes, points, sizes, noisy, truth, band_pp=(3.0, 0.3), resamples=200)
    assert r.ci_low_pct <= r.bd_rate_pct <= r.ci_high_pct
    assert r.ci_high_pct > r.ci_low_pct


def test_the_seed_bootstrap_is_the_one_seed_bootstrap_for_one_seed():
    rng = np.random.default_rng(2)
    truth = rng.random(1500) < 0.9
    points = np.stack([truth & (rng.random(1500) < p) for p in (0.95, 0.97, 0.99, 1.0)])
    noisy = points.copy()
    noisy[:, :40] = ~noisy[:, :40]
    sizes = [1e4, 2e4, 4e4, 8e4]
    one = bd_rate_bootstrap(sizes, points, sizes, noisy, truth, band_pp=(3.0, 0.3), resamples=80)
    seeds = bd_rate_bootstrap_seeds(
        [PairedCurves(sizes, points, sizes, noisy, truth)], band_pp=(3.0, 0.3), resamples=80
    )
    assert one == seeds


def test_the_seed_bootstrap_covers_the_spread_between_seeds():
    rng = np.random.default_rng(3)
    truth = rng.random(1500) < 0.9
    points = np.stack([truth & (rng.random(1500) < p) for p in (0.95, 0.97, 0.99, 1.0)])
    sizes = np.array([1e4, 2e4, 4e4, 8e4])
    # three seeds whose A needs 0.5x, 1x and 2x the bytes of B: -50%, 0%, +100%
    seeds = [PairedCurves(sizes * f, points, sizes, points, truth) for f in (0.5, 1.0, 2.0)]
    r = bd_rate_bootstrap_seeds(seeds, band_pp=(3.0, 0.3), resamples=400)
    assert r.bd_rate_pct == pytest.approx((-50.0 + 0.0 + 100.0) / 3)
    assert r.ci_low_pct < -25.0 and r.ci_high_pct > 50.0  # not the image-only CI (zero width)
    with pytest.raises(SymcodecError, match="at least one training seed"):
        bd_rate_bootstrap_seeds([])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.1, 5.0), min_size=2, max_size=7),
    st.lists(st.floats(-3.0, 3.0), min_size=8, max_size=8),
)
def test_pchip_matches_scipy(steps, values):
    interpolate = pytest.importorskip("scipy.interpolate")
    x = np.cumsum([0.0, *steps])
    y = np.array(values[: x.size])
    at = np.linspace(x[0], x[-1], 97)
    expected = interpolate.PchipInterpolator(x, y)(at)
    assert np.allclose(pchip(x, y, at), expected, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.2, 5.0), st.floats(-1.0, 1.0))
def test_bd_rate_of_a_scaled_curve_is_the_scale(factor, shift):
    acc = [a + shift for a in ACC]
    scaled = [r * factor for r in RATE]
    got = bd_rate(scaled, acc, RATE, acc, band=(86.0 + shift, 91.5 + shift))
    assert got == pytest.approx(100 * (factor - 1), rel=1e-9, abs=1e-9)


def test_the_covered_band_is_where_both_fronts_reach():
    # A stops at 90%, B reaches 92%: of the band [89, 91] only [89, 90] is compared
    assert covered_band([1e4, 2e4], [88.0, 90.0], [1e4, 3e4], [87.0, 92.0], (89.0, 91.0)) == (
        89.0,
        90.0,
    )
    with pytest.raises(SymcodecError, match="do not overlap"):
        covered_band([1e4, 2e4], [80.0, 85.0], [1e4, 3e4], [87.0, 92.0], (89.0, 91.0))


def test_a_bootstrap_reports_the_share_of_the_band_it_covered():
    rng = np.random.default_rng(3)
    truth = rng.random(2000) < 0.9
    points = [truth & (rng.random(2000) < p) for p in (0.96, 0.98, 0.99, 1.0)]
    sizes = [1e4, 2e4, 4e4, 8e4]
    full = bd_rate_bootstrap(sizes, points, sizes, points, truth, band_pp=(3.0, 0.3), resamples=20)
    assert full.covered[1] == pytest.approx(full.band[1])  # A and B reach the band's top
    # A without its best point stops about 1 pp under the reference: part of the band only
    short = bd_rate_bootstrap(
        sizes[:3], points[:3], sizes, points, truth, band_pp=(3.0, 0.3), resamples=20
    )
    top_a = 100 * points[2].mean()
    assert short.covered == pytest.approx((full.covered[0], top_a))
    assert 0 < short.covered_fraction < 1 and full.covered_fraction > short.covered_fraction


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.integers(80, 86)).map(lambda p: (p[0] * 1e4, p[1])),
        min_size=1,
        max_size=9,
    )
)
def test_the_pareto_front_is_the_undominated_points(points):
    # small integer grids make ties in bytes and in accuracy common
    bytes_, acc = zip(*points, strict=True)
    front_acc, front_bytes = pareto_front(bytes_, acc)

    def dominated(b, a):
        return any(
            (b2 <= b and a2 >= a) and (b2, a2) != (b, a) for b2, a2 in zip(bytes_, acc, strict=True)
        )

    undominated = sorted({(a, b) for b, a in points if not dominated(b, a)})
    assert list(zip(front_acc, front_bytes, strict=True)) == undominated
    assert np.all(np.diff(front_acc) > 0) and np.all(np.diff(front_bytes) > 0)
