"""Hostile sidecars (issue 7): bounded time and memory, and only ``ContractError`` or a verdict.

A sidecar is read on the import path of a program that did not write it (SPEC §6, §7). Whatever
it holds, the answer must be a ``ContractError`` naming ``file:line:column`` (or a contract, when
the YAML is legal and means something), quickly and in little memory; any other exception makes
the hook fail open, and a slow or huge parse stalls every process that imports the module.

What ``test_contract_parse.py`` and ``test_contract_fuzz.py`` already pin down is not repeated
(9-level alias expansion, 5,000 ``[``, one oversized string, a UTF-16 LE BOM, one NUL, the
``!!python/name`` tag, one merge-key precedence, small random documents). The gaps covered here:
the same attacks *scaled up* and placed in every section, measured in a separate interpreter
(CPU time and peak RSS, so neither pytest's memory nor tracemalloc's overhead counts); files
refused by size without being read; encodings, huge numbers, tags and merge keys in the places
the existing tests do not reach; and each hostile sidecar through a real import.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import child_env, run_script, write_files

from importspy_hook._check import load_contract
from importspy_hook._contract_parse import MAX_CONTRACT_BYTES
from importspy_hook._errors import ContractError

BUDGET_SECONDS = 2.5  # CPU s for an input well under the size cap: "~2 s", plus 25% for slow CI cores
BUDGET_MB = 100  # peak RSS growth while parsing and checking one input
# Pure-Python YAML reads about 150 KiB/s on a slow CI core: an input near the 1 MiB cap is allowed
# linear time (this much per 100 KiB), never more.
NEAR_CAP_SECONDS_PER_100_KIB = 2.0

# --------------------------------------------------------------------------- measuring in a child

_MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    from importspy_hook._check import check
    from importspy_hook._context import current_context
    from importspy_hook._check import load_contract
    from importspy_hook._contract_parse import parse_contract
    from importspy_hook._errors import ContractError

    class Caller:
        name, file, module = "app.host", sys.argv[2], None
        module_name = "app.host"

    context = current_context(
        os="linux", arch="x86_64", python="3.11.4", implementation="CPython",
        env={"MODE": "x"}, caller=Caller(), distributions={"packaging": "24.0"},
    )
    check(parse_contract("filename: host.py\\nvariables: [{name: MODE}]\\n"), context)  # warm up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    try:
        contract = load_contract(sys.argv[1])
        violations = check(contract, context)
        result = {"outcome": "contract", "violations": [v.describe() for v in violations][:5]}
    except ContractError as error:
        result = {"outcome": "ContractError", "text": str(error)[:300], "line": error.line,
                  "column": error.column, "key": error.key, "reason": error.reason[:200]}
    except BaseException as error:
        result = {"outcome": type(error).__name__, "text": str(error)[:300]}
    result["seconds"] = time.process_time() - started
    result["rss_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(json.dumps(result))
    """
)


def measure(tmp_path: Path, data: bytes | str, *, budget: float = BUDGET_SECONDS) -> dict[str, object]:
    """Load ``data`` as a sidecar and check it, in a fresh interpreter; what happened and its cost."""
    path = tmp_path / "hostile.contract.yml"
    path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    host = tmp_path / "host.py"
    host.write_text('__version__ = "1.0"\nMODE = "x"\n\ndef run(a: int = 1) -> str:\n    return ""\n')
    try:
        completed = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(path), str(host)],
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=10 * budget + 15,  # far over budget: a hang, report it instead of waiting
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"not answered within {10 * budget + 15:.0f} s (budget {budget} s)")
    assert completed.returncode == 0, completed.stderr[-2000:]
    result: dict[str, object] = json.loads(completed.stdout.splitlines()[-1])
    return result


def assert_bounded(result: dict[str, object], budget: float = BUDGET_SECONDS) -> None:
    assert result["outcome"] in ("ContractError", "contract"), result
    assert float(result["seconds"]) < budget, result  # type: ignore[arg-type]
    assert float(result["rss_mb"]) < BUDGET_MB, result  # type: ignore[arg-type]


def refused(result: dict[str, object], reason: str = "") -> None:
    assert result["outcome"] == "ContractError", result
    assert reason in str(result["reason"]), result
    assert str(result["text"]).startswith(str(result["text"]).split(":")[0])


# --------------------------------------------------------------------------- billion laughs


