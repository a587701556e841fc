"""PostgreSQL's binary array form, as the batch reads send it and numpy reads it.

The reads of a batch (the span read, the by-key stock read, the sales read) answer in one
row whose columns are one-dimensional arrays in binary form: ``array_send`` with its 20-byte
header cut off (:data:`SENT_DAYS` in SQL), per element its length, then its value,
big-endian. numpy reads such a column as a block with the dtypes below: no row, and no
parsing, per SKU or per element.
"""

from __future__ import annotations

import numpy as np

#: The element dtypes of ``int4[]``, ``float8[]`` and ``boolean[]`` columns.
INTS = np.dtype([("length", ">i4"), ("value", ">i4")])
FLOATS = np.dtype([("length", ">i4"), ("value", ">f8")])
FLAGS = np.dtype([("length", ">i4"), ("value", "?")])

#: SQL: a ``float8[]`` (``{}``) in binary form, a NULL element as -Infinity (the values sent
#: this way — forecasts, units sold — are never negative, so it stands for "no value").
SENT_DAYS = "substr(array_send(array_replace({}, NULL, CAST('-Infinity' AS float8))), 21)"


def elements(blob: bytes, dtype: np.dtype) -> np.ndarray:
    """The values of a binary array (its header cut off), in native byte order."""
    values = np.frombuffer(blob, dtype=dtype)["value"]
    return values.astype(values.dtype.newbyteorder("="))
