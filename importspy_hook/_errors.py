"""The exceptions and the violation record that users see.

Standard library only: these are raised on the import path and must cost nothing to import.
Both exceptions derive from :class:`ValueError`, never :class:`ImportError`, so that code
which probes optional imports with ``except ImportError`` cannot swallow a refusal (§7).
"""

import os
import sys

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs milliseconds
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from typing import Any

__all__ = [
    "CREDENTIAL_HINTS",
    "CREDENTIAL_WORDS",
    "MIN_WITHHELD_LENGTH",
    "ContractError",
    "ContractViolation",
    "Violation",
    "cannot_check",
    "contract_label",
    "describe_error",
    "holds_withheld",
    "looks_like_credential",
    "value_looks_secret",
    "value_may_be_shown",
    "withheld_values",
]

# ------------------------------------------------------------------ which values may be printed

CREDENTIAL_HINTS = (
    "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASS", "PWD", "KEY", "CREDENTIAL", "CRED", "AUTH",
    "PRIVATE", "SESSION", "COOKIE", "SIGNATURE", "CERT", "JWT", "WEBHOOK", "CONNECTION", "BEARER",
    "MNEMONIC",
)  # fmt: skip
"""Parts of an environment variable name (any case) that make its value a credential's (§6)."""

CREDENTIAL_WORDS = frozenset(
    {
        "PAT",
        "DSN",
        "URL",
        "URI",
        "CONN",
        "SAS",
        "PW",
        "PIN",
        "OTP",
        "TOTP",
        "HOTP",
        "SEED",
        "PSK",
        "SK",
        "SALT",
    }
)
"""Whole words of a name (between ``_``, ``-`` or ``.``, or where a lower-case letter meets an
upper-case one: ``databaseUrl``) that do too, where a part would match too much (``PATH``, ``PWM``,
``PINNED``): a personal access token (``GH_PAT``), a shared access signature, a password, PIN or
one-time password (``DB_PW``, ``MFA_OTP``, ``MFA_TOTP``), a wallet's seed, a pre-shared or secret
key (``WIFI_PSK``, ``STRIPE_SK``), a salt, and connection strings, which carry their password
(``DATABASE_URL=postgres://user:password@host``, ``CONN_STR``)."""

_CONNECTION_ENDINGS = ("DSN", "URL", "URI")
"""A word ending with one of these names a connection string too (``SENTRYDSN``, ``MONGOURI``)..."""

_NOT_CONNECTION_ENDINGS = ("CURL", "HURL", "PURL", "FURL", "BURL", "KNURL", "HOURI", "SOURI")
"""...unless it ends with an ordinary word that does (``CURL_CA_BUNDLE``, ``PYCURL_SSL_LIBRARY``)."""

_SHELL_NAMES = frozenset({"PWD", "OLDPWD"})
"""Set by every POSIX shell to the working directory: ``PWD`` is a hint (``MYSQL_PWD``), not these."""


def looks_like_credential(name: "str") -> "bool":
    """Whether ``name`` reads like a credential's (``GITHUB_TOKEN``, ``db_passwd``, ``GH_PAT``,
    ``databaseUrl``, ``SENTRYDSN``)."""
    upper = name.upper()
    if upper in _SHELL_NAMES:
        return False
    if any(hint in upper for hint in CREDENTIAL_HINTS):
        return True
    spaced = []  # the name's words: split at separators and where camelCase starts a word
    previous = ""
    for char in name:
        if char in "_-.":
            char = " "
        elif char.isupper() and previous.islower():
            spaced.append(" ")
        spaced.append(char)
        previous = char
    # (a number after a word is a second of its kind: STRIPE_SK2, DB2_PW)
    words = [word.rstrip("0123456789") or word for word in "".join(spaced).upper().split()]
    return not CREDENTIAL_WORDS.isdisjoint(words) or any(
        word.endswith(_CONNECTION_ENDINGS) and not word.endswith(_NOT_CONNECTION_ENDINGS) for word in words
    )


