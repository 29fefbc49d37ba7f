"""What a population asks of a module, checked before anything is built from it.

The engine and the estimators both call :func:`check_module` and :func:`probe_output`, so a
module is refused with the same words wherever it enters.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from netreg.engine.dropout import ALPHA_DROPOUT_MSG
from netreg.exceptions import DataError, InvalidParameterError, bad_data, invalid

__all__ = ["check_module", "probe_output"]


def check_module(module: nn.Module) -> None:
    """Refuse a module a population cannot train, before anything is built from it.

    Refused: not a ``torch.nn.Module``, no parameters, parameters or buffers on the meta
    device, recurrent layers (``vmap`` cannot batch them), alpha dropout, BatchNorm with
    ``momentum=None``.

    Raises
    ------
    InvalidParameterError
        Naming what was received and what is expected.

    Examples
    --------
    >>> check_module(nn.ReLU())
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `module` must be a module with parameters to train. Got a ReLU without parameters.
    >>> check_module(nn.Linear(2, 1, device="meta"))
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `module` must be a module whose parameters and buffers hold values. Got a Linear with weight, bias on the meta device (shapes without values). Build it on a real device, or call .to_empty(device="cpu") and initialize it.
    """
    if not isinstance(module, nn.Module):
        raise invalid("module", "a torch.nn.Module", module)
    if next(module.parameters(), None) is None:
        raise invalid(
            "module", "a module with parameters to train", got=f"a {type(module).__name__} without parameters"
        )
    meta = [name for name, tensor in (*module.named_parameters(), *module.named_buffers()) if tensor.is_meta]
    if meta:
        shown = ", ".join(meta[:5]) + (f" and {len(meta) - 5} more" if len(meta) > 5 else "")
        raise invalid(
            "module",
            "a module whose parameters and buffers hold values",
            got=f"a {type(module).__name__} with {shown} on the meta device (shapes without values)",
            fix='Build it on a real device, or call .to_empty(device="cpu") and initialize it.',
        )
    for name, sub in module.named_modules():
        if isinstance(sub, nn.RNNBase):
            # torch.func.vmap has no batching rule for the fused recurrent kernels.
            raise invalid(
                "module",
                "a module that torch.func.vmap can run, without recurrent layers",
                got=f"a module with a {type(sub).__name__} layer ({name or 'the module itself'})",
            )
        if isinstance(sub, nn.AlphaDropout | nn.FeatureAlphaDropout) and sub.p > 0:
            raise InvalidParameterError(ALPHA_DROPOUT_MSG.format(name=type(sub).__name__))
        # A cumulative average divides by a per-member count, a Python float under vmap.
        if isinstance(sub, nn.modules.batchnorm._NormBase) and sub.track_running_stats and sub.momentum is None:
            raise InvalidParameterError(
                f"The module's {type(sub).__name__} layer ({name or 'the module itself'}) has momentum=None "
                "(a cumulative average of the batch statistics), which the members of a population cannot keep. "
                "Expected a float momentum, such as PyTorch's default 0.1."
            )


def probe_output(module: nn.Module, X: Tensor) -> Tensor:
    """The module's output on the rows ``X`` (in eval mode, without gradients), checked to be
    one floating-point tensor: what the loss and its gradient take.

    Raises
    ------
    DataError
        If the module cannot run on ``X``, or returns something else than one floating-point
        tensor (a tuple, a dict, integer or boolean values), naming what it returned.

    Examples
    --------
    >>> class Pair(nn.Linear):
    ...     def forward(self, x):
    ...         return super().forward(x), x
    >>> probe_output(Pair(3, 1), torch.zeros(2, 3))
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: The module's forward returned a tuple of 2 items for X[:2]; expected one tensor of raw scores of shape (2, n_outputs). Return the scores alone (such as output[0]).
    """
    training = module.training
    try:
        with torch.no_grad():
            out = module.eval()(X)
    except (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError) as error:
        reason = str(error).strip().splitlines()[0].rstrip(".")
        raise DataError(
            f"The module cannot run on X[:2], of shape {tuple(X.shape)}: {reason}. "
            "Expected X with rows along the first axis, each row of the shape the module takes."
        ) from None
    finally:
        module.train(training)
    if not isinstance(out, Tensor):
        kind = f"a {type(out).__name__}" + (f" of {len(out)} items" if isinstance(out, tuple | list | dict) else "")
        raise bad_data(
            f"The module's forward returned {kind} for X[:2]",
            "one tensor of raw scores of shape (2, n_outputs)",
            "Return the scores alone (such as output[0])." if isinstance(out, tuple | list) else "",
        )
    if not out.is_floating_point():
        raise bad_data(
            f"The module's forward returned a tensor of dtype {out.dtype} for X[:2]",
            "floating-point raw scores (logits or values), which gradients flow through",
            "Return the scores before any rounding, argmax or cast to an integer type.",
        )
    return out
