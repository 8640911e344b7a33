"""What an analysis and its plot worker (:mod:`harness.analysis.plotting`) send each other,
in formats that carry data only: no pickle, so nothing read can run code.

The job is one MessagePack document: the log setup, the study as its frozen document, the
metric, the folder, the winners, the scales, the settings and lineages, and each table as an
Arrow IPC stream.  pyarrow keeps a table's dtypes and index (its pandas metadata); a column of
Python objects Arrow cannot hold as they are (values of several types, a key the trials wrote
differently) travels beside its stream as a list of values.  MessagePack (:mod:`msgspec`,
also the trial files' reader) carries what JSON does, and NaN and infinities as they are; it
encodes the 10,000 settings of a large study some ten times faster than :mod:`json`.

The answer is another: the plots (file and caption), or the error drawing raised, by its
type's name, arguments and traceback.  The error is rebuilt here only as a type of ours
(:mod:`snas.errors`) or a built-in exception; any other becomes a RuntimeError naming it.

The header's values go as MessagePack's types: numpy scalars as the Python numbers they
hold, tuples and sets as lists, and what msgspec writes natively (datetimes and decimals as
text, enums as their values, dataclasses as maps) as it writes it.  A table's object column
is stricter, since the plots group and count by its values: only text, numbers, booleans,
None, lists and dicts go.  Anything else, or a value MessagePack or Arrow cannot hold (an
integer beyond 64 bits, duplicate column names), cannot be sent (:class:`Unsendable`); the
plots are then drawn by the analysis itself.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
import os
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa

from harness.analysis.plot_record import Plot
from harness.analysis.scale import Scale
from harness.study.load import validate_study
from snas.errors import DiskFull, UserInputError
from snas.genotype import GenotypeError
from snas.spaces.base import EvalNetwork

PlotFields = dict[str, Any]
"""The fields of a :class:`harness.analysis.plots.PlotInput`."""

LogSetup = tuple[int, logging.Formatter | None]
"""A process's root log level and plain format."""

_TABLE_FIELDS = ("trials", "curves")
_STYLES = {logging.PercentStyle: "%", logging.StrFormatStyle: "{", logging.StringTemplateStyle: "$"}


class Unsendable(TypeError):
    """A value of the job that this format cannot carry as it is."""


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise Unsendable(f"{type(value).__name__} value {value!r:.80}")


_ENCODER = msgspec.msgpack.Encoder(enc_hook=_plain)


def _packed(value: object) -> bytes:
    return _ENCODER.encode(value)


_OBJECT_VALUE_TYPES = (str, int, float, bool, type(None), list, dict)
"""The values an object column may hold to be sent: a tuple would come back a list (which
cannot be grouped by), a numpy scalar a Python number (formatted differently)."""


def _object_values(column: pd.Series) -> list[Any]:
    values = column.tolist()
    odd = next((value for value in values if type(value) not in _OBJECT_VALUE_TYPES
                or (type(value) is int and not -2**63 <= value < 2**64)), None)
    if odd is not None:
        raise Unsendable(f"{type(odd).__name__} value {odd!r:.80} in column {column.name!r}")
    return values


