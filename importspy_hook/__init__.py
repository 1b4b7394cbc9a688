"""importspy-hook: an import guard driven by sidecar contracts.

The start-up line does not import this package: it imports the top-level ``_importspy_hook_startup``
(the finder), and the finder imports the package the first time an import meets a sidecar. So this
module stays tiny and standard-library only: every public name that needs attrs, ruamel.yaml or
structlog is re-exported lazily through the module ``__getattr__`` (PEP 562) and loads the first time
it is used.

PYTEST_DONT_REWRITE: the hook may import this package (to check a contract met while pytest starts)
before pytest can mark it for assertion rewriting, which would make every pytest run warn about it.
"""

# The records beside bytecode are stamped with it, and their store imports nothing above it.
from ._cache import PACKAGE_VERSION as __version__

# Not ``from typing import TYPE_CHECKING``: importing typing costs ~8 ms, and this module runs at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from typing import Any

    from ._activation import Handle, install, register, uninstall, unregister
    from ._check import check, load_contract
    from ._context import Context, current_context
    from ._contract_model import Contract
    from ._errors import ContractError, ContractViolation, Violation

__all__ = [
    "Context",
    "Contract",
    "ContractError",
    "ContractViolation",
    "Handle",
    "Violation",
    "__version__",
    "check",
    "current_context",
    "install",
    "load_contract",
    "register",
    "uninstall",
    "unregister",
]

# Public name -> private module that defines it. Resolved on first access only.
_LAZY = {
    "Handle": "_activation",
    "install": "_activation",
    "uninstall": "_activation",
    "check": "_check",
    "Context": "_context",
    "current_context": "_context",
    "Contract": "_contract_model",
    "load_contract": "_check",
    "ContractError": "_errors",
    "ContractViolation": "_errors",
    "Violation": "_errors",
    "register": "_activation",
    "unregister": "_activation",
}


def __getattr__(name: str) -> "Any":
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'importspy_hook' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> "list[str]":
    return sorted(set(globals()) | set(__all__))
