"""Sparse inputs: a SciPy CSR matrix that the engine indexes as it indexes a dense tensor.

:class:`SparseRows` keeps the matrix sparse on the CPU and makes only the rows asked for dense,
on the run's device and dtype: ``X[index]`` gives ``index.shape + (d,)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

__all__ = ["SparseRows"]


class SparseRows:
    """``(n, d)`` inputs held as a CSR matrix (``matrix`` converted, in ``dtype``), made dense on
    ``device`` one batch of rows at a time.

    Examples
    --------
    >>> X = SparseRows(sp.csr_matrix(np.eye(4)), torch.float32, torch.device("cpu"))
    >>> X[torch.tensor([[2, 0], [1, 1]])].shape
    torch.Size([2, 2, 4])
    >>> X[torch.tensor([2, 0])].tolist()
    [[0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
    >>> X[:1].tolist(), X.shape, len(X)
    ([[1.0, 0.0, 0.0, 0.0]], (4, 4), 4)
    """

    ndim = 2

    def __init__(self, matrix: Any, dtype: torch.dtype, device: torch.device) -> None:
        numpy_dtype = torch.empty((), dtype=dtype).numpy().dtype
        self.matrix = sp.csr_matrix(matrix, dtype=numpy_dtype)
        self.dtype = dtype
        self.device = device

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, d)``, as a dense tensor's shape reads."""
        return tuple(int(size) for size in self.matrix.shape)  # type: ignore[return-value]

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Tensor | slice | np.ndarray) -> Tensor:
        """The rows ``index`` (a slice or an integer array of any shape), dense, on the device."""
        if isinstance(index, slice):
            return self._dense(self.matrix[index].toarray())
        rows = index.detach().cpu().numpy() if isinstance(index, Tensor) else np.asarray(index)
        dense = self.matrix[rows.reshape(-1)].toarray()
        return self._dense(dense).reshape(*rows.shape, self.shape[1])

    def _dense(self, array: np.ndarray) -> Tensor:
        return torch.from_numpy(array).to(self.device, self.dtype)
