"""A small plugin host: loads every plugin it knows and reports which ones its environment admits.

Run it with importspy-hook installed (see the README): each plugin ships a sidecar contract that says
what it needs from the host that imports it and from the runtime. The hook checks that contract
before the plugin's code runs; a plugin whose contract is not met is refused with a message that
names every unmet requirement.
"""

import importlib
import sys

API_VERSION = 2


class PluginHost:
    """What plugins may rely on: a registry and a way to say something."""

    def __init__(self) -> None:
        self.plugins: dict[str, object] = {}

    def register(self, name: str, plugin: object) -> None:
        self.plugins[name] = plugin

    def announce(self, message: str) -> None:
        print(f"  [host] {message}")


def main() -> int:
    host = PluginHost()
    refused = 0
    for name in ("greeter", "exporter"):
        try:
            module = importlib.import_module(f"plugins.{name}")
        # A refusal (importspy_hook.ContractViolation, ContractError) is a ValueError, never an
        # ImportError: a host that catches only ImportError for broken plugins crashes on one.
        except (ImportError, ValueError) as exc:
            refused += 1
            print(f"REFUSED  plugins.{name}\n{exc}\n")
            continue
        module.setup(host)
        print(f"ADMITTED plugins.{name}\n")
    print(f"{len(host.plugins)} plugin(s) loaded, {refused} refused.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
