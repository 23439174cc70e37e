"""The policy editor: write NetworkPolicy YAML, apply it, watch the reachability matrix change, click a cell.

Each *Apply* rebuilds the scenario with the YAML on top (``k8snetviz.load(scenario, yaml)``, so a policy
replaces one of the same name, as ``kubectl apply`` does) and draws the pods × pods matrix for the chosen
port and protocol. Clicking a cell walks that pair's packet and says which policy rule let it through, or
which policies isolate the pod and that none of their rules matches. YAML that does not parse, or a
policy the API server would refuse, is shown in place: the text stays, and the last good matrix stays
visible, marked stale.

>>> import k8snetviz
>>> from k8snetviz.widgets import PolicyEditor
>>> ed = PolicyEditor(k8snetviz.load("netpol"), namespaces=["x"])
>>> ed.matrix.to_dict()["allowed"]["x/b"]["x/a"]
True
>>> ed.text.value = '''
... apiVersion: networking.k8s.io/v1
... kind: NetworkPolicy
... metadata: {name: deny-ingress, namespace: x}
... spec: {podSelector: {}}
... '''
>>> ed.apply().to_dict()["allowed"]["x/b"]["x/a"]
False
>>> ed.select("x/b", "x/a").verdict
'dropped'
>>> ed.text.value = "spec: {podSelector: [}"
>>> ed.apply() is None, ed.grid.stale, "does not parse" in ed.error.value
(True, True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as w
import traitlets

import k8snetviz
import k8snetviz.widgets.arguments as args
from k8snetviz.agents.networkpolicy import PROTOCOLS, Reachability
from k8snetviz.errors import K8sNetVizError
from k8snetviz.questions.policy import PolicyMatrix, engine, matrix
from k8snetviz.views.policygrid import enforcement_html, grid_html
from k8snetviz.views.policytext import summary, verdict_text
from k8snetviz.views.theme import error_html, themed

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.questions.results import TraceResult

__all__ = ["PolicyEditor", "MatrixGrid", "PolicyText", "restrict", "pair_html"]

_STATIC = Path(__file__).parent / "static"


class PolicyText(anywidget.AnyWidget):
    """The YAML box with its *Apply* button: the browser sends the box's text with each click.

    ``value`` is the text. Messages from the browser carry the text they act on: ``{"event": "edit"}``
    when the box loses focus, ``{"event": "apply"}`` for the button; the editor listens with ``on_msg``.
    """

    _esm = _STATIC / "policyyaml.js"
    _css = _STATIC / "policyyaml.css"

    value = traitlets.Unicode("").tag(sync=True)
    placeholder = traitlets.Unicode("").tag(sync=True)
    rows = traitlets.Int(16).tag(sync=True)
    label = traitlets.Unicode("NetworkPolicy YAML").tag(sync=True)


class MatrixGrid(anywidget.AnyWidget):
    """The matrix's HTML (``views.policygrid``) with clickable cells: ``selected`` is ``[from, to]``."""

    _esm = _STATIC / "matrixgrid.js"
    _css = _STATIC / "matrixgrid.css"

    html = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.List(traitlets.Unicode(), default_value=["", ""]).tag(sync=True)
    stale = traitlets.Bool(False).tag(sync=True)


def restrict(result: Reachability, namespaces: Sequence[str] | None) -> Reachability:
    """The matrix limited to the pods of ``namespaces`` (all pods when None), in the same order.

    >>> r = Reachability(80, "TCP", ["x/a", "y/a"], {"x/a": {"x/a": True, "y/a": False},
    ...                                             "y/a": {"x/a": True, "y/a": True}})
    >>> restrict(r, ["x"]).to_dict()["allowed"]
    {'x/a': {'x/a': True}}
    """
    if not namespaces:
        return result
    keep = [p for p in result.pods if p.split("/", 1)[0] in namespaces]
    allowed = {src: {dst: result.allowed[src][dst] for dst in keep} for src in keep}
    return Reachability(result.port, result.protocol, keep, allowed)


