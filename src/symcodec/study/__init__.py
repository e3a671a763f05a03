"""The study: symmetry x mode x bits x channel setting x trials, against the baselines.

A study is described by a :class:`StudySpec` (read from TOML by :func:`load_study`). The
runner trains each (data set, model, symmetry, seed) once and caches it under a
content-hashed key; then for every transmitter configuration (method, symmetry, mode, bits)
it evaluates the transmitter's model (Acc Tx), its quantized version over an ideal channel
(Acc Tx,q), and, for every channel setting and trial seed, the received model (Acc Rx).
Received models are evaluated in batches. Rows (:class:`TrialRow`) are appended to
``results.csv`` as they come, so an interrupted study resumes where it stopped; only rows
made under the same spec (:func:`spec_id`) are reused.

Baselines (SPEC section 6), at equal training budget (every model gets ``epochs`` epochs in
total, training plus fine-tuning):

* ``pruned``: the unconstrained model, magnitude-pruned in each conv layer to that layer's DoF
  count under each studied symmetry, optionally fine-tuned with the mask fixed; positions are
  counted in the payload and the oracle figure is kept beside it.
* ``quant-only``: the unconstrained model sent in full at the same bits.
* ``step-ans`` (only when listed): the unconstrained model with one step quantizer and ANS.

Modules, in the order a study uses them:

* :mod:`~symcodec.study.spec`: :class:`StudySpec`, :func:`load_study`, :func:`parse_study`
  (the dataclasses in :mod:`~symcodec.study.study_spec`, the TOML reading in
  :mod:`~symcodec.study.spec_parsing` with the checks of single keys in
  :mod:`~symcodec.study.spec_fields`).
* :mod:`~symcodec.study.identity`: :func:`spec_id`, which results belong together.
* :mod:`~symcodec.study.rows`: :class:`TrialRow`, the ``results.csv`` schema and file
  (the schema in :mod:`~symcodec.study.trial_row`, the file in
  :mod:`~symcodec.study.results_csv`).
* :mod:`~symcodec.study.model_cache`: :func:`trained_model`, :func:`penalized_model`,
  :func:`pruned_model`.
* :mod:`~symcodec.study.context`: :class:`StudyContext`, :func:`prepare`.
* :mod:`~symcodec.study.trials`: :class:`TxConfig`, :func:`tx_configs`, :func:`run_config`;
  on the NR link :mod:`~symcodec.study.nr_settings` (its ``[channel]`` keys),
  :mod:`~symcodec.study.nr_trials` (one trial under an NR protection preset) and
  :mod:`~symcodec.study.nr_auto` (``mcs = "auto"``).
* :mod:`~symcodec.study.resume`: which existing rows a study may reuse.
* :mod:`~symcodec.study.runner`: :func:`run_study` (:mod:`~symcodec.study.ray_executor`
  for Ray).
* :mod:`~symcodec.study.ablation`: :func:`run_ablation` (claim 5's sweeps, :data:`PENALTIES`).
"""

from .ablation import ABLATION_ALPHAS, PENALTIES, AblationRun, run_ablation
from .context import StudyContext, prepare
from .identity import spec_fingerprint, spec_id
from .model_cache import model_cache_dir, penalized_model, pruned_model, trained_model
from .rows import (
    GROUP_KEYS,
    RESULT_COLUMNS,
    TrialKey,
    TrialRow,
    append_results_csv,
    read_results_csv,
    write_results_csv,
)
from .runner import StudyRun, run_study, train_models
from .spec import ChannelSpec, StudySpec, TrainingSpec, load_study, parse_study
from .trials import TxConfig, plan_for, run_config, trial_seed, tx_configs

__all__ = [
    "ABLATION_ALPHAS",
    "AblationRun",
    "ChannelSpec",
    "GROUP_KEYS",
    "PENALTIES",
    "RESULT_COLUMNS",
    "StudyContext",
    "StudyRun",
    "StudySpec",
    "TrainingSpec",
    "TrialKey",
    "TrialRow",
    "TxConfig",
    "append_results_csv",
    "load_study",
    "model_cache_dir",
    "parse_study",
    "penalized_model",
    "plan_for",
    "prepare",
    "pruned_model",
    "read_results_csv",
    "run_ablation",
    "run_config",
    "run_study",
    "spec_fingerprint",
    "spec_id",
    "train_models",
    "trained_model",
    "trial_seed",
    "tx_configs",
    "write_results_csv",
]
