"""The URL tester: type a URL, pick Ingress or HTTPRoute, see the rule that matched and why the others did not.

>>> import k8snetviz
>>> from k8snetviz.widgets import URLTester
>>> t = URLTester(k8snetviz.load("ingress"), url="http://shop.example.com/api/orders")
>>> t.answer.to_dict()["backend"]
{'service': 'default/api', 'port': 8080}
>>> t.url.value = "http://shop.example.com/apix"   # pressing Enter (or Test) routes again
>>> t.test().to_dict()["backend"]
{'service': 'default/web', 'port': 80}
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as w

import k8snetviz.widgets.arguments as args
from k8snetviz.errors import K8sNetVizError
from k8snetviz.questions.gateway import gateway_walk, http_route
from k8snetviz.questions.ingress import ingress, ingress_walk, parse_header, parse_url
from k8snetviz.views.ingresstext import gateway_html, ingress_html
from k8snetviz.views.theme import error_html

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.questions.ingress import ProxyWalk

__all__ = ["URLTester", "walk_html"]

MODES = ("Ingress", "HTTPRoute")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


def walk_html(walk: ProxyWalk) -> str:
    """The two connections of the request, and the facts that follow from them."""
    legs = [f"<li><b>1.</b> <code>{escape(walk.entry.src)}</code> → <code>{escape(walk.entry.dst)}</code>: "
            f"{escape(walk.entry.note)}</li>"]
    if walk.upstream is not None:
        legs.append(f"<li><b>2.</b> <code>{escape(walk.upstream.src)}</code> → <code>{escape(walk.upstream.dst)}"
                    f"</code>: {escape(walk.upstream.note)}</li>")
        if len(walk.candidates) > 1:
            shares = ", ".join(f"{c['dst']} {c['probability']:.0%}" for c in walk.candidates)
            legs.append(f"<li>the proxy may pick: {escape(shares)}</li>")
    facts = "".join(f"<li>{escape(f)}</li>" for f in walk.facts)
    return (f"<div class='knv-walk'><p><b>The walk</b> (two TCP connections):</p><ul>{''.join(legs)}</ul>"
            f"<ul>{facts}</ul></div>")


class URLTester(w.VBox):
    """A URL box, an Ingress/HTTPRoute switch, the request's method and a header, and the answer.

    ``cluster``: a Cluster or a scenario's name or path; ``mode``: one of ``MODES``; ``method``: one of
    ``METHODS``; ``header``: ``Name: value``.
    """

    def __init__(self, cluster: Cluster | str, url: str = "", mode: str = "Ingress", *, method: str = "GET",
                 header: str = "") -> None:
        self.cluster = cluster = args.cluster_of("URLTester", cluster)
        url = args.text("URLTester", "url", url, "http://HOST[:PORT]/PATH")
        mode = args.choice("URLTester", "mode", mode, MODES)
        method = args.choice("URLTester", "method", method, METHODS)
        header = args.text("URLTester", "header", header, "Name: value")
        self.answer: Any = None
        self.walk: ProxyWalk | None = None
        self.url = w.Text(value=url, placeholder="http://HOST[:PORT]/PATH", description="URL",
                          continuous_update=False, layout=w.Layout(width="420px"))
        self.mode = w.ToggleButtons(options=list(MODES), value=mode, description="route by")
        self.method = w.Dropdown(options=list(METHODS), value=method, description="method",
                                 layout=w.Layout(width="180px"))
        self.header = w.Text(value=header, placeholder="Name: value", description="header",
                             continuous_update=False, layout=w.Layout(width="260px"))
        self.go = w.Button(description="Test", button_style="primary", icon="play")
        self.error = w.HTML()
        self.result = w.HTML()
        self.walk_view = w.HTML()
        for widget, cls in ((self.url, "knv-url"), (self.mode, "knv-mode"), (self.method, "knv-method"),
                            (self.header, "knv-header"), (self.go, "knv-test"), (self.error, "knv-error"),
                            (self.result, "knv-result"), (self.walk_view, "knv-walk-view")):
            widget.add_class(cls)
        self.go.on_click(lambda _: self.test())
        for control in (self.url, self.mode, self.method, self.header):
            control.observe(lambda _: self.test(), names="value")
        super().__init__([w.HBox([self.url, self.go]), self.mode, w.HBox([self.method, self.header]),
                          self.error, self.result, self.walk_view])
        self.add_class("knv-urltester")
        if url:
            self.test()

    def _headers(self) -> dict[str, str] | None:
        text = self.header.value.strip()
        if not text:
            return None
        name, value = parse_header(text)
        return {name: value}

    def test(self) -> Any:
        """Route the typed URL; bad input is shown in place and the typed text is kept."""
        text = self.url.value.strip()
        if not text:
            self.error.value = ""
            return None
        try:
            scheme, host, port, path = parse_url(text)
            answer: Any
            if self.mode.value == "Ingress":
                answer = ingress(self.cluster, host, path, scheme=scheme, port=port, method=self.method.value,
                                 headers=self._headers())
                html = ingress_html(answer)
            else:
                answer = http_route(self.cluster, host, path, scheme=scheme, port=port, method=self.method.value,
                                    headers=self._headers())
                html = gateway_html(answer)
        except K8sNetVizError as e:
            self.error.value = error_html(str(e))
            return None
        self.error.value = ""
        self.answer = answer
        self.result.value = html
        try:
            self.walk = ingress_walk(self.cluster, answer) if self.mode.value == "Ingress" else \
                gateway_walk(self.cluster, answer)
            self.walk_view.value = walk_html(self.walk)
        except K8sNetVizError as e:
            self.walk = None
            self.walk_view.value = f"<p><i>No walk: {escape(str(e))}</i></p>"
        return answer
