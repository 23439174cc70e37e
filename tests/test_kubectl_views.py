"""`kubectl get nodes|pods [-o wide] [-A]`: kubectl's columns, in kubectl's order, aligned as its tabwriter does
(cells padded to the widest one plus three blanks; the last column not padded)."""

from __future__ import annotations

import pytest

import k8snetviz
from k8snetviz.errors import UsageError
from k8snetviz.views.table import columns

NODES_WIDE = ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE",
              "KERNEL-VERSION", "CONTAINER-RUNTIME"]
PODS_WIDE = ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]


def starts(header_line: str, names: list[str]) -> list[int]:
    out, pos = [], 0
    for n in names:
        pos = header_line.index(n, pos)
        out.append(pos)
        pos += len(n)
    return out


def cells(text: str, names: list[str]) -> list[list[str]]:
    """Cut every line at the header's column starts, checking each cell starts exactly there."""
    lines = text.splitlines()
    at = starts(lines[0], names)
    rows = []
    for line in lines:
        assert line == line.rstrip()
        row = []
        for i, s in enumerate(at):
            end = at[i + 1] if i + 1 < len(at) else len(line)
            cell = line[s:end]
            assert cell and cell[0] != " ", (line, names[i])
            if i + 1 < len(at):
                # at least three blanks of padding after the widest cell of the column
                assert cell.endswith("   ") or len(cell.rstrip()) + 3 <= len(cell)
            row.append(cell.rstrip())
        rows.append(row)
    # each column is exactly as wide as its widest cell plus three
    for i in range(len(at) - 1):
        assert at[i + 1] - at[i] == max(len(r[i]) for r in rows) + 3
    return rows


def test_tabwriter_layout() -> None:
    assert columns(["NAME", "IP"], [["a", "10.0.0.1"], ["longer-name", "-"]]) == (
        "NAME          IP\na             10.0.0.1\nlonger-name   -")


def test_get_nodes() -> None:
    c = k8snetviz.load("kind-default")
    assert c.get("nodes") == (
        "NAME                 STATUS   ROLES           AGE   VERSION\n"
        "kind-control-plane   Ready    control-plane   5m    v1.33.1\n"
        "kind-worker          Ready    <none>          5m    v1.33.1\n"
        "kind-worker2         Ready    <none>          5m    v1.33.1")
    assert c.get("no") == c.get("node") == c.get("nodes")


def test_get_nodes_wide() -> None:
    rows = cells(k8snetviz.load("kind-default").get("nodes", wide=True), NODES_WIDE)
    assert rows[0] == NODES_WIDE
    assert [(r[0], r[5], r[6]) for r in rows[1:]] == [
        ("kind-control-plane", "172.18.0.2", "<none>"), ("kind-worker", "172.18.0.3", "<none>"),
        ("kind-worker2", "172.18.0.4", "<none>")]
    assert all(r[9].startswith("containerd://") for r in rows[1:])


def test_get_pods_wide() -> None:
    rows = cells(k8snetviz.load("two-node-bridge").get("pods", wide=True), PODS_WIDE)
    assert rows == [
        PODS_WIDE,
        ["cache", "1/1", "Running", "0", "5m", "10.244.1.5", "node-a", "<none>", "<none>"],
        ["client", "1/1", "Running", "0", "5m", "10.244.1.4", "node-a", "<none>", "<none>"],
        ["web", "1/1", "Running", "0", "5m", "10.244.2.2", "node-b", "<none>", "<none>"],
    ]


def test_get_pods_all_namespaces_adds_the_namespace_column_sorted_by_namespace_then_name() -> None:
    text = k8snetviz.load("two-node-bridge").get("pods", all_namespaces=True, wide=True)
    rows = cells(text, ["NAMESPACE", *PODS_WIDE])
    keys = [(r[0], r[1]) for r in rows[1:]]
    assert keys == sorted(keys)
    # issue 14 (the full kind control plane): kind's local-path-provisioner runs in local-path-storage.
    assert {r[0] for r in rows[1:]} == {"default", "kube-system", "local-path-storage"}
    assert sum(r[1].startswith("coredns-") for r in rows[1:]) == 2


def test_get_pods_narrow_has_no_wide_columns() -> None:
    text = k8snetviz.load("two-node-bridge").get("pods")
    assert text.splitlines()[0] == "NAME     READY   STATUS    RESTARTS   AGE"
    assert "10.244" not in text


def test_ready_counts_containers_and_a_pending_pod_is_not_ready() -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: two}
spec: {containers: [{name: a, image: x}, {name: b, image: y}]}
---
apiVersion: v1
kind: Pod
metadata: {name: waiting}
spec: {containers: [{name: a, image: x}]}
status: {phase: Pending}
"""
    rows = cells(k8snetviz.loads(text).get("pods"), PODS_WIDE[:5])
    assert rows[1:] == [["two", "2/2", "Running", "0", "5m"], ["waiting", "0/1", "Pending", "0", "5m"]]


def test_empty_namespace_message() -> None:
    c = k8snetviz.load("two-node-bridge")
    assert c.get("pods", namespace="shop") == "No resources found in shop namespace."


def test_unknown_resource_is_kubectls_error() -> None:
    with pytest.raises(UsageError) as e:
        k8snetviz.load("two-node-bridge").get("frobs")
    assert str(e.value) == 'error: the server doesn\'t have a resource type "frobs"'
