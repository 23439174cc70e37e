"""The CNI models, found by name: every module of this package that defines a :class:`CNIPlugin` with a ``name``.

Adding a model touches its own module here, its scenario and its tests; nothing else names the models.

>>> sorted(plugins())
['bridge', 'calico', 'flannel', 'kindnet']
>>> plugin("kindnet", IPv4Network("10.244.0.0/16")).binary
'ptp'
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from ipaddress import IPv4Network

from k8snetviz.agents.cni.base import CNIPlugin
from k8snetviz.errors import FieldError, InvalidObject

__all__ = ["CNIPlugin", "plugins", "plugin", "names"]


@lru_cache(maxsize=1)
def plugins() -> dict[str, type[CNIPlugin]]:
    """Every CNI model by name."""
    found: dict[str, type[CNIPlugin]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, CNIPlugin) and value.name and \
                    value.__module__ == module.__name__:
                found[value.name] = value
    return dict(sorted(found.items()))


def names() -> list[str]:
    return list(plugins())


def plugin(name: str, pod_subnet: IPv4Network, field: str = "spec.cni", obj: tuple[str, str] = ("Scenario", "")) \
        -> CNIPlugin:
    """The model called ``name``; an unknown name is the API server's "Unsupported value" for ``field``."""
    cls = plugins().get(name)
    if cls is None:
        raise InvalidObject(obj[0], obj[1], [FieldError.not_supported(field, name, names())])
    return cls(pod_subnet)
