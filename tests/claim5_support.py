"""Synthetic rows of claim 5's ablation (its tx-distance sweep), shared by the claim-5 tests."""

from __future__ import annotations

PENALTY_NOISE = (0.3, -0.2, 0.1, -0.3, 0.1)
"""The trials' spread of each model's gain; it sums to 0, so a model's mean gain is exact."""


def penalty_sweep(
    models: dict,
    shift_per_distance: float = 0.0,
    train_seed: int | None = None,
    acc_ref: float | None = None,
) -> list[dict]:
    """The ablation's tx-distance rows of models trained with a soft symmetry penalty:
    ``models`` maps lambda to (d_S, Acc Tx, mean gain); the trials' gains spread by
    :data:`PENALTY_NOISE` and every gain moves by ``shift_per_distance`` x d_S. With
    ``train_seed`` and ``acc_ref`` the rows carry the training seed and its reference
    accuracy (as ``symcodec ablate`` writes them); without, they are rows of an older file."""
    seed_columns = {} if train_seed is None else {"train_seed": train_seed, "acc_ref": acc_ref}
    rows = []
    for penalty, (d, acc_tx, gain) in models.items():
        for t, e in enumerate(PENALTY_NOISE):
            off = 70.0 + 2 * t  # trial-to-trial spread, the same in both arms
            on = off + gain + e + shift_per_distance * d
            for rx_alpha, acc in ((0.0, off), (1.0, on)):
                row = tx_distance_row(d, rx_alpha, t, acc_tx, acc, channel_value=12.0)
                rows.append({**row, "tx_alpha": 0.0, "penalty": penalty, **seed_columns})
    return rows


def tx_distance_row(
    distance: float, rx_alpha: float, trial: int, acc_tx: float, acc_rx: float, **fields
) -> dict:
    """One tx-distance row of central-skew at 4 bits on AWGN (``fields`` add or replace)."""
    return {
        "experiment": "tx-distance",
        "symmetry": "central-skew",
        "bits": 4,
        "channel": "awgn",
        "channel_value": 15.0,
        "tx_alpha": 1 - distance,
        "distance": distance,
        "rx_alpha": rx_alpha,
        "trial": trial,
        "acc_tx": acc_tx,
        "acc_rx": acc_rx,
        **fields,
    }