def value_looks_secret(value: "str") -> "bool":
    """Whether ``value`` carries a credential whatever the name of its variable: it holds a URL
    with userinfo (``scheme://user:password@host``), the part of a URL meant for credentials (RFC
    3986 §3.2.1): a password, or a user name that is a token (``https://ghp_...@github.com``,
    a Sentry DSN's key). ``HTTPS_PROXY``, ``ALL_PROXY`` or a git remote are named like no
    credential but often carry one. A short user name alone (``ssh://git@github.com``) is not:
    under :data:`MIN_WITHHELD_LENGTH` characters, it is an account, not a token.
    """
    for userinfo in _userinfos(value, schemeless=False, raw=True):
        user, _, password = userinfo.partition(":")
        # (a user name with a "/" is a path holding an "@": https://registry.example/@scope/package;
        # a token as the user name may come with an empty password: https://TOKEN:@host)
        if password or (len(user) >= MIN_WITHHELD_LENGTH and "/" not in user):
            return True
    # Without a scheme (curl and pip read a proxy written user:password@host), only a password
    # counts: an e-mail address is user@host too.
    return any(userinfo.partition(":")[2] for userinfo in _userinfos(value, schemeless=True, raw=True))


def _userinfos(value: "str", schemeless: "bool", raw: "bool" = False) -> "list[str]":
    """The userinfo of each URL in ``value``, as ``urllib.parse`` reads it: looked for in each word
    (a command line, a list of remotes), after each ``://`` — or, with ``schemeless``, in a word
    without one too (redis-py's ``user:password@host``); the authority ends at the first ``/``,
    ``?`` or ``#``, and its userinfo at its *last* ``@`` (a password may hold a raw one). With
    ``raw``, also everything up to the word's last ``@``: a password holding a raw ``/``, ``?`` or
    ``#`` is cut there by urllib, but printed whole by ``url.split("@")``."""
    if "@" not in value:
        return []
    found = []
    for word in value.split():
        segments = word.split("://")
        for rest in segments[1:] or (segments if schemeless else []):
            whole = rest.rpartition("@")[0]
            for stop in "/?#":
                rest = rest.partition(stop)[0]
            userinfo = rest.rpartition("@")[0]
            if userinfo:
                found.append(userinfo)
            if raw and whole and whole != userinfo:
                found.append(whole)
    return found


def value_may_be_shown(name: "str", secrets: "Collection[str] | None", *values: "object") -> "bool":
    """The one rule of SPEC §6 for every output: may the value of variable ``name`` be printed?

    Only when the variable is secret nowhere in the contract (``secrets``: every name declared
    secret in it, in any block, compared case-insensitively because Windows names are) *and* its
    name does not look like a credential *and* none of ``values`` (the value found, the value the
    contract requires, where the caller has them; a contract built in Python may give another type
    than ``str``, which has no shape) carries one by its shape (:func:`value_looks_secret`).
    ``None`` means "no contract was read" (a usage error about a ``--set`` item): then nothing can
    prove the variable is not secret, and the value stays hidden. Applies equally to the value
    found (environment, ``--set``) and to the value a contract requires, which for a secret is the
    secret itself. A value that may not be shown is described as "set to another value", never by
    its length or any part of it.
    """
    if secrets is None or looks_like_credential(name):
        return False
    if any(type(value) is str and value_looks_secret(value) for value in values):
        return False
    upper = name.upper()
    return not any(secret.upper() == upper for secret in secrets)


MIN_WITHHELD_LENGTH = 6
"""Values shorter than this are not looked for inside other texts (see :func:`withheld_values`)."""


