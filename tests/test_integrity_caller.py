"""A check never runs the application's code, and whatever the caller holds gives a verdict (§5, §7).

Issue 11 item 3, issue 12 item 2. The caller's structure is read from its source and from the *raw*
values of its module ``__dict__``: a lazy object (Django's ``LazyObject``/``LazySettings``, whose
``__class__`` evaluates it — ``isinstance`` reads ``__class__``), a PEP 562 module ``__getattr__``
serving ``__version__`` from ``importlib.metadata``, a module that replaced itself in
``sys.modules`` by a proxy, a huge computed int, a host source with an invalid escape sequence under
``-W error``, and a contract annotation too deep to parse all end in a clear verdict — a
``ContractViolation`` (or an admission when the contract holds) or a ``ContractError`` naming the
contract, its line, column and key — and never run host code nor land in a fail-open branch.

Every scenario runs in a child interpreter with the hook installed in enforce mode. A host object
that gets evaluated writes to the file ``$MARKER`` and prints ``EVALUATED``; a contracted module that
runs writes its name to ``$RAN_LOG``.
"""

from __future__ import annotations

import json
import py_compile
import re
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, run_script, write_files

# What the child prints on its last line: what a user importing the plugin observes.
ATTEMPT = """
def _attempt(name):
    import importlib, json
    try:
        importlib.import_module(name)
    except ValueError as exc:
        found = {"outcome": "refused", "type": type(exc).__name__, "text": str(exc)[:2000]}
    else:
        found = {"outcome": "admitted"}
    print("RESULT " + json.dumps(found), flush=True)
"""

# A lazy proxy in the manner of django.utils.functional.LazyObject: everything, ``__class__``
# included, evaluates the wrapped factory first.
LAZY = """
import os as _os
import sys as _sys


def connect():
    with open(_os.environ["MARKER"], "a") as handle:
        handle.write("connect\\n")
    print("EVALUATED", file=_sys.stderr, flush=True)
    raise RuntimeError("settings are not configured")  # Django's ImproperlyConfigured


class LazyObject:
    _wrapped = None

    def __init__(self, factory):
        self.__dict__["_factory"] = factory

    def _setup(self):
        self.__dict__["_wrapped"] = self._factory()

    def __getattr__(self, name):
        if self._wrapped is None:
            self._setup()
        return getattr(self._wrapped, name)

    def _get_class(self):
        if self._wrapped is None:
            self._setup()
        return type(self._wrapped)

    __class__ = property(_get_class)

    def __repr__(self):
        self._setup()
        return repr(self._wrapped)

    def __eq__(self, other):
        self._setup()
        return self._wrapped == other

    __hash__ = object.__hash__

    def __bool__(self):
        self._setup()
        return bool(self._wrapped)

    def __len__(self):
        self._setup()
        return len(self._wrapped)

    def __iter__(self):
        self._setup()
        return iter(self._wrapped)
"""

RAN = "import os as _os\nwith open(_os.environ['RAN_LOG'], 'a') as _f:\n    _f.write(__name__ + '\\n')\n"


