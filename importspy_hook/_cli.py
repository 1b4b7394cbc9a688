"""The ``importspy-hook`` command line (§9): ``status``, ``context``, ``init``, ``lint``, ``check``.

Built the way Python developers expect their tools to behave (ruff, pytest, pip):

* **Scriptable.** Exit codes are 0 (all well), 1 (violations, lint errors) and 2 (unusable input:
  usage errors, unreadable or malformed files). ``--format json`` for ``status``, ``lint`` and
  ``check``, and ``check --format sarif`` (SARIF 2.1.0) for CI code scanning.
* **One clear line for bad input.** Usage errors and unreadable files print
  ``importspy-hook: error: …`` on stderr, never a traceback and never a page of usage text.
* **No second implementation of any rule.** Every verdict comes from the engine the hook itself
  uses (``load_contract``, ``current_context``, ``check``, ``read_structure``), so the command line
  and an import can never disagree.
* **Fast help.** Only ``argparse`` is imported before the arguments are parsed; each subcommand
  imports what it needs (attrs, ruamel.yaml, packaging) when it runs.
* **Secret values never appear.** ``context`` prints environment variable *names*; values only with
  ``--values``, and even then not for names that look like credentials. ``--set env.NAME=…`` values
  are never echoed. Every path printed (contracts, callers, files found, the interpreter, the
  working directory in SARIF) goes through :func:`_shown`, the hook's own rule for paths.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs ~3 ms of every --help
if TYPE_CHECKING:  # pragma: no cover - typing only
    from pathlib import Path
    from typing import Any, NoReturn, TextIO

    from ._caller import Caller
    from ._context import Context
    from ._errors import ContractError, Violation
    from ._structure import Structure

__all__ = ["main"]

PROG = "importspy-hook"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

# Directories never searched by ``lint`` (virtual environments, VCS data, caches).
SKIPPED_DIRECTORIES = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "node_modules", "__pycache__", ".tox", ".nox",
        ".mypy_cache", ".pytest_cache", ".ruff_cache",
    }
)  # fmt: skip


class UsageError(Exception):
    """Unusable input: reported as one line on stderr, exit status 2.

    ``contract_error``: the malformed contract behind it, when there is one, so that the JSON and
    SARIF reports of ``check`` can point at its line and column.
    """

    def __init__(self, message: str, contract_error: ContractError | None = None) -> None:
        super().__init__(message)
        self.contract_error = contract_error


# ============================================================================== the parser


class _Parser(argparse.ArgumentParser):
    """``argparse`` whose errors are one line (``importspy-hook: error: …``), not usage + error."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{_without_values(message)} (see '{self.prog} --help')")


_UNRECOGNIZED = "unrecognized arguments: "
_NOT_SHOWN = "<value not shown>"


def _without_values(message: str) -> str:
    """An argparse message with no value the user typed for ``--set`` (§6, usage errors).

    No contract has been read when the arguments are rejected, so nothing proves a value is not a
    secret (``value_may_be_shown(name, None)``): ``KEY=VALUE`` words keep their key only, and of
    unrecognized arguments only options are named (``--set env.TOKEN $TOKEN`` makes the token one).
    """
    import re

    from ._errors import value_may_be_shown

    def assignment(match: re.Match[str]) -> str:
        key = match.group(1)
        name = key[4:] if key.startswith("env.") else key
        return match.group(0) if value_may_be_shown(name, None) else f"{key}={_NOT_SHOWN}"

    if message.startswith(_UNRECOGNIZED):
        # A value can start with "-" (``--set env.TOKEN -x9...``): only words shaped like this tool's
        # own long options (``--`` and lower-case words) are named, everything else is counted.
        words = message[len(_UNRECOGNIZED) :].split(" ")
        options = [word for word in words if re.fullmatch(r"--[a-z]+(?:-[a-z]+)*", word)]
        others = len(words) - len(options)
        if others:
            plural = "s" if others != 1 else ""
            options.append(f"{others} other argument{plural} (not shown: may hold a value)")
        message = _UNRECOGNIZED + ", ".join(options)
    return re.sub(r"([^\s'=]+)=[^\s']*", assignment, message)


_DESCRIPTION = """\
An import guard driven by sidecar contracts: a module plugin.py ships plugin.contract.yml, and the
hook checks every importer against it before the module's code runs. These commands show what the
hook sees, write and check contracts, and evaluate them without importing anything."""

_EPILOG = """\
exit status: 0 all well, 1 violations or lint errors, 2 unusable input.
environment: IMPORTSPY_HOOK (enforce|warn|off), IMPORTSPY_HOOK_EXCLUDE, IMPORTSPY_HOOK_LOADERS,
IMPORTSPY_HOOK_LOG (console|json|stdlib|off), IMPORTSPY_HOOK_LOG_LEVEL (debug..critical),
IMPORTSPY_HOOK_AUDIT.

examples:
  importspy-hook status
  importspy-hook context > here.contract.yml
  importspy-hook init --caller host.py -o plugins/greeter.contract.yml
  importspy-hook lint
  importspy-hook check plugins/greeter.contract.yml --caller host.py --set os=windows"""