def withheld_values(environ: "Mapping[str, str]", secrets: "Collection[str] | None") -> "tuple[str, ...]":
    """The texts no output may contain (§6), casefolded: the value of every variable that
    :func:`value_may_be_shown` withholds (for its name, or for its shape: a URL carrying
    credentials in ``HTTPS_PROXY``), as it is and as ``repr`` and ``json.dumps`` (and ``repr`` of
    that) escape it inside a longer text.

    The name rule alone would let such a value out under another name: the importer's
    ``DB = os.environ["DATABASE_URL"]``, ``[REDIS_URL]``, ``{"X-Api": token}``, an argument
    defaulting to a token, or a plain variable holding a copy. So a text that contains one of these
    is not shown, whatever it is the value of (:func:`holds_withheld`).

    The variables are looked for wherever the importer may have read them, not only in
    ``environ`` (the environment the check judged): in the live ``os.environ`` too, which the
    pytest plugin's simulation hides or replaces a variable of (``env={"API_TOKEN": None}``), and
    in the environment the process started with (:func:`_startup_environ`), since an importer may
    read a secret and then remove it (``os.environ.pop("API_TOKEN")``, recommended hygiene).

    Besides the whole value, what an importer keeps of it is looked for: the value stripped of
    surrounding whitespace (``.strip()``, a value set with a trailing newline), and the credentials
    of a connection string, alone: its userinfo, user name and password (:func:`_withheld_parts`).
    The texts are casefolded, as :func:`holds_withheld` folds the text it searches, so ``.lower()``
    and ``.upper()`` copies are found too.

    Values under :data:`MIN_WITHHELD_LENGTH` characters are not looked for: ``1``, ``on``, ``yes``
    (a credential variable's flag, ``AUTH_ENABLED=1``) or ``user`` (``XDG_SESSION_CLASS``, which
    the ``SESSION`` part names) occur by chance in almost every text, so withholding each text that
    holds them would hide messages while protecting a value that guessing finds anyway; the name
    rule still hides such a value where it is the variable's own. Not computed ahead or kept: the
    live environment may change between two checks, and this runs only to word a refusal.
    """
    live = [] if environ is os.environ else list(os.environ.items())  # reading it costs a decode
    pairs = dict.fromkeys(  # a variable found in two of them is looked at once
        (name, value)
        for source in (list(environ.items()), live, _startup_environ())
        for name, value in source
        if type(value) is str and len(value) >= MIN_WITHHELD_LENGTH
    )
    values: dict[str, None] = {}
    for name, value in pairs:
        if not value_may_be_shown(name, secrets, value):
            values.update(dict.fromkeys(_withheld_parts(value)))
    found: dict[str, None] = {}
    for value in values:
        # json.dumps escapes quotes, backslashes and (by default) what is not ASCII otherwise than
        # repr; the dumped text is then often shown with repr, which escapes its backslashes again.
        for text in dict.fromkeys((value, _json(value, True), _json(value, False))):
            raw = text.encode("utf-8", "surrogateescape")
            # repr writes a str (or bytes) in one quote or the other, depending on the whole text
            # it is part of: with only \' escaped, or as it stands; bytes escape what is not
            # printable ASCII.
            # ascii() escapes what is not ASCII; a text already escaped once (a dict's str()) is
            # escaped again when it is shown.
            once = (repr(text)[1:-1], repr("'\"" + text)[4:-1], ascii(text)[1:-1])
            twice = [form for escaped in once for form in (repr(escaped)[1:-1], repr("'\"" + escaped)[4:-1])]
            for form in (text, *once, *twice, repr(raw)[2:-1], repr(b"'\"" + raw)[5:-1]):
                found[form.casefold()] = None
    return tuple(found)


def _json(value: "str", ensure_ascii: "bool") -> "str":
    """``value`` as ``json.dumps`` writes it inside a JSON text (without its quotes)."""
    import json  # loaded only to word a refusal that withholds a value

    return json.dumps(value, ensure_ascii=ensure_ascii)[1:-1]


def _withheld_parts(value: "str") -> "list[str]":
    """What an importer may keep of a withheld ``value`` and print alone: the value, stripped of
    surrounding whitespace, and the credentials of a connection string (:func:`_userinfos`, with or
    without a scheme), as written and percent-decoded: the whole userinfo (``urlsplit(url).netloc``
    holds it) and its secret, with each of that secret's pieces between ``:`` and ``@`` (the halves
    ``url.split("@")`` makes of a password holding a raw ``@``). The secret is the password
    (``.password``), or, when there is none, the user name: it is the token in
    ``https://ghp_...@github.com`` or a Sentry DSN (``.username``, ``url.split("@")``). The user name
    beside a password names an account (``postgres``, ``default``), not a credential: withholding it
    would hide every text that mentions the word, so it is shown, as the host is. Parts under
    :data:`MIN_WITHHELD_LENGTH` are left out."""
    parts = [value, value.strip()]
    userinfos = _userinfos(parts[1], schemeless=True, raw=True)
    if userinfos:
        from urllib.parse import unquote  # loaded only for what holds userinfo

        pieces = []
        for userinfo in userinfos:
            user, _, password = userinfo.partition(":")  # as urllib reads it
            # The user name is the secret when the password is empty, or a filler beside a token
            # (GitHub's documented https://TOKEN:x-oauth-basic@github.com).
            secret = user if not password or password.lower() in _FILLER_PASSWORDS else password
            pieces += [userinfo, secret, *secret.replace("@", ":").split(":")]
        parts += pieces + [unquote(piece) for piece in pieces]
    return [part for part in parts if len(part) >= MIN_WITHHELD_LENGTH]


_FILLER_PASSWORDS = frozenset({"x-oauth-basic", "x-oauth-token"})


