"""The widgets' Python side: a step change moves highlights only; bad input is shown in place."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest

import k8snetviz
from k8snetviz.errors import UsageError
from k8snetviz.views.render import render
from k8snetviz.widgets import NodeInspector, PacketWalk, PolicyEditor, Resolver, ServiceExplorer, URLTester
from k8snetviz.widgets.layout import layout_count


def test_stepping_does_not_lay_the_diagram_out_again() -> None:
    walk = PacketWalk(k8snetviz.load("two-node-bridge"), src="default/client", dst="default/web:80")
    before, dot = layout_count(), walk.diagram.dot
    for step in range(1, walk.step.max + 1):
        walk.step.value = step
        assert walk.diagram.step == step
        assert f"Step {step} of {walk.step.max}" in walk.info.value
    assert layout_count() == before and walk.diagram.dot is dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_each_step_lights_its_own_elements() -> None:
    walk = PacketWalk(k8snetviz.load("two-node-bridge"), src="default/client", dst="default/web:80")
    steps = walk.diagram.steps
    assert len(steps) == len(walk.result.hops) and all(steps)
    # every id a step lights exists in the SVG laid out from the one DOT the browser holds (the browser's
    # Graphviz keeps the same ids: tests/lite lights them there)
    svg = html.unescape(render(walk.diagram.dot).decode())
    assert all(f'id="{i}"' in svg for ids in steps for i in ids)
    # the routing rows the walk used are among them (Graphviz names a linked cell's group a_<ID>)
    assert any(i.startswith("a_route--node_node-a--") for ids in steps for i in ids)


def test_a_trace_through_coredns_brings_the_system_pod_into_the_drawing() -> None:
    c = k8snetviz.load("dns")
    walk = PacketWalk(c)
    def drawn(dot: str) -> bool:
        return 'id="box--pod_kube-system_coredns' in dot

    assert not drawn(walk.diagram.dot)  # system pods are left out of the first drawing
    walk.src.value, walk.dst.value = "app/client", "db.data:5432"
    result = walk.trace()
    assert result is not None and result.delivered
    assert drawn(walk.diagram.dot)


def test_bad_input_is_shown_in_place_and_the_text_is_kept() -> None:
    walk = PacketWalk(k8snetviz.load("two-node-bridge"), src="default/client", dst="default/nope:80")
    assert walk.result is None and 'pods "nope" not found' in html.unescape(walk.error.value)
    assert walk.dst.value == "default/nope:80" and walk.diagram.dot  # the diagram is still drawn


def test_node_inspector_shows_the_tools_output() -> None:
    ins = NodeInspector(k8snetviz.load("two-node-bridge"), target="node/node-a")
    assert "10.244.2.0/24 via 172.18.0.3 dev eth0" in ins.out.value
    ins.lookup.value = "10.244.2.7"
    assert "ip route get 10.244.2.7" in ins.out.value


# --- a loaded dump is a cluster like any shipped scenario -------------------------------------------------

DUMPS = sorted(p for p in (Path(__file__).parent / "data" / "dumps").iterdir() if p.name != "SOURCES.md")


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.name)
def test_every_widget_takes_a_loaded_dump(dump: Path) -> None:
    """Real dumps hold pods without a sandbox (Succeeded jobs, Pending pods): the drawing leaves them out and
    every widget opens on the dump as it does on a shipped scenario (README: "every widget takes the loaded
    cluster")."""
    c = k8snetviz.load(dump)
    walk = PacketWalk(c)
    assert walk.diagram.dot and walk.error.value == ""
    ins = NodeInspector(c)
    assert ins.out.value
    assert "<svg" in c._repr_mimebundle_()["text/html"]
    running = [p for p in sorted(c.pods.values(), key=lambda p: p.key)
               if f"pod/{p.key}" in c.netns and not p.host_network]
    if running:
        Resolver(c, pod=running[0].key, name="kubernetes.default")
    try:
        ServiceExplorer(c)
    except UsageError as err:  # a dump of pods alone: said in one line, as the API would
        assert str(err) == "the scenario has no Service to explore"
    URLTester(c)
    PolicyEditor(c)


# --- diagrams are laid out in the browser -----------------------------------------------------------------

def test_diagrams_send_dot_and_share_one_graphviz_engine() -> None:
    """The kernel sends DOT, never an SVG; the 1.35 MB engine is one model that every diagram refers to."""
    from k8snetviz.widgets.diagram import Diagram, graphviz

    walks = [PacketWalk(k8snetviz.load("two-node-bridge"), src="default/client", dst="default/web:80")
             for _ in range(2)]
    diagrams = [w.diagram for w in walks] + [Diagram(dot="digraph { a -> b }")]
    assert all(d.dot.startswith("digraph") and d.svg == "" for d in diagrams)
    engine = graphviz()
    assert all(d.engine is engine for d in diagrams)
    states = [d.get_state() for d in diagrams]
    assert {s["engine"] for s in states} == {f"IPY_MODEL_{engine.model_id}"}  # a reference, not the source
    assert all("source" not in s and len(str(s)) < 200_000 for s in states)
    assert engine.source.startswith("/*! Graphviz") and "export{" in engine.source


def test_a_closed_engine_is_made_again() -> None:
    from k8snetviz.widgets.diagram import Diagram, graphviz

    first = graphviz()
    first.close()
    assert Diagram(dot="digraph { a }").engine is graphviz() is not first


def test_a_results_display_in_a_live_kernel_is_a_widget_with_a_static_fallback(monkeypatch) -> None:
    """In a kernel the diagram of a cluster or a trace is laid out in the browser; text/html stays a static
    figure for front ends without widgets."""
    from k8snetviz.views import notebook

    c = k8snetviz.load("two-node-bridge")
    monkeypatch.setattr(notebook, "_in_kernel", lambda: True)
    for shown in (c, c.trace("default/client", "default/web:80")):
        bundle = shown._repr_mimebundle_()
        assert "model_id" in bundle["application/vnd.jupyter.widget-view+json"]
        assert 'class="knv-figure"' in bundle["text/html"] and "<pre>" in bundle["text/html"]
        assert bundle["text/plain"] == str(shown) or bundle["text/plain"].startswith(repr(shown))
    monkeypatch.setattr(notebook, "_in_kernel", lambda: False)
    assert "application/vnd.jupyter.widget-view+json" not in c._repr_mimebundle_()
