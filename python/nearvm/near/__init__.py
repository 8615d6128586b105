"""NEAR's contract runtime on nearvm.

* Preparation and the profile (:mod:`nearvm.near.prepare`): ``prepare_contract``, ``HOST_FUNCTIONS``,
  ``env_imports``, ``NEAR_MEMORY``.
* The host environment with NEAR's fees and limits (:mod:`nearvm.near.host`), the fee schedule
  (:mod:`nearvm.near.params`, data in ``params.json``), NEAR's error names (:mod:`nearvm.near.errors`).
* A local chain with SQLite state (:class:`NearChain`): ``deploy``, ``call``, ``view``.
"""

from .errors import FunctionCallError, HostError, NearUsageError
from .params import NearParams
from .prepare import HOST_FUNCTIONS, NEAR_MEMORY, env_imports, prepare_contract, prepared_config
from .runtime import DeployResult, NearChain, Outcome

__all__ = [
    "HOST_FUNCTIONS",
    "NEAR_MEMORY",
    "DeployResult",
    "FunctionCallError",
    "HostError",
    "NearChain",
    "NearParams",
    "NearUsageError",
    "Outcome",
    "env_imports",
    "prepare_contract",
    "prepared_config",
]