def pair_html(verdict: Any, walk: TraceResult | None, walk_error: str = "") -> str:
    """One pair: the policy verdict for both ends (egress, then ingress), then the packet's walk."""
    ok = verdict.allowed
    cls = "knv-nat" if ok else "knv-bad"
    policy_hops = [h for h in (walk.hops if walk else []) if h.table == "networkpolicy"]
    hops = "".join(
        f"<li><b>{escape(h.action)}</b> at <code>{escape(h.at)}</code>: {escape(h.detail)}"
        + (f"<br><small>decided by <code>{escape(h.rule)}</code></small>" if h.rule else "") + "</li>"
        for h in policy_hops)
    where = (f"<p>Where the walk meets NetworkPolicy:</p><ul class='knv-policy-hops'>{hops}</ul>" if hops else
             "<p class='knv-policy-hops'>The walk meets no policy check on this path.</p>")
    if walk is not None:
        body = f"<pre class='knv-walk-text'>{escape(walk.text())}</pre>"
    else:
        body = f"<p><i>No walk: {escape(walk_error)}</i></p>"
    return themed(f"<div class='knv-pair knv-verdict {cls}'>"
            f"<pre class='knv-verdict'>{escape(verdict_text(verdict))}</pre>{where}"
            f"<details open><summary>The packet's walk</summary>{body}</details></div>")


