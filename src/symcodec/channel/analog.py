"""Analog channels: the float values sent arrive with noise (SPEC section 5).

* :class:`IdealChannel` (``ideal``): nothing changes, in both domains.
* :class:`AWGNChannel` (``awgn``): ``y = x + n`` with the noise scaled to the tensor's mean
  power, so every tensor gets exactly ``snr_db`` per value.
* :func:`equal_energy_snr_db`: the SNR per value when a mode sends more values than it has
  degrees of freedom and the energy per DoF is held fixed.

>>> y, stats = AWGNChannel(snr_db=10.0, seed=0).transmit_values(torch.ones(4))
>>> y.shape, stats.values_sent
(torch.Size([4]), 4)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..errors import SymcodecError
from .base import Channel, ChannelStats, finite_number, positive_integer, to_db

__all__ = ["IdealChannel", "AWGNChannel", "equal_energy_snr_db"]


class IdealChannel(Channel):
    """Nothing changes, in both domains (``ideal``).

    >>> y, s = IdealChannel().transmit_values(torch.ones(3))
    >>> y.tolist(), s.empirical_snr_db
    ([1.0, 1.0, 1.0], inf)
    >>> IdealChannel().transmit_bits(b"ab")[0]
    b'ab'
    """

    name = "ideal"
    domain = "both"

    def _values(self, x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, ChannelStats]:
        n = x.numel()
        stats = ChannelStats(
            self.name, "analog", values_sent=n, symbols=n, empirical_snr_db=math.inf,
            noise_energy=0.0,
        )  # fmt: skip
        return x.detach().clone(), stats

    def _bits(self, data: np.ndarray, gen: torch.Generator) -> tuple[np.ndarray, ChannelStats]:
        return data.copy(), ChannelStats(self.name, "digital", bits_sent=8 * data.size)


class AWGNChannel(Channel):
    """Analog AWGN on the values (``awgn``): ``y = x + n``, ``n ~ N(0, mean(x^2) 10^(-snr_db/10))``.

    The mean is over the tensor sent, so each tensor gets exactly ``snr_db`` per value (see
    :func:`equal_energy_snr_db` for the equal-energy convention). Noise is drawn in the
    tensor's dtype (float32 for half types); an all-zero tensor gets no noise.

    Args:
        snr_db: SNR per transmitted value, in dB (finite).
        seed: seed of the channel's own generator (None: OS entropy).

    >>> ch = AWGNChannel(snr_db=20.0, seed=0)
    >>> y, s = ch.transmit_values(torch.ones(100_000))
    >>> round(s.empirical_snr_db, 1)
    20.0
    """

    name = "awgn"
    domain = "analog"

    def __init__(self, snr_db: float, seed: int | None = None) -> None:
        self.snr_db = finite_number("snr_db", snr_db)
        super().__init__(seed)

    def params(self) -> dict[str, Any]:
        return {"snr_db": self.snr_db}

    def _values(self, x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, ChannelStats]:
        work_dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
        z = torch.empty(x.numel(), dtype=work_dtype).normal_(generator=gen)
        return self.add_noise(x, z)

    def add_noise(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, ChannelStats]:
        """``x + sigma z`` for a given standard-normal draw ``z`` (one value per element of
        ``x``), ``sigma^2 = mean(x^2) 10^(-snr_db/10)``: the channel with its noise drawn by
        the caller (paired noise, SPEC section 10). An all-zero tensor gets no noise.

        >>> y, s = AWGNChannel(snr_db=0.0).add_noise(torch.ones(2), torch.tensor([1.0, -1.0]))
        >>> y.tolist()
        [2.0, 0.0]
        """
        # arithmetic in numpy on CPU (see ModulatedChannel: torch's threaded element-wise ops
        # crawl on busy cores)
        n = x.numel()
        if z.numel() != n:
            raise SymcodecError(f"awgn: {z.numel()} noise values for a tensor of {n}")
        stats = ChannelStats(
            self.name, "analog", values_sent=n, symbols=n, snr_db=self.snr_db,
            empirical_snr_db=math.nan, noise_energy=0.0,
        )  # fmt: skip
        work_dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
        a = x.detach().to("cpu", work_dtype).contiguous().numpy().reshape(-1)
        power = float(np.square(a, dtype=np.float64).sum()) / n if n else 0.0
        if not math.isfinite(power):
            raise SymcodecError("awgn: the tensor sent has non-finite values (inf or nan)")
        if power == 0.0:
            return x.detach().clone(), stats
        std = math.sqrt(power * 10.0 ** (-self.snr_db / 10.0))
        noise = z.detach().to("cpu", work_dtype).reshape(-1).numpy().copy()
        noise *= std
        noise += a  # received: x + n
        y = torch.from_numpy(noise).reshape(x.shape).to(x.device, x.dtype)
        back = y.detach().to("cpu", torch.float64).numpy().reshape(-1)
        added = float(np.square(back - a, dtype=np.float64).sum())  # the noise that arrived
        stats.noise_energy = added
        stats.empirical_snr_db = to_db(power * n / added) if added > 0 else math.inf
        return y, stats


def equal_energy_snr_db(snr_db: float, values_sent: int, dof: int) -> float:
    """Per-value SNR under the equal-energy convention (SPEC section 5).

    A mode that sends ``values_sent`` values for ``dof`` degrees of freedom at ``snr_db`` per
    DoF gets ``snr_db - 10 log10(values_sent / dof)`` dB per value.

    Args:
        snr_db: SNR per degree of freedom, in dB.
        values_sent: values transmitted (positive).
        dof: degrees of freedom they carry (positive).

    >>> round(equal_energy_snr_db(10.0, values_sent=9, dof=4), 3)  # full-project, central-skew
    6.478
    """
    s = finite_number("snr_db", snr_db)
    positive_integer("values_sent", values_sent)
    positive_integer("dof", dof)
    return s - 10.0 * math.log10(values_sent / dof)
