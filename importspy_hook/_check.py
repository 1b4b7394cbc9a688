"""``importspy_hook.check(contract, context)``: the explanation of one contract in one context (§10).

A contract built in Python goes through the same compiler as a sidecar (its plain form, then the
program, kept per contract object by ``_cache.model_entry``) and is judged by the one evaluator,
``_compiled.explain``, which the hook, the CLI and the pytest plugin use too: there is no second
judge to agree with. The rules themselves, and the words of their violations, live there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._cache import model_entry
from ._compiled import explain, values_equal

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ._context import Context
    from ._contract_model import Contract
    from ._errors import Violation

__all__ = ["check", "values_equal"]


def check(contract: Contract, context: Context) -> list[Violation]:
    """Every requirement of ``contract`` that ``context`` does not meet; empty when compliant."""
    return explain(model_entry(contract).program, context)
