"""Read a scenario file into manifests, keeping where each one came from.

A scenario is what ``kubectl apply -f`` takes (multi-document YAML) or what
``kubectl get -o yaml`` prints (``kind: List``), optionally with a kind ``Cluster``
config and one ``k8snetviz.dev/v1alpha1`` ``Scenario`` document.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from k8snetviz.errors import ScenarioError

if TYPE_CHECKING:
    from importlib.abc import Traversable

__all__ = ["Manifest", "Scenario", "read_scenario", "parse_text", "resolve_path", "shipped_scenarios"]

@dataclass
class Manifest:
    """One Kubernetes object as written, with its file and line for messages."""

    body: dict[str, Any]
    source: str
    line: int

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        md = self.body.get("metadata")
        return md if isinstance(md, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str | None:
        ns = self.metadata.get("namespace")
        return str(ns) if ns else None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass
class Scenario:
    """The documents of a scenario file, in file order."""

    source: str
    manifests: list[Manifest] = field(default_factory=list)
    text: str = ""

    def of_kind(self, *kinds: str) -> list[Manifest]:
        return [m for m in self.manifests if m.kind in kinds]


def _scenarios() -> Traversable:
    """The shipped scenarios: package data, read with importlib.resources (inside a wheel too)."""
    return resources.files("k8snetviz") / "data" / "scenarios"


def shipped_scenarios() -> list[str]:
    """Names of the scenarios that ship with the package (``k8snetviz/data/scenarios/``)."""
    return sorted(p.name[:-5] for p in _scenarios().iterdir() if p.name.endswith(".yaml"))


def resolve_path(scenario: str | os.PathLike[str]) -> Path:
    """A path as given, or the shipped scenario of that name (``influxdb``)."""
    p = Path(scenario)
    if p.is_file():
        return p
    shipped = _scenarios() / f"{scenario}.yaml"
    if shipped.is_file():
        return Path(str(shipped))
    names = ", ".join(shipped_scenarios()) or "none"
    raise ScenarioError(f'scenario "{scenario}" not found: not a file, nor a shipped scenario ({names})')


def parse_text(text: str, source: str = "<scenario>") -> Scenario:
    """Parse multi-document YAML, flattening ``kind: List`` and recording each document's line."""
    scenario = Scenario(source=source, text=text)
    # libyaml's loader when PyYAML has it (several times faster); both keep the line marks.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            body = loader.construct_document(node)
            if body is None:
                continue
            if not isinstance(body, dict):
                raise ScenarioError("a document must be a mapping (an object), not a "
                                    f"{type(body).__name__}", source=source, line=line)
            if body.get("kind") == "List" or (body.get("kind", "").endswith("List") and "items" in body):
                items = body.get("items") or []
                item_nodes = _items_nodes(node)
                for i, item in enumerate(items):
                    if not isinstance(item, dict):
                        raise ScenarioError(f"items[{i}] must be an object", source=source, line=line)
                    item_line = item_nodes[i] if i < len(item_nodes) else line
                    scenario.manifests.append(Manifest(item, source, item_line))
            else:
                scenario.manifests.append(Manifest(body, source, line))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        problem = e.problem or str(e)
        if e.context:
            problem = f"{problem} ({e.context})"
        raise ScenarioError(f"YAML does not parse: {problem}", source=source, line=line) from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"YAML does not parse: {e}", source=source) from None
    finally:
        loader.dispose()
    return scenario


def _items_nodes(node: yaml.Node) -> list[int]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode):
            return [n.start_mark.line + 1 for n in value.value]
    return []


def read_scenario(scenario: str | os.PathLike[str]) -> Scenario:
    """Read a scenario from a path or a shipped name."""
    path = resolve_path(scenario)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError(f"cannot read: {e.strerror}", source=str(path)) from None
    return parse_text(text, source=str(scenario) if not Path(scenario).is_file() else str(path))
