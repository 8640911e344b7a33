"""The search methods, by name: what ``method:`` in a search config chooses.

Adding a method is one module defining a :class:`~snas.methods.base.Method` subclass and
one entry below; the config, the search loop and the benchmarks look everything else up
on the method object.
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
