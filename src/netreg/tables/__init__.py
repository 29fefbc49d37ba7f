"""Tables in: reading data files and encoding them, with no estimator.

Reading tables (:mod:`~netreg.tables.tables`)
    ``read_table``, ``Table``: CSV, Parquet and NPZ files to features and a target;
    ``infer_task``, ``check_classification_target``, ``drop_missing_rows``.
Column typing (:mod:`~netreg.tables.columns`, :mod:`~netreg.tables.dates`, :mod:`~netreg.tables.cardinality`)
    Which columns are numbers, dates (days since 1970-01-01) and categories, the refusal of
    anything else, and the columns that look like ids, free text or row numbers.
Preprocessing (:mod:`~netreg.tables.preprocessing`, :mod:`~netreg.tables.transformers`, :mod:`~netreg.tables.preprocessing_config`)
    ``TablePreprocessor``: columns left out (``drop``, ``id_column``), then scikit-learn's
    ``SimpleImputer`` (``impute``), ``StandardScaler`` and ``OneHotEncoder`` in a
    ``ColumnTransformer``, with a versioned JSON round trip of the fitted state (no pickle).
Fingerprints (:mod:`~netreg.tables.fingerprints`)
    ``fingerprint``: one SHA-256 digest of arrays, frames and settings.
Spreadsheets (:mod:`~netreg.tables.spreadsheets`)
    CSV whose text a spreadsheet would run as a formula gets a quote in front.
Encoded widths (:mod:`~netreg.tables.widths`)
    A one-hot encoded table too large for memory is refused before it is built.
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