def _startup_environ() -> "list[tuple[str, str]]":
    """The environment this process started with, as far as the platform keeps it (pairs).

    On Windows, ``nt.environ``: ``os`` copies it into ``os.environ`` once and never writes it back.
    On POSIX ``posix.environ`` is no help: it is the very dict ``os.environ`` changes. Linux keeps
    the block ``exec`` gave the process in ``/proc/self/environ`` (``unsetenv`` and ``setenv``
    never write to it), read here as ``os.environ`` decodes (file system encoding,
    ``surrogateescape``). Elsewhere (macOS, a BSD without procfs) nothing is kept: a variable
    removed before the check is not looked for (SECURITY.md). Read each time rather than kept, so
    that this module holds no copy of a secret the importer removed.
    """
    if sys.platform == "win32":
        import nt

        return list(nt.environ.items())
    try:
        with open("/proc/self/environ", "rb") as file:
            block = file.read()
    except OSError:
        return []
    pairs: list[tuple[str, str]] = []
    for entry in os.fsdecode(block).split("\0"):  # NUL and = are ASCII in every such encoding
        name, equals, value = entry.partition("=")
        if equals and name:
            pairs.append((name, value))
    return pairs


def holds_withheld(text: "str", withheld: "tuple[str, ...]") -> "bool":
    """Whether ``text`` contains one of the :func:`withheld_values`, in any case: they are
    casefolded, and so is ``text`` here, because a ``.lower()`` copy of a secret is the secret."""
    folded = text.casefold()
    return any(value in folded for value in withheld)


PATH_WITHHELD_LENGTH = 12
"""A path is searched only for withheld values at least this long: a token or a password named as a
directory, not the everyday words that some credential-like names hold (``DESKTOP_SESSION=ubuntu``
beside ``/home/ubuntu``, ``GIT_AUTHOR_NAME=jsmith``, ``PASSENGER_APP_ENV=production``), which would
hide the path of every refusal on such a machine."""


def shown_path(path: "str", secrets: "Collection[str]" = ()) -> "str":
    """A contract's path as an output shows it (§6).

    A path that carries a credential — a plugin store's URL with userinfo on ``sys.path``
    (:func:`value_looks_secret`), a directory named after a token (the value, at least
    :data:`PATH_WITHHELD_LENGTH` characters long, of a variable named like a credential, shaped
    like one, or among ``secrets``: the names the contract declares secret, when it was read) —
    keeps only its file name, or nothing of itself when that holds it too. Read when an exception or
    event is made, like :func:`withheld_values`: only a refusal, a malformed contract or a log event
    of one words a path.
    """
    withheld = tuple(v for v in withheld_values(os.environ, secrets) if len(v) >= PATH_WITHHELD_LENGTH)
    if not (value_looks_secret(path) or holds_withheld(path, withheld)):
        return path
    name = os.path.basename(path)
    hidden = value_looks_secret(name) or holds_withheld(name, withheld)
    return "<path withheld>" if hidden else os.path.join("<path withheld>", name)


class Violation:
    """One unmet requirement of a contract.

    ``field`` is the key path in the contract (``deployments[0].systems[0].os``), ``expected``
    and ``actual`` are human-readable texts (never a value :func:`value_may_be_shown` withholds),
    ``line`` is the 1-based
    line of the contract where the requirement is written (0 when unknown, e.g. for a contract
    built in Python).
    """

    __slots__ = ("actual", "expected", "field", "line", "message")

    field: "str"
    expected: "str"
    actual: "str"
    message: "str"
    line: "int"

    def __init__(
        self,
        field: "str",
        expected: "str",
        actual: "str",
        message: "str" = "",
        line: "int" = 0,
    ) -> "None":
        self.field = field
        self.expected = expected
        self.actual = actual
        self.message = message
        self.line = line

    def describe(self, contract: "str | None" = None) -> "str":
        """The one-line text of §7: ``<contract>:<line>: <field>: expected <x>, found <y>``."""
        where = ""
        if contract:
            where = (
                f"{os.path.basename(contract)}:{self.line}: "
                if self.line
                else f"{os.path.basename(contract)}: "
            )
        text = f"{where}{self.field}: expected {self.expected}, found {self.actual}"
        if self.message:
            text += f" ({self.message})"
        return text

    def _key(self) -> "tuple[str, str, str, str, int]":
        return (self.field, self.expected, self.actual, self.message, self.line)

    def __eq__(self, other: "object") -> "bool":
        if not isinstance(other, Violation):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> "int":
        return hash(self._key())

    def __repr__(self) -> "str":
        return (
            f"Violation(field={self.field!r}, expected={self.expected!r}, "
            f"actual={self.actual!r}, message={self.message!r}, line={self.line!r})"
        )

    def __reduce__(self) -> "tuple[Any, ...]":
        return (Violation, self._key())


