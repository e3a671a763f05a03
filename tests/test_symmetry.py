"""Known answers and properties of the symmetry algebra (SPEC section 2)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from symcodec import SymcodecError
from symcodec.symmetry import (
    NAMED_SYMMETRIES,
    Symmetry,
    define_symmetry,
    get_symmetry,
    symmetry_names,
)

KERNELS = [1, 2, 3, 4, 5, 7]
# SPEC section 2: DoF for k = 1, 2, 3, 4, 5, 7.
DOF_TABLE = {
    "none": [1, 4, 9, 16, 25, 49],
    "hflip": [1, 2, 6, 8, 15, 28],
    "hflip-skew": [0, 2, 3, 8, 10, 21],
    "vflip": [1, 2, 6, 8, 15, 28],
    "vflip-skew": [0, 2, 3, 8, 10, 21],
    "central": [1, 2, 5, 8, 13, 25],
    "central-skew": [0, 2, 4, 8, 12, 24],
    "transpose": [1, 3, 6, 10, 15, 28],
    "transpose-skew": [0, 1, 3, 6, 10, 21],
    "antitranspose": [1, 3, 6, 10, 15, 28],
    "d2": [1, 1, 4, 4, 9, 16],
    "c4": [1, 1, 3, 4, 7, 13],
    "d4": [1, 1, 3, 3, 6, 10],
}
RECTANGULAR_OK = [
    "none",
    "hflip",
    "hflip-skew",
    "vflip",
    "vflip-skew",
    "central",
    "central-skew",
    "d2",
]
SQUARE_ONLY = ["transpose", "transpose-skew", "antitranspose", "c4", "d4"]


def test_every_named_symmetry_has_a_known_answer():
    assert set(symmetry_names()) == set(DOF_TABLE)


@pytest.mark.parametrize("name", list(DOF_TABLE))
@pytest.mark.parametrize("k_index", range(len(KERNELS)))
def test_dof_known_answers(name, k_index):
    k = KERNELS[k_index]
    layout = get_symmetry(name).layout(k)
    expected = DOF_TABLE[name][k_index]
    assert layout.dof == expected
    assert round(float(np.trace(layout.projector))) == expected
    assert len(layout.representatives) == expected


@pytest.mark.parametrize("name", list(DOF_TABLE))
@pytest.mark.parametrize("k", KERNELS)
def test_projector_is_orthogonal_projection(name, k):
    p = get_symmetry(name).layout(k).projector
    np.testing.assert_allclose(p @ p, p, atol=1e-12)
    np.testing.assert_allclose(p, p.T, atol=1e-12)


@pytest.mark.parametrize("name", list(DOF_TABLE))
@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_fast_projection_equals_reynolds_matrix(name, k):
    sym = get_symmetry(name)
    w = torch.randn(5, 3, k, k, dtype=torch.float64, generator=torch.Generator().manual_seed(k))
    p = torch.tensor(sym.layout(k).projector)
    expected = (w.reshape(5, 3, k * k) @ p.T).reshape(w.shape)
    torch.testing.assert_close(sym.project(w), expected)


def test_central_skew_3x3_structure():
    layout = get_symmetry("central-skew").layout(3)
    # the centre is fixed by the 180-degree rotation with sign -1: dead
    centre = layout.orbits.index((4,))
    assert layout.dead[centre]
    assert list(layout.representatives) == [0, 1, 2, 3]
    # w[8 - p] = -w[p]
    assert list(layout.sign) == [1, 1, 1, 1, 0, -1, -1, -1, -1]
    assert list(layout.source) == [0, 1, 2, 3, 0, 3, 2, 1, 0]


def test_scatter_writes_signed_coefficients():
    sym = get_symmetry("central-skew")
    w = sym.scatter(torch.tensor([1.0, 2.0, 3.0, 4.0]), 3)
    assert w.tolist() == [[1.0, 2.0, 3.0], [4.0, 0.0, -4.0], [-3.0, -2.0, -1.0]]


@pytest.mark.parametrize("name", RECTANGULAR_OK)
def test_rectangular_kernels(name):
    sym = get_symmetry(name)
    w = torch.randn(4, 2, 3, 5)
    pw = sym.project(w)
    assert torch.equal(sym.project(pw), pw)
    assert sym.gather(w).shape == (4, 2, sym.dof((3, 5)))


@pytest.mark.parametrize("name", SQUARE_ONLY)
def test_square_only_symmetries_reject_rectangles(name):
    with pytest.raises(SymcodecError, match="square"):
        get_symmetry(name).dof((3, 5))
    assert not get_symmetry(name).supports((3, 5))


def test_unknown_symmetry_is_rejected():
    with pytest.raises(SymcodecError, match="unknown symmetry 'mirror'"):
        get_symmetry("mirror")


def test_invalid_character_is_rejected():
    with pytest.raises(SymcodecError, match="not a character"):
        define_symmetry("bad", [("hflip", 1), ("hflip", -1)]).dof(3)
    # rot90 has order 4, so rot90^2 = rot180; signs (rot90: +1, rot180: -1) contradict
    with pytest.raises(SymcodecError, match="not a character"):
        define_symmetry("bad2", [("rot90", 1), ("rot180", -1)]).dof(4)


def test_user_defined_symmetries():
    # c4 with sign -1: the centre of odd kernels is dead, corner and edge orbits live
    c4_skew = define_symmetry("c4-skew", [("rot90", -1)])
    assert [c4_skew.dof(k) for k in (1, 2, 3, 4, 5)] == [0, 1, 2, 4, 6]
    # the same group as a named one gives the same answers
    my_d2 = define_symmetry("my-d2", [("vflip", 1), ("hflip", 1)])
    assert [my_d2.dof(k) for k in KERNELS] == DOF_TABLE["d2"]
    # an explicit permutation: swap the two columns of a 2x2 kernel (= hflip)
    swap = define_symmetry("swap", [((1, 0, 3, 2), 1)])
    assert swap.dof(2) == 2
    with pytest.raises(SymcodecError, match="not a permutation"):
        swap.dof(3)
    with pytest.raises(SymcodecError, match="unknown generator"):
        define_symmetry("x", [("shear", 1)])


def test_symmetry_serialization_round_trip():
    for sym in NAMED_SYMMETRIES.values():
        assert Symmetry.from_dict(sym.to_dict()) is sym
    custom = define_symmetry("c4-skew", [("rot90", -1)])
    assert Symmetry.from_dict(custom.to_dict()) == custom


def test_distance():
    sym = get_symmetry("central")
    w = torch.randn(6, 3, 3, 3)
    assert sym.distance(sym.project(w)) == pytest.approx(0.0, abs=1e-7)
    pw = sym.project(w.double())
    expected = float(torch.linalg.norm(w.double() - pw) / torch.linalg.norm(w.double()))
    assert sym.distance(w) == pytest.approx(expected)
    assert sym.distance(torch.zeros(2, 2, 3, 3)) == 0.0


def test_partial_projection():
    sym = get_symmetry("hflip")
    w = torch.randn(3, 3, 5, 5, dtype=torch.float64)
    assert torch.equal(sym.project(w, alpha=0.0), w)
    torch.testing.assert_close(sym.project(w, alpha=0.25), 0.75 * w + 0.25 * sym.project(w))
    with pytest.raises(SymcodecError, match="alpha"):
        sym.project(w, alpha=1.5)


# ---- properties -----------------------------------------------------------------------

names = st.sampled_from(symmetry_names())
kernel_sizes = st.sampled_from(KERNELS)
leading = st.lists(st.integers(1, 4), min_size=0, max_size=3)


def _tensor(data, shape, dtype=torch.float32):
    values = data.draw(
        st.lists(
            st.floats(-1e3, 1e3, allow_nan=False, width=32),
            min_size=int(np.prod(shape)),
            max_size=int(np.prod(shape)),
        )
    )
    return torch.tensor(values, dtype=dtype).reshape(shape)


@settings(max_examples=150, deadline=None)
@given(name=names, k=kernel_sizes, lead=leading, data=st.data())
def test_scatter_gather_round_trips_exactly(name, k, lead, data):
    sym = get_symmetry(name)
    w = _tensor(data, (*lead, k, k))
    pw = sym.project(w)
    assert torch.equal(sym.scatter(sym.gather(pw), k), pw)
    c = _tensor(data, (*lead, sym.dof(k)))
    assert torch.equal(sym.gather(sym.scatter(c, k)), c)


@settings(max_examples=150, deadline=None)
@given(name=names, k=kernel_sizes, data=st.data())
def test_projection_idempotent_and_fixes_symmetric_tensors(name, k, data):
    sym = get_symmetry(name)
    w = _tensor(data, (3, k, k))
    pw = sym.project(w)
    assert torch.equal(sym.project(pw), pw)
    assert sym.is_symmetric(pw)
    # the constraint itself holds: w[g(p)] = chi(g) w[p]
    flat = pw.reshape(3, k * k)
    for perm, sign in sym.layout(k).group:
        assert torch.equal(flat[:, list(perm)], sign * flat)


@settings(max_examples=100, deadline=None)
@given(name=names, k=kernel_sizes, data=st.data())
def test_projection_is_orthogonal(name, k, data):
    """w - Pw is orthogonal to every symmetric tensor, so ||w||^2 = ||Pw||^2 + ||w - Pw||^2."""
    sym = get_symmetry(name)
    w = _tensor(data, (2, k, k), dtype=torch.float64)
    v = sym.project(_tensor(data, (2, k, k), dtype=torch.float64))
    residual = w - sym.project(w)
    assert abs(float((residual * v).sum())) <= 1e-9 * (1 + float(w.norm() * v.norm()))


def test_layout_cache_is_bounded_by_bytes_not_by_count():
    """Many distinct user-defined symmetries on 32x32 kernels (as hostile stream headers
    could declare) keep at most LAYOUT_CACHE_BYTES of layouts."""
    from symcodec.symmetry import LAYOUT_CACHE_BYTES, _layout_bytes, _LayoutCache

    cache = _LayoutCache(max_bytes=40 * 2**20)
    rng = np.random.default_rng(0)
    sizes = []
    for i in range(8):
        perm = np.arange(1024)
        idx = rng.permutation(1024)[:400]
        perm[idx[:200]], perm[idx[200:]] = idx[200:], idx[:200]
        sym = define_symmetry(f"hostile-{i}", [(perm.tolist(), 1)])
        layout = cache.get(sym, 32, 32)
        assert layout.dof == 1024 - 200
        sizes.append(_layout_bytes(layout))
    assert min(sizes) > 5 * 2**20  # each is big enough to matter
    assert cache.bytes <= 40 * 2**20
    assert 1 <= len(cache) < 8
    # the most recent one is still cached, and a hit does not grow the cache
    before = cache.bytes
    assert cache.get(sym, 32, 32) is layout and cache.bytes == before
    assert LAYOUT_CACHE_BYTES <= 512 * 2**20
