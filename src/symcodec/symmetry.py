"""Kernel symmetries: groups, orbits, projectors, degrees of freedom (SPEC section 2).

A symmetry ``S`` on a ``kh x kw`` kernel slice is a finite group ``G`` of permutations of
the grid positions with a sign character ``chi: G -> {+1, -1}``. Its subspace is

    V_S = { w : w[g(p)] = chi(g) * w[p]  for all g in G and positions p }

and the orthogonal projector onto it is the Reynolds operator

    (P_S w)[p] = (1 / |G|) * sum_g chi(g) * w[g(p)].

Each *live* orbit carries one coefficient (the value at its representative, the smallest
flat index, after projection); a *dead* orbit (some ``g`` fixes ``p`` with ``chi(g) = -1``)
is forced to zero. ``DoF = trace(P_S)`` is the number of live orbits.

Everything acts on the last two axes of a tensor of any leading shape, so a whole
``Conv2d`` weight ``(out, in, kh, kw)`` is handled at once by index arithmetic.

>>> import torch
>>> s = get_symmetry("central-skew")
>>> s.dof(3)
4
>>> w = torch.randn(8, 4, 3, 3)
>>> c = s.gather(w)                 # (8, 4, 4): the coefficients of P_S w
>>> torch.equal(s.scatter(c, (3, 3)), s.project(w))
True
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .errors import SymcodecError

__all__ = [
    "Symmetry",
    "OrbitLayout",
    "GEOMETRIC_MAPS",
    "NAMED_SYMMETRIES",
    "get_symmetry",
    "symmetry_names",
    "define_symmetry",
    "projection_gain_bound_db",
]

# --------------------------------------------------------------------------------------
# Geometric maps of the grid: (i, j, kh, kw) -> (i', j'). ``square`` ones need kh == kw.


def _hflip(i: int, j: int, kh: int, kw: int) -> tuple[int, int]:
    return i, kw - 1 - j


def _vflip(i: int, j: int, kh: int, kw: int) -> tuple[int, int]:
    return kh - 1 - i, j


def _rot180(i: int, j: int, kh: int, kw: int) -> tuple[int, int]:
    return kh - 1 - i, kw - 1 - j


def _transpose(i: int, j: int, kh: int, kw: int) -> tuple[int, int]:
    return j, i


def _antitranspose(i: int, j: int, kh: int, kw: int) -> tuple[int, int]:
    return kw - 1 - j, kh - 1 - i


def _rot90(i: int, j: int, kh: int, kw: int) -> tuple[int, int]:
    # counter-clockwise quarter turn of a square grid
    return kw - 1 - j, i


@dataclass(frozen=True)
class _GeometricMap:
    fn: Callable[[int, int, int, int], tuple[int, int]]
    square_only: bool
    description: str


GEOMETRIC_MAPS: dict[str, _GeometricMap] = {
    "hflip": _GeometricMap(_hflip, False, "left-right mirror"),
    "vflip": _GeometricMap(_vflip, False, "up-down mirror"),
    "rot180": _GeometricMap(_rot180, False, "180-degree rotation"),
    "transpose": _GeometricMap(_transpose, True, "main-diagonal mirror"),
    "antitranspose": _GeometricMap(_antitranspose, True, "anti-diagonal mirror"),
    "rot90": _GeometricMap(_rot90, True, "90-degree rotation"),
}

Generator = str | tuple[int, ...]

#: Largest kernel (``kh * kw``) a symmetry is derived for; larger kernels are sent in full.
MAX_KERNEL_POSITIONS = 32 * 32


@dataclass(frozen=True)
class OrbitLayout:
    """Everything derived from a symmetry for one kernel shape ``(kh, kw)``.

    Attributes:
        kernel_shape: ``(kh, kw)``.
        group: the group elements as ``(permutation, sign)`` pairs; ``permutation[p]`` is
            ``g(p)`` for flat position ``p = i * kw + j``.
        orbits: every orbit as a sorted tuple of flat positions.
        dead: for each orbit, whether it is forced to zero.
        representatives: flat index of the representative of each *live* orbit, shape (DoF,).
        source: for each flat position, the live-orbit index it copies (0 for dead ones).
        sign: for each flat position, ``+1``/``-1`` relative to its representative, ``0`` if dead.
    """

    kernel_shape: tuple[int, int]
    group: tuple[tuple[tuple[int, ...], int], ...]
    orbits: tuple[tuple[int, ...], ...]
    dead: tuple[bool, ...]
    representatives: np.ndarray
    source: np.ndarray
    sign: np.ndarray
    # Live orbits grouped by size m: (live-orbit indices (D_m,), members (D_m, m), their
    # signs (D_m, m)), so that gather sums each orbit by a pairwise tree.
    orbit_groups: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...] = field(repr=False)
    # (DoF, n) matrix with sign(q) at (source(q), q): coefficients @ it = kernels
    expand: np.ndarray = field(repr=False)
    # the transpose of ``expand`` and 1 / |orbit|: (w_flat @ it) * inverse = coefficients
    reduce: np.ndarray = field(repr=False)
    inverse_orbit_sizes: np.ndarray = field(repr=False)

    @property
    def max_orbit_size(self) -> int:
        """The largest live orbit (1 when there is none)."""
        return max((members.shape[1] for _, members, _ in self.orbit_groups), default=1)

    @property
    def dof(self) -> int:
        """Degrees of freedom: the number of live orbits (= trace of the projector)."""
        return int(self.representatives.shape[0])

    @property
    def projector(self) -> np.ndarray:
        """The Reynolds operator ``P[p, q] = (1/|G|) sum_g chi(g) [g(p) = q]`` as a float64
        ``(n, n)`` matrix (built on demand; the fast paths never need it)."""
        n = self.size
        matrix = np.zeros((n, n), dtype=np.float64)
        rows = np.arange(n)
        for perm, s in self.group:
            np.add.at(matrix, (rows, np.asarray(perm)), s)
        return matrix / len(self.group)

    @property
    def has_negative_signs(self) -> bool:
        """True if some live position carries sign -1 relative to its representative."""
        return bool((self.sign < 0).any())

    @property
    def size(self) -> int:
        """Number of grid positions ``kh * kw``."""
        return self.kernel_shape[0] * self.kernel_shape[1]


@dataclass(frozen=True)
class Symmetry:
    """A symmetry given by generators (geometric maps or explicit permutations) and signs.

    Generators are names from :data:`GEOMETRIC_MAPS` (``"hflip"``, ``"vflip"``,
    ``"rot180"``, ``"transpose"``, ``"antitranspose"``, ``"rot90"``) or explicit
    permutations of the ``kh * kw`` flat positions (``p = i * kw + j``), which then only
    apply to kernels of that size. ``signs[i]`` is ``chi`` of ``generators[i]``.

    >>> s = Symmetry("my-skew-d4", ("rot90", "hflip"), (1, -1))
    >>> s.dof(3), s.dof(5)   # every 3x3 orbit is fixed by a mirror of sign -1
    (0, 1)
    """

    name: str
    generators: tuple[Generator, ...]
    signs: tuple[int, ...]
    description: str = ""

    def __post_init__(self) -> None:
        if len(self.generators) != len(self.signs):
            raise SymcodecError(
                f"symmetry {self.name!r}: {len(self.generators)} generators but "
                f"{len(self.signs)} signs"
            )
        for s in self.signs:
            if s not in (1, -1):
                raise SymcodecError(f"symmetry {self.name!r}: sign {s!r} is not +1 or -1")
        for g in self.generators:
            if isinstance(g, str):
                if g not in GEOMETRIC_MAPS:
                    raise SymcodecError(
                        f"symmetry {self.name!r}: unknown generator {g!r}; "
                        f"known: {', '.join(GEOMETRIC_MAPS)}"
                    )
            elif not (isinstance(g, tuple) and all(isinstance(x, int) for x in g)):
                raise SymcodecError(
                    f"symmetry {self.name!r}: a generator must be a map name or a "
                    "tuple of positions"
                )

    # -- derived structure -------------------------------------------------------------

    @property
    def is_skew(self) -> bool:
        """True if some generator has sign -1 (a quantizer must then use a zero-centred grid)."""
        return any(s == -1 for s in self.signs)

    def supports(self, kernel_shape: tuple[int, int] | int) -> bool:
        """Whether this symmetry is defined on kernels of this shape."""
        try:
            self.layout(kernel_shape)
        except SymcodecError:
            return False
        return True

    def layout(self, kernel_shape: tuple[int, int] | int) -> OrbitLayout:
        """The group, orbits, projector and index tables for ``kernel_shape`` (cached)."""
        kh, kw = _as_shape(kernel_shape)
        return _layout(self, kh, kw)

    def dof(self, kernel_shape: tuple[int, int] | int) -> int:
        """Degrees of freedom per kernel slice: live orbits, ``trace(P_S)``."""
        return self.layout(kernel_shape).dof

    # -- tensor operations (last two axes are the kernel) --------------------------------

    def gather(self, weight: torch.Tensor) -> torch.Tensor:
        """Coefficients of the projection of ``weight``: ``(..., kh, kw) -> (..., DoF)``.

        Each coefficient is the signed mean over its orbit, which equals
        ``(P_S w)[representative]``; for a symmetric ``weight`` it is exactly the value at
        the representative (orbit sizes of the named symmetries are powers of two, so the
        mean of identical values is exact in floating point).
        """
        layout = self._layout_of(weight)
        flat = weight.reshape(*weight.shape[:-2], layout.size)
        if layout.max_orbit_size <= 2:
            # One matrix product: each coefficient sums at most two equal terms (and zeros)
            # for a symmetric tensor, which is exact; the halving is exact too.
            reduce = _tensor(layout.reduce, flat.dtype, flat.device)
            inverse = _tensor(layout.inverse_orbit_sizes, flat.dtype, flat.device)
            out = flat.reshape(-1, layout.size) @ reduce
            return out.mul_(inverse).view(*flat.shape[:-1], layout.dof)
        lead = flat.shape[:-1]
        parts = []
        for live, members, signs in layout.orbit_groups:
            d_m, m = members.shape
            index = _tensor(members.reshape(-1), torch.long, flat.device)
            values = flat.index_select(-1, index).view(*lead, d_m, m)
            if layout.has_negative_signs:
                values = values * _tensor(signs, flat.dtype, flat.device)
            # Pairwise tree sum, then divide: for a symmetric tensor every level adds equal
            # numbers, so m copies of c sum to exactly m * c and divide back to exactly c
            # whenever m is a power of two (all orbits of the named symmetries).
            while values.shape[-1] > 1:
                half = values.shape[-1] // 2
                rest = values[..., 2 * half :]
                values = values[..., :half] + values[..., half : 2 * half]
                if rest.shape[-1]:
                    values = torch.cat([values, rest], dim=-1)
            parts.append((live, values.squeeze(-1).div_(m) if m > 1 else values.squeeze(-1)))
        if len(parts) == 1:
            return parts[0][1]
        out = flat.new_empty(*lead, layout.dof)
        for live, values in parts:
            out[..., _tensor(live, torch.long, flat.device)] = values
        return out

    def scatter(
        self, coefficients: torch.Tensor, kernel_shape: tuple[int, int] | int
    ) -> torch.Tensor:
        """Rebuild symmetric kernels from coefficients: ``(..., DoF) -> (..., kh, kw)``.

        Position ``g(rep)`` receives ``chi(g) * c``; dead positions are zero.
        """
        kh, kw = _as_shape(kernel_shape)
        layout = _layout(self, kh, kw)
        if coefficients.shape[-1] != layout.dof:
            raise SymcodecError(
                f"symmetry {self.name!r} on {kh}x{kw} kernels has {layout.dof} coefficients "
                f"per kernel, got a last axis of {coefficients.shape[-1]}"
            )
        if layout.dof == 0:
            flat = coefficients.new_zeros(*coefficients.shape[:-1], layout.size)
        else:
            # Every output is one coefficient times +-1 plus exact zeros: an exact product.
            expand = _tensor(layout.expand, coefficients.dtype, coefficients.device)
            flat = coefficients.reshape(-1, layout.dof) @ expand
        return flat.reshape(*coefficients.shape[:-1], kh, kw)

    def project(self, weight: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        """Orthogonal projection onto ``V_S`` (``alpha = 1``), or partial projection
        ``(1 - alpha) * w + alpha * P_S w`` for ``alpha`` in ``[0, 1]``.

        The result of a full projection is exactly symmetric (built by :meth:`scatter`).
        """
        if not 0.0 <= alpha <= 1.0:
            raise SymcodecError(f"projection strength alpha must be in [0, 1], got {alpha}")
        projected = self.scatter(self.gather(weight), tuple(weight.shape[-2:]))
        if alpha == 1.0:
            return projected
        if alpha == 0.0:
            return weight.clone()
        return torch.lerp(weight, projected, alpha)

    def distance(self, weight: torch.Tensor) -> float:
        """Relative distance ``d_S(W) = ||W - P_S W|| / ||W||`` (0 for an all-zero ``W``).

        >>> sym = get_symmetry("hflip")
        >>> round(sym.distance(torch.eye(3)), 6)   # residual (I - J) / 2: four entries of 1/2
        0.57735
        """
        return relative_distance([self.residual_energy(weight)])

    def residual_energy(self, weight: torch.Tensor) -> tuple[float, float]:
        """``(||W - P_S W||^2, ||W||^2)`` in float64: the two sums behind :meth:`distance`,
        which :func:`relative_distance` combines over several tensors (a whole model)."""
        w = weight.detach().double()
        return float((w - self.project(w)).pow(2).sum()), float(w.pow(2).sum())

    def is_symmetric(self, weight: torch.Tensor) -> bool:
        """True if ``weight`` lies exactly in ``V_S``."""
        return bool(torch.equal(self.project(weight), weight))

    def to_dict(self) -> dict:
        """A JSON-able description (what the bitstream header stores): the name alone for
        a named symmetry, generators and signs too for a user-defined one."""
        if NAMED_SYMMETRIES.get(self.name) is self:
            return {"name": self.name}
        return {
            "name": self.name,
            "generators": [g if isinstance(g, str) else list(g) for g in self.generators],
            "signs": list(self.signs),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Symmetry:
        """Inverse of :meth:`to_dict`; a known name returns the named symmetry."""
        if not isinstance(data, dict) or "name" not in data:
            raise SymcodecError("symmetry description must be an object with a 'name'")
        name = data["name"]
        if name in NAMED_SYMMETRIES and "generators" not in data:
            return NAMED_SYMMETRIES[name]
        try:
            generators = tuple(g if isinstance(g, str) else tuple(g) for g in data["generators"])
            signs = tuple(data["signs"])
        except (KeyError, TypeError) as exc:
            raise SymcodecError(f"symmetry {name!r}: malformed description ({exc})") from None
        sym = cls(str(name), generators, signs)
        named = NAMED_SYMMETRIES.get(sym.name)
        if named is not None and (named.generators, named.signs) == (sym.generators, sym.signs):
            return named
        return sym

    def _layout_of(self, weight: torch.Tensor) -> OrbitLayout:
        if weight.dim() < 2:
            raise SymcodecError(
                f"symmetry {self.name!r} needs a tensor with at least 2 dimensions, "
                f"got shape {tuple(weight.shape)}"
            )
        return self.layout(tuple(weight.shape[-2:]))


def _as_shape(kernel_shape: tuple[int, int] | int | Sequence[int]) -> tuple[int, int]:
    if isinstance(kernel_shape, int):
        kh = kw = kernel_shape
    else:
        kh, kw = (int(x) for x in kernel_shape)
    if kh < 1 or kw < 1:
        raise SymcodecError(f"kernel shape must be positive, got {kh}x{kw}")
    if kh * kw > MAX_KERNEL_POSITIONS:
        raise SymcodecError(
            f"symmetries apply to kernels of at most {MAX_KERNEL_POSITIONS} positions, "
            f"got {kh}x{kw}"
        )
    return kh, kw


def generator_permutation(sym: Symmetry, gen: Generator, kh: int, kw: int) -> tuple[int, ...]:
    """The permutation of the ``kh * kw`` flat positions that generator ``gen`` of ``sym``
    makes on a ``kh x kw`` kernel (``perm[p]`` is the image of ``p``); raises
    :class:`SymcodecError` if ``gen`` is not defined on that kernel.

    >>> generator_permutation(get_symmetry("hflip"), "hflip", 2, 3)
    (2, 1, 0, 5, 4, 3)
    """
    n = kh * kw
    if isinstance(gen, str):
        gmap = GEOMETRIC_MAPS[gen]
        if gmap.square_only and kh != kw:
            raise SymcodecError(
                f"symmetry {sym.name!r} needs square kernels ({gen} is a "
                f"{gmap.description}), got {kh}x{kw}"
            )
        perm = []
        for p in range(n):
            i, j = divmod(p, kw)
            i2, j2 = gmap.fn(i, j, kh, kw)
            perm.append(i2 * kw + j2)
        return tuple(perm)
    if len(gen) != n or sorted(gen) != list(range(n)):
        raise SymcodecError(
            f"symmetry {sym.name!r}: generator {list(gen)} is not a permutation of the "
            f"{n} positions of a {kh}x{kw} kernel"
        )
    return tuple(gen)


class _LayoutCache:
    """Least-recently-used layouts, bounded by their (estimated) bytes, not their count:
    a receiver fed streams with many distinct user-defined symmetries on 32x32 kernels
    (up to tens of MiB of tables each) keeps at most ``max_bytes`` of them."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple, tuple[OrbitLayout, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sym: Symmetry, kh: int, kw: int) -> OrbitLayout:
        key = (sym, kh, kw)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit[0]
        layout = _build_layout(sym, kh, kw)  # outside the lock: may take a while
        size = _layout_bytes(layout)
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (layout, size)
                self.bytes += size
            while self.bytes > self.max_bytes and len(self._entries) > 1:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped
        return layout

    def __len__(self) -> int:
        return len(self._entries)


