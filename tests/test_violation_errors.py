"""What a refused import looks like (§7): message format, pickling across processes, secrets,
and the seam the hook calls (``validate``) with the registry API (§10)."""

from __future__ import annotations

import multiprocessing
import pickle
import textwrap
import types
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from _importspy_hook_startup import REGISTRY
from importspy_hook._activation import register, unregister
from importspy_hook._check import clear_cache
from importspy_hook._context import platform_facts
from importspy_hook._contract_model import Contract, Runtime
from importspy_hook._errors import ContractError, ContractViolation, Violation
from importspy_hook._validate import validate

SECRET = "tr0ub4dor-&-3-SECRET"


class FakeCaller:
    def __init__(self, name: str, file: str | None, module: types.ModuleType | None = None) -> None:
        self.name = name
        self.file = file
        self.module = module

    @property
    def module_name(self) -> str:
        return self.name


@pytest.fixture(autouse=True)
def _fresh() -> None:
    clear_cache()


def write_contract(directory: Path, text: str, name: str = "plugin.contract.yml") -> str:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def refusal(
    contract: str | Contract, caller: FakeCaller | None = None, target: str = "plugin"
) -> ContractViolation:
    with pytest.raises(ContractViolation) as info:
        validate(target, contract, caller)  # type: ignore[arg-type]
    return info.value


# --------------------------------------------------------------------------- message format


def test_message_lists_every_violation_with_file_line_field(tmp_path: Path) -> None:
    facts = platform_facts()
    path = write_contract(
        tmp_path,
        """\
        # line 1
        runtime:
          python: "<3"
          os: [plan9-is-not-an-os]
        """.replace("[plan9-is-not-an-os]", "[aix]" if facts.os != "aix" else "[wasi]"),
    )
    error = refusal(path, FakeCaller("app.host", None))
    other_os = "aix" if facts.os != "aix" else "wasi"
    assert str(error) == (
        f"import of 'plugin' from 'app.host' refused by {path} (2 violations):\n"
        f"  plugin.contract.yml:3: runtime.python: expected <3, found "
        f"{facts.python_version} ({facts.implementation})\n"
        f"  plugin.contract.yml:4: runtime.os: expected {other_os}, found {facts.os}"
    )
    assert isinstance(error, ValueError) and not isinstance(error, ImportError)
    assert (error.target, error.caller, error.contract) == ("plugin", "app.host", path)
    assert [v.line for v in error.violations] == [3, 4]


def test_one_violation_and_no_caller(tmp_path: Path) -> None:
    path = write_contract(tmp_path, "runtime: {python: '<3'}\n")
    error = refusal(path, None)
    assert str(error).splitlines()[0] == (
        f"import of 'plugin' from no identifiable module refused by {path} (1 violation):"
    )
    assert error.caller is None


def test_contract_error_text(tmp_path: Path) -> None:
    path = write_contract(tmp_path, "deployments:\n  - systems:\n      - os: linx\n")
    with pytest.raises(ContractError) as info:
        validate("plugin", path, None)
    assert str(info.value).startswith(
        f"{path}:3:13: deployments[0].systems[0].os: unknown operating system 'linx'"
    )
    assert isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- pickling


def _refuse_in_child(contract_path: str) -> None:
    validate("plugin", contract_path, FakeCaller("child.host", None))  # type: ignore[arg-type]


def _describe_in_child(error: BaseException) -> tuple[str, str, tuple[str, ...]]:
    assert isinstance(error, (ContractViolation, ContractError))
    where = error.contract if isinstance(error, ContractViolation) else error.path
    lines = tuple(v.describe(where) for v in getattr(error, "violations", ()))
    return type(error).__name__, str(error), lines


def test_errors_cross_a_spawn_process_pool(tmp_path: Path) -> None:
    violating = write_contract(tmp_path, "runtime: {python: '<3', os: [aix, wasi]}\n")
    malformed = write_contract(tmp_path, "runtime: {python: [}\n", name="bad.contract.yml")
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        # raised in the child, re-raised here after pickling
        with pytest.raises(ContractViolation) as info:
            pool.submit(_refuse_in_child, violating).result(timeout=60)
        error = info.value
        assert error.caller == "child.host" and error.contract == violating
        assert [v.field for v in error.violations] == ["runtime.python", "runtime.os"]
        assert all(isinstance(v, Violation) and v.line == 1 for v in error.violations)
        with pytest.raises(ContractError) as bad:
            pool.submit(_refuse_in_child, malformed).result(timeout=60)
        assert (bad.value.path, bad.value.line) == (malformed, 1)
        # and sent to a child, which sees the same thing
        name, text, lines = pool.submit(_describe_in_child, error).result(timeout=60)
        assert (name, text) == ("ContractViolation", str(error))
        assert lines == tuple(v.describe(violating) for v in error.violations)
        assert pool.submit(_describe_in_child, bad.value).result(timeout=60)[1] == str(bad.value)


