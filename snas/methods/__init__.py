"""The search methods, by name: what ``method:`` in a search config chooses.

Adding a method is one module defining a :class:`~snas.methods.base.Method` subclass and
one entry below; the config, the search loop and the benchmarks look everything else up
on the method object.

Each method's defaults are its official search's (see each module).  Deviations from the
official code we keep, and why:

* SNAS λ: 1e-2, the code's default for reparametrization with log penalty; the README's
  single-GPU command says 1.5e-3 since 2020-06-01 (:mod:`snas.methods.snas`).
* Temperature, ``linear``: reaches τ_min at the last epoch of this run; the official SNAS
  code divides by a hard-coded 150 epochs (:mod:`snas.temperature`), so runs of other
  lengths are annealed as their length says.
* Policy-gradient penalty: ``z`` is detached inside ``log p`` (the unbiased score-function
  estimator), where the official code lets a biased pathwise gradient through ``z`` in;
  ``resource.policy_gradient: official`` reproduces the official gradient
  (:mod:`snas.resource`).
* Official cost formulas on non-square inputs: ``y_h · y_w`` where the official code
  squares the height (:mod:`snas.spaces.darts.costs`); the same on square inputs.
* Search data: ``data.split.val_source: train`` (half the training set held out) for every
  method, because the bilevel methods need it and ``search_val_acc`` must not be the test
  set; the official SNAS code validates on the test set (``val_source: test``).
"""

from snas.methods.base import Method
from snas.methods.darts import Darts
from snas.methods.gdas import Gdas
from snas.methods.snas import Snas
from snas.registry import Registry

METHODS: Registry[Method] = Registry("search method", {
    "snas": Snas(),
    "gdas": Gdas(),
    "darts": Darts(),
})

__all__ = ["METHODS", "Method"]