def _table_document(table: pd.DataFrame) -> dict[str, Any]:
    """``table`` as its Arrow stream, its object columns as lists of values and their places."""
    if not table.columns.is_unique:
        raise Unsendable(f"duplicate columns in {list(table.columns)!r:.80}")
    objects = [name for name, dtype in table.dtypes.items() if dtype == np.dtype(object)]
    if objects and not all(isinstance(name, str) for name in table.columns):
        raise Unsendable(f"columns {list(table.columns)!r:.80}")
    # One batch, even of no rows or no columns: it carries the row count and a categorical's
    # categories, which a table written without a batch would lose.  (RecordBatch.from_pandas
    # refuses a column pandas already holds in Arrow chunks.)
    arrow = pa.Table.from_pandas(table.drop(columns=objects)).combine_chunks()
    batches = arrow.to_batches()  # none for no rows
    batch = batches[0] if batches else pa.RecordBatch.from_arrays([column.chunk(0) for column in arrow.columns],
                                                                   schema=arrow.schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return {"arrow": sink.getvalue().to_pybytes(), "objects": {name: _object_values(table[name]) for name in objects},
            "order": list(table.columns) if objects else []}


def _table(document: dict[str, Any]) -> pd.DataFrame:
    table = pa.ipc.open_stream(document["arrow"]).read_all().to_pandas()
    if not document["objects"]:
        return table
    for name, values in document["objects"].items():
        table[name] = pd.Series(values, index=table.index, dtype=object)
    return table[document["order"]]


def _log_document(log: LogSetup) -> dict[str, Any]:
    level, formatter = log
    if formatter is None or type(formatter._style) not in _STYLES:
        return {"level": level}
    return {"level": level, "format": formatter._fmt, "datefmt": formatter.datefmt,
            "style": _STYLES[type(formatter._style)]}


def _formatter(document: dict[str, Any]) -> logging.Formatter | None:
    if "format" not in document:
        return None
    return logging.Formatter(document["format"], document["datefmt"], document["style"])


def encode_job(fields: PlotFields, log: LogSetup) -> bytes:
    """The job for a worker: ``fields`` to draw, ``log`` to warn with; raises :class:`Unsendable`."""
    try:
        return _job(fields, log)
    except (OverflowError, ValueError, pa.ArrowException) as err:  # an integer beyond 64 bits, an odd index
        raise Unsendable(f"{type(err).__name__}: {err}") from err


def _job(fields: PlotFields, log: LogSetup) -> bytes:
    tables = {name: fields[name] for name in _TABLE_FIELDS} | {
        f"tables/{name}": table for name, table in fields.get("tables", {}).items()}
    documents = {name: _table_document(table) for name, table in tables.items()}
    return _packed({
        "log": _log_document(log),
        "study": fields["study"].model_dump(mode="json", by_alias=True),
        "metric": fields["metric"],
        "folder": str(fields["folder"]),
        "best": fields.get("best", []),
        "scales": {prefix: [dataclasses.asdict(scale) for scale in scales]
                   for prefix, scales in fields.get("scales", {}).items()},
        "settings": fields.get("settings", {}),
        "lineages": fields.get("lineages", {}),
        "tables": documents,
    })


def read_job(stream: BinaryIO) -> tuple[PlotFields, logging.Formatter | None, int]:
    """The fields, log format and log level of the job ``stream`` holds (:func:`encode_job`)."""
    job = msgspec.msgpack.decode(stream.read())
    tables = {name: _table(document) for name, document in job["tables"].items()}
    fields = {
        "study": validate_study(job["study"], "the analysis's study", frozen=True),
        "trials": tables.pop("trials"),
        "curves": tables.pop("curves"),
        "metric": job["metric"],
        "folder": Path(job["folder"]),
        "best": job["best"],
        "scales": {prefix: [Scale(scale["space"], EvalNetwork(**scale["network"])) for scale in scales]
                   for prefix, scales in job["scales"].items()},
        "settings": job["settings"],
        "lineages": job["lineages"],
        "tables": {name.removeprefix("tables/"): table for name, table in tables.items()},
    }
    return fields, _formatter(job["log"]), job["log"]["level"]


def encode_plots(plots: list[Plot]) -> bytes:
    return _packed({"plots": [{"path": str(plot.path), "caption": plot.caption} for plot in plots]})


_OUR_ERRORS = {cls.__name__: cls for cls in (UserInputError, DiskFull, GenotypeError)}


def _error_name(error: BaseException) -> str:
    cls = type(error)
    return cls.__name__ if cls.__module__ == "builtins" or _OUR_ERRORS.get(cls.__name__) is cls else \
        f"{cls.__module__}.{cls.__qualname__}"


def encode_failure(error: BaseException, traceback: str) -> bytes:
    """The answer for an ``error`` drawing raised, ``traceback`` its worker's traceback.  Where
    its arguments cannot be sent, an OSError goes with its errno and message, any other error
    with its message; where even that fails, a RuntimeError naming it."""
    name, message = _error_name(error), str(error)
    document: dict[str, object] = {"type": name, "message": message, "args": list(error.args), "traceback": traceback}
    if isinstance(error, OSError):
        document.update(filename=_path_text(error.filename), filename2=_path_text(error.filename2))
    plain_args = [error.errno, str(error.strerror)] if isinstance(error, OSError) and error.errno is not None \
        else [message]
    named = {"type": "RuntimeError", "message": message, "args": [f"{name}: {message}"], "traceback": traceback}
    for attempt in (document, {**document, "args": plain_args}):
        try:
            return _packed({"error": attempt})
        except Exception:  # Unsendable, an integer beyond 64 bits, ...
            continue
    return _packed({"error": named})


def _path_text(value: object) -> object:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


class RemoteTraceback(Exception):
    """The worker's traceback, shown as the cause of the exception raised here."""

    def __str__(self) -> str:
        return str(self.args[0])


def _rebuilt(document: dict[str, Any]) -> Exception:
    name = document["type"]
    builtin = getattr(builtins, name, None)
    cls = _OUR_ERRORS.get(name) or (builtin if isinstance(builtin, type) and issubclass(builtin, Exception) else None)
    if cls is None:
        return RuntimeError(f"{name.rpartition('.')[2]}: {document['message']}")
    try:
        error = cls(*document["args"])
    except Exception:
        return RuntimeError(f"{name}: {document['message']}")
    if isinstance(error, OSError):
        for attribute in ("filename", "filename2"):
            if document.get(attribute) is not None:  # str() shows one that is set, even to None
                setattr(error, attribute, document[attribute])
    return error


def decode_outcome(data: bytes) -> list[Plot]:
    """The plots of a worker's answer ``data``, or the error it sends, raised here."""
    outcome = msgspec.msgpack.decode(data)
    if "error" in outcome:
        failure = outcome["error"]
        raise _rebuilt(failure) from RemoteTraceback(failure["traceback"])
    return [Plot(Path(plot["path"]), plot["caption"]) for plot in outcome["plots"]]
