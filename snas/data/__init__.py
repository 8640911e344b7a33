"""The data layer: named data sets (:mod:`.sets`), their settings (:mod:`.config`), image
folders read without decoding them (:mod:`.folders`), and a run's seeded split served as
batches on the training device (:mod:`.loading`, :mod:`.batches`, :mod:`.augment`).

Naming a data set, checking that its files are there and sizing its inputs load no torch
(:mod:`.sets` imports it where tensors are built), so the study checks and the offline
analysis stay quick; loading a split does.
"""