def _build_parser() -> _Parser:
    from . import __version__
    from ._errors import CREDENTIAL_HINTS

    parser = _Parser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    status = commands.add_parser(
        "status",
        help="is the hook active here: version, mode, start-up file, log settings",
        description="Show whether the hook is active in this environment: version, mode "
        "(IMPORTSPY_HOOK), start-up file location, exclusions, loaders and log settings. "
        "Always exits 0.",
    )
    _add_format(status, ("human", "json"))

    context = commands.add_parser(
        "context",
        help="the current execution context, as contract YAML",
        description="Print the context an import would be judged against (OS, architecture, Python "
        "version and implementation, environment variables, installed distributions) as a "
        "contract that this environment meets. Environment variables are listed by name only.",
    )
    context.add_argument(
        "--values",
        action="store_true",
        help="also print environment variable values (never for names that look like secrets: "
        + ", ".join(CREDENTIAL_HINTS[:6])
        + ", ...)",
    )

    init = commands.add_parser(
        "init",
        help="a starter contract from a caller's source and this platform",
        description="Write a starter contract from the structure of a caller file (read, never "
        "executed: variables with literal values, functions, classes with their methods and "
        "arguments) and a runtime block for this platform. The caller passes it in this "
        "environment. Refuses to overwrite an existing file (exit 2).",
    )
    init.add_argument("--caller", required=True, metavar="FILE", help="the importing module's source file")
    init.add_argument("-o", "--output", metavar="OUT", help="write here instead of standard output")

    lint = commands.add_parser(
        "lint",
        help="check contract files for errors",
        description="Parse contract files and report every error of each as path:line:col: message. "
        "A wheel (.whl) is opened and the contracts it ships are linted; a wheel without any fails. "
        "Directories are searched recursively for *.contract.yml / *.contract.yaml (skipping "
        ".git, .venv, node_modules, __pycache__ and tool caches); with no PATH, the current "
        "directory. A sidecar that has no module beside it is reported as a warning. "
        "Exit 1 on any error.",
    )
    lint.add_argument("paths", nargs="*", metavar="PATH", help="contract files, directories or wheels")
    lint.add_argument("-q", "--quiet", action="store_true", help="print errors only, no summary")
    _add_format(lint, ("human", "json"))

    check = commands.add_parser(
        "check",
        help="evaluate a contract against this or a simulated context",
        description="Evaluate CONTRACT against the current context, or a simulated one (--set), "
        "with the caller read statically from --caller (never executed). Without --caller there "
        "is no importing module, so structural requirements fail. Exit 0 compliant, "
        "1 violations, 2 unusable input.",
    )
    check.add_argument("contract", metavar="CONTRACT", help="the contract file")
    check.add_argument("--caller", metavar="FILE", help="the importing module's source file")
    check.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="simulate a context value: os=, arch=, python=, interpreter=, env.NAME= (repeatable)",
    )
    check.add_argument(
        "--unset",
        action="append",
        default=[],
        metavar="NAME",
        help="simulate environment variable NAME being unset (repeatable)",
    )
    _add_format(check, ("human", "json", "sarif"))
    return parser


