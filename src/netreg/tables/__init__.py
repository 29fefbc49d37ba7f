"""Tables in, with no estimator: reading data files (:mod:`~netreg.tables.tables`), typing
their columns (:mod:`~netreg.tables.columns`, ``dates``, ``cardinality``, ``layout``: the rules are
stated in :class:`TablePreprocessor`'s docstring) and encoding them (``preprocessing``,
``transformers``, ``preprocessing_config``: a versioned JSON round trip, no pickle).
"""

from netreg.tables.fingerprints import fingerprint
from netreg.tables.preprocessing import TablePreprocessor
from netreg.tables.tables import (
    FORMATS,
    MAX_CLASSES,
    Table,
    check_classification_target,
    drop_missing_rows,
    infer_task,
    read_table,
)
from netreg.tables.transformers import table_transformer

__all__ = [
    "read_table",
    "Table",
    "FORMATS",
    "MAX_CLASSES",
    "infer_task",
    "check_classification_target",
    "drop_missing_rows",
    "TablePreprocessor",
    "table_transformer",
    "fingerprint",
]
