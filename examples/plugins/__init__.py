"""Plugins of the example host; each module has a sidecar ``<name>.contract.yml``."""
