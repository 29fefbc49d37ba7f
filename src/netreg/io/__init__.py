"""Models out and the files a run leaves: what needs an estimator or a run's folder.

Run folders (:mod:`~netreg.io.run_folder`, :mod:`~netreg.safe_files`)
    ``RunFolder``: the paths of a run folder, and the writing of files into it: whole,
    never through a link, output paths checked before any work.
Saved models (:mod:`~netreg.io.models`; :mod:`~netreg.io.model_meta`, ``model_checks``, ``model_files``)
    ``save_model``, ``load_model``, ``SavedModel``: safetensors and JSON, no pickle; a
    crafted folder refused before anything is built.

Tables are read and encoded by :mod:`netreg.tables`, a layer below the estimators.
"""

from netreg.io.models import SavedModel, load_model, save_model
from netreg.io.run_folder import RunFolder

__all__ = [
    "RunFolder",
    "SavedModel",
    "save_model",
    "load_model",
]
