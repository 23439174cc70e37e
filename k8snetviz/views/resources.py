"""The resources ``kubectl get`` knows, each with the view that prints it, and the fixed values those views share.

A view module registers its getter with :func:`register`; :func:`k8snetviz.views.kubectl.get` looks it up by
name or alias. Fixed values stand where a live cluster would have changing ones (AGE, versions), so that
output is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["register", "RESOURCES", "ALIASES", "AGE", "KUBERNETES_VERSION", "OS_IMAGE", "KERNEL", "RUNTIME"]

AGE = "5m"
KUBERNETES_VERSION = "v1.33.1"
OS_IMAGE = "Debian GNU/Linux 12 (bookworm)"
KERNEL = "6.8.0-45-generic"
RUNTIME = "containerd://1.7.18"

Getter = Callable[..., str]
RESOURCES: dict[str, Getter] = {}
ALIASES: dict[str, str] = {}


def register(name: str, *aliases: str) -> Callable[[Getter], Getter]:
    def deco(fn: Getter) -> Getter:
        RESOURCES[name] = fn
        for a in (name, *aliases):
            ALIASES[a] = name
        return fn
    return deco
