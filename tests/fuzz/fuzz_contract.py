"""atheris target: any bytes as a sidecar contract end in a verdict or a ``ContractError``.

A sidecar is untrusted input read on someone else's import path (SPEC §6, §7): whatever it holds,
the parser must answer with a ``Contract`` or a ``ContractError`` and the checker with a list of
violations. Any other exception would reach users as an internal error of the hook (which fails
open, silently admitting the import), so this target turns every other outcome into a crash that
atheris records.

Three stages per input, each one's permitted outcomes checked:

1. ``parse_contract(data, path)``: a ``Contract`` or a ``ContractError`` with a usable position;
2. ``check(contract, CONTEXT)`` against a fixed simulated context, with a real caller file, so
   structural, environment, dependency and importer rules all run: a list of ``Violation``;
3. ``validate`` — the seam the import hook itself calls, through the compiled fast path and the
   process cache: ``None``, ``ContractViolation`` or ``ContractError``, and it must agree with
   stage 1 on whether the contract is malformed.

``one_input`` is importable without atheris (the regression test replays crash files through it);
``main`` starts the fuzzer (``python tests/fuzz/fuzz_contract.py corpus/ -max_total_time=60``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parents[1]) not in sys.path:  # run from a checkout without installing
    sys.path.append(str(HERE.parents[1]))

from importspy_hook._check import check  # noqa: E402
from importspy_hook._context import current_context  # noqa: E402
from importspy_hook._contract_model import Contract  # noqa: E402
from importspy_hook._contract_parse import parse_contract  # noqa: E402
from importspy_hook._errors import ContractError, ContractViolation, Violation  # noqa: E402

CONTRACT_PATH = "fuzz/plugin.contract.yml"

# The caller every contract is judged against: a little of everything a contract can ask about.
HOST_SOURCE = """\
__version__ = "1.4.2"
MODE = "production"
RATIO: float = 3.10
FLAGS = {"debug": False, "level": 3}
BIG = 0xFFFFFFFFFFFFFFFFFFFF


def process(amount: int, currency: str = "EUR", *args: object, **kwargs: object) -> "Optional[str]":
    return currency


class Base:
    pass


class Plugin(Base):
    kind: str = "payments"

    def __init__(self) -> None:
        self.state = "idle"

    def run(self, request: str, retries: int = 3) -> str | None:
        return request
"""


class FixedCaller:
    """What ``_structure`` needs of an importing module (``_caller.Caller``'s attributes)."""

    def __init__(self, name: str, file: str) -> None:
        self.name = name
        self.file = file
        self.module = None

    @property
    def module_name(self) -> str:
        return self.name


def _host_file() -> str:
    directory = tempfile.mkdtemp(prefix="importspy-fuzz-")
    path = os.path.join(directory, "host.py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(HOST_SOURCE)
    return path


CALLER = FixedCaller("app.host", _host_file())
CONTEXT = current_context(
    os="linux",
    arch="x86_64",
    python="3.11.4",
    implementation="CPython",
    env={"MODE": "production", "SERVICE_STAGE": "live", "TOKEN": "fuzz-secret"},
    caller=CALLER,
    distributions={"packaging": "24.0", "attrs": "23.2.0"},
)


class UnexpectedOutcome(AssertionError):
    """A stage produced something other than its permitted outcomes: what atheris reports."""


def _parse(data: bytes) -> Contract | None:
    try:
        contract = parse_contract(data, CONTRACT_PATH)
    except ContractError as error:
        if not (isinstance(error.line, int) and isinstance(error.column, int) and error.line >= 0):
            raise UnexpectedOutcome(f"ContractError without a usable position: {error!r}") from None
        if not str(error).startswith(CONTRACT_PATH):
            raise UnexpectedOutcome(f"ContractError does not name the file: {error}") from None
        return None
    if not isinstance(contract, Contract):
        raise UnexpectedOutcome(f"parse_contract returned {type(contract).__name__}")
    return contract


def _check(contract: Contract) -> None:
    violations: Any = check(contract, CONTEXT)
    if not isinstance(violations, list) or not all(isinstance(v, Violation) for v in violations):
        raise UnexpectedOutcome(f"check returned {violations!r}")
    for violation in violations:
        violation.describe(CONTRACT_PATH)  # the text a refused import shows must be renderable
        if "fuzz-secret" in repr(violation):
            raise UnexpectedOutcome(f"a secret value leaked into {violation!r}")
    if violations:
        str(ContractViolation("plugin", "app.host", CONTRACT_PATH, violations))


def _validate(data: bytes, parsed: bool) -> None:
    """The hook's own entry point (compiled fast path, process cache) on the same bytes."""
    from importspy_hook._validate import validate

    try:
        validate("plugin", CONTRACT_PATH, CALLER, read=lambda _path: data)  # type: ignore[arg-type]
    except ContractViolation:
        malformed = False
    except ContractError:
        malformed = True
    else:
        malformed = False
    if malformed == parsed:
        raise UnexpectedOutcome(
            f"parse_contract and the hook disagree: parse_contract {'accepted' if parsed else 'refused'} it"
        )


def one_input(data: bytes) -> None:
    """Run every stage on ``data``; raise on any outcome a user must never see."""
    contract = _parse(data)
    if contract is not None:
        _check(contract)
    _validate(data, contract is not None)


def main(argv: list[str] | None = None) -> None:
    """Start atheris on this target (libFuzzer options in ``argv``, as atheris expects)."""
    import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

    # Coverage feedback is what makes the search reach deep parser and checker states: instrument
    # the package and ruamel.yaml, which are already imported, and warm up every lazy import once
    # (the corpus's first input would otherwise measure import time against ``-timeout``).
    for seed in sorted((HERE / "corpus").glob("*")):
        one_input(seed.read_bytes())
    atheris.instrument_all()
    atheris.Setup(list(sys.argv if argv is None else argv), one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
