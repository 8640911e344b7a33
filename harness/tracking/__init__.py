"""Experiment tracking: a study's trials in MLflow and/or Weights & Biases, as the study file's
``tracking`` section asks (:mod:`harness.tracking.settings`).

Each service is a :class:`~harness.tracking.base.Tracker` of
:data:`harness.tracking.trackers.TRACKERS`.  A study run (``run``, ``resume``) opens one
parent run per tracker and one child run per trial, named by its short settings (the
TensorBoard run's name, :func:`harness.tensorboard.run_name`) with the varied settings it
starts with as params; it logs every metric per epoch, attaches each trial's genotype
(``genotype.json`` and its cells' drawing) when the trial ends, and the study's
``study.yaml`` and ``report.html`` to the parent (:mod:`harness.tracking.callback`).

A tracker's failure mid-study (a server gone) is reported once on stderr and ends that
tracker only: the study folder holds everything a tracker would have had, so a study is
never lost to its tracking.  Whether a tracker can start at all is checked before any
trial (:func:`harness.tracking.trackers.check_tracking`).
"""
