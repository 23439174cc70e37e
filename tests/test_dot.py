"""The Graphviz view: DOT text, deterministic, with stable ids a widget can restyle."""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import pytest

import k8snetviz
from k8snetviz.views.dot import PALETTE, cluster_dot, describe, element_id, hop_ids


@pytest.fixture(scope="module")
def bridge():
    c = k8snetviz.load("two-node-bridge")
    return c, c.trace("default/client", "default/web:80")


def ids(dot: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', dot)) | set(re.findall(r'\bID="([^"]+)"', dot))


def test_same_input_same_text(bridge) -> None:
    c, t = bridge
    again = k8snetviz.load("two-node-bridge")
    assert cluster_dot(c) == cluster_dot(again)
    assert cluster_dot(c, t) == cluster_dot(again, again.trace("default/client", "default/web:80"))


def test_element_ids_are_dot_and_svg_safe() -> None:
    assert element_id("dev", "pod/default/web", "eth0") == "dev--pod_default_web--eth0"
    assert re.fullmatch(r"[A-Za-z0-9_.:-]+", element_id("route", "node/a b", "0"))


def test_every_device_route_row_and_veth_pair_has_an_id(bridge) -> None:
    c, _ = bridge
    found = ids(cluster_dot(c))
    for name, ns in c.netns.items():
        if ns.kind == "node":
            for dev, i in ns.interfaces.items():
                if i.kind != "loopback":
                    assert element_id("dev", name, dev) in found
            for r in ns.routes:  # a row's id is its identity in the table (destination, metric)
                assert element_id("route", name, r.key) in found
        if ns.kind == "pod":
            assert element_id("dev", name, "eth0") in found
            peer = ns.interfaces["eth0"].peer
            assert peer is not None
            assert element_id("veth", *sorted([f"{name}#eth0", f"{peer[0]}#{peer[1]}"])) in found
    assert {"lan", "gateway"} <= found


def test_ids_are_unique(bridge) -> None:
    c, t = bridge
    dot = cluster_dot(c, t)
    declared = re.findall(r'\bid="([^"]+)"', dot) + re.findall(r'\bID="([^"]+)"', dot)
    assert len(declared) == len(set(declared))


def route_row(dot: str, ident: str) -> str:
    m = re.search(rf'<TD ALIGN="LEFT" ID="{re.escape(ident)}"[^>]*>', dot)
    assert m, ident
    return m.group(0)


def test_a_trace_highlights_the_route_rows_it_used(bridge) -> None:
    c, t = bridge
    dot = cluster_dot(c, t)
    for nsn, rule in [("node/node-a", "10.244.2.0/24 via 172.18.0.3 dev eth0"),
                      ("node/node-b", "10.244.2.0/24 dev cni0 proto kernel scope link src 10.244.2.1")]:
        rows = c.netns[nsn].routes.sorted()
        used = [str(r) for r in rows].index(rule)
        for i, r in enumerate(rows):
            td = route_row(dot, element_id("route", nsn, r.key))
            assert ("BGCOLOR" in td) == (i == used), (nsn, str(r))
    assert "BGCOLOR=\"#" not in "".join(route_row(cluster_dot(c), element_id("route", "node/node-a", r.key))
                                       for r in c.netns["node/node-a"].routes)


def test_the_current_step_has_its_own_colour_and_later_steps_are_not_drawn(bridge) -> None:
    c, t = bridge
    step = next(h.step for h in t.hops if h.at == "node/node-a" and h.action == "route")
    rows = {str(r): r for r in c.netns["node/node-a"].routes.sorted()}
    ident = element_id("route", "node/node-a", rows[t.hops[step - 1].rule].key)
    assert t.hops[step - 1].decided_by.id == ident  # the hop names the row by the id the diagram uses
    assert PALETTE["current"] in route_row(cluster_dot(c, t, step=step), ident)
    assert PALETTE["path"] in route_row(cluster_dot(c, t, step=step + 1), ident)
    # node-b's row is not lit before the packet gets there
    b_rows = {str(r): r for r in c.netns["node/node-b"].routes.sorted()}
    b_ident = element_id("route", "node/node-b",
                         b_rows["10.244.2.0/24 dev cni0 proto kernel scope link src 10.244.2.1"].key)
    assert "BGCOLOR" not in route_row(cluster_dot(c, t, step=step), b_ident)


def test_hop_ids_name_the_device_link_and_row(bridge) -> None:
    c, t = bridge
    by_action = {h.action: h for h in t.hops}
    veth_hop = t.hops[1]
    assert veth_hop.action == "veth"
    peer = c.netns["pod/default/client"].interfaces["eth0"].peer
    assert peer is not None
    assert element_id("veth", *sorted(["pod/default/client#eth0", f"{peer[0]}#{peer[1]}"])) in hop_ids(c, veth_hop)
    assert element_id("wire", "node/node-a") in hop_ids(c, by_action["forward"])
    assert element_id("wire", "node/node-b") in hop_ids(c, by_action["forward"])
    lit = hop_ids(c, t.hops[3])
    assert element_id("dev", "node/node-a", "eth0") in lit
    # a routing row's SVG group is Graphviz's "a_<cell ID>" (the cell is a link so that the id is kept)
    assert any(i.startswith("a_route--node_node-a--") for i in lit)


def test_steps_are_numbered_on_the_links(bridge) -> None:
    c, t = bridge
    dot = cluster_dot(c, t)
    wire = re.search(r'\[id="wire--node_node-a"[^\]]*\]', dot)
    assert wire and 'label="5"' in wire.group(0)


