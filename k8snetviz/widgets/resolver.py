"""The resolver: pick a pod, type a name, see every query its resolver sends and what came back.

Compare mode puts a second pod beside the first (another namespace, another dnsPolicy) with the same
name and type. Under the queries a line counts what ``ndots`` cost: the queries sent before the one
that answered, against one query for the same name with a trailing dot.

>>> import k8snetviz
>>> r = Resolver(k8snetviz.load("dns"), pod="app/client", name="example.com")
>>> [q.rcode for q in r.result.queries]
['NXDOMAIN', 'NXDOMAIN', 'NXDOMAIN', 'NOERROR']
>>> r.name.value = "web"               # pressing Enter resolves again
>>> r.result.addresses == r.cluster.resolve("app/client", "web").addresses
True
>>> r.compare.value = True; r.other.value = "app/legacy"
>>> r.other_result.error
'HOST_NOT_FOUND'
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as w

import k8snetviz.widgets.arguments as args
from k8snetviz.errors import K8sNetVizError
from k8snetviz.questions.resolve import DNSResult, resolve
from k8snetviz.views.dnstext import dns_html
from k8snetviz.views.theme import error_html

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster

__all__ = ["Resolver", "ndots_cost"]

TYPES = ("A", "AAAA", "SRV", "PTR", "CNAME")


def ndots_cost(result: DNSResult, dotted: DNSResult | None = None) -> str:
    """What the search list cost this lookup, in one sentence.

    ``dotted`` is the same lookup with a trailing dot (one query when the name exists).
    """
    rc = result.pod_dns.resolv_conf
    if not result.queries:
        return f"No query at all: {result.resolution.source} answered."
    n, wasted = len(result.queries), result.wasted_queries
    name = result.name
    dots = name.rstrip(".").count(".")
    if name.endswith("."):
        why = "the trailing dot makes it absolute: asked once, no search list"
    elif dots >= rc.ndots:
        why = f"{dots} dot{'s' if dots != 1 else ''} ≥ ndots:{rc.ndots}: asked as is first"
    else:
        why = (f"{dots} dot{'s' if dots != 1 else ''} < ndots:{rc.ndots}: the {len(rc.searches)} search "
               "domains come first")
    head = f"{n} quer{'y' if n == 1 else 'ies'} sent; {wasted} before the answer ({why})." if result.ok else \
        f"{n} quer{'y' if n == 1 else 'ies'} sent and no answer ({why})."
    if dotted is not None and not name.endswith(".") and dotted.ok:
        head += f" With a trailing dot, {name}. needs {len(dotted.queries)}."
    return head


class Resolver(w.VBox):
    """A pod dropdown, a name box, a type dropdown, and the queries; a compare switch adds a second pod.

    ``cluster``: a Cluster or a scenario's name or path; ``pod`` and ``compare_with``: ``NS/NAME`` (or
    ``pod/NS/NAME``); ``qtype``: one of ``TYPES``.
    """

    def __init__(self, cluster: Cluster | str, pod: str | None = None, name: str = "", qtype: str = "A", *,
                 compare_with: str | None = None) -> None:
        self.cluster = cluster = args.cluster_of("Resolver", cluster)
        pods = sorted(cluster.pods)
        if pod is not None or not pods:
            pod = args.choice("Resolver", "pod", pod, pods, read=args.pod_key)
        first = pod or pods[0]
        if compare_with is not None:
            compare_with = args.choice("Resolver", "compare_with", compare_with, pods, read=args.pod_key)
        name = args.text("Resolver", "name", name, "web, db.data or example.com.")
        qtype = args.choice("Resolver", "qtype", qtype, TYPES, read=str.upper)
        self.result: DNSResult | None = None
        self.other_result: DNSResult | None = None
        self.pod = w.Dropdown(options=pods, value=first, description="pod", layout=w.Layout(width="360px"))
        self.name = w.Text(value=name, placeholder="web, db.data, example.com.", description="name",
                           continuous_update=False, layout=w.Layout(width="360px"))
        self.type = w.Dropdown(options=list(TYPES), value=qtype, description="type",
                               layout=w.Layout(width="160px"))
        self.go = w.Button(description="Resolve", button_style="primary", icon="search")
        self.compare = w.Checkbox(value=compare_with is not None, description="compare with",
                                  indent=False, layout=w.Layout(width="120px"))
        other = compare_with or pods[-1]
        self.other = w.Dropdown(options=pods, value=other, layout=w.Layout(width="300px"),
                                disabled=compare_with is None)
        self.error = w.HTML()
        self.queries = w.HTML()
        self.other_queries = w.HTML()
        self.cost = w.HTML()
        for widget, cls in ((self.pod, "knv-resolver-pod"), (self.name, "knv-resolver-name"),
                            (self.type, "knv-resolver-type"), (self.go, "knv-resolver-go"),
                            (self.compare, "knv-resolver-compare"), (self.other, "knv-resolver-other"),
                            (self.error, "knv-resolver-error"), (self.queries, "knv-resolver-queries"),
                            (self.other_queries, "knv-resolver-other-queries"), (self.cost, "knv-resolver-cost")):
            widget.add_class(cls)
        self.go.on_click(lambda _: self.run())
        for control in (self.pod, self.name, self.type, self.other):
            control.observe(lambda _: self.run(), names="value")
        self.compare.observe(self._toggle, names="value")
        self.side = w.HBox([self.queries, self.other_queries], layout=w.Layout(align_items="flex-start"))
        super().__init__([w.HBox([self.pod, self.type]), w.HBox([self.name, self.go]),
                          w.HBox([self.compare, self.other]), self.error, self.side, self.cost])
        self.add_class("knv-resolver")
        if name:
            self.run()

    def _toggle(self, _: Any) -> None:
        self.other.disabled = not self.compare.value
        if not self.compare.value:
            self.other_queries.value = ""
            self.other_result = None
        self.run()

    def run(self) -> DNSResult | None:
        """Resolve the typed name from the chosen pod(s); bad input is shown in place, the text kept."""
        text = self.name.value.strip()
        if not text:
            self.error.value = ""
            return None
        try:
            result = resolve(self.cluster, self.pod.value, text, self.type.value)
            other = resolve(self.cluster, self.other.value, text, self.type.value) if self.compare.value else None
            dotted = None
            if not text.endswith(".") and result.queries:
                dotted = resolve(self.cluster, self.pod.value, text + ".", self.type.value)
        except K8sNetVizError as e:
            self.error.value = error_html(str(e))
            return None
        self.error.value = ""
        self.result, self.other_result = result, other
        self.queries.value = dns_html(result)
        self.other_queries.value = dns_html(other) if other is not None else ""
        lines = [f"<b>{escape(result.pod)}</b>: {escape(ndots_cost(result, dotted))}"]
        if other is not None:
            lines.append(f"<b>{escape(other.pod)}</b>: {escape(ndots_cost(other))}")
        self.cost.value = "<p>" + "<br>".join(lines) + "</p>"
        return result