def _layout_bytes(layout: OrbitLayout) -> int:
    """Estimated memory of a layout: its arrays, plus 8 bytes per slot of the group's
    permutation tuples and a 32-byte int object for each entry above 256 (CPython caches
    the small ones)."""
    arrays = [layout.representatives, layout.source, layout.sign, layout.expand, layout.reduce]
    arrays.append(layout.inverse_orbit_sizes)
    for group in layout.orbit_groups:
        arrays.extend(group)
    n = layout.kernel_shape[0] * layout.kernel_shape[1]
    per_permutation = 8 * n + 32 * max(0, n - 257)
    return sum(a.nbytes for a in arrays) + len(layout.group) * per_permutation


LAYOUT_CACHE_BYTES = 256 * 2**20
_LAYOUTS = _LayoutCache(LAYOUT_CACHE_BYTES)


def _layout(sym: Symmetry, kh: int, kw: int) -> OrbitLayout:
    """The layout of ``sym`` on ``kh x kw`` kernels, from a byte-bounded cache."""
    return _LAYOUTS.get(sym, kh, kw)


def _generate_group(sym: Symmetry, kh: int, kw: int) -> tuple[tuple[tuple[int, ...], int], ...]:
    """The group a symmetry's generators generate, as (permutation of the kh*kw positions,
    sign) pairs; refuses signs that are not a character of the group."""
    n = kh * kw
    # The abstract group is generated on a reference grid where the action is faithful
    # (3x3 for the geometric maps: no non-identity element of D4 fixes every position), so
    # that a map acting trivially on a small kernel (hflip on 1x1) keeps its sign and
    # kills the positions it fixes instead of being mistaken for the identity. Explicit
    # permutations define the group by their action on this very shape.
    explicit = any(not isinstance(g, str) for g in sym.generators)
    ref_h, ref_w = (kh, kw) if explicit else (3, 3)
    gens = [
        (
            generator_permutation(sym, g, ref_h, ref_w),
            generator_permutation(sym, g, kh, kw),
            s,
        )
        for g, s in zip(sym.generators, sym.signs, strict=True)
    ]
    n_ref = ref_h * ref_w
    identity_ref, identity = tuple(range(n_ref)), tuple(range(n))
    # Closure under composition: (g o h)(p) = g(h(p)), chi(g o h) = chi(g) chi(h).
    elements: dict[tuple[int, ...], tuple[tuple[int, ...], int]] = {identity_ref: (identity, 1)}
    frontier = [identity_ref]
    while frontier:
        nxt = []
        for h_ref in frontier:
            h_perm, h_sign = elements[h_ref]
            for g_ref, g_perm, g_sign in gens:
                key = tuple(g_ref[h_ref[p]] for p in range(n_ref))
                sign = g_sign * h_sign
                known = elements.get(key)
                if known is None:
                    elements[key] = (tuple(g_perm[h_perm[p]] for p in range(n)), sign)
                    nxt.append(key)
                elif known[1] != sign:
                    raise SymcodecError(
                        f"symmetry {sym.name!r}: signs {list(sym.signs)} are not a character "
                        "of the group its generators generate (an element would need both "
                        "signs, leaving only w = 0)"
                    )
        frontier = nxt
    return tuple(elements.values())


