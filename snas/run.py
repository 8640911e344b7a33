"""The lifecycle every training run shares: epochs, history, checkpoints, restore.

:class:`EpochRun` is the base of :class:`snas.search.Search` and
:class:`snas.retrain.Retrain`.  It owns what they have in common: ``finished``, the
``run_epoch`` guard, the epoch counter, timing and the metric history, the state-dict
skeleton, and ``save`` / ``restore`` with the checks a checkpoint from disk needs (its
record validated, its data split the same).  A subclass builds its parts and says how one
epoch goes (:meth:`EpochRun._epoch`) and which objects hold its state
(:meth:`EpochRun._stateful`).

This base is also what the harness drives (the local runs and the Tune trainables), so
the contract between the two layers is a class, not a protocol restating it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import ValidationError

from snas.checkpoint import checkpoint_file, load_checkpoint, save_checkpoint
from snas.config import RetrainConfig, SearchConfig
from snas.errors import UserInputError
from snas.genotype import GenotypeError
from snas.registry import Registry
from snas.spaces import genotype_from_dict
from snas.spaces.base import AnyGenotype
from snas.training import OtherWorkerCount

StepCallback = Callable[[int, int], None]
"""``(steps done, steps per epoch)``, called after every optimisation step."""

RunConfig = SearchConfig | RetrainConfig

RUN_CONFIGS: Registry[type[SearchConfig] | type[RetrainConfig]] = Registry("checkpoint kind", {
    "search": SearchConfig,
    "retrain": RetrainConfig,
})
"""The configuration model of each kind of run a checkpoint can hold."""


@dataclass(frozen=True)
class RunRecord:
    """A checkpoint record whose parts have been checked."""

    path: Path
    kind: str
    config: RunConfig
    epoch: int
    genotype: AnyGenotype
    state: dict[str, Any]
    history: list[dict[str, Any]]


def _damaged(path: Path, problem: str) -> UserInputError:
    return UserInputError(f"{path} is damaged or from another version: {problem}")


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_run_record(record: dict[str, Any], path: str | Path) -> RunRecord:
    """``record`` (from :func:`snas.checkpoint.load_checkpoint`) checked as far as reading it needs.

    A missing key, a value of the wrong type or a configuration this version refuses (say
    ``epochs: -3``) is one :class:`UserInputError` naming the file and the problem, never a
    ``KeyError`` or a validation traceback.  :meth:`EpochRun.restore` checks the rest of
    the state (what continuing the run needs).
    """
    path = Path(path)
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in RUN_CONFIGS:
        raise _damaged(path, f"its kind is {kind!r}, not {' or '.join(RUN_CONFIGS)}")
    missing = [key for key in ("config", "epoch", "genotype", "state") if key not in record]
    if missing:
        raise _damaged(path, f"it lacks {', '.join(missing)}")
    if not isinstance(record["config"], dict):
        raise _damaged(path, "its config is not a mapping")
    try:
        config = RUN_CONFIGS[kind].model_validate(record["config"])
    except ValidationError as err:
        raise UserInputError(f"{path} holds an invalid {kind} config: {_first_error(err)}") from None
    if not _is_count(record["epoch"]):
        raise _damaged(path, f"its epoch is {record['epoch']!r}, not a count of epochs")
    state = record["state"]
    history = state.get("history") if isinstance(state, dict) else None
    if not isinstance(history, list) or not all(isinstance(epoch, dict) for epoch in history):
        raise _damaged(path, "its metric history is missing or not a list of epochs")
    if not isinstance(record["genotype"], dict):
        raise _damaged(path, "its genotype is not a mapping")
    try:
        genotype = genotype_from_dict(record["genotype"])
    except GenotypeError as err:
        raise _damaged(path, f"its genotype: {err}") from None
    return RunRecord(path, kind, config, record["epoch"], genotype, state, history)


def _check_resumable(checked: RunRecord, record: dict[str, Any], parts: list[str]) -> str:
    """The data-split fingerprint of a record a run of ``parts`` can continue from."""
    path, state = checked.path, checked.state
    split = record.get("split")
    fingerprint = split.get("fingerprint") if isinstance(split, dict) else None
    if not isinstance(fingerprint, str):
        raise _damaged(path, "its data split has no fingerprint")
    missing = [key for key in ("epoch", "diverged", *parts) if key not in state]
    if missing:
        raise _damaged(path, f"its state lacks {', '.join(missing)}")
    if state["epoch"] != checked.epoch:
        raise _damaged(path, f"it says epoch {checked.epoch} but its state is at epoch {state['epoch']!r}")
    if not isinstance(state["diverged"], bool):
        raise _damaged(path, f"its diverged flag is {state['diverged']!r}, not true or false")
    wrong = [part for part in parts if not isinstance(state[part], dict)]
    if wrong:
        raise _damaged(path, f"its {', '.join(wrong)} state is not a mapping")
    return fingerprint


Run = TypeVar("Run", bound="EpochRun[Any]")
ConfigT = TypeVar("ConfigT", bound=RunConfig)


class EpochRun(ABC, Generic[ConfigT]):
    """One resumable training run, advanced an epoch at a time (see the module docstring)."""

    KIND: ClassVar[str]
    """The checkpoint kind (a key of :data:`RUN_CONFIGS`)."""
    NOUN: ClassVar[str]
    """What a message calls the run ("search", "training")."""
    MUTABLE_SETTINGS: ClassVar[tuple[str, ...]] = ()
    r"""Dotted settings (as a study writes them) that may change between epochs: the run is
    restored, or :meth:`retune`\ d, with a configuration differing in these only (a scheduler
    such as population-based training changes them when it continues a trial)."""
    OPTIONAL_STATE: ClassVar[tuple[str, ...]] = ()
    """Parts of :meth:`_stateful` that checkpoints of older versions lack (left as built)."""

    config: ConfigT
    data: Any
    """The run's data: ``train`` batches and a ``split`` record at least."""

    def __init__(self, config: ConfigT):
        self.config = config
        self.epoch = 0
        self.diverged = False
        self.history: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []
        """Every change of settings (:meth:`retune`): ``{"epoch": e, "settings": {key: [old, new]}}``,
        ``e`` being the epochs done when it took effect (it applies from epoch ``e + 1`` on)."""

    @property
    def finished(self) -> bool:
        return self.diverged or self.epoch >= self.config.epochs

    @property
    @abstractmethod
    def genotype(self) -> AnyGenotype:
        """The genotype the run searches for (its current one) or trains."""

    @abstractmethod
    def _epoch(self, on_step: StepCallback | None) -> dict[str, Any]:
        """Train and evaluate epoch ``self.epoch`` (0-based); its metrics but ``epoch``,
        ``epoch_time_s`` and ``diverged``, which the base adds.  Sets ``diverged`` on NaN/inf."""

    @abstractmethod
    def _stateful(self) -> dict[str, Any]:
        """The objects (``state_dict`` / ``load_state_dict``) that hold the run's state, by name."""

    def run_epoch(self, on_step: StepCallback | None = None) -> dict[str, Any]:
        """Train one epoch, evaluate, and return its metrics (also appended to ``history``)."""
        if self.finished:
            raise RuntimeError(f"the {self.NOUN} is finished ({self.epoch} of {self.config.epochs} epochs)")
        start = time.perf_counter()
        metrics = self._epoch(on_step)
        self.epoch += 1
        record: dict[str, Any] = {"epoch": self.epoch, **metrics, "epoch_time_s": time.perf_counter() - start,
                                  "diverged": self.diverged}
        self.history.append(record)
        return record

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "diverged": self.diverged,
                **{name: part.state_dict() for name, part in self._stateful().items()},
                "history": self.history, "changes": self.changes}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, part in self._stateful().items():
            if name in state or name not in self.OPTIONAL_STATE:
                part.load_state_dict(state[name])
        self.epoch = int(state["epoch"])
        self.diverged = bool(state["diverged"])
        self.history = list(state["history"])
        self.changes = list(state.get("changes", []))  # checkpoints before 0.2 recorded none

    def retune(self, config: ConfigT) -> dict[str, tuple[Any, Any]]:
        """Continue with ``config`` from the next epoch on; it may differ from the run's own
        configuration in :attr:`MUTABLE_SETTINGS` only (anything else is refused naming the
        key).  Returns the changed settings as ``{key: (old, new)}`` and records them in
        :attr:`changes` (empty, and nothing recorded, when nothing changed)."""
        changed = changed_settings(self.config, config)
        fixed = [key for key in changed if key not in self.MUTABLE_SETTINGS]
        if fixed:
            old, new = changed[fixed[0]]
            raise UserInputError(f"{fixed[0]} cannot change during a {self.NOUN} (from {old!r} to {new!r}); "
                                 f"between epochs only {', '.join(self.MUTABLE_SETTINGS)} may")
        if changed:
            self._retune(config, changed)
            self.config = config
            self.changes.append({"epoch": self.epoch, "settings": {k: list(v) for k, v in changed.items()}})
        return changed

    def _retune(self, config: ConfigT, changed: dict[str, tuple[Any, Any]]) -> None:
        """Make the parts built from the configuration follow ``config`` from the next epoch
        (``self.config`` is still the old one); settings read afresh every epoch need nothing."""
        return None

    def save(self, path: str | Path, write: bool = True) -> Path | None:
        """Write a checkpoint holding the config, the split, the genotype and the full state.

        Every rank of a data-parallel run calls it (the state gathers every rank's random
        streams); only one writes, the others pass ``write=False`` and get ``None``.
        """
        record = {
            "config": self.config.model_dump(mode="json", by_alias=True),
            "split": self.data.split.to_dict(),
            "epoch": self.epoch,
            "genotype": self.genotype.to_dict(),
            "state": self.state_dict(),
        }
        return save_checkpoint(path, self.KIND, record) if write else None

    @classmethod
    def restore(cls: type[Run], path: str | Path, data: Any = None, config: RunConfig | None = None) -> Run:
        """Rebuild a run from its checkpoint, ready to continue with ``run_epoch``; with
        ``config``, continue under it (:meth:`retune`: only :attr:`MUTABLE_SETTINGS` may differ)."""
        path = checkpoint_file(path)
        record = load_checkpoint(path, cls.KIND)
        checked = check_run_record(record, path)
        # every run class takes data= (EpochRun.__init__, which they call with their config, does not)
        run = cls(checked.config, data=data)  # type: ignore[call-arg]
        required = [part for part in run._stateful() if part not in cls.OPTIONAL_STATE or part in checked.state]
        fingerprint = _check_resumable(checked, record, required)
        if run.data.split.fingerprint != fingerprint:
            raise UserInputError(
                f"the data split differs from the one {path} was trained on (the data set changed?); "
                f"resuming would mix validation and training images"
            )
        try:
            run.load_state_dict(checked.state)
        except OtherWorkerCount as err:  # a whole checkpoint, for another number of workers
            raise UserInputError(f"{path}: {err}") from None
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise _damaged(path, f"its state does not fit this {cls.NOUN}: {first_line}") from None
        if config is not None:
            run.retune(config)
        return run


def _flat(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict) and key != "genotype":
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def changed_settings(old: RunConfig, new: RunConfig) -> dict[str, tuple[Any, Any]]:
    """The dotted settings (aliases, as a study writes them) whose values differ, ``{key: (old, new)}``."""
    before = _flat(old.model_dump(mode="json", by_alias=True))
    after = _flat(new.model_dump(mode="json", by_alias=True))
    return {key: (before.get(key), after.get(key)) for key in sorted(before.keys() | after.keys())
            if before.get(key) != after.get(key)}
