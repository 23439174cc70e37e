"""k8snetviz: see how a packet crosses a Kubernetes cluster.

>>> import k8snetviz
>>> cluster = k8snetviz.load("two-node-bridge")
>>> cluster.trace("default/client", "default/web:80").delivered
True
"""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING, Any

from k8snetviz.errors import InvalidArgument, InvalidObject, K8sNetVizError, NotFound, ScenarioError, UsageError
from k8snetviz.errors import require_text as _require_text

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.scenario.loader import Scenario

# The package imports its engine on first use: ``import k8snetviz`` stays cheap, and a helper program
# run as ``python -m k8snetviz.lab.podserver`` (the lab starts dozens, in pod namespaces) loads only what it needs.
_LAZY = {"Cluster": "k8snetviz.cluster", "Scenario": "k8snetviz.scenario.loader",
         "shipped_scenarios": "k8snetviz.scenario.loader"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'k8snetviz' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

__all__ = ["load", "loads", "present", "Cluster", "shipped_scenarios", "K8sNetVizError", "InvalidObject", "NotFound",
           "ScenarioError", "UsageError", "InvalidArgument", "__version__"]
__version__ = "0.1.0"


def load(scenario: str | os.PathLike[str] | Scenario, *extra_yaml: str) -> Cluster:
    """Build the cluster of a scenario file or shipped scenario name; ``extra_yaml`` documents are applied on top.

    The extra documents are what a learner writes in a task: ``load("influxdb", my_service_yaml)``.
    """
    from k8snetviz.cluster import Cluster
    from k8snetviz.scenario.loader import Scenario, parse_text, read_scenario, shipped_scenarios

    if not isinstance(scenario, (str, os.PathLike, Scenario)):
        raise InvalidArgument.invalid("k8snetviz.load", "scenario", scenario, "must be the name of a shipped "
                                      f"scenario ({', '.join(shipped_scenarios())}), a path, or a Scenario")
    collecting = gc.isenabled()
    gc.disable()  # from the parse to the end of the build (see loads)
    try:
        sc = scenario if isinstance(scenario, Scenario) else read_scenario(scenario)
        for i, text in enumerate(extra_yaml):
            _require_text("k8snetviz.load", f"extra_yaml[{i}]", text, "YAML (apiVersion: …, kind: …)")
            more = parse_text(text, source=f"<your YAML{'' if len(extra_yaml) == 1 else f' #{i + 1}'}>")
            sc = _apply(sc, more)
        return Cluster(sc)
    finally:
        if collecting:
            gc.enable()


def loads(text: str, source: str = "<scenario>") -> Cluster:
    """Build a cluster from scenario YAML given as text."""
    from k8snetviz.cluster import Cluster
    from k8snetviz.scenario.loader import parse_text

    _require_text("k8snetviz.loads", "text", text, "YAML (apiVersion: …, kind: …)")
    # The cyclic collector stays off from the parse to the end of the build: the parse and the build each
    # turn it off, but in between it would scan everything the parse made (1.6 million objects at
    # Kubernetes' limits); the build freezes them with its own (Cluster: gc.freeze).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return Cluster(parse_text(text, source))
    finally:
        if collecting:
            gc.enable()


def _apply(base: Scenario, more: Scenario) -> Scenario:
    """``kubectl apply`` semantics for whole objects: a document replaces the one of the same kind and name."""
    from k8snetviz.scenario.loader import Scenario

    keys = {(m.kind, m.namespace or "default", m.name) for m in more.manifests}
    kept = [m for m in base.manifests if (m.kind, m.namespace or "default", m.name) not in keys]
    return Scenario(base.source, kept + more.manifests, base.text)


def present(on: bool = True, *, scale: float = 1.5, solutions: bool = True) -> None:
    """Presentation mode for live coding: text and diagrams ``scale`` times larger, task solutions shown.

    In a notebook it shows a one-line note (and the style that enlarges the page); ``present(False)``
    turns it off, restoring the sizes wherever the note was shown. Run it again to change the settings.
    """
    from IPython import get_ipython
    from IPython.display import display, update_display

    from k8snetviz.views.presentation import DISPLAY_ID, set_mode

    mode = set_mode(on, scale, solutions)
    if get_ipython() is None:  # plain Python: say what changed
        print(mode.text())
        return
    update_display(mode, display_id=DISPLAY_ID)  # the earlier notes and styles, wherever they are
    display(mode, display_id=DISPLAY_ID)