def _orbits(
    group: tuple[tuple[tuple[int, ...], int], ...], n: int
) -> tuple[list[tuple[int, ...]], list[bool]]:
    """The orbits of the n positions (sorted members, the smallest is the representative),
    and which are dead (fixed by an element of sign -1: forced to zero)."""
    orbit_of = [-1] * n
    orbits: list[tuple[int, ...]] = []
    for p in range(n):
        if orbit_of[p] >= 0:
            continue
        members = sorted({perm[p] for perm, _ in group})
        for q in members:
            orbit_of[q] = len(orbits)
        orbits.append(tuple(members))

    dead = []
    for orbit in orbits:
        rep = orbit[0]
        dead.append(any(perm[rep] == rep and s == -1 for perm, s in group))

    return orbits, dead


def _build_layout(sym: Symmetry, kh: int, kw: int) -> OrbitLayout:
    n = kh * kw
    group = _generate_group(sym, kh, kw)
    orbits, dead = _orbits(group, n)
    live_index = {k: i for i, k in enumerate(k for k in range(len(orbits)) if not dead[k])}
    dof = len(live_index)
    representatives = np.array([orbits[k][0] for k in live_index], dtype=np.int64)
    source = np.zeros(n, dtype=np.int64)
    sign = np.zeros(n, dtype=np.int64)
    for perm, s in group:
        for k, orbit in enumerate(orbits):
            if dead[k]:
                continue
            rep = orbit[0]
            q = perm[rep]
            source[q] = live_index[k]
            sign[q] = s

    by_size: dict[int, list[int]] = {}
    for k, orbit in enumerate(orbits):
        if not dead[k]:
            by_size.setdefault(len(orbit), []).append(k)
    orbit_groups = []
    for m, ks in sorted(by_size.items()):
        live = np.array([live_index[k] for k in ks], dtype=np.int64)
        members = np.array([orbits[k] for k in ks], dtype=np.int64).reshape(len(ks), m)
        signs = sign[members]
        orbit_groups.append((live, members, signs))
    orbit_groups = tuple(orbit_groups)

    expand = np.zeros((dof, n), dtype=np.float64)
    for q in range(n):
        if sign[q] != 0:
            expand[source[q], q] = sign[q]
    reduce = np.ascontiguousarray(expand.T)
    inverse_orbit_sizes = np.zeros(dof, dtype=np.float64)
    for live, members, _ in orbit_groups:
        inverse_orbit_sizes[live] = 1.0 / members.shape[1]

    arrays = [representatives, source, sign, expand, reduce, inverse_orbit_sizes]
    arrays += [a for group in orbit_groups for a in group]
    for arr in arrays:
        arr.setflags(write=False)
    return OrbitLayout(
        kernel_shape=(kh, kw),
        group=group,
        orbits=tuple(orbits),
        dead=tuple(dead),
        representatives=representatives,
        source=source,
        sign=sign,
        orbit_groups=orbit_groups,
        expand=expand,
        reduce=reduce,
        inverse_orbit_sizes=inverse_orbit_sizes,
    )