def run_host(
    project: Path, files: dict[str, str], main: str, env: dict[str, str | None] | None = None
) -> tuple[dict[str, Any], Result, list[str], bool]:
    """Write ``files`` and ``main.py`` (``main`` after the probe), run it with the hook enforcing.

    Returns the RESULT line, the raw result, the contracted modules that ran, and whether any
    host object was evaluated (the marker file exists).
    """
    marker = project.parent / "evaluated.marker"
    log = project.parent / "ran.log"
    marker.unlink(missing_ok=True)
    log.unlink(missing_ok=True)
    write_files(project, {**files, "main.py": ATTEMPT + textwrap.dedent(main)})
    result = run_script(
        project / "main.py",
        cwd=project,
        env={"MARKER": str(marker), "RAN_LOG": str(log), **(env or {})},
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"child printed no RESULT line: {result!r}"
    ran = log.read_text(encoding="utf-8").split() if log.exists() else []
    return json.loads(lines[-1][len("RESULT ") :]), result, ran, marker.exists()


def assert_refused(found: dict[str, Any], *needles: str) -> None:
    assert found["outcome"] == "refused", found
    assert found["type"] == "ContractViolation", found
    for needle in needles:
        assert needle in found["text"], found


# --------------------------------------------------------------------------- lazy objects


LAZY_HOST = """
from lazy import LazyObject, connect

db = LazyObject(connect)                    # in the source, not a literal: filled from the module
globals()["cache"] = LazyObject(connect)    # only in the module


class Config:
    backend = LazyObject(connect)           # a class attribute that is not a literal


_attempt("plugin")
"""


def test_a_lazy_object_in_the_host_is_never_evaluated_by_a_refusal(project: Path) -> None:
    contract = """\
    variables:
      - name: db
        value: postgres
      - name: cache
        value: redis
    classes:
      - name: Config
        attributes:
          - name: backend
            type: class
            value: sqlite
    """
    found, result, ran, evaluated = run_host(
        project, {"lazy.py": LAZY, "plugin.py": RAN, "plugin.contract.yml": contract}, LAZY_HOST
    )
    assert_refused(found, "db", "cache", "backend")
    assert not evaluated and "EVALUATED" not in result.stderr, result
    assert ran == []


def test_a_lazy_object_named_by_a_presence_rule_admits_without_being_evaluated(project: Path) -> None:
    contract = """\
    variables:
      - name: db
      - name: cache
    classes:
      - name: Config
        attributes:
          - name: backend
            type: class
    """
    found, result, ran, evaluated = run_host(
        project, {"lazy.py": LAZY, "plugin.py": RAN, "plugin.contract.yml": contract}, LAZY_HOST
    )
    assert found == {"outcome": "admitted"}, result
    assert not evaluated and "EVALUATED" not in result.stderr, result
    assert ran == ["plugin"]


PROXY_MODULE = """
import os, sys

LEVEL = 3


class _Wrapper:
    def __init__(self, module):
        object.__setattr__(self, "_module", module)

    def __getattribute__(self, name):
        with open(os.environ["MARKER"], "a") as handle:
            handle.write(name + "\\n")
        return getattr(object.__getattribute__(self, "_module"), name)


sys.modules[__name__] = _Wrapper(sys.modules[__name__])
_attempt("plugin")
"""

# The lazy-module pattern: the module's class swapped for a subclass that intercepts attributes.
MODULE_SUBCLASS = """
import os, sys, types

LEVEL = 3


class _Logging(types.ModuleType):
    def __getattribute__(self, name):
        with open(os.environ["MARKER"], "a") as handle:
            handle.write(name + "\\n")
        return super().__getattribute__(name)


sys.modules[__name__].__class__ = _Logging
_attempt("plugin")
"""


@pytest.mark.parametrize(
    ("host", "as_main"),
    [(PROXY_MODULE, False), (MODULE_SUBCLASS, False), (MODULE_SUBCLASS, True)],
    ids=["proxy-in-sys-modules", "module-subclass", "module-subclass-as-main"],
)
def test_a_host_module_that_intercepts_attribute_access_is_not_touched(
    project: Path, host: str, as_main: bool
) -> None:
    """``sys.modules[__name__] = Wrapper(module)`` or ``module.__class__ = Sub``: attribute access on
    the host module is the host's code."""
    write_files(project, {"host.py": ATTEMPT + host})
    for contract, expected in (
        ("variables:\n  - name: LEVEL\n    value: 3\n", "admitted"),
        ("variables:\n  - name: LEVEL\n    value: 4\n", "refused"),
    ):
        found, result, ran, evaluated = run_host(
            project,
            {"plugin.py": RAN, "plugin.contract.yml": contract},
            host if as_main else "import host\n",
        )
        assert found["outcome"] == expected, result
        assert not evaluated, result
        if expected == "refused":
            assert_refused(found, "LEVEL")
            assert ran == []


# --------------------------------------------------------------------------- module __getattr__

GETATTR_HOST = """
import os


def __getattr__(name):
    with open(os.environ["MARKER"], "a") as handle:
        handle.write(name + "\\n")
    if name == "__version__":  # the usual "version from metadata when running from source"
        from importlib.metadata import version

        return version("hostdist-not-installed")  # raises PackageNotFoundError, not AttributeError
    raise AttributeError(name)

"""


def test_a_lazy_version_from_module_getattr_is_never_evaluated(project: Path) -> None:
    found, result, ran, evaluated = run_host(
        project,
        {"plugin.py": RAN, "plugin.contract.yml": 'version: "1.0"\n'},
        GETATTR_HOST + '_attempt("plugin")\n',
    )
    assert_refused(found, "version", "1.0", "no __version__")
    assert not evaluated, result
    assert ran == []


def test_a_lazy_version_falls_back_to_the_distribution_version(project: Path) -> None:
    dist = "hostdist-2.0.dist-info"
    files = {
        "hostmod.py": ATTEMPT + GETATTR_HOST + '_attempt("plugin")\n',
        f"{dist}/METADATA": "Metadata-Version: 2.1\nName: hostdist\nVersion: 2.0\n",
        f"{dist}/top_level.txt": "hostmod\n",
        f"{dist}/RECORD": f"hostmod.py,,\n{dist}/METADATA,,\n{dist}/RECORD,,\n",
        "plugin.py": RAN,
    }
    for required, expected in (('"2.0"', "admitted"), ('">=3"', "refused")):
        files["plugin.contract.yml"] = f"version: {required}\n"
        found, result, ran, evaluated = run_host(project, files, "import hostmod\n")
        assert found["outcome"] == expected, result
        assert not evaluated, result
        assert ran == (["plugin"] if expected == "admitted" else [])
        if expected == "refused":
            assert_refused(found, "2.0")


# --------------------------------------------------------------------------- values too large to show

HUGE_HOST = """
import sys

if hasattr(sys, "set_int_max_str_digits") and "UNLIMITED" in sys.argv:
    sys.set_int_max_str_digits(0)
N = 10**100000
NESTED = {"sizes": [1, 10**100000]}
_attempt("plugin")
"""


@pytest.mark.parametrize("digits", ["limited", "UNLIMITED"])
def test_a_huge_computed_int_gives_a_clear_mismatch_without_printing_it(project: Path, digits: str) -> None:
    contract = "variables:\n  - name: N\n    value: 5\n  - name: NESTED\n    value: {sizes: [1, 2]}\n"
    files = {"plugin.py": RAN, "plugin.contract.yml": contract}
    write_files(project, files)
    (project / "main.py").write_text(ATTEMPT + textwrap.dedent(HUGE_HOST), encoding="utf-8")
    marker = project.parent / "ran.log"
    result = run_script(project / "main.py", digits, cwd=project, env={"RAN_LOG": str(marker)})
    line = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert line, result
    found = json.loads(line[-1][len("RESULT ") :])
    assert_refused(found, "N = 5", "NESTED", "digits")
    assert len(result.stdout) + len(result.stderr) < 20_000, "the value was printed"
    assert not marker.exists()


def test_a_huge_computed_int_meets_a_presence_rule(project: Path) -> None:
    found, result, ran, _ = run_host(
        project,
        {"plugin.py": RAN, "plugin.contract.yml": "variables:\n  - name: N\n"},
        "N = 10**100000\n_attempt('plugin')\n",
    )
    assert found == {"outcome": "admitted"}, result
    assert ran == ["plugin"]


# --------------------------------------------------------------------------- warnings while parsing

ESCAPE_HOST = 'PATTERN = "\\d+"  # an invalid escape sequence: a warning, harmless\n_attempt("plugin")\n'


def _compiled_host(project: Path) -> None:
    """``host.py`` with an invalid escape, byte-compiled beforehand (as pip does at install time), so
    that the interpreter itself has nothing to warn about when the host is imported."""
    write_files(project, {"host.py": ATTEMPT + ESCAPE_HOST})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        py_compile.compile(str(project / "host.py"), doraise=True)


@pytest.mark.parametrize(
    ("how", "env"),
    [
        ("PYTHONWARNINGS=error", {"PYTHONWARNINGS": "error"}),
        ("filterwarnings = error (pytest)", {"PYTHONWARNINGS": None}),
    ],
)
def test_warnings_as_errors_do_not_refuse_a_compliant_host(
    project: Path, how: str, env: dict[str, str | None]
) -> None:
    _compiled_host(project)
    main = "import host\n"
    if "pytest" in how:
        main = "import warnings\nwarnings.simplefilter('error')\nimport host\n"
    found, result, ran, _ = run_host(
        project,
        {"plugin.py": RAN, "plugin.contract.yml": 'variables:\n  - name: PATTERN\n    value: "\\\\d+"\n'},
        main,
        env=env,
    )
    assert found == {"outcome": "admitted"}, result
    assert ran == ["plugin"]


def test_parsing_the_host_prints_no_warning_about_it(project: Path) -> None:
    _compiled_host(project)
    found, result, ran, _ = run_host(
        project,
        {"plugin.py": RAN, "plugin.contract.yml": "variables:\n  - name: PATTERN\n"},
        "import host\n",
        env={"PYTHONWARNINGS": "default"},  # show DeprecationWarning (3.10, 3.11) as well
    )
    assert found == {"outcome": "admitted"}, result
    assert ran == ["plugin"]
    assert not re.search(r"Warning|invalid escape", result.stderr), result.stderr


# --------------------------------------------------------------------------- contracts too deep to evaluate


def test_an_annotation_too_deep_to_parse_is_a_contract_error_naming_where(project: Path) -> None:
    union = " | ".join(f"T{index}" for index in range(3000))
    contract = f'runtime:\n  python: ">=3"\nvariables:\n  - name: LEVEL\n    annotation: "{union}"\n'
    found, result, ran, _ = run_host(
        project,
        {"plugin.py": RAN, "plugin.contract.yml": contract},
        "LEVEL: int = 3\n_attempt('plugin')\n",
    )
    assert found["outcome"] == "refused", result
    assert found["type"] == "ContractError", found
    assert re.search(r"plugin\.contract\.yml:5:\d+: variables\[0\]\.annotation: ", found["text"]), found
    assert ran == []


def test_a_huge_int_written_in_the_source_gives_a_clear_mismatch(project: Path) -> None:
    """A hex literal is not limited in digits when compiled, but has 4,800 decimal ones."""
    host = "N = 0x" + "f" * 4000 + "\n_attempt('plugin')\n"
    for contract, expected in (
        ("variables:\n  - name: N\n    value: 5\n", "refused"),
        ("variables:\n  - name: N\n", "admitted"),
    ):
        found, result, ran, _ = run_host(project, {"plugin.py": RAN, "plugin.contract.yml": contract}, host)
        assert found["outcome"] == expected, result
        if expected == "refused":
            assert_refused(found, "N = 5", "digits")
            assert ran == []
        assert len(result.stdout) + len(result.stderr) < 20_000, "the value was printed"


def test_a_registered_contract_with_an_annotation_too_deep_is_refused_at_registration() -> None:
    from importspy_hook import Contract, register
    from importspy_hook._contract_model import Variable
    from importspy_hook._errors import ContractError

    union = " | ".join(f"T{index}" for index in range(3000))
    contract = Contract(variables=(Variable(name="LEVEL", annotation=union),))
    with pytest.raises(ContractError, match=r"variables\[0\]\.annotation: annotation is nested too deeply"):
        register("never_imported_plugin", contract)
