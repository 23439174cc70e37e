"""Layer 4: tests marked ``lab`` build real namespaces; they need root and the system packages.

Locally they skip with the reason; under ``CI=true`` a missing requirement is a failure.
"""

from __future__ import annotations

import os

import pytest

from k8snetviz.lab.netns import lab_netns_on_host
from k8snetviz.lab.preflight import missing_requirements


def lab_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces)"
    missing = missing_requirements(programs=("ip", "iptables-restore", "ping", "bridge", "nfacct", "nft"))
    if missing:
        return "the lab needs " + ", ".join(missing)
    return None


@pytest.fixture(autouse=True)
def _lab_requirements(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("lab") is None:
        return
    reason = lab_unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the lab layer: {reason}")
        pytest.skip(reason)


@pytest.fixture
def lab_id(request: pytest.FixtureRequest) -> str:
    """A lab id unique to this test run, and a check that the test left none of its namespaces."""
    ident = f"t{os.getpid() % 100000}-{abs(hash(request.node.name)) % 10000}"
    yield ident
    leftovers = [n for n in lab_netns_on_host() if n.startswith(f"knv-{ident}-")]
    assert not leftovers, f"the test left namespaces behind: {leftovers}"
