"""The Python API over the engine: ``check(contract, context)`` and ``load_contract(path)`` (§10).

A contract built in Python goes through the same compiler as a sidecar (its plain form, then the
program, kept per contract object by ``_compiled.model_entry``) and is judged by the one evaluator,
``_compiled.explain``, which the hook, the CLI and the pytest plugin use too: there is no second
judge to agree with. The rules themselves, and the words of their violations, live there.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ._compiled import clear, contract_entry, explain, model_entry, values_equal

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ._context import Context
    from ._contract_model import Contract
    from ._errors import Violation

__all__ = ["check", "clear_cache", "load_contract", "values_equal"]


def check(contract: Contract, context: Context) -> list[Violation]:
    """Every requirement of ``contract`` that ``context`` does not meet; empty when compliant."""
    return explain(model_entry(contract).program, context)


def load_contract(path: str | os.PathLike[str], *, data: bytes | None = None) -> Contract:
    """The contract at ``path`` (parsed once per content), or a :class:`ContractError`.

    ``data``: the file's bytes when they were read some other way (a sidecar inside a zip archive is
    read through its loader's ``get_data``); ``path`` then only names the contract in messages.
    Parsed contracts are kept for the process and, for files, in the cache beside bytecode
    (``_cache``), so a contract unchanged since an earlier run is not parsed again.
    Thread-safe; failures are never cached.
    """
    return contract_entry(os.fspath(path), data).model()


def clear_cache() -> None:
    """Forget every parsed contract of this process (tests; the cache is otherwise self-validating).

    The cache files beside bytecode are left alone: they are validated against the contract's
    content whenever they are read.
    """
    clear()