def _laughs(levels: int, width: int = 10, *, merge: bool = False) -> str:
    """``levels`` anchors, each referring ``width`` times to the previous one: width**levels nodes."""
    lines = ["variables:", "  - name: seed", "    value: &l0 {k: v}" if merge else "    value: &l0 [lol]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * width)
        body = f"{{<<: [{refs}]}}" if merge else f"[{refs}]"
        lines += [f"  - name: v{level}", f"    value: &l{level} {body}"]
    return "\n".join(lines) + "\n"


LAUGHS: dict[str, str] = {
    "values, 10**30 nodes": _laughs(30),
    "merge keys, 10**12 nodes": _laughs(12, merge=True),
}
# Deployments are lists of alternatives: each alias multiplies the alternatives the checker tries.
_DEPLOY = ["deployments:", "  - &d0 {arch: x86_64, systems: [{os: linux}]}"]
_DEPLOY += [f"  - &d{i} {{systems: [{', '.join([f'*d{i - 1}'] * 10)}]}}" for i in range(1, 12)]
LAUGHS["deployments"] = "\n".join(_DEPLOY) + "\n"
# Environment entries reached through aliases of whole systems.
_SYSTEMS = ["deployments:", "  - systems:"]
_SYSTEMS += ["      - &s0 {os: linux, environment: {variables: [{name: MODE}]}}"]
_SYSTEMS += [f"      - &s{i} [{', '.join([f'*s{i - 1}'] * 10)}]" for i in range(1, 12)]
LAUGHS["systems"] = "\n".join(_SYSTEMS) + "\n"


@pytest.mark.parametrize("document", LAUGHS.values(), ids=list(LAUGHS))
def test_exponential_aliases_are_refused_in_bounded_time_and_memory(tmp_path: Path, document: str) -> None:
    result = measure(tmp_path, document)
    assert_bounded(result)
    assert result["outcome"] == "ContractError", result


def test_a_few_aliases_still_make_a_valid_contract(tmp_path: Path) -> None:
    # The bound must not refuse ordinary reuse: an anchor used a handful of times is legal YAML.
    document = "deployments:\n  - &d {arch: x86_64, systems: [{os: linux}]}\n  - *d\n  - *d\n"
    result = measure(tmp_path, document)
    assert_bounded(result)
    assert result["outcome"] == "contract" and result["violations"] == [], result


# --------------------------------------------------------------------------- nesting

NESTING: dict[str, tuple[str, float]] = {
    "10,000 [": ("filename: " + "[" * 10_000 + "]" * 10_000 + "\n", BUDGET_SECONDS),
    "10,000 { }": ("filename: " + "{a: " * 10_000 + "b" + "}" * 10_000 + "\n", BUDGET_SECONDS),
    "10,000 [ unclosed": ("variables: [{name: v, value: " + "[" * 10_000 + "\n", BUDGET_SECONDS),
    "10,000 { } in a value": (
        "variables: [{name: v, value: " + "{a: " * 10_000 + "b" + "}" * 10_000 + "}]\n",
        BUDGET_SECONDS,
    ),
    "1,000 block mappings": (
        "".join(" " * level + f"k{level}:\n" for level in range(1_000)) + " " * 1_000 + "x\n",
        BUDGET_SECONDS,
    ),
    # Many shallow towers side by side: the YAML scanner's cost per token grows with the flow
    # depth, so 1 MiB of 200-deep brackets costs far more than 1 MiB of plain YAML.
    "1 MiB of 200-deep towers": (
        "filename: [" + ("[" * 200 + "]" * 200 + ", ") * (MAX_CONTRACT_BYTES // 410) + "]\n",
        NEAR_CAP_SECONDS_PER_100_KIB * 10,
    ),
}


@pytest.mark.parametrize(("document", "budget"), NESTING.values(), ids=list(NESTING))
def test_deep_nesting_is_refused_in_bounded_time_and_memory(
    tmp_path: Path, document: str, budget: float
) -> None:
    assert len(document.encode()) <= MAX_CONTRACT_BYTES  # reaches the parser, not the size check
    result = measure(tmp_path, document, budget=budget)
    assert_bounded(result, budget)
    refused(result)


def test_plain_yaml_near_the_size_cap_costs_linear_time(tmp_path: Path) -> None:
    # The largest file the cap lets through, of ordinary shape: what a parse can cost at worst
    # without any trick. Linear in size; the hostile inputs above must not cost more than this.
    entry = "  - name: v{0}\n    value: {0}\n"
    count = (MAX_CONTRACT_BYTES - 64) // len(entry.format(99_999))
    document = "variables:\n" + "".join(entry.format(i) for i in range(count))
    result = measure(tmp_path, document, budget=NEAR_CAP_SECONDS_PER_100_KIB * 10)
    assert_bounded(result, NEAR_CAP_SECONDS_PER_100_KIB * 10)
    assert result["outcome"] == "contract", result


# --------------------------------------------------------------------------- size


def _peak_while(action: Callable[[], object]) -> tuple[int, float, BaseException | None]:
    tracemalloc.start()
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        action()
    except BaseException as exc:
        error = exc
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, elapsed, error


@pytest.mark.parametrize("size", [MAX_CONTRACT_BYTES + 1, 50 * MAX_CONTRACT_BYTES], ids=["1MiB+1", "50MiB"])
def test_oversized_files_are_refused_without_being_read(tmp_path: Path, size: int) -> None:
    path = tmp_path / "big.contract.yml"
    with open(path, "wb") as handle:  # valid YAML all through: only the size can refuse it
        handle.write(b"filename: host.py\n")
        handle.write(b"#" * (size - 19) + b"\n")
    assert path.stat().st_size == size
    peak, elapsed, error = _peak_while(lambda: load_contract(path))
    assert isinstance(error, ContractError) and "larger than" in error.reason, error
    assert error.path == str(path)
    assert peak < MAX_CONTRACT_BYTES // 4, f"{peak} bytes allocated: the file was read"
    assert elapsed < 0.5


def test_a_file_exactly_at_the_cap_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "edge.contract.yml"
    path.write_bytes(b"filename: host.py\n" + b"#" * (MAX_CONTRACT_BYTES - 19) + b"\n")
    assert path.stat().st_size == MAX_CONTRACT_BYTES
    assert load_contract(path).filename == "host.py"


# --------------------------------------------------------------------------- bytes and encodings

_rng = random.Random(7)
ENCODINGS: dict[str, bytes] = {
    "random bytes 64 KiB": bytes(_rng.getrandbits(8) for _ in range(65_536)),
    "random bytes, no NUL": bytes(_rng.randrange(1, 256) for _ in range(65_536)),
    "ELF header": b"\x7fELF\x02\x01\x01" + bytes(range(1, 256)) * 64,
    "PNG header": b"\x89PNG\r\n\x1a\n" + b"\xff\xfe\xfd" * 1000,
    "UTF-16 BE BOM": "\ufefffilename: host.py\n".encode("utf-16-be"),
    "UTF-32 LE BOM": "filename: host.py\n".encode("utf-32"),
    "UTF-16 without BOM": "filename: host.py\n".encode("utf-16-le"),
    "overlong UTF-8 slash": b"filename: \xc0\xaf\n",
    "UTF-8 encoded surrogate": b"filename: \xed\xa0\x80\n",
    "invalid UTF-8 in a key": b"variables: [{n\xffame: a}]\n",
    "invalid UTF-8 in a comment": b"filename: host.py # \xfe\n",
    "truncated UTF-8 at end": b"filename: host\xe2\x82",
    "NUL inside a quoted string": b'filename: "host\x00.py"\n',
    "NUL at the very end": b"filename: host.py\n\x00",
    "C1 control characters": "filename: host\u0085\u0086.py\n".encode(),
    "lone surrogate escape": b'filename: "\\ud800"\n',
}


@pytest.mark.parametrize("data", ENCODINGS.values(), ids=list(ENCODINGS))
def test_binary_and_broken_encodings(tmp_path: Path, data: bytes) -> None:
    result = measure(tmp_path, data)
    assert_bounded(result)
    if result["outcome"] == "ContractError":
        assert int(result["line"]) >= 1 or "larger" in str(result["reason"]), result  # type: ignore[call-overload]


# --------------------------------------------------------------------------- numbers

DIGITS = "9" * 100_000
NUMBERS: dict[str, str] = {
    "version: 1e1000000": "version: 1e1000000\n",
    "value with 100,000 digits": f"variables: [{{name: MODE, value: {DIGITS}}}]\n",
    "hex value with 100,000 digits": f"variables: [{{name: MODE, value: 0x{'f' * 100_000}}}]\n",
    "binary value, 300,000 digits": f"variables: [{{name: MODE, value: 0b{'1' * 300_000}}}]\n",
    "float with 100,000 digits": f"variables: [{{name: MODE, value: 1{'0' * 100_000}.5}}]\n",
    "default with 100,000 digits": (
        f"functions: [{{name: run, arguments: [{{name: a, value: {DIGITS}}}]}}]\n"
    ),
    "schema_version with 100,000 digits": f"schema_version: {DIGITS}\n",
    "secret value with 100,000 digits": (
        f"runtime: {{environment: {{MODE: {{value: {DIGITS}, secret: true}}}}}}\n"
    ),
    "python specifier, 100,000-digit release": f'runtime: {{python: ">=3.{DIGITS}"}}\n',
    "pythons version, 100,000-digit release": (
        f'deployments: [{{systems: [{{pythons: [{{version: "3.{DIGITS}"}}]}}]}}]\n'
    ),
    "dependency specifier, 100,000 digits": f'dependencies: {{packaging: {{version: "<{DIGITS}"}}}}\n',
    "module version, 100,000 digits": f'version: "1.{DIGITS}"\n',
    "module version specifier, 100,000 digits": f'version: "=={DIGITS}"\n',
}


@pytest.mark.parametrize("document", NUMBERS.values(), ids=list(NUMBERS))
def test_huge_numbers(tmp_path: Path, document: str) -> None:
    # Python >= 3.10.7 refuses int <-> str conversions over 4,300 digits with a ValueError: a
    # contract must not be able to turn that into an internal error of the hook.
    assert_bounded(measure(tmp_path, document))


# --------------------------------------------------------------------------- tags, merges, duplicates

APPLY = "!!python/object/apply:os.system ['touch {marker}']"
TAGS: dict[str, str] = {
    "object/apply on a value": f"filename: {APPLY}\n",
    "object on a mapping": "runtime: !!python/object:os.Popen {{args: ['touch', '{marker}']}}\n",
    "tag on a key": f"? {APPLY}\n: x\n",
    "verbatim tag": "filename: !<tag:yaml.org,2002:python/object/apply:os.system> ['touch {marker}']\n",
    "tag behind an alias": f"variables: [{{{{name: a, value: &x {APPLY}}}}}, {{{{name: b, value: *x}}}}]\n",
    "tag inside a merge": f"variables: [{{{{<<: {APPLY}, name: a}}}}]\n",
    "tag on a deep value": "variables: [{{name: a, value: [[{{k: !!python/tuple [1, '{marker}']}}]]}}]\n",
    "%TAG shorthand": "%TAG !p! tag:yaml.org,2002:python/\n---\n"
    "filename: !p!object/apply:os.system ['touch {marker}']\n",
}


@pytest.mark.parametrize("template", TAGS.values(), ids=list(TAGS))
def test_python_tags_are_refused_and_never_constructed(tmp_path: Path, template: str) -> None:
    marker = tmp_path / "constructed"
    result = measure(tmp_path, template.format(marker=marker))
    assert_bounded(result)
    refused(result, "not allowed")
    assert int(result["line"]) >= 1, result  # type: ignore[call-overload]
    assert not marker.exists()


MERGES: dict[str, tuple[str, str | None]] = {
    # (document, None for a valid contract or the reason of the ContractError)
    "merge of a scalar": ("variables: [{<<: 1, name: a}]\n", "expected a mapping"),
    "merge of a list of scalars": ("variables: [{<<: [1, 2], name: a}]\n", "expected a mapping"),
    "merge into itself": ("variables: [&a {<<: *a, name: a}]\n", "nested too deeply"),
    "merge brings an unknown key": ("variables: [&a {name: a, x: 1}, {<<: *a, name: b}]\n", "unknown key"),
    "merge at the top": ("<<: {filename: host.py}\nversion: '1.0'\n", None),
    "merge supplies the required name": ("variables: [&a {name: MODE}, {<<: *a, value: x}]\n", None),
}


@pytest.mark.parametrize(("document", "reason"), MERGES.values(), ids=list(MERGES))
def test_merge_keys(tmp_path: Path, document: str, reason: str | None) -> None:
    result = measure(tmp_path, document)
    assert_bounded(result)
    if reason is None:
        assert result["outcome"] == "contract" and result["violations"] == [], result
    else:
        refused(result, reason)


DUPLICATES = {
    "at the top": "filename: a.py\nfilename: host.py\n",
    "in a nested mapping": "runtime: {os: linux, python: '3.11', os: darwin}\n",
    "same text, different YAML types": "variables: [{name: a, 1: x, '1': y}]\n",
    "in an environment mapping": "runtime: {environment: {MODE: x, MODE: y}}\n",
    "in a dependency table": "dependencies: {packaging: null, packaging: {required: true}}\n",
}


@pytest.mark.parametrize("document", DUPLICATES.values(), ids=list(DUPLICATES))
def test_duplicate_keys_are_refused_where_they_are_written(tmp_path: Path, document: str) -> None:
    result = measure(tmp_path, document)
    assert_bounded(result)
    refused(result, "duplicate key")
    assert int(result["line"]) >= 1 and int(result["column"]) >= 1, result  # type: ignore[call-overload]


def test_nul_characters_from_escapes_are_only_text(tmp_path: Path) -> None:
    # "\0" in a double-quoted scalar is legal YAML: it may never match anything, but must not break
    # the environment lookup, fnmatch or the structure reader.
    document = (
        'filename: "host\\0.py"\n'
        'variables: [{name: "MO\\0DE", value: "x\\0"}]\n'
        'importers: {allow: ["app\\0*"]}\n'
        'runtime: {environment: {"MO\\0DE": x}}\n'
    )
    result = measure(tmp_path, document)
    assert_bounded(result)
    assert result["outcome"] == "contract" and len(result["violations"]) == 4, result  # type: ignore[arg-type]


# --------------------------------------------------------------------------- through a real import

REAL_IMPORT: dict[str, bytes] = {
    "alias bomb": _laughs(30).encode(),
    "deep nesting": ("filename: " + "[" * 10_000 + "]" * 10_000 + "\n").encode(),
    "over 1 MiB": b"filename: host.py\n" + b"#" * MAX_CONTRACT_BYTES + b"\n",
    "binary": bytes(_rng.randrange(1, 256) for _ in range(4096)),
    "invalid UTF-8": b"filename: host.py\nversion: \xff\n",
    "UTF-16 BOM": "filename: host.py\n".encode("utf-16"),
    "huge integer release": f'runtime: {{python: ">=3.{DIGITS}"}}\n'.encode(),
    "NUL byte": b"filename: host\x00.py\n",
    "python tag": b"filename: !!python/object/apply:os.getcwd []\n",
    "duplicate key": b"filename: a.py\nfilename: host.py\n",
}

HOST = """\
import sys
from importspy_hook import ContractError, ContractViolation

import good  # a module with a valid contract this host meets
try:
    import bad
except ContractError as error:
    print(f"REFUSED|{error.path}|{error.line}|{error.column}")
    print("TEXT|" + str(error).splitlines()[0][:300])
except ContractViolation as violation:  # legal YAML that means something: a verdict
    print(f"VIOLATED|{violation.contract}")
else:
    print("ADMITTED")
import json  # unrelated imports keep working after the refusal
import plain
import good_too
print(f"BAD|{'bad' in sys.modules}")
print(f"OK|{plain.VALUE} {good.VALUE} {good_too.VALUE}")
"""


@pytest.mark.parametrize("data", REAL_IMPORT.values(), ids=list(REAL_IMPORT))
def test_a_hostile_sidecar_refuses_only_its_module(project: Path, data: bytes) -> None:
    write_files(
        project,
        {
            "host.py": HOST,
            "bad.py": "RAN = True\n",
            "good.py": "VALUE = 1\n",
            "good.contract.yml": "filename: host.py\n",
            "good_too.py": "VALUE = 2\n",
            "good_too.contract.yml": "runtime: {python: '>=3.10'}\n",
            "plain.py": "VALUE = 3\n",
        },
    )
    (project / "bad.contract.yml").write_bytes(data)
    started = time.monotonic()
    result = run_script(project / "host.py", timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result
    lines = dict(line.split("|", 1) for line in result.stdout.splitlines() if "|" in line)
    assert lines["BAD"] == "False" and lines["OK"] == "3 1 2", result
    if "VIOLATED" in lines:  # only where the document is legal: a refusal by the contract itself
        assert data.startswith(b"runtime:") and lines["VIOLATED"] == str(project / "bad.contract.yml")
        return
    assert "REFUSED" in lines, result
    path, line, column = lines["REFUSED"].rsplit("|", 2)
    assert path == str(project / "bad.contract.yml")
    text = lines["TEXT"]
    if "larger than" in text:  # refused by size: nothing was parsed, so no position
        assert text.startswith(f"{path}: ")
    else:
        assert int(line) >= 1 and int(column) >= 1, result
        assert text.startswith(f"{path}:{line}:{column}: "), text
    assert elapsed < 2 * BUDGET_SECONDS + 8, f"{elapsed:.1f} s"  # child start-up included
    assert "Traceback" not in result.stderr and "internal_error" not in result.stderr, result.stderr
