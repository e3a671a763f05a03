"""The study's outputs: results.csv, the summary table, figures and the claims.

Where things are:

- results.csv, one row per trial, is :mod:`symcodec.study.rows` (re-exported here).
- :mod:`.confidence`: 95% confidence intervals without scipy (:func:`mean_ci95`).
- :mod:`.trial_fields`: the pairing columns of a row (training seed, noise seed, protection,
  channel uses), with the defaults for older results.
- :mod:`.rank_tests`: sign test and Wilcoxon signed-rank test (exact / normal).
- :mod:`.paired`: paired comparisons of two methods (:func:`compare_paired`): mean difference
  with a two-level bootstrap CI, median, p-values, outage.
- :mod:`.summary`: :func:`summarize`, trials averaged into one row per setting.
- :mod:`.format`: how numbers and channel settings are written.
- :mod:`.tables`: the SPEC section 7 table (:func:`table_markdown`, :func:`write_table`).
- :mod:`.plot_style`: lazy matplotlib, :func:`save_figure`, curve styles and legends.
- :mod:`.figures`: accuracy vs SNR, accuracy vs bits, payload.
- :mod:`.filters_figure`: :func:`plot_filters`, a model's first conv filters.
- :mod:`.claims`: the SPEC section 8 claims (:class:`Claim`, :func:`write_claims`).
- :mod:`.claim_rules`: deciding each claim from the trial rows (:func:`evaluate_claims`);
  :mod:`.claim_curves` holds claim 3 (SNR shift), :mod:`.claim_distance` claim 5 (gain
  against d_S: qualifying models, slope, zero crossing; the line fit in :mod:`.gain_line`).
- :mod:`.snr_targets`: the SNR each configuration needs for Acc Tx,q - 1 pp and the projection
  gain in dB beside its bound (:func:`write_snr_targets`).
- :mod:`.equal_air_time`: the NR link at equal air time: accuracy within a common budget,
  air time to a target accuracy (:func:`write_equal_air_time`).
- :mod:`.ablation`: ``symcodec ablate``'s outputs (:func:`write_ablation`).

Every file is written atomically (temporary file, then rename). matplotlib is imported only
when a figure is drawn.
"""

from ..study.rows import (
    GROUP_KEYS,
    RESULT_COLUMNS,
    append_results_csv,
    read_results_csv,
    write_results_csv,
)
from .ablation import ABLATION_COLUMNS, read_ablation_csv, write_ablation
from .claim_rules import evaluate_claims
from .claims import CLAIM_RULES, CLAIM_STATEMENTS, VERDICTS, Claim, claims_markdown, write_claims
from .confidence import mean_ci95, t_critical_975
from .equal_air_time import air_time_to_target, equal_air_time, write_equal_air_time
from .figures import plot_accuracy_vs_bits, plot_accuracy_vs_snr, plot_payload
from .filters_figure import plot_filters
from .paired import PairedComparison, compare_paired
from .plot_style import save_figure
from .snr_targets import snr_to_target, write_snr_targets
from .summary import METHOD_ORDER, MODE_ORDER, summarize
from .tables import table_markdown, write_table

__all__ = [
    "ABLATION_COLUMNS",
    "CLAIM_RULES",
    "CLAIM_STATEMENTS",
    "GROUP_KEYS",
    "METHOD_ORDER",
    "MODE_ORDER",
    "RESULT_COLUMNS",
    "VERDICTS",
    "Claim",
    "PairedComparison",
    "air_time_to_target",
    "append_results_csv",
    "claims_markdown",
    "compare_paired",
    "equal_air_time",
    "evaluate_claims",
    "mean_ci95",
    "plot_accuracy_vs_bits",
    "plot_accuracy_vs_snr",
    "plot_filters",
    "plot_payload",
    "read_ablation_csv",
    "read_results_csv",
    "save_figure",
    "snr_to_target",
    "summarize",
    "t_critical_975",
    "table_markdown",
    "write_ablation",
    "write_claims",
    "write_equal_air_time",
    "write_results_csv",
    "write_snr_targets",
    "write_table",
]
