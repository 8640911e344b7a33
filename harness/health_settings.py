"""The study's ``health:`` and ``stop:`` sections: the thresholds :mod:`harness.health`
judges winners by, and the condition :class:`harness.stoppers.CollapseStopper` ends
collapsing searches on.  Kept apart from the rules so that the study model can hold them
without importing the rules (which read a :class:`harness.study.Study`)."""

from __future__ import annotations

from pydantic import Field

from snas.configmodel import Frozen


class HealthThresholds(Frozen):
    """The study's ``health:`` section: when a winner is reported unhealthy."""

    max_skip_connect: int = Field(2, ge=0)
    """A normal cell with more ``skip_connect`` edges than this is collapsed.  Default 2, the
    cap of P-DARTS (Chen et al. 2019, "at most M = 2 skip-connects" in the normal cell).
    DARTS+ (Liang et al. 2019) stops a search already at 2, which would flag the published
    DARTS V2 normal cell (2 skips) itself; more than 2 is what neither accepts."""
    near_uniform_entropy: float = Field(0.95, gt=0, le=1)
    """α is near-uniform when ``arch_entropy_normalized`` exceeds this (1: no preference)."""
    chance_margin: float = Field(0.5, ge=0)
    """A child is at chance when its accuracy is at most chance (100 / classes %) times
    ``1 + chance_margin``: 15 % for 10 classes.  Chosen so that sampling noise around chance
    stays below it (on digits' ~900 held-out images one standard error at 10 % is 1 point,
    so 15 % is 5 of them; on CIFAR-10's 25,000, 0.2 point) while any child that learned
    something (the quickstart's: 60-90 %) is far above it.  Relative, not in points, so a
    100-class child at 5 % (5 × chance) is not called chance.  An image folder's classes are
    counted by listing it; where it is not at hand (a study analysed on another machine)
    the rule is silent."""


class StopConfig(Frozen):
    """The study's ``stop:`` section: conditions that end a search trial before its last epoch."""

    max_skip_connect: int | None = Field(None, ge=0)
    """Stop a search trial after the first epoch whose derived normal cell has more than
    this many ``skip_connect`` edges (``normal_skip_connect > k``, as ``health``'s rule).
    ``None``: never.  The trial ends as ``stopped: collapse (skip_connect 4 > 2)``."""
