"""One trial, one row, and the ``results.csv`` file: the names of
:mod:`symcodec.study.trial_row` (:class:`TrialRow`, the schema derived from it,
:class:`TrialKey`) and :mod:`symcodec.study.results_csv` (reading and atomic writing), in one
place.
"""

from .results_csv import (
    append_results_csv,
    read_results_csv,
    results_csv_is_current,
    results_csv_lacks_spec_id,
    write_results_csv,
)
from .trial_row import (
    GROUP_KEYS,
    NR_COLUMN_DEFAULTS,
    RESULT_COLUMNS,
    TrialKey,
    TrialRow,
    channel_value_text,
    mcs_setting_of,
    reference_by_train_seed,
)

__all__ = [
    "TrialRow",
    "TrialKey",
    "channel_value_text",
    "RESULT_COLUMNS",
    "GROUP_KEYS",
    "write_results_csv",
    "read_results_csv",
    "append_results_csv",
    "results_csv_lacks_spec_id",
    "results_csv_is_current",
    "NR_COLUMN_DEFAULTS",
    "mcs_setting_of",
    "reference_by_train_seed",
]