class ContractViolation(ValueError):
    """The importing context does not satisfy the target module's contract.

    Raised before any code of ``target`` runs; nothing of it is left in ``sys.modules``.
    """

    target: "str"
    caller: "str | None"
    contract: "str"
    violations: "tuple[Violation, ...]"

    def __init__(
        self,
        target: "str",
        caller: "str | None",
        contract: "str",
        violations: "tuple[Violation, ...] | list[Violation]",
        secrets: "Collection[str]" = (),
    ) -> "None":
        self.target = target
        self.caller = caller
        self.contract = contract
        self.violations = tuple(violations)
        # Worked out once, with the environment of the refusal and the names the contract declares
        # secret (``secrets``): a copy pickled to another process, or shown after the importer
        # removed its variable, must not show what this one withheld.
        self._shown = shown_path(contract, secrets)
        super().__init__(self._render())

    def _render(self) -> "str":
        who = f"from {self.caller!r}" if self.caller else "from no identifiable module"
        count = len(self.violations)
        noun = "violation" if count == 1 else "violations"
        contract = self._shown
        head = f"import of {self.target!r} {who} refused by {contract} ({count} {noun}):"
        lines = [head]
        lines.extend("  " + v.describe(contract) for v in self.violations)
        return "\n".join(lines)

    def __str__(self) -> "str":
        return self._render()

    def __reduce__(self) -> "tuple[Any, ...]":
        return (ContractViolation, (self.target, self.caller, self._shown, self.violations))


class ContractError(ValueError):
    """A contract file (or a contract built in Python) is malformed.

    The text is ``<path>:<line>:<column>: <key>: <message>``; ``line``/``column`` are 1-based and 0
    when unknown, ``key`` is the key path (``deployments[0].systems[1].os``) or ``""`` for the
    whole document.
    """

    path: "str"
    line: "int"
    column: "int"
    key: "str"
    reason: "str"

    def __init__(self, path: "str", line: "int", column: "int", key: "str", reason: "str") -> "None":
        self.path = path
        self.line = line
        self.column = column
        self.key = key
        self.reason = reason
        self._shown = shown_path(path) if path else path  # once, as ContractViolation's
        super().__init__(self._render())

    def _render(self) -> "str":
        where = self._shown or "<contract>"
        if self.line:
            where += f":{self.line}:{self.column}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.reason}"

    def __str__(self) -> "str":
        return self._render()

    def __reduce__(self) -> "tuple[Any, ...]":
        return (ContractError, (self._shown, self.line, self.column, self.key, self.reason))


# ------------------------------------------------------------------ checks that could not complete


def describe_error(exc: "BaseException") -> "str":
    """What went wrong, for a message or a log event, without the exception's own text.

    That text may carry the importer's data (a connection string in an error message), which no
    output may print (§6). The type, the module an ImportError names, an OSError's reason (the
    system's words for its error number only: a store's loader may write anything there), and where
    it was raised say what failed.
    """
    text = type(exc).__name__
    if isinstance(exc, ImportError) and isinstance(exc.name, str):
        text += f": no module {exc.name!r}"
    elif isinstance(exc, OSError) and isinstance(exc.errno, int) and exc.strerror == os.strerror(exc.errno):
        text += f": {exc.strerror}"  # the system's own words for its error number, nothing a loader wrote
    trace = exc.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    if trace is not None:
        text += f" at {os.path.basename(trace.tb_frame.f_code.co_filename)}:{trace.tb_lineno}"
    return text


def cannot_check(exc: "BaseException") -> "str":
    """The reason of a refusal because the check did not complete (§7 "fail closed")."""
    return f"the contract could not be checked ({describe_error(exc)})"


def contract_label(name: "str", contract: "object") -> "str":
    """What a message calls the contract of ``name``: its sidecar's path (the start-up module hands
    a sidecar over as ``(path, data, error)``), or a registered contract's label."""
    if contract.__class__ is tuple:
        return contract[0]  # type: ignore[no-any-return]
    return f"<registered contract for {name}>"
