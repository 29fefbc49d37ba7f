"""Tables in, models out: reading data files, encoding them, and the files a run leaves.

Reading tables (:mod:`~netreg.io.tables`)
    ``read_table``, ``Table``: CSV, Parquet and NPZ files to features and a target;
    ``infer_task``, ``check_classification_target``, ``drop_missing_rows``; ``rows_text``
    names rows in messages (``"rows 3, 7, counting from 0, header excluded"``), ``show`` a
    name or value (long text cut to its start and length).
Column typing (:mod:`~netreg.io.columns`, :mod:`~netreg.io.dates`, :mod:`~netreg.io.cardinality`)
    Which columns are numbers, dates (days since 1970-01-01) and categories, the refusal of
    anything else, and the columns that look like ids, free text or row numbers.
Preprocessing (:mod:`~netreg.io.preprocessing`, :mod:`~netreg.io.transformers`, :mod:`~netreg.io.preprocessing_config`)
    ``TablePreprocessor``: columns left out (``drop``, ``id_column``), then scikit-learn's
    ``SimpleImputer`` (``impute``), ``StandardScaler`` and ``OneHotEncoder`` in a
    ``ColumnTransformer``, with a versioned JSON round trip of the fitted state (no pickle).
Fingerprints (:mod:`~netreg.io.fingerprints`)
    ``fingerprint``: one SHA-256 digest of arrays, frames and settings.
JSON fields (:mod:`~netreg.io.json_fields`)
    ``check_fields`` and its specs: the layout of a JSON file declared once, checked with
    one clear message.
Run folders (:mod:`~netreg.io.run_folder`, :mod:`~netreg.safe_files`)
    ``RunFolder``: the paths of a run folder, and the writing of files into it: whole,
    never through a link, output paths checked before any work.
Spreadsheets (:mod:`~netreg.io.spreadsheets`)
    CSV whose text a spreadsheet would run as a formula gets a quote in front.
Encoded widths (:mod:`~netreg.io.widths`)
    A one-hot encoded table too large for memory is refused before it is built.
Saved models (:mod:`~netreg.io.models`)
    ``save_model``, ``load_model``, ``SavedModel``: safetensors and JSON, no pickle; a
    crafted folder refused before anything is built.
"""

from netreg.io.fingerprints import fingerprint
from netreg.io.json_fields import check_fields

# Last: saved models stand on the estimators, which the modules above do not need.
from netreg.io.models import SavedModel, load_model, save_model  # noqa: E402
from netreg.io.preprocessing import TablePreprocessor
from netreg.io.run_folder import RunFolder
from netreg.io.tables import (
    FORMATS,
    MAX_CLASSES,
    Table,
    check_classification_target,
    drop_missing_rows,
    infer_task,
    read_table,
)
from netreg.io.transformers import table_transformer
from netreg.message_text import rows_text, show

__all__ = [
    "read_table",
    "Table",
    "FORMATS",
    "MAX_CLASSES",
    "infer_task",
    "check_classification_target",
    "drop_missing_rows",
    "rows_text",
    "show",
    "TablePreprocessor",
    "table_transformer",
    "fingerprint",
    "check_fields",
    "RunFolder",
    "SavedModel",
    "save_model",
    "load_model",
]
