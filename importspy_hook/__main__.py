"""``python -m importspy_hook`` and the ``importspy-hook`` console script (§9)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from ._cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
