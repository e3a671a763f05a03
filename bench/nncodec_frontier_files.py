"""The frontier files of the NNCodec benchmark (``bench/vs_nncodec.py``), from the curves of
every (data set, model, training seed) keyed by :func:`nncodec_frontier.curve_key`:

* ``bd_rate.csv`` (columns :data:`nncodec_frontier.BD_COLUMNS`): symcodec against each
  NNCodec anchor, pooled over the training seeds (the mean of the per-seed BD-rates, CI from
  the bootstrap of :func:`nncodec_frontier.pooled_bd_rate`); with one seed, that seed's;
* ``bd_rate_per_seed.csv``: the same per training seed (column ``seeds``: the seed);
* ``bd_rate_ablation.csv`` and ``ablation.md``: each symcodec lever alone and their union,
  per seed and (with several seeds) pooled, whose ``seeds`` reads ``0+1+2``;
* ``frontier.png``: every curve, one panel per (data set, model, seed).

A (data set, model, seed) without its unconstrained float reference
(:data:`nncodec_frontier.REFERENCE`) is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import nncodec_frontier as frontier
from nncodec_plots import plot_frontier
from nncodec_results import write_bytes, write_text

#: ``bd_rate_per_seed.csv``'s columns.
PER_SEED_COLUMNS = ("dataset", "model", "seeds", *frontier.BD_COLUMNS[2:])


def seeds_text(seeds) -> str:
    """The ``seeds`` cell of a row: one seed, ``0+1+2`` for seeds pooled, ``""`` for curves
    saved without a seed.

    >>> seeds_text([0, 1, 2]), seeds_text([3]), seeds_text([None])
    ('0+1+2', '3', '')
    """
    return "+".join("" if s is None else str(s) for s in seeds)


def frontier_rows(curves: Mapping[str, frontier.Curve], resamples: int):
    """``(pooled headline rows, per-seed headline rows, ablation rows, references)`` of
    every (data set, model); ``references`` maps each panel of :func:`plot_frontier` to its
    reference accuracy."""
    groups: dict[tuple[str, str], dict] = {}
    for key, c in curves.items():
        ds, model, seed, label = frontier.parse_curve_key(key)
        groups.setdefault((ds, model), {}).setdefault(seed, {})[label] = c
    pooled, per_seed, ablation, references = [], [], [], {}
    for (ds, model), by_seed in groups.items():
        seeds = sorted(
            (s for s in by_seed if frontier.REFERENCE in by_seed[s]),
            key=lambda s: -1 if s is None else s,
        )
        if not seeds:
            continue
        refs = [by_seed[s][frontier.REFERENCE].correct[0] for s in seeds]
        for seed, ref in zip(seeds, refs, strict=True):
            panel = (ds, model) if seed is None else (ds, model, str(seed))
            references[panel] = float(by_seed[seed][frontier.REFERENCE].accuracy[0])
            h, a = frontier.bd_rate_rows(ds, model, by_seed[seed], ref, resamples=resamples)
            per_seed += [{**r, "seeds": seeds_text([seed])} for r in h]
            ablation += [{**r, "seeds": seeds_text([seed])} for r in a]
        if len(seeds) == 1:  # the pooled rows are that seed's
            pooled += [{k: r[k] for k in frontier.BD_COLUMNS} for r in h]
            continue
        h, a = frontier.pooled_bd_rate_rows(
            ds, model, [by_seed[s] for s in seeds], refs, resamples=resamples
        )
        pooled += h
        ablation += [{**r, "seeds": seeds_text(seeds)} for r in a]
    return pooled, per_seed, ablation, references


def write_frontier(out: Path, curves: Mapping[str, frontier.Curve], resamples: int) -> str:
    """Write the files listed in the module docstring into ``out``; returns the ablation
    table (markdown)."""
    pooled, per_seed, ablation, references = frontier_rows(curves, resamples)
    write_text(out / "bd_rate.csv", frontier.csv_text(pooled, frontier.BD_COLUMNS))
    write_text(out / "bd_rate_per_seed.csv", frontier.csv_text(per_seed, PER_SEED_COLUMNS))
    write_text(out / "bd_rate_ablation.csv", frontier.csv_text(ablation, frontier.ABLATION_COLUMNS))
    table = frontier.ablation_markdown(ablation)
    write_text(out / "ablation.md", table)
    write_bytes(out / "frontier.png", plot_frontier(curves, references, per_seed))
    return table
