"""Reading scenarios: Kubernetes manifests plus the project's own ``Scenario`` document."""

from __future__ import annotations

from k8snetviz.scenario.loader import Manifest, Scenario, read_scenario, resolve_path

__all__ = ["Manifest", "Scenario", "read_scenario", "resolve_path"]
