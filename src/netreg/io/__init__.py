"""Models out and the files a run leaves: ``save_model``/``load_model`` (:mod:`~netreg.io.models`) and ``RunFolder`` (:mod:`~netreg.io.run_folder`)."""

from netreg.io.models import SavedModel, load_model, save_model
from netreg.io.run_folder import RunFolder

__all__ = [
    "RunFolder",
    "SavedModel",
    "save_model",
    "load_model",
]