def test_pickle_round_trip_keeps_equality(tmp_path: Path) -> None:
    error = refusal(write_contract(tmp_path, "runtime: {python: '<3'}\n"), FakeCaller("h", None))
    copy = pickle.loads(pickle.dumps(error))
    assert copy.violations == error.violations and str(copy) == str(error)


# --------------------------------------------------------------------------- secrets


def test_secret_values_never_appear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_KEY", SECRET)
    monkeypatch.setenv("DB_PASSWORD", SECRET)
    monkeypatch.delenv("SIGNING_TOKEN", raising=False)
    path = write_contract(
        tmp_path,
        f"""\
        runtime:
          environment:
            PAYMENT_KEY: {{value: expected-{SECRET[:4]}, secret: true}}
        deployments:
          - systems:
              - environment:
                  variables: [{{name: DB_PASSWORD, value: wrong}}]
                  secrets: [DB_PASSWORD, SIGNING_TOKEN]
        """,
    )
    error = refusal(path, FakeCaller("h", None))
    assert [v.field for v in error.violations] == [
        "runtime.environment.PAYMENT_KEY",
        "deployments[0].systems[0].environment.variables[0]",
        "deployments[0].systems[0].environment.secrets[1]",
    ]
    texts = [
        str(error), repr(error), repr(error.violations), repr(error.args),
        pickle.dumps(error).decode("latin-1"), *(v.describe(path) for v in error.violations),
    ]  # fmt: skip
    for text in texts:
        assert SECRET not in text
        assert f"expected-{SECRET[:4]}" not in text and "wrong" not in text
    assert "secret, not shown" in str(error)
    # The same variable set to the required value passes: secrets are compared, only hidden.
    monkeypatch.setenv("PAYMENT_KEY", f"expected-{SECRET[:4]}")
    monkeypatch.setenv("DB_PASSWORD", "wrong")
    monkeypatch.setenv("SIGNING_TOKEN", SECRET)
    validate("plugin", path, FakeCaller("h", None))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- validate & register


def test_failures_are_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ISH_FEATURE_FLAG", raising=False)
    path = write_contract(tmp_path, "runtime: {environment: {ISH_FEATURE_FLAG: 'on'}}\n")
    refusal(path)
    monkeypatch.setenv("ISH_FEATURE_FLAG", "on")
    validate("plugin", path, None)  # the fix is seen on the next import


def test_read_is_used_for_archived_sidecars(tmp_path: Path) -> None:
    asked: list[str] = []

    def read(path: str) -> bytes:
        asked.append(path)
        return b"runtime: {python: '<3'}\n"

    with pytest.raises(ContractViolation) as info:
        validate("plugin", "/no/such/archive.zip/plugin.contract.yml", None, read=read)
    assert asked == ["/no/such/archive.zip/plugin.contract.yml"]
    assert info.value.contract == "/no/such/archive.zip/plugin.contract.yml"


def test_registered_contract_is_named_in_messages() -> None:
    error = refusal(Contract(runtime=Runtime(python="<3")), FakeCaller("host", None), target="pkg.plugin")
    assert error.contract == "<registered contract for pkg.plugin>"
    assert "<registered contract for pkg.plugin>: runtime.python: expected <3" in str(error)


def test_register_and_unregister() -> None:
    contract = Contract(runtime=Runtime(python=">=3"))
    try:
        register("ish_registered.module", contract)
        assert REGISTRY["ish_registered.module"] is contract
    finally:
        unregister("ish_registered.module")
    assert "ish_registered.module" not in REGISTRY
    unregister("ish_registered.module")  # no error when absent


@pytest.mark.parametrize(
    ("contract", "key", "reason"),
    [
        (Contract(runtime=Runtime(python=">=3.x")), "runtime.python", "invalid version"),
        (Contract(runtime=Runtime(os=["linx"])), "runtime.os[0]", "unknown operating system"),
        (Contract(schema_version=2), "schema_version", "only 1"),
        (Contract(filename=""), "filename", "non-empty"),
    ],
)
def test_register_refuses_malformed_contracts(contract: Contract, key: str, reason: str) -> None:
    with pytest.raises(ContractError) as info:
        register("ish_bad", contract)
    assert info.value.key == key and reason in info.value.reason
    assert "ish_bad" not in REGISTRY


def test_register_checks_its_arguments() -> None:
    with pytest.raises(TypeError):
        register("x", {"runtime": {}})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        register(".relative", Contract())