def _tensor(array: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A torch copy of a small layout table (a few dozen entries)."""
    return torch.tensor(array, dtype=dtype, device=device)


# --------------------------------------------------------------------------------------
# Named symmetries (SPEC section 2)


def _named(name: str, gens: Iterable[str], signs: Iterable[int], description: str) -> Symmetry:
    return Symmetry(name, tuple(gens), tuple(signs), description)


NAMED_SYMMETRIES: dict[str, Symmetry] = {
    s.name: s
    for s in [
        _named("none", (), (), "no constraint"),
        _named("hflip", ["hflip"], [1], "left-right mirror"),
        _named("hflip-skew", ["hflip"], [-1], "left-right mirror, antisymmetric"),
        _named("vflip", ["vflip"], [1], "up-down mirror"),
        _named("vflip-skew", ["vflip"], [-1], "up-down mirror, antisymmetric"),
        _named("central", ["rot180"], [1], "180-degree rotation (point symmetry)"),
        _named("central-skew", ["rot180"], [-1], "180-degree rotation, antisymmetric"),
        _named("transpose", ["transpose"], [1], "main-diagonal mirror"),
        _named("transpose-skew", ["transpose"], [-1], "main-diagonal mirror, antisymmetric"),
        _named("antitranspose", ["antitranspose"], [1], "anti-diagonal mirror"),
        _named("d2", ["hflip", "vflip"], [1, 1], "both mirrors"),
        _named("c4", ["rot90"], [1], "90-degree rotation"),
        _named("d4", ["rot90", "hflip"], [1, 1], "90-degree rotation and mirror"),
    ]
}


def relative_distance(energies: Iterable[tuple[float, float]]) -> float:
    """``sqrt(sum residual / sum norm)`` over ``(residual, norm)`` pairs from
    :meth:`Symmetry.residual_energy`: the distance of several tensors taken as one vector
    (SPEC section 2; 0 when every tensor is zero).

    >>> sym = get_symmetry("hflip")
    >>> pairs = [sym.residual_energy(torch.eye(3)), sym.residual_energy(torch.ones(3, 3))]
    >>> pairs, round(relative_distance(pairs), 6)   # 1 of the 3 + 9 squared units is off V_S
    ([(1.0, 3.0), (0.0, 9.0)], 0.288675)
    """
    residual = norm = 0.0
    for r, n in energies:
        residual += r
        norm += n
    return math.sqrt(residual / norm) if norm > 0 else 0.0


def projection_gain_bound_db(symmetry: str | Symmetry, k: int = 3) -> float:
    """``10 log10(k^2 / DoF)``: the most receiver projection can gain against i.i.d. noise
    on a ``k x k`` kernel, in dB (SPEC section 10); nan when the symmetry leaves no DoF.

    >>> round(projection_gain_bound_db("central-skew"), 2), round(projection_gain_bound_db("d4"), 2)
    (3.52, 4.77)
    """
    dof = get_symmetry(symmetry).dof(k)
    return 10 * math.log10(k * k / dof) if dof else math.nan


def symmetry_names() -> list[str]:
    """Names of the built-in symmetries, in SPEC order."""
    return list(NAMED_SYMMETRIES)


def get_symmetry(symmetry: str | Symmetry) -> Symmetry:
    """Look up a named symmetry (or pass a :class:`Symmetry` through).

    >>> get_symmetry("d4").dof(5)
    6
    """
    if isinstance(symmetry, Symmetry):
        return symmetry
    try:
        return NAMED_SYMMETRIES[symmetry]
    except KeyError:
        raise SymcodecError(
            f"unknown symmetry {symmetry!r}; known: {', '.join(NAMED_SYMMETRIES)}"
        ) from None


def define_symmetry(
    name: str, generators: Sequence[tuple[Generator, int]], description: str = ""
) -> Symmetry:
    """Define a symmetry from ``(generator, sign)`` pairs.

    The group, orbits, projector and DoF are derived per kernel shape; a sign assignment
    that is not a character of the group is rejected when a layout is first derived.

    >>> s = define_symmetry("c4-skew", [("rot90", -1)])
    >>> s.dof(3)
    2
    >>> define_symmetry("bad", [("hflip", 1), ("hflip", -1)]).dof(3)
    Traceback (most recent call last):
    ...
    symcodec.errors.SymcodecError: symmetry 'bad': signs [1, -1] are not a character ...
    """
    gens = tuple(g if isinstance(g, str) else tuple(g) for g, _ in generators)
    signs = tuple(int(s) for _, s in generators)
    return Symmetry(name, gens, signs, description)
