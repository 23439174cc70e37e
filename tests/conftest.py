"""Test-layer rules shared by every pytest run of the project.

CONTRIBUTING.md "Tests, in layers": locally, a notebook, packaging, UI or lab test whose system parts are
missing skips with a reason; under ``CI=true`` such a skip is a failure, because CI must prove every layer.

This file is loaded as a conftest for runs over ``tests/`` and as a plugin (``-p tests.conftest``) for
the notebook layer, whose files live outside ``tests/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["must_not_skip", "strict_layers"]

TESTS = Path(__file__).resolve().parent
# Items under these folders belong to a layer, whatever markers their modules set.
LAYER_DIRS = {"ui": TESTS / "ui", "lab": TESTS / "lab", "packaging": TESTS / "distribution", "site": TESTS / "lite"}


def strict_layers() -> bool:
    """True when skips of layers 2-4 must fail the run (``CI=true``, as GitHub and .ci/run set it)."""
    return os.environ.get("CI", "").lower() == "true"


def _is_nbval_item(item: pytest.Item) -> bool:
    # nbval's cell items; matched by class name so this file does not import nbval.
    return type(item).__name__ == "IPyNbCell"


def must_not_skip(item: pytest.Item) -> bool:
    """Whether a skip of ``item`` hides an unproven layer (notebook cell, ``ui``, ``site`` or ``lab`` test).

    A cell marked ``NBVAL_SKIP`` is an author's visible decision in the notebook, not a missing
    system part, so it stays a skip.
    """
    if _is_nbval_item(item):
        return not getattr(item, "options", {}).get("skip", False)
    return any(item.get_closest_marker(name) is not None for name in LAYER_DIRS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path)).resolve()
        for name, folder in LAYER_DIRS.items():
            if path.is_relative_to(folder):
                item.add_marker(getattr(pytest.mark, name))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if (
        report.skipped
        and not hasattr(report, "wasxfail")
        and strict_layers()
        and must_not_skip(item)
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true: this layer must run, but the test was skipped: {reason}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    # A module-level skip (pytest.importorskip, allow_module_level) in tests/ui or tests/lab, or a
    # notebook that cannot be collected as skipped, would otherwise vanish from the count.
    report = yield
    if report.skipped and strict_layers():
        path = Path(str(getattr(collector, "path", ""))).resolve()
        in_layer = path.suffix == ".ipynb" or any(path.is_relative_to(d) for d in LAYER_DIRS.values())
        if in_layer:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            report.outcome = "failed"
            report.longrepr = f"CI=true: this layer must run, but {path.name} was skipped: {reason}"
    return report