def test_pods_filter_keeps_the_traced_pods(bridge) -> None:
    c, t = bridge
    dot = cluster_dot(c, t, pods=[])
    assert element_id("box", "pod/default/client") in dot and element_id("box", "pod/default/web") in dot
    assert element_id("box", "pod/default/cache") not in dot


def test_text_description_for_screen_readers(bridge) -> None:
    c, t = bridge
    text = describe(c, t)
    assert "2 nodes" in text and "CNI bridge" in text
    assert "Node node-a (172.18.0.2, podCIDR 10.244.1.0/24)" in text
    assert f"takes {len(t.hops)} steps and is delivered" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_accepts_the_text(bridge) -> None:
    c, t = bridge
    out = subprocess.run(["dot", "-Tsvg"], input=cluster_dot(c, t), capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    # Graphviz writes "-" in ids as the entity &#45;; the browser's DOM sees the decoded id.
    assert 'id="dev--pod_default_client--eth0"' in html.unescape(out.stdout)


# --- large clusters: drawn folded around the walk ------------------------------------------------------

def big(nodes: int, pods_per_node: int = 20) -> k8snetviz.Cluster:
    """``nodes`` kind nodes with ``pods_per_node`` pods each (pod-i-j on node i)."""
    docs = []
    for i in range(nodes):
        docs.append(f"apiVersion: v1\nkind: Node\nmetadata:\n  name: n{i}\n"
                    f"spec:\n  podCIDR: 10.{i // 250}.{i % 250}.0/24\n"
                    f"status:\n  addresses: [{{type: InternalIP, address: 172.18.{i // 250}.{i % 250 + 2}}}]")
        for j in range(pods_per_node):
            docs.append(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{i}-{j}\n  namespace: ns{j % 3}\n"
                        f"spec:\n  nodeName: n{i}\n  containers: [{{name: c, image: nginx}}]")
    config = ("apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\nnetworking:\n  podSubnet: 10.0.0.0/14\n")
    return k8snetviz.loads("\n---\n".join([config, *docs]))


@pytest.fixture(scope="module")
def large():
    c = big(40)
    return c, c.trace("ns1/pod-3-1", "ns2/pod-17-2:80")


def test_a_large_cluster_draws_the_walks_nodes_and_pods_and_folds_the_rest(large) -> None:
    c, t = large
    dot = cluster_dot(c, t)
    found = ids(dot)
    assert {element_id("box", "node/n3"), element_id("box", "node/n17")} <= found
    assert element_id("box", "node/n4") not in found
    assert {element_id("box", "pod/ns1/pod-3-1"), element_id("box", "pod/ns2/pod-17-2")} <= found
    assert element_id("box", "pod/ns1/pod-3-4") not in found  # a pod the walk does not touch
    folded = [p for p in c.pods.values() if p.node_name not in ("n3", "n17") and not p.host_network]
    namespaces = len({p.namespace for p in folded})  # the application's three, and kube-system's CoreDNS
    assert "fold--nodes" in found and "38 more nodes" in dot and f"{len(folded)} pods in {namespaces} namespaces" in dot
    assert element_id("fold", "pods", "node/n3") in found and "19 more pods in 3 namespaces" in dot
    # every element a step lights is in the drawing
    assert all(i.removeprefix("a_") in found for h in t.hops for i in hop_ids(c, h))


def test_a_long_routing_table_keeps_the_rows_that_matter_and_counts_the_rest(large) -> None:
    c, t = large
    dot = cluster_dot(c, t)
    rows = c.netns["node/n3"].routes.sorted()
    kept = [r for r in rows if element_id("route", "node/n3", r.key) in ids(dot)]
    used = {h.decided_by.id for h in t.hops if h.at == "node/n3" and h.decided_by and h.decided_by.kind == "route"}
    assert used and used <= {element_id("route", "node/n3", r.key) for r in kept}
    assert any(r.is_default for r in kept) and len(kept) < len(rows)
    assert f"… {len(rows) - len(kept)} more rows" in html.unescape(dot)


def test_a_learner_can_unfold_a_node(large) -> None:
    c, t = large
    dot = cluster_dot(c, t, unfold=["n3"])
    found = ids(dot)
    assert all(element_id("box", f"pod/ns{j % 3}/pod-3-{j}") in found for j in range(20))
    assert all(element_id("route", "node/n3", r.key) in found for r in c.netns["node/n3"].routes)
    assert element_id("fold", "pods", "node/n3") not in found
    assert "node/n3 holds" not in describe(c, t, unfold=["n3"])  # described in full, by name
    assert "Node n3 (" in describe(c, t, unfold=["n3"])


def test_the_drawing_stays_the_same_size_as_the_cluster_grows() -> None:
    small, larger = big(20, 10), big(200, 10)
    sizes = [len(cluster_dot(c, c.trace("ns1/pod-3-1", "ns2/pod-17-2:80"))) for c in (small, larger)]
    # the same walk on ten times the nodes: only the folded counts and the trimmed tables' counts grow
    assert abs(sizes[1] - sizes[0]) < 0.02 * sizes[0], sizes
    text = describe(larger, larger.trace("ns1/pod-3-1", "ns2/pod-17-2:80"))
    folded = sum(1 for p in larger.pods.values() if p.node_name not in ("n3", "n17") and not p.host_network)
    assert f"198 more nodes with {folded:,} pods in 4 namespaces are folded" in text
