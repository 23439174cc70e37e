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
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as w
import traitlets

import k8snetviz
from k8snetviz.agents.networkpolicy import PROTOCOLS, Reachability
from k8snetviz.errors import K8sNetVizError
from k8snetviz.questions.policy import PolicyMatrix, engine, matrix
from k8snetviz.views.policygrid import grid_html
from k8snetviz.views.policytext import summary, verdict_text

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.questions.results import TraceResult

__all__ = ["PolicyEditor", "MatrixGrid", "restrict", "pair_html"]

# The grid's front end: the HTML comes from views.policygrid; a click (or Enter/Space on a focused cell)
# sends the pair to the kernel. Cells become focusable buttons so the grid works from the keyboard.
_ESM = r"""
function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "knv-grid";
  const banner = document.createElement("p");
  banner.className = "knv-stale-banner";
  banner.setAttribute("role", "status");
  const table = document.createElement("div");
  table.className = "knv-grid-table";
  root.append(banner, table);
  el.append(root);

  function mark() {
    const [from, to] = model.get("selected");
    for (const td of table.querySelectorAll("td.knv-cell")) {
      const on = td.dataset.from === from && td.dataset.to === to;
      td.classList.toggle("knv-selected", on);
      td.setAttribute("aria-pressed", on ? "true" : "false");
    }
  }
  function paint() {
    table.innerHTML = model.get("html");
    for (const td of table.querySelectorAll("td.knv-cell")) {
      td.tabIndex = 0;
      td.setAttribute("role", "button");
      td.setAttribute("aria-label", td.title + ": show the walk");
    }
    mark();
  }
  function paintStale() {
    const stale = model.get("stale");
    root.classList.toggle("knv-stale", stale);
    banner.textContent = stale ? "Stale: this matrix shows the last policies that applied, not the text above." : "";
  }
  function pick(target) {
    const td = target.closest("td.knv-cell");
    if (!td || !table.contains(td)) return;
    model.set("selected", [td.dataset.from, td.dataset.to]);
    model.save_changes();
  }
  table.addEventListener("click", (e) => pick(e.target));
  table.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(e.target); }
  });
  paint();
  paintStale();
  model.on("change:html", paint);
  model.on("change:selected", mark);
  model.on("change:stale", paintStale);
}
export default { render };
"""

_CSS = """
.knv-policy-yaml textarea { font-family: var(--jp-code-font-family, monospace); }
.knv-grid .knv-grid-table { overflow-x: auto; max-width: 100%; }
.knv-grid td.knv-cell { cursor: pointer; }
.knv-grid td.knv-cell:focus, .knv-grid td.knv-cell.knv-selected { outline: 3px solid #F0E442; outline-offset: -3px; }
.knv-grid.knv-stale .knv-grid-table { opacity: 0.45; }
.knv-grid .knv-stale-banner { margin: 0.2em 0; font-weight: bold; color: #D55E00; min-height: 0; }
.knv-grid .knv-stale-banner:empty { display: none; }
"""


class MatrixGrid(anywidget.AnyWidget):
    """The matrix's HTML (``views.policygrid``) with clickable cells: ``selected`` is ``[from, to]``."""

    _esm = _ESM
    _css = _CSS

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
    colour = "#0072B2" if ok else "#D55E00"
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
    return (f"<div class='knv-pair' style='border-left:4px solid {colour};padding-left:6px'>"
            f"<pre class='knv-verdict'>{escape(verdict_text(verdict))}</pre>{where}"
            f"<details open><summary>The packet's walk</summary>{body}</details></div>")


class PolicyEditor(w.VBox):
    """A YAML box, port and protocol pickers, *Apply*, the matrix grid, and the walk of the clicked cell.

    ``cluster``: the scenario to edit on top of (a Cluster, or a scenario name or path). ``policy``:
    the YAML to start with. ``namespaces``: show only the pods of these namespaces. ``live``: apply on
    every edit (when the text box loses focus) instead of on *Apply*.
    """

    def __init__(self, cluster: Cluster | str, policy: str = "", *, port: int = 80, protocol: str = "TCP",
                 namespaces: Sequence[str] | None = None, live: bool = False) -> None:
        base = k8snetviz.load(cluster) if isinstance(cluster, str) else cluster
        self.base = base.scenario
        self.cluster: Cluster = base
        self.namespaces = list(namespaces) if namespaces else None
        self.matrix: PolicyMatrix | None = None
        self.walk: TraceResult | None = None
        self._failed = False
        self.text = w.Textarea(value=policy, placeholder="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n…",
                               continuous_update=False, rows=16,
                               layout=w.Layout(width="100%"))
        self.port = w.BoundedIntText(value=port, min=1, max=65535, description="port", layout=w.Layout(width="170px"))
        self.protocol = w.Dropdown(options=list(PROTOCOLS), value=protocol, description="protocol",
                                   layout=w.Layout(width="190px"))
        self.apply_button = w.Button(description="Apply", button_style="primary", icon="check")
        self.live = w.Checkbox(value=live, description="apply on every edit", indent=False,
                               layout=w.Layout(width="auto"))
        self.error = w.HTML()
        self.status = w.HTML()
        self.grid = MatrixGrid()
        self.pair = w.HTML()
        for widget, cls in ((self.text, "knv-policy-yaml"), (self.port, "knv-port"), (self.protocol, "knv-protocol"),
                            (self.apply_button, "knv-apply"), (self.live, "knv-live"), (self.error, "knv-error"),
                            (self.status, "knv-status"), (self.grid, "knv-matrix-grid"), (self.pair, "knv-pair-view")):
            widget.add_class(cls)
        self.apply_button.on_click(lambda _: self.apply())
        self.text.observe(self._on_text, names="value")
        self.port.observe(self._on_pick, names="value")
        self.protocol.observe(self._on_pick, names="value")
        self.grid.observe(self._on_select, names="selected")
        super().__init__([self.text, w.HBox([self.port, self.protocol, self.apply_button, self.live]),
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
                             f"NetworkPolicies: {escape(policies)}. Click a cell to see its walk.</p>")
        src, dst = self.grid.selected
        if src and dst and src in shown.pods and dst in shown.pods:
            self.select(src, dst)
        else:
            self.pair.value = ""
        return result

    def _fail(self, message: str) -> None:
        self._failed = True
        self.error.value = (f'<p style="color:#D55E00"><b>Error:</b> {escape(message)}</p>'
                            "<p><i>Nothing was applied: fix the text and apply again.</i></p>")
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
            self.pair.value = f'<p style="color:#D55E00"><b>Error:</b> {escape(str(e))}</p>'
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
        if self.live.value:
            self.apply()

    def _on_pick(self, change: dict) -> None:
        # A new port or protocol redraws the policies that applied last; the text waits for Apply.
        if self.matrix is not None:
            self._draw()

    def _on_select(self, change: dict) -> None:
        src, dst = change["new"]
        if src and dst:
            self.select(src, dst)