def _add_format(parser: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    parser.add_argument(
        "--format",
        choices=choices,
        default="human",
        help=f"output format ({', '.join(choices)}; default: human)",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (never raises for bad input)."""
    try:
        parser = _build_parser()
        try:
            options = parser.parse_args(argv)
        except SystemExit as exc:  # --help / --version
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        if options.command is None:
            parser.print_help()
            return EXIT_USAGE
        handler = _HANDLERS[options.command]
        return handler(options)
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `importspy-hook context | head`
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_FAILED


def _error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    sys.stderr.flush()


# ============================================================================== shared helpers


def _shown(path: str) -> str:
    """``path`` as every output of this command line prints it: as written, unless it holds a
    secret (a directory named after a token, a URL with credentials), then ``<path withheld>/<file
    name>`` — the rule the hook's own messages and log events use for a contract (§6,
    ``shown_path``), so that ``lint`` or ``check`` in a CI log never shows what an import refusal
    withholds. Applied to the very text that is printed (relative or absolute), not to another
    spelling of the path: a relative path that does not hold the value shows nothing of it."""
    from ._errors import shown_path  # loaded only when a path is printed: --help stays light

    return shown_path(path)


def _display(path: str) -> str:
    """A path as the user should see it: relative to the working directory when inside it."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive on Windows
        return _shown(absolute)
    return _shown(absolute if relative.startswith(os.pardir) else relative)


def _write_new(path: str, text: str) -> None:
    """Create ``path`` with ``text``; never overwrites (``init -o``)."""
    try:
        with open(path, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except FileExistsError:
        raise UsageError(f"{_shown(path)} already exists; not overwriting it") from None
    except OSError as exc:
        raise UsageError(f"cannot write {_shown(path)}: {_os_reason(exc)}") from None


def _os_reason(exc: OSError) -> str:
    """Why an operating system call failed, without the file name ``str(exc)`` would repeat raw."""
    return exc.strerror or type(exc).__name__


def _dump_json(data: object, stream: TextIO | None = None) -> None:
    import json

    out = sys.stdout if stream is None else stream
    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def module_name_for_file(path: str) -> str:
    """``pkg/sub/mod.py`` → ``pkg.sub.mod`` when the directories are packages, else ``mod``."""
    directory, filename = os.path.split(path)
    stem = filename.split(".", 1)[0] or filename
    parts = [] if stem == "__init__" else [stem]
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, package = os.path.split(directory)
        if not package:
            break
        parts.insert(0, package)
    return ".".join(parts) or stem


def _caller_from_file(path: str) -> Caller:
    """The caller of §5 for a file named on the command line: read statically, never imported."""
    from ._caller import Caller

    absolute = os.path.abspath(path)
    if not os.path.exists(absolute):
        raise UsageError(f"caller {_shown(path)}: no such file")
    if not os.path.isfile(absolute):
        raise UsageError(f"caller {_shown(path)}: not a file")
    if not os.access(absolute, os.R_OK):
        raise UsageError(f"caller {_shown(path)}: not readable")
    return Caller(module_name_for_file(absolute), absolute, None)


def _caller_structure(caller: Caller, path: str) -> Structure:
    from ._structure import read_structure

    structure = read_structure(caller)
    if not structure[3]:  # has_source
        raise UsageError(f"caller {_shown(path)}: not readable Python source (syntax or encoding error?)")
    return structure


def _load(path: str) -> Any:
    """The contract at ``path``; a missing or malformed file is unusable input (exit 2)."""
    from ._check import load_contract
    from ._errors import ContractError

    if os.path.isdir(path):
        raise UsageError(f"{_shown(path)}: is a directory, not a contract file")
    if not os.path.exists(path):
        raise UsageError(f"{_shown(path)}: no such file")
    try:
        return load_contract(path)
    except ContractError as exc:
        raise UsageError(str(exc), exc) from None


# -- YAML writing. Contracts are written by hand rather than through ruamel.yaml: the output is a
#    small fixed shape, the text must be stable and reviewable, and every scalar is quoted exactly
#    when YAML would otherwise read it as something else (``3.10`` as a float, ``no`` as false).

_PLAIN_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null", "none", "y", "n", "~"})


def _is_plain(text: str) -> bool:
    if not text or text.lower() in _PLAIN_RESERVED:
        return False
    if not (text[0].isascii() and (text[0].isalpha() or text[0] == "_")):
        return False
    return all(ch.isascii() and (ch.isalnum() or ch in "_-.") for ch in text)


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (escapes everything YAML does not allow raw)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F or (code >= 0xA0 and ch.isprintable()):
            out.append(ch)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _scalar(text: str) -> str:
    return text if _is_plain(text) else _quote(text)


def _flow_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(_scalar(item) for item in items) + "]"


def _runtime_lines(context: Context, python: str) -> list[str]:
    return [
        "runtime:",
        f"  python: {_quote(python)}",
        f"  os: {_flow_list([context.os])}",
        f"  architecture: {_flow_list([context.arch])}",
        f"  implementation: {_flow_list([context.implementation])}",
    ]


# ============================================================================== status


def _startup_files() -> list[str]:
    """Where the start-up files of §2 are installed for this interpreter (site directories only:
    a checkout's copy of the file does nothing)."""
    import site
    import sysconfig

    directories: list[str] = []
    try:
        directories.extend(site.getsitepackages())
    except AttributeError:  # old virtualenv's site.py
        pass
    if site.ENABLE_USER_SITE:
        directories.append(site.getusersitepackages())
    paths = sysconfig.get_paths()
    directories.extend(paths[key] for key in ("purelib", "platlib") if key in paths)
    found: list[str] = []
    seen: set[str] = set()
    for directory in directories:
        real = os.path.realpath(directory)
        if real in seen:
            continue
        seen.add(real)
        for name in ("importspy_hook.pth", "importspy_hook.start"):
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                found.append(candidate)
    return found


def _status(options: argparse.Namespace) -> int:
    from _importspy_hook_startup import active_finder, parse_mode

    from . import __version__
    from ._log import level_name, reset, settings

    finder = active_finder()
    raw_mode = os.environ.get("IMPORTSPY_HOOK")
    configured, warning = parse_mode(raw_mode)
    startup = _startup_files()
    reset()  # report what the environment says now, not what an earlier event cached
    renderer, level = settings()
    facts = _platform_summary()
    if finder is not None:
        state = f"active ({finder.mode})"
    elif configured is None:
        state = "off (IMPORTSPY_HOOK says off: nothing is installed at start-up)"
    elif not startup:
        state = "not active: no start-up file, not installed here (importspy_hook.install() works by hand)"
    else:
        state = "not active although the start-up file is present (python -S and -I skip it)"
    report: dict[str, Any] = {
        "version": __version__,
        "package": _shown(os.path.dirname(os.path.abspath(__file__))),
        "python": {"executable": _shown(sys.executable), **facts},
        "active": finder is not None,
        "mode": finder.mode if finder is not None else None,
        "configured_mode": configured or "off",
        "startup_files": [_shown(path) for path in startup],
        "settings": {
            name: os.environ.get(name)
            for name in (
                "IMPORTSPY_HOOK",
                "IMPORTSPY_HOOK_EXCLUDE",
                "IMPORTSPY_HOOK_LOADERS",
                "IMPORTSPY_HOOK_LOG",
                "IMPORTSPY_HOOK_LOG_LEVEL",
                "IMPORTSPY_HOOK_AUDIT",
            )
        },
        "log": {"renderer": renderer, "level": level_name(level)},
    }
    warnings = [warning.removeprefix("importspy-hook: ")] if warning else []
    warnings.extend(_pattern_warnings("IMPORTSPY_HOOK_EXCLUDE", True))
    warnings.extend(_pattern_warnings("IMPORTSPY_HOOK_LOADERS", False))
    report["warnings"] = warnings
    if options.format == "json":
        _dump_json(report)
        return EXIT_OK
    shown_mode = "(unset)" if raw_mode is None else repr(raw_mode)
    lines = [
        f"importspy-hook {__version__}",
        f"  package:         {report['package']}",
        f"  python:          {report['python']['executable']} ({facts['implementation']} {facts['python']}, "
        f"{facts['os']} {facts['arch']})",
        f"  hook:            {state}",
        f"  IMPORTSPY_HOOK:  {shown_mode} -> {configured or 'off'}",
        "  start-up file:   "
        + ("\n                   ".join(report["startup_files"]) or "none found in the site directories"),
        f"  exclude:         {os.environ.get('IMPORTSPY_HOOK_EXCLUDE') or '(none)'}",
        f"  loaders:         {os.environ.get('IMPORTSPY_HOOK_LOADERS') or '(none)'}",
        f"  log:             {renderer}, level {level_name(level)}",
        f"  audit:           {os.environ.get('IMPORTSPY_HOOK_AUDIT') or '(off)'}",
    ]
    lines.extend(f"  warning:         {text}" for text in warnings)
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def _pattern_warnings(variable: str, exclude: bool) -> list[str]:
    """Patterns of ``variable`` that name a package the way people write it, and match nothing useful.

    The patterns are ``fnmatch`` on *full* module names: ``pluggy`` matches the module ``pluggy``
    only, never ``pluggy._hooks`` where a plugin loader's frames are, and ``plugins`` excludes the
    package's ``__init__`` but checks every ``plugins.x``. Nothing fails — the setting just does
    nothing useful — so ``status`` says it. A name also covered with a wildcard (``vendored`` next
    to ``vendored.*``) is deliberate and not reported.
    """
    from fnmatch import fnmatchcase

    patterns = [p.strip() for p in os.environ.get(variable, "").split(",") if p.strip()]
    found = []
    for pattern in patterns:
        if any(char in pattern for char in "*?["):
            continue
        if any(fnmatchcase(f"{pattern}.x", other) for other in patterns):
            continue
        keep = f" (and keep {pattern!r} for the package itself)" if exclude else ""
        found.append(
            f"{variable}: {pattern!r} matches the module named exactly {pattern!r}, not its submodules "
            f"(patterns are fnmatch on full module names): write '{pattern}.*' for a package{keep}"
        )
    return found


def _platform_summary() -> dict[str, str]:
    from ._context import platform_facts

    facts = platform_facts()
    return {
        "os": facts.os,
        "arch": facts.arch,
        "python": facts.python_version,
        "implementation": facts.implementation,
    }


# ============================================================================== context


def _dependency_requirement(version: str) -> str:
    """An exact pin: ``==1.2.3``, or ``===text`` for a version that is not PEP 440."""
    from packaging.version import InvalidVersion, Version

    try:
        Version(version)
    except InvalidVersion:
        return f"==={version}"
    return f"=={version}"


def _context(options: argparse.Namespace) -> int:
    from ._context import current_context
    from ._errors import holds_withheld, value_may_be_shown, withheld_values

    context = current_context()
    # no contract here: the name rule alone decides, and a plain name holding a copy of a withheld
    # value (DB=<DATABASE_URL's value>) is withheld with it
    withheld = withheld_values(context.environ, ()) if options.values else ()
    lines = [
        "# The execution context of this interpreter, as a contract it meets (importspy-hook context).",
        f"# {_shown(sys.executable)}: {context.implementation} {context.python_version} on "
        f"{context.os} {context.arch}",
        "# Environment variables are listed by name (a null value means 'must be set')"
        + ("; values shown except for names that look like secrets." if options.values else "."),
        *_runtime_lines(context, context.python_version),
    ]
    names = sorted(name for name in context.environ if name and "=" not in name)
    if names:
        lines.append("  environment:")
        for name in names:
            key = _scalar(name)
            if not options.values:
                lines.append(f"    {key}:")
            elif not value_may_be_shown(name, ()):
                lines.append(f"    {key}:  # value withheld: the name looks like a secret")
            elif holds_withheld(context.environ[name], withheld):
                lines.append(f"    {key}:  # value withheld: it holds the value of a secret")
            else:
                lines.append(f"    {key}: {_quote(context.environ[name])}")
    distributions = context.distributions()
    if distributions:
        lines.append("dependencies:")
        for name in sorted(distributions):
            requirement = _dependency_requirement(distributions[name])
            lines.append(f"  {_scalar(name)}: {{version: {_quote(requirement)}}}")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


# ============================================================================== init


def _literal_text(value: object) -> str | None:
    """The YAML text of a variable's value, for the values a contract compares reliably."""
    import math

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return _quote(value)
    return None  # lists, dicts, None, non-literals: the name alone is required


def _public(name: str) -> bool:
    return not name.startswith("_")


def _init_lines(structure: Structure, context: Context, path: str) -> list[str]:
    from ._structure import last_dotted_part

    _, filename, version, _, variables, functions, classes, _ = structure
    lines = [
        f"# Starter contract generated by `importspy-hook init` from {os.path.basename(_shown(path))}.",
        "# Save it next to the module it guards as <module>.contract.yml, then keep only what that",
        "# module really needs from its importer (public names only are listed).",
    ]
    if filename:
        lines.append(f"filename: {_scalar(filename)}")
    if version:
        lines.append(f"version: {_quote(version)}")
    public_variables = [record for name, record in variables.items() if _public(name)]
    if public_variables:
        lines.append("variables:")
        for name, known, value, annotation in public_variables:
            lines.append(f"  - name: {_scalar(name)}")
            if annotation:
                lines.append(f"    annotation: {_scalar(annotation)}")
            text = _literal_text(value) if known else None
            if text is not None:
                lines.append(f"    value: {text}")
    public_functions = [record for name, record in functions.items() if _public(name)]
    if public_functions:
        lines.append("functions:")
        for function in public_functions:
            lines.extend(_function_lines(function, "  "))
    public_classes = [record for name, record in classes.items() if _public(name)]
    if public_classes:
        lines.append("classes:")
        for name, attributes, methods, superclasses in public_classes:
            lines.append(f"  - name: {_scalar(name)}")
            public_attributes = [record for record in attributes if _public(record[0])]
            if public_attributes:
                lines.append("    attributes:")
                for attribute, kind, _, _, annotation in public_attributes:
                    lines.append(f"      - name: {_scalar(attribute)}")
                    lines.append(f"        type: {kind}")
                    if annotation:
                        lines.append(f"        annotation: {_scalar(annotation)}")
            public_methods = [m for m in methods if _public(m[0]) or m[0] == "__init__"]
            if public_methods:
                lines.append("    methods:")
                for method in public_methods:
                    lines.extend(_function_lines(method, "      "))
            bases = [base for base in map(last_dotted_part, superclasses) if base and base != "object"]
            if bases:
                lines.append(f"    superclasses: {_flow_list(bases)}")
    lines.append("# The platform this was generated on; widen the lists for the platforms you support.")
    major_minor = ".".join(context.python_version.split(".")[:2])
    lines.extend(_runtime_lines(context, f">={major_minor}"))
    return lines


def _function_lines(function: tuple[Any, ...], indent: str) -> list[str]:
    """A function record of ``_structure`` as a contract's function entry (names and annotations)."""
    name, arguments, return_annotation, _ = function
    lines = [f"{indent}- name: {_scalar(name)}"]
    if arguments:
        lines.append(f"{indent}  arguments:")
        for argument, annotation, *_ in arguments:
            lines.append(f"{indent}    - name: {_scalar(argument)}")
            if annotation:
                lines.append(f"{indent}      annotation: {_scalar(annotation)}")
    if return_annotation:
        lines.append(f"{indent}  return_annotation: {_scalar(return_annotation)}")
    return lines


def _init(options: argparse.Namespace) -> int:
    from ._context import current_context

    if options.output and os.path.exists(options.output):
        raise UsageError(f"{_shown(options.output)} already exists; not overwriting it")
    caller = _caller_from_file(options.caller)
    structure = _caller_structure(caller, options.caller)
    text = "\n".join(_init_lines(structure, current_context(), options.caller)) + "\n"
    if options.output:
        _write_new(options.output, text)
        sys.stderr.write(f"wrote {_shown(options.output)}\n")
    else:
        sys.stdout.write(text)
    return EXIT_OK


# ============================================================================== lint


def _discover(paths: Sequence[str]) -> list[str]:
    """Contract files named or found under the given paths, in a stable order, without duplicates."""
    from _importspy_hook_startup import SIDECAR_SUFFIXES

    found: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            found.append(path)

    for path in paths:
        if os.path.isdir(path):
            for root, directories, files in os.walk(path):
                directories[:] = sorted(d for d in directories if d not in SKIPPED_DIRECTORIES)
                for name in sorted(files):
                    if name.endswith(SIDECAR_SUFFIXES) and name not in SIDECAR_SUFFIXES:
                        add(os.path.normpath(os.path.join(root, name)))
        elif os.path.exists(path):
            add(path)
        else:
            raise UsageError(f"{_shown(path)}: no such file or directory")
    return found


_MODULE_SUFFIXES = (".py", ".pyw", ".pyc", ".pyd", ".so")


def _orphan_warning(path: str) -> str | None:
    """A sidecar with no module beside it guards nothing: almost always a misspelt name (§4)."""
    from _importspy_hook_startup import SIDECAR_SUFFIXES

    directory, name = os.path.split(os.path.abspath(path))
    stem = next((name[: -len(s)] for s in SIDECAR_SUFFIXES if name.endswith(s)), None)
    if not stem:
        return None  # not named like a sidecar: a contract kept elsewhere on purpose
    try:
        if _module_among(stem, os.listdir(directory)):
            return None
    except OSError:
        return None
    named = _shown(stem)  # the module's name is part of the file's: a token there is withheld too
    if os.path.isdir(os.path.join(directory, stem)):
        return (
            f"'{named}' is a package: its contract must be {named}/__init__.contract.yml; "
            "this file guards nothing"
        )
    return f"no module '{named}' next to this contract (e.g. {named}.py): it guards nothing"


def _module_among(stem: str, names: Iterable[str]) -> bool:
    """Whether ``names`` (one directory's entries) hold the module ``stem`` the sidecar ``stem.contract.yml``
    guards: ``stem.py``, ``stem.cpython-311-x86_64-linux-gnu.so``..."""
    return any(name.startswith(stem + ".") and name.endswith(_MODULE_SUFFIXES) for name in names)


def _lint(options: argparse.Namespace) -> int:
    from ._check import load_contract
    from ._errors import ContractError

    files = _discover(options.paths or [os.curdir])
    problems: list[dict[str, Any]] = []
    for path in list(files):
        if path.lower().endswith(".whl") and os.path.isfile(path):
            files.remove(path)
            inside, found = _lint_wheel(path)
            files.extend(inside)
            problems.extend(found)
            continue
        try:
            load_contract(path)
        except ContractError as exc:
            problems.extend(_contract_problem(path, error) for error in _every_error(path, exc))
            continue
        warning = _orphan_warning(path)
        if warning:
            problems.append(_problem(path, warning, "warning"))
    errors = sum(1 for p in problems if p["severity"] == "error")
    warnings = len(problems) - errors
    if options.format == "json":
        _dump_json(
            {
                "files": [_shown(path) for path in files],
                "problems": problems,
                "error_count": errors,
                "warning_count": warnings,
            }
        )
    else:
        for problem in problems:
            where = problem["path"]
            if problem["line"]:
                where += f":{problem['line']}:{problem['column']}"
            key = f" {problem['key']}:" if problem["key"] else ""
            tag = " warning:" if problem["severity"] == "warning" else ""
            sys.stdout.write(f"{where}:{tag}{key} {problem['message']}\n")
        if not options.quiet:
            if not files:  # (a wheel without any contract is an error)
                failed = f": {errors} error{'s' if errors != 1 else ''}" if errors else ""
                sys.stdout.write(f"no contract files found{failed}\n")
            else:
                noun = "contract" if len(files) == 1 else "contracts"
                verdict = "no errors" if not errors else f"{errors} error{'s' if errors != 1 else ''}"
                extra = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
                sys.stdout.write(f"{len(files)} {noun} checked: {verdict}{extra}\n")
    return EXIT_FAILED if errors else EXIT_OK


def _lint_wheel(wheel: str) -> tuple[list[str], list[dict[str, Any]]]:
    """``lint dist/x.whl``: the contracts a wheel really ships, as ``x.whl/pkg/m.contract.yml``.

    Build back-ends differ in what they put in a wheel: setuptools leaves ``*.contract.yml`` out
    unless it is declared package data, so a module guarded in the checkout is unguarded once
    installed. Each sidecar in the wheel is linted like a file (every error), a sidecar with no
    module beside it in the wheel is a warning, and a wheel with no contract at all is an error —
    linting a wheel is asking whether its contracts made it in.
    """
    import zipfile

    from _importspy_hook_startup import SIDECAR_SUFFIXES

    from ._contract_parse import contract_errors

    try:
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
            sidecars = [
                n
                for n in names
                if n.endswith(SIDECAR_SUFFIXES) and n.rsplit("/", 1)[-1] not in SIDECAR_SUFFIXES
            ]
            contents = {name: archive.read(name) for name in sidecars}
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        reason = _os_reason(exc) if isinstance(exc, OSError) else exc  # str(OSError) repeats the path
        raise UsageError(f"{_shown(wheel)}: not a readable wheel ({reason})") from None
    problems: list[dict[str, Any]] = []
    shown = [f"{wheel}/{name}" for name in sidecars]
    if not sidecars:
        message = (
            "no *.contract.yml in this wheel: its modules are unguarded once installed "
            "(setuptools ships sidecars only when declared as package data; see the README)"
        )
        problems.append(_problem(wheel, message))
    members = set(names)
    for name, where in zip(sidecars, shown, strict=True):
        problems.extend(_contract_problem(where, error) for error in contract_errors(contents[name], where))
        directory, _, base = name.rpartition("/")
        stem = next(base[: -len(s)] for s in SIDECAR_SUFFIXES if base.endswith(s))
        beside = (m.rpartition("/")[2] for m in members if m.rpartition("/")[0] == directory)
        if not _module_among(stem, beside):
            message = f"no module '{_shown(stem)}' next to this contract in the wheel: it guards nothing"
            problems.append(_problem(where, message, "warning"))
    return shown, problems


def _every_error(path: str, first: ContractError) -> list[ContractError]:
    """All the errors of a contract that failed to load with ``first`` (§6: lint reports every
    error of a file, not only the first). The file is read once more only when it is broken."""
    from ._cache import MAX_CONTRACT_BYTES
    from ._contract_parse import contract_errors

    if not os.path.isfile(path):  # never open a FIFO or a device: loading already said why not
        return [first]
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONTRACT_BYTES + 1)
    except OSError:
        return [first]
    errors = contract_errors(data, first.path)
    if not any((e.line, e.column, e.key) == (first.line, first.column, first.key) for e in errors):
        # What only loading can find (an unreadable file, a file that changed since): keep it first.
        errors.insert(0, first)
    return errors


def _problem(
    path: str, message: str, severity: str = "error", line: int = 0, column: int = 0, key: str = ""
) -> dict[str, Any]:
    """One finding of ``lint``, in the shape of its JSON report (line 0: about the whole file)."""
    return {
        "path": _shown(path),
        "line": line,
        "column": column,
        "key": key,
        "message": message,
        "severity": severity,
    }


def _contract_problem(path: str, exc: ContractError) -> dict[str, Any]:
    return _problem(path, exc.reason, line=exc.line, column=exc.column, key=exc.key)


# ============================================================================== check


def _check(options: argparse.Namespace) -> int:
    try:
        return _check_or_raise(options)
    except UsageError as exc:
        # A CI step that asked for a document gets one, carrying the error, so that an upload
        # step never chokes on empty output; the one-line error still goes to stderr (exit 2).
        if options.format == "json":
            _dump_json(_check_error_json(options.contract, exc))
        elif options.format == "sarif":
            _dump_json(_sarif(options.contract, [], error=exc))
        raise


def _check_or_raise(options: argparse.Namespace) -> int:
    from ._check import check
    from ._context import current_context
    from ._simulation import parse_assignments

    try:
        overrides: dict[str, Any] = parse_assignments(options.assignments, options.unset)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _reject_impossible_values(options.assignments)
    contract = _load(options.contract)
    caller = None
    if options.caller:
        caller = _caller_from_file(options.caller)
        _caller_structure(caller, options.caller)  # unusable caller source: exit 2, not a violation
    context = current_context(caller=caller, **overrides)
    violations = check(contract, context)
    shown = _display(options.contract)
    if options.format == "json":
        _dump_json(_check_json(shown, options, caller, context, overrides, violations))
    elif options.format == "sarif":
        _dump_json(_sarif(options.contract, violations))
    else:
        for violation in violations:
            where = f"{shown}:{violation.line}" if violation.line else shown
            sys.stdout.write(f"{where}: {violation.describe()}\n")
        who = f"caller {_display(options.caller)}" if options.caller else "no caller"
        simulated = "simulated " if overrides else ""
        about = (
            f"{who}; {simulated}{context.os} {context.arch}, {context.implementation} "
            f"{context.python_version}"
        )
        if violations:
            count = len(violations)
            sys.stdout.write(f"refused: {count} violation{'s' if count != 1 else ''} ({about})\n")
        else:
            sys.stdout.write(f"compliant: {shown} ({about})\n")
    return EXIT_FAILED if violations else EXIT_OK


def _reject_impossible_values(assignments: Sequence[str]) -> None:
    """``--set`` values no real context can have are unusable input (exit 2), not a violation.

    ``--set os=plan9`` would otherwise "refuse" with exit 1, which a CI reads as a verdict about
    the contract when the command itself is wrong. The vocabularies are the ones contracts are
    checked against (``_contract_parse``), so every spelling a contract accepts is accepted here.
    """
    from ._schema import ARCH, INTERPRETER, OS
    from ._simulation import SET_KEYS
    from ._versions import parse_version

    vocabularies = {"os": OS, "arch": ARCH, "implementation": INTERPRETER}
    for item in assignments:
        key, _, value = item.partition("=")
        target = SET_KEYS.get(key.strip().lower())
        value = value.strip()
        if target == "python":
            if parse_version(value) is None:
                raise UsageError(f"--set {_echo(key, value)}: not a Python version (e.g. 3.12 or 3.13.1)")
        elif target in vocabularies:
            kind = vocabularies[target]
            if kind.rule is not None and kind.rule(value) is not None:  # the contracts' own rule
                names = ", ".join(sorted(kind.names or ()))
                raise UsageError(f"--set {_echo(key, value)}: unknown {kind.name} (expected one of: {names})")


def _echo(key: str, value: str) -> str:
    """``KEY=VALUE`` of a rejected ``--set`` item, the value only when it is one plain word: a
    quoting slip can put a secret in the item (``--set "python=3.12 env.TOKEN=..."``)."""
    import re

    shown = value if re.fullmatch(r"[A-Za-z0-9._+-]{1,40}", value) else _NOT_SHOWN
    return f"{key.strip()}={shown}"


def _check_error_json(contract_path: str, error: UsageError) -> dict[str, Any]:
    """``check --format json`` when the input is unusable: the report's shape, plus ``error``."""
    found = error.contract_error
    detail: dict[str, Any] = {"message": str(error)}
    if found is not None:
        detail = {
            "path": _display(found.path),
            "line": found.line,
            "column": found.column,
            "key": found.key,
            "message": found.reason,
        }
    return {
        "contract": _display(contract_path),
        "compliant": False,
        "violations": [],
        "error": detail,
    }


def _check_json(
    shown: str,
    options: argparse.Namespace,
    caller: Caller | None,
    context: Context,
    overrides: dict[str, Any],
    violations: list[Violation],
) -> dict[str, Any]:
    simulated = {key: value for key, value in overrides.items() if key != "env"}
    if "env" in overrides:  # names only: a simulated value may be a secret
        simulated["env"] = {
            name: ("unset" if value is None else "set") for name, value in overrides["env"].items()
        }
    return {
        "contract": shown,
        "compliant": not violations,
        "caller": None if caller is None else {"file": _display(options.caller), "module": caller.name},
        "context": {
            "os": context.os,
            "arch": context.arch,
            "python": context.python_version,
            "implementation": context.implementation,
            "simulated": simulated,
        },
        "violations": [
            {
                "field": v.field,
                "expected": v.expected,
                "actual": v.actual,
                "message": v.message,
                "line": v.line,
            }
            for v in violations
        ],
    }


# SARIF rules: one per kind of requirement, so code scanning groups alerts the way people fix them.
_RULES = {
    "importers": "The importing module is not one the contract allows.",
    "platform": "Operating system, architecture, Python version or implementation not supported.",
    "environment": "A required environment variable is missing or has another value.",
    "dependencies": "An installed distribution is missing, not allowed, or of another version.",
    "structure": "The importing module lacks a required variable, function, class or file name.",
    "deployments": "No deployment alternative of the contract matches this context.",
}
_PLATFORM_KEYS = frozenset({"os", "arch", "architecture", "python", "interpreter", "implementation"})


def _rule_for(field: str) -> str:
    import re

    plain = re.sub(r"\[\d+\]", "", field)
    parts = plain.split(".")
    if parts[0] in ("importers", "dependencies"):
        return parts[0]
    if "environment" in parts:
        return "environment"
    last = parts[-1]
    if last in _PLATFORM_KEYS or (last == "version" and "pythons" in parts):
        return "platform"
    if last in ("deployments", "systems", "pythons"):
        return "deployments"
    return "structure"


_WITHHELD_NOTE = "<path withheld>: it holds the value of a secret"


def _artifact_location(path: str, root: Path) -> dict[str, Any]:
    """A SARIF ``artifactLocation``: a URI reference, so percent-encoded (RFC 3986).

    Relative to ``%SRCROOT%`` (the working directory) when the file is inside it — what code
    scanning needs to find the file in the repository — else an absolute ``file:`` URI.

    When that relative or absolute path holds a secret (:func:`_shown`), the URI is the file name
    alone with no ``uriBaseId``: ``<path withheld>/name`` is not a URI, and a relative reference
    without a base is valid SARIF (a consumer resolves it as it can, at worst it finds no file),
    while any base would point at another file. The ``description`` says why.
    """
    from pathlib import Path
    from urllib.parse import quote

    absolute = Path(path).resolve()
    try:
        relative: str | None = absolute.relative_to(root).as_posix()
    except ValueError:
        relative = None
    written = str(absolute) if relative is None else relative
    shown = _shown(written)
    if shown != written:
        name = os.path.basename(shown)  # "<path withheld>" when the name itself holds the secret
        return {"uri": quote(name, safe=""), "description": {"text": _WITHHELD_NOTE}}
    if relative is None:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(relative, safe="/"), "uriBaseId": "%SRCROOT%"}


