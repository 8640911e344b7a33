"""Study files: a sweep of searches (or of retrainings) described in YAML, validated once.

:mod:`.schema` holds the model, :mod:`.checks` the rules across its sections, :mod:`.load`
reads a user's file or a study folder's frozen study, :mod:`.probe` tries a new study's
trials before Ray starts.
"""

from harness.study.load import (
    MANY_TRIALS,
    NAME_MAX_LENGTH,
    RETRAIN_SUFFIX,
    apply_study_overrides,
    check_name_length,
    check_trial_count,
    load_study,
    refuse_unread_settings,
    validate_study,
)
from harness.study.schema import Domain, ResourcesConfig, Study, WorkerKill

__all__ = ["MANY_TRIALS", "NAME_MAX_LENGTH", "RETRAIN_SUFFIX", "Domain", "ResourcesConfig", "Study", "WorkerKill",
           "apply_study_overrides", "check_name_length", "check_trial_count", "load_study", "refuse_unread_settings",
           "validate_study"]