class PolicyEditor(w.VBox):
    """A YAML box with *Apply*, port and protocol pickers, the matrix grid, and the walk of the clicked cell.

    ``cluster``: the scenario to edit on top of (a Cluster, or a scenario name or path). ``policy``:
    the YAML to start with. ``port`` (1-65535) and ``protocol`` (one of ``PROTOCOLS``): what the matrix
    checks. ``namespaces``: show only the pods of these namespaces. ``live``: apply on every edit (when
    the text box loses focus) instead of on *Apply*.
    """

    def __init__(self, cluster: Cluster | str, policy: str = "", *, port: int = 80, protocol: str = "TCP",
                 namespaces: Sequence[str] | None = None, live: bool = False) -> None:
        base = args.cluster_of("PolicyEditor", cluster)
        policy = args.text("PolicyEditor", "policy", policy, "NetworkPolicy YAML")
        port = args.port("PolicyEditor", "port", port)
        protocol = args.choice("PolicyEditor", "protocol", protocol, PROTOCOLS, read=str.upper)
        chosen = args.choices("PolicyEditor", "namespaces", namespaces,
                              sorted(base.namespaces))
        live = args.flag("PolicyEditor", "live", live)
        self.base = base.scenario
        self.cluster: Cluster = base
        self.namespaces = chosen or None
        self.matrix: PolicyMatrix | None = None
        self.walk: TraceResult | None = None
        self._failed = False
        self._quiet = False
        self.text = PolicyText(value=policy, placeholder="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n…")
        self.port = w.BoundedIntText(value=port, min=1, max=65535, description="port", layout=w.Layout(width="170px"))
        self.protocol = w.Dropdown(options=list(PROTOCOLS), value=protocol, description="protocol",
                                   layout=w.Layout(width="190px"))
        self.live = w.Checkbox(value=live, description="apply on every edit", indent=False,
                               layout=w.Layout(width="auto"))
        self.error = w.HTML()
        self.status = w.HTML()
        self.grid = MatrixGrid()
        self.pair = w.HTML()
        for widget, cls in ((self.text, "knv-policy-yaml"), (self.port, "knv-port"), (self.protocol, "knv-protocol"),
                            (self.live, "knv-live"), (self.error, "knv-error"), (self.status, "knv-status"),
                            (self.grid, "knv-matrix-grid"), (self.pair, "knv-pair-view")):
            widget.add_class(cls)
        self.text.on_msg(self._on_text_message)
        self.text.observe(self._on_text, names="value")
        self.port.observe(self._on_pick, names="value")
        self.protocol.observe(self._on_pick, names="value")
        self.grid.observe(self._on_select, names="selected")
        super().__init__([self.text, w.HBox([self.port, self.protocol, self.live]),
                          self.error, self.status, self.grid, self.pair])
        self.add_class("knv-policyeditor")
        self.apply()

    # --- applying the text -----------------------------------------------------------------------------
    def apply(self) -> PolicyMatrix | None:
        """Rebuild the scenario with the text on top and redraw; bad input is shown in place, text kept."""
        text = self.text.value
        try:
            cluster = k8snetviz.load(self.base, text) if text.strip() else k8snetviz.load(self.base)
            engine(cluster)  # refuses a policy the API server would refuse, with its message
        except K8sNetVizError as e:
            self._fail(str(e))
            return None
        self.cluster = cluster
        self._failed = False
        return self._draw()

    def _draw(self) -> PolicyMatrix | None:
        try:
            result = matrix(self.cluster, self.port.value, self.protocol.value)
        except K8sNetVizError as e:
            self._fail(str(e))
            return None
        self.matrix = result
        shown = restrict(result.result, self.namespaces)
        if not self._failed:
            # after a failed Apply the error and the stale mark stay until the text applies
            self.error.value = ""
            self.grid.stale = False
        self.grid.html = grid_html(shown)
        names = [p.key for p in engine(self.cluster).policies]
        policies = ", ".join(names) if names else "none: every pod reaches every pod"
        self.status.value = (f"<p class='knv-summary'><b>{escape(summary(shown))}</b>. "
                             f"NetworkPolicies: {escape(policies)}. Click a cell to see its walk.</p>"
                             + enforcement_html(result))
        src, dst = self.grid.selected
        if src and dst and src in shown.pods and dst in shown.pods:
            self.select(src, dst)
        else:
            self.pair.value = ""
        return result

    def _fail(self, message: str) -> None:
        self._failed = True
        self.error.value = error_html(message) + "<p><i>Nothing was applied: fix the text and apply again.</i></p>"
        self.grid.stale = self.matrix is not None

    # --- one pair --------------------------------------------------------------------------------------
    def select(self, src: str, dst: str) -> TraceResult | None:
        """Walk ``src`` → ``dst`` on the chosen port and protocol (what clicking a cell does)."""
        port, protocol = self.port.value, self.protocol.value
        if list(self.grid.selected) != [src, dst]:
            self.grid.selected = [src, dst]  # the observer comes back here
            return self.walk
        try:
            verdict = engine(self.cluster).check(src, dst, port, protocol)
        except K8sNetVizError as e:
            self.pair.value = error_html(str(e))
            self.walk = None
            return None
        try:
            self.walk = self.cluster.trace(src, f"pod/{dst}:{port}", protocol=protocol)
            error = ""
        except K8sNetVizError as e:
            self.walk, error = None, str(e)
        self.pair.value = pair_html(verdict, self.walk, error)
        return self.walk

    # --- events ------------------------------------------------------------------------------------------
    def _on_text(self, change: dict) -> None:
        if self.live.value and not self._quiet:
            self.apply()

    def _on_text_message(self, _: Any, content: Any, buffers: Any = None) -> None:
        """The browser's edit (the box lost focus) or *Apply* click, with the text it acts on."""
        if not isinstance(content, dict) or not isinstance(content.get("text"), str):
            return
        if content.get("event") == "edit":
            self.text.value = content["text"]  # in live mode the observer applies it
        elif content.get("event") == "apply":
            self._quiet = True  # applied once, below, even in live mode
            try:
                self.text.value = content["text"]
            finally:
                self._quiet = False
            self.apply()

    def _on_pick(self, change: dict) -> None:
        # A new port or protocol redraws the policies that applied last; the text waits for Apply.
        if self.matrix is not None:
            self._draw()

    def _on_select(self, change: dict) -> None:
        src, dst = change["new"]
        if src and dst:
            self.select(src, dst)
