"""The one training engine: a population of K networks trained at once (K = 1 for one fit).

Members share an architecture (any ``torch.nn.Module``, BatchNorm and dropout included,
on inputs of any shape ``(n, ...)``) and differ in their strength ``alpha`` (and,
optionally, in seed and in the rows they train and validate on, for cross-validation). Their
parameters are stacked along a leading axis and run forward together; one backward pass
through the *sum* of the members' losses gives each member exactly its own gradient, the
penalty gradient is added in fused multi-tensor kernels, and SGD or Adam, both
elementwise, moves each member as ``torch.optim`` would move it alone. Full-batch L-BFGS
trains single members. Each member stops on its own (see :mod:`~netreg.engine.stopping`),
or when a callback stops it through the :class:`Population` handle.

The package is a functional core with a thin loop:

``config``      :class:`TrainConfig`, how to train
``inputs``      the validated inputs, one frozen value, checked once at the boundary
``state``       :class:`~netreg.engine.state.PopulationState`, everything that changes, with one ``take``
``forward``     the stacked forward: each member with its own buffers (BatchNorm) and dropout masks
``dropout``     each member's dropout masks from its own generator, in any module
``step``        the pure ``loss_and_grads`` of the minibatch loop and of L-BFGS
``stopping``    the pure stopping rules and statuses
``health``      overflow and runaway losses (failures with finite numbers) and whom to blame
``optim``       SGD and Adam steps over stacked parameters (functional)
``solvers``     ``sgd``, ``adam``, ``lbfgs`` as small objects in the ``SOLVERS`` registry
``schedules``   SGD's per-member step-size schedules (scikit-learn's ``learning_rate``)
``row_sets``    which rows each member has (a fold's members share one set), held-out sets, evaluation
``minibatches`` each epoch's orders cut into the steps' ``Batch``: a single member's fast path, a population's
``sparse``      sparse inputs, made dense one batch of rows at a time
``hooks``       :class:`Callback` and their dispatch; ``population`` the handle they get
``results``     :class:`MemberResult`, :class:`PopulationResult`
``threads``     the thread policy: threads per run, ``n_jobs`` as scikit-learn reads it
``entry``       :func:`train_population`: validate the inputs, run the loop
``loop``        the ``Trainer``: ``fit -> fit_loop -> run_epoch -> train_step``
``full_batch``  L-BFGS's run, each iteration an epoch of the ``Trainer``
"""

from netreg.engine.config import TrainConfig, resolve_device
from netreg.engine.entry import train_population
from netreg.engine.hooks import Callback
from netreg.engine.population import Population
from netreg.engine.results import MemberResult, PopulationResult, member_module

__all__ = [
    "TrainConfig",
    "Callback",
    "Population",
    "MemberResult",
    "PopulationResult",
    "train_population",
    "resolve_device",
    "member_module",
]