def _source_root(root: Path) -> dict[str, Any]:
    """``originalUriBaseIds["%SRCROOT%"]``: the working directory as a ``file:`` URI, or, when it
    holds a secret, no ``uri`` at all. Every property of an artifactLocation is optional, and code
    scanning resolves ``%SRCROOT%`` against its own checkout anyway, so the results that point
    into the working directory keep their relative URIs and stay usable."""
    if _shown(str(root)) != str(root):
        return {"description": {"text": _WITHHELD_NOTE}}
    return {"uri": root.as_uri() + "/"}


def _sarif(
    contract_path: str, violations: list[Violation], error: UsageError | None = None
) -> dict[str, Any]:
    """SARIF 2.1.0: one result per violation; unusable input as a tool execution notification."""
    from pathlib import Path

    from . import __version__

    root = Path.cwd().resolve()
    artifact = _artifact_location(contract_path, root)
    invocation: dict[str, Any] = {"executionSuccessful": error is None}
    if error is not None:
        notification: dict[str, Any] = {"level": "error", "message": {"text": str(error)}}
        found = error.contract_error
        if found is not None:
            region = {"startLine": max(found.line, 1)}
            if found.line and found.column:
                region["startColumn"] = found.column
            notification["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact_location(found.path, root),
                        "region": region,
                    }
                }
            ]
        invocation["toolExecutionNotifications"] = [notification]
    rule_ids = list(_RULES)
    results = []
    for violation in violations:
        rule = _rule_for(violation.field)
        results.append(
            {
                "ruleId": rule,
                "ruleIndex": rule_ids.index(rule),
                "level": "error",
                "message": {"text": violation.describe()},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": dict(artifact),
                            # SARIF lines are 1-based; a requirement of unknown line points at the top.
                            "region": {"startLine": max(violation.line, 1)},
                        }
                    }
                ],
                "properties": {
                    "field": violation.field,
                    "expected": violation.expected,
                    "actual": violation.actual,
                },
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": PROG,
                        "version": __version__,
                        "rules": [
                            {
                                "id": rule,
                                "name": rule.capitalize() + "Requirement",
                                "shortDescription": {"text": text},
                                "defaultConfiguration": {"level": "error"},
                            }
                            for rule, text in _RULES.items()
                        ],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": _source_root(root)},
                "invocations": [invocation],
                "results": results,
            }
        ],
    }


_HANDLERS = {
    "status": _status,
    "context": _context,
    "init": _init,
    "lint": _lint,
    "check": _check,
}
