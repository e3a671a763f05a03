"""What a study is and how it is read: :class:`StudySpec` (with :class:`ChannelSpec` and
:class:`TrainingSpec`, in :mod:`symcodec.study.study_spec`), read from TOML by
:func:`load_study` and validated by :func:`parse_study` (:mod:`symcodec.study.spec_parsing`,
the checks of single keys in :mod:`symcodec.study.spec_fields`).

Every key is checked; an error names the key (``study key 'channel.p': ...``). See
``studies/quick.toml`` for the TOML form.
"""

from .spec_parsing import MAX_AUTO_STEP_DB, load_study, parse_study
from .study_spec import (
    BASELINES,
    DEFAULT_BASELINES,
    METHODS,
    MODES,
    PRUNING_BASELINES,
    ChannelSpec,
    StudySpec,
    TrainingSpec,
)

__all__ = [
    "ChannelSpec",
    "TrainingSpec",
    "StudySpec",
    "load_study",
    "parse_study",
    "METHODS",
    "MODES",
    "BASELINES",
    "DEFAULT_BASELINES",
    "MAX_AUTO_STEP_DB",
    "PRUNING_BASELINES",
]
