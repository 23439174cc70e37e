"""The service explorer: change a Service's type, its externalTrafficPolicy, where its pods run and who
the client is; the scenario is rebuilt with those settings, one packet is traced, and the answer is
shown as the NAT steps and, above all, the address the backend sees as its client.

The work is done by :func:`k8snetviz.questions.exposure.explore`, which the widget only calls:

>>> from k8snetviz.widgets import ServiceExplorer
>>> ui = ServiceExplorer("influxdb", client="external")
>>> ui.policy.value = "Local"          # the toggle a learner flips
>>> ui.exploration.seen_client
'172.18.0.100'
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as w

import k8snetviz.widgets.arguments as args
from k8snetviz.api.refs import Ref
from k8snetviz.errors import K8sNetVizError, UsageError
from k8snetviz.questions.exposure import (
    AS_SCHEDULED,
    CLUSTER_IP,
    POLICIES,
    TYPES,
    Exploration,
    base_scenario,
    destination_for,
    entry_points,
    explore,
    find_service,
)
from k8snetviz.scenario.loader import Scenario
from k8snetviz.views.kubectl_services import get_services
from k8snetviz.views.theme import error_html, themed
from k8snetviz.widgets.packetwalk import source_options

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["ServiceExplorer"]

# Colour-blind-safe (Okabe-Ito) accents, as the packet walk uses.


# --- views of one exploration ---------------------------------------------------------------------

def nat_html(ex: Exploration) -> str:
    """Each step that chose a node or rewrote the packet, with the rule (iptables-save line) that did it."""
    items = []
    for h in ex.result.hops:
        if h.action in ("dnat", "snat"):
            items.append(f"<li><b>{h.action.upper()}</b> on <code>{escape(h.at)}</code>: "
                         f"{escape(h.detail)}<pre class='knv-note knv-nat'>{escape(h.rule)}</pre></li>")
        elif h.action == "un-nat":
            items.append(f"<li><b>reply</b> on <code>{escape(h.at)}</code>: {escape(h.detail)}</li>")
        elif h.at.startswith("loadbalancer/") and h.action in ("forward", "drop"):
            items.append(f"<li><b>load balancer</b>: {escape(h.detail)}</li>")
        elif h.action in ("drop", "reject") and h.rule:
            items.append(f"<li><b>{h.action.upper()}</b> on <code>{escape(h.at)}</code>: "
                         f"<pre class='knv-note knv-bad'>{escape(h.rule)}</pre></li>")
    if not items:
        return themed("<p><b>NAT steps:</b> none: nothing rewrote this packet.</p>")
    return themed(f"<p><b>NAT steps</b> (the rule as <code>iptables-save</code> prints it):</p>"
                  f"<ol>{''.join(items)}</ol>")


def path_html(ex: Exploration) -> str:
    """The walk as a table: where, what, and the addresses after each step."""
    rows = []
    for h in ex.result.hops:
        nat = h.action in ("dnat", "snat", "un-nat")
        style = " class='knv-nat'" if nat else ""
        rows.append(f"<tr{style}><td>{h.step}</td><td><code>{escape(h.at)}</code></td><td>{escape(h.action)}</td>"
                    f"<td><code>{escape(h.src)} → {escape(h.dst)}</code></td></tr>")
    cands = ""
    if ex.result.candidates:
        shares = ", ".join(f"{c['pod']} ({c['probability']:.0%})" for c in ex.result.candidates)
        cands = f"<p>kube-proxy could pick: {escape(shares)}; the walk follows the first.</p>"
    return themed(f"<details><summary><b>The path</b>: {len(ex.result.hops)} steps, {escape(ex.result.verdict)}"
            f"</summary><table class='knv-explorer-hops'><tr><th>#</th><th>where</th><th>what</th>"
            f"<th>src → dst</th></tr>{''.join(rows)}</table>{cands}</details>")


def client_ip_html(ex: Exploration) -> str:
    ok = ex.result.delivered
    verdict = "knv-ok" if ok and ex.seen_client == ex.client_address else ("knv-nat" if ok else "knv-bad")
    addr = f"<span class='knv-explorer-seen'>{escape(ex.seen_client)}</span>" if ex.seen_client else ""
    headline = escape(ex.headline())
    if addr:
        headline = headline.replace(escape(ex.seen_client or ""), addr, 1)
    return themed(f"<p class='knv-verdict knv-headline {verdict}'>{headline}</p>")


class ServiceExplorer(w.VBox):
    """Pickers for the service, its type, externalTrafficPolicy, where its pods run, the client and where
    it sends; every change rebuilds the scenario and traces again.

    ``scenario``: a Cluster or a scenario's name or path. ``service``: ``NS/NAME`` (the first Service when
    None); ``type`` (one of ``TYPES``) and ``policy`` (one of ``POLICIES``): the Service's own when None;
    ``endpoints_on``: a node's name, or ``"as scheduled"``; ``client``: a pod, ``node/NAME``,
    ``external/NAME``, or ``"external"`` (the scenario's outside client); ``entry``: ``"cluster IP"``,
    ``node/NAME`` or ``"load balancer"``, as the Service's type offers.
    """

    def __init__(self, scenario: str | Scenario | Cluster = "influxdb", service: str | None = None, *,
                 type: str | None = None, policy: str | None = None, endpoints_on: str | None = None,
                 client: str = "external", entry: str | None = None) -> None:
        built = args.cluster_of("ServiceExplorer", scenario, "scenario")
        self.base = base_scenario(built)
        self.exploration: Exploration | None = None
        self._quiet = False
        keys = [f"{m.namespace or 'default'}/{m.name}" for m in self.base.of_kind("Service")]
        if not keys:
            raise UsageError("the scenario has no Service to explore")
        if service is not None:
            service = args.choice("ServiceExplorer", "service", service, keys, read=_service_key)
        if type is not None:
            type = args.choice("ServiceExplorer", "type", type, TYPES)
        if policy is not None:
            policy = args.choice("ServiceExplorer", "policy", policy, POLICIES)
        nodes = list(built.nodes)
        if endpoints_on is not None:
            endpoints_on = args.choice("ServiceExplorer", "endpoints_on", endpoints_on, [AS_SCHEDULED, *nodes],
                                       read=lambda v: v.removeprefix("node/"))
        sources = source_options(built)
        client = _first_external(built) if client == "external" else \
            args.choice("ServiceExplorer", "client", client, sources, read=args.pod_key)
        if entry is not None:
            entry = args.text("ServiceExplorer", "entry", entry, '"cluster IP", node/NAME or "load balancer"')
        self.service = w.Dropdown(options=keys, value=service or keys[0], description="service")
        self.type = w.ToggleButtons(options=list(TYPES), description="type")
        self.policy = w.ToggleButtons(options=list(POLICIES), description="externalTrafficPolicy",
                                      style={"description_width": "initial"})
        self.endpoints_on = w.Dropdown(options=[AS_SCHEDULED, *nodes], value=endpoints_on or AS_SCHEDULED,
                                       description="pods on")
        self.client = w.Dropdown(options=sources, value=client, description="client")
        self.entry = w.Dropdown(options=[CLUSTER_IP], description="sends to")
        self.error = w.HTML()
        self.client_ip = w.HTML()
        self.svc_line = w.HTML()
        self.nat = w.HTML()
        self.path = w.HTML()
        self.applied = w.HTML()
        for widget, cls in ((self.service, "knv-explorer-service"), (self.type, "knv-explorer-type"),
                            (self.policy, "knv-explorer-policy"), (self.endpoints_on, "knv-explorer-endpoints"),
                            (self.client, "knv-explorer-client"), (self.entry, "knv-explorer-entry"),
                            (self.error, "knv-error"), (self.client_ip, "knv-explorer-client-ip"),
                            (self.svc_line, "knv-explorer-svc"), (self.nat, "knv-explorer-nat"),
                            (self.path, "knv-explorer-path"), (self.applied, "knv-explorer-yaml")):
            widget.add_class(cls)
        self._take_service(type, policy)
        self._requested_entry = entry
        self.service.observe(self._on_service, names="value")
        for control in (self.type, self.policy, self.endpoints_on, self.client, self.entry):
            control.observe(self._on_change, names="value")
        super().__init__([self.service, self.type, self.policy, w.HBox([self.endpoints_on, self.client, self.entry]),
                          self.error, self.client_ip, self.svc_line, self.nat, self.path, self.applied])
        self.add_class("knv-explorer")
        self.explore()
        if entry is not None:  # where a client can send depends on the type: known once the Service is built
            args.choice("ServiceExplorer", "entry", entry, list(self.entry.options))

    def _take_service(self, type_: str | None = None, policy: str | None = None) -> None:
        spec = find_service(self.base, self.service.value).get("spec") or {}
        current = spec.get("type") or "ClusterIP"
        self._quiet = True
        try:
            self.type.value = type_ or (current if current in TYPES else "ClusterIP")
            self.policy.value = policy or spec.get("externalTrafficPolicy") or "Cluster"
        finally:
            self._quiet = False

    def _on_service(self, change: Any = None) -> None:
        self._take_service()
        self._requested_entry = None
        self.explore()

    def _on_change(self, change: Any = None) -> None:
        if self._quiet:
            return
        if change is not None and change.get("owner") is self.entry:
            self._requested_entry = self.entry.value
        elif change is not None and change.get("owner") in (self.client, self.type):
            self._requested_entry = None
        self.explore()

    def explore(self) -> Exploration | None:
        """Rebuild and trace with the current settings; bad input is shown in place."""
        external = self.type.value in ("NodePort", "LoadBalancer")
        self.policy.disabled = not external
        self.policy.tooltip = None if external else "externalTrafficPolicy applies only to NodePort and LoadBalancer"
        try:
            ex = explore(self.base, self.service.value, type=self.type.value,
                         policy=self.policy.value if external else None, endpoints_on=self.endpoints_on.value,
                         client=self.client.value, entry=self._requested_entry)
        except K8sNetVizError as e:
            self.error.value = error_html(str(e))
            return None
        self.error.value = ""
        self.exploration = ex
        entries = entry_points(ex.cluster, ex.service) or [CLUSTER_IP]
        chosen = next((e for e in entries if destination_for(ex.service, e) == ex.destination), entries[0])
        self._quiet = True
        try:
            self.entry.options = entries
            self.entry.value = chosen
        finally:
            self._quiet = False
        self.client_ip.value = client_ip_html(ex)
        line = get_services([ex.service])
        self.svc_line.value = themed(f"<pre>$ kubectl get svc {escape(ex.service.name)}\n{escape(line)}"
                               f"</pre><p>traced: <code>{escape(ex.client)}</code> → "
                               f"<code>{escape(ex.destination)}</code></p>")
        self.nat.value = nat_html(ex)
        self.path.value = path_html(ex)
        self.applied.value = themed(f"<details><summary>the YAML applied on top of the scenario</summary>"
                              f"<pre>{escape(ex.yaml)}</pre></details>")
        return ex


def _service_key(value: str) -> str:
    r = Ref.parse(value, "svc")
    return r.key if r.kind == "svc" else str(r)


def _first_external(cluster: Cluster) -> str:
    return next((f"external/{e}" for e in cluster.externals), source_options(cluster)[0])
