"""Tasks and predictions for notebooks 06 (Ingress) and 07 (Gateway API), with their checkers.

A checker loads the learner's YAML on top of the task's scenario, routes a set of URLs through it and
says, per URL, where the request went and where it should have gone:

>>> task = api_split_task()
>>> print(task.check(SPLIT_SOLUTION))
✔ correct: every URL goes where it should: /api and below to api:8080, everything else to web:80.
>>> wrong = SPLIT_SOLUTION.replace("pathType: Prefix", "pathType: ImplementationSpecific", 1)
>>> print(task.check(wrong).messages[0])
http://app.example.com/apiary goes to default/api:8080; it should go to default/web:80 (ImplementationSpecific \
is a character prefix in ingress-nginx: /api also matches /apiary; Prefix matches whole path elements)
"""

from __future__ import annotations

from typing import Any

import yaml

import k8snetviz
from k8snetviz.agents.gateway import ingress_to_httproutes
from k8snetviz.agents.ingress_nginx import backend_errors
from k8snetviz.course.quiz import Predict
from k8snetviz.course.tasks import CheckResult, Solution, Task, resulting_cluster
from k8snetviz.questions.gateway import http_route
from k8snetviz.questions.ingress import ingress
from k8snetviz.scenario.loader import parse_text

__all__ = [
    "api_split_task",
    "migrate_task",
    "SPLIT_SOLUTION",
    "SPLIT_URLS",
    "MIGRATE_URLS",
    "migration_solution",
    "predict_prefix",
    "predict_wildcard",
    "predict_tls",
    "predict_weights",
    "predict_not_admitted",
]

SPLIT_HOST = "app.example.com"
# URL path -> the Service:port it must reach. /apiary is the trap: it shares characters with /api.
SPLIT_URLS = {
    "/api": ("default/api", 8080),
    "/api/": ("default/api", 8080),
    "/api/v1/orders": ("default/api", 8080),
    "/": ("default/web", 80),
    "/cart": ("default/web", 80),
    "/apiary": ("default/web", 80),
}

SPLIT_SOLUTION = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
spec:
  ingressClassName: nginx
  rules:
  - host: app.example.com
    http:
      paths:
      - path: /api
        pathType: Prefix
        backend:
          service:
            name: api
            port:
              number: 8080
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
"""


def _learner_objects(answer: str, kind: str) -> list[dict[str, Any]]:
    return [m.body for m in parse_text(answer, source="<your YAML>").manifests if m.kind == kind]


def _port_number(cluster: Any, service: str, port: Any) -> Any:
    """A named Service port as its number, so ``port: {name: http}`` and ``{number: 80}`` compare equal."""
    if not isinstance(port, str):
        return port
    ns, _, name = service.partition("/")
    for m in cluster.scenario.of_kind("Service"):
        if m.name == name and (m.namespace or "default") == ns:
            for p in (m.body.get("spec") or {}).get("ports") or []:
                if p.get("name") == port:
                    return p.get("port")
    return port


def _why_wrong(answer: Any, path: str) -> str:
    route = answer.route
    below = path == route.path or path.startswith((route.path or "").rstrip("/") + "/")
    if route.path_type == "ImplementationSpecific" and route.path and not below:
        return (f" (ImplementationSpecific is a character prefix in ingress-nginx: {route.path} also matches {path}; "
                "Prefix matches whole path elements)")
    if route.default_backend:
        return f" (no rule of yours matched: the defaultBackend of {route.ingress} took it)"
    if route.ingress and route.ingress != "default/app" and route.host and route.host.startswith("*"):
        return f" (no rule for host {SPLIT_HOST} matched, so Ingress {route.ingress}'s wildcard took it)"
    return ""


def _answer_objects(outcome: Any, answer: Any, kind: str, name: str) -> list[dict[str, Any]]:
    """The objects of ``kind`` the answer wrote: its YAML's, or (commands, a terminal) ``default/NAME`` as the
    cluster now holds it."""
    if outcome.form == "yaml":
        return _learner_objects(answer, kind)
    return [b for b in outcome.cluster.documents(kind) if (b.get("metadata") or {}).get("name") == name
            and ((b.get("metadata") or {}).get("namespace") or "default") == "default"]


def _check_split(answer: Any) -> CheckResult:
    outcome = resulting_cluster("ingress", answer)
    ingresses = _answer_objects(outcome, answer, "Ingress", "app")
    if not ingresses:
        return CheckResult.fail("your YAML has no Ingress: write one with kind: Ingress" if outcome.form == "yaml"
                                else "there is no Ingress app: create it (kubectl create ingress app …)")
    cluster = outcome.cluster
    services = [m.body for m in cluster.scenario.of_kind("Service")]
    problems = []
    for ing in ingresses:
        name = (ing.get("metadata") or {}).get("name", "")
        problems += [f'Ingress "{name}": {e} (no such Service or port: the controller would answer 503)'
                     for e in backend_errors(ing, services)]
    if problems:
        return CheckResult.fail(*problems)
    wrong = []
    for path, (svc, port) in SPLIT_URLS.items():
        got = ingress(cluster, SPLIT_HOST, path)
        backend = got.backend or {}
        reached = (backend.get("service"), _port_number(cluster, backend.get("service", ""), backend.get("port")))
        url = f"http://{SPLIT_HOST}{path}"
        if got.status is not None:
            wrong.append(f"{url} gets {got.status} from the controller; it should go to {svc}:{port}")
        elif reached != (svc, port):
            wrong.append(f"{url} goes to {reached[0]}:{reached[1]}; it should go to {svc}:{port}"
                         + _why_wrong(got, path))
    if wrong:
        return CheckResult.fail(*wrong)
    return CheckResult.ok("every URL goes where it should: /api and below to api:8080, everything else to web:80.",
                          proof=ingress(cluster, SPLIT_HOST, "/api/v1/orders"))


def api_split_task() -> Task:
    """Notebook 05: send ``/api`` to Service ``api`` on 8080 and everything else to ``web`` on 80."""
    return Task(
        "Split a host between two Services",
        f"In the `ingress` scenario, write an Ingress named `app` (class `nginx`) for host `{SPLIT_HOST}` "
        "that sends `/api` and everything below it to Service `api` on port 8080, and every other path to "
        "Service `web` on port 80. `/apiary` is not below `/api`.",
        _check_split,
        Solution(SPLIT_SOLUTION,
                 "Two Prefix paths: the longest matching path wins, so /api/v1 goes to api and the rest falls to /. "
                 "Prefix compares whole path elements, so /apiary does not match /api. The imperative way: "
                 "`kubectl create ingress app --class=nginx --rule=\"app.example.com/api*=api:8080\" "
                 "--rule=\"app.example.com/*=web:80\"` (a trailing * makes the path Prefix; without it, Exact)."),
        hints=["Which pathType matches /api/v1 but not /apiary?",
               "Two paths on one rule: the longest match wins, whatever their order."],
    )


# --- Gateway API: migrating an Ingress -------------------------------------------------------------------

MIGRATE_HOST = "docs.example.com"
MIGRATE_URLS = ("/", "/guide", "/v2", "/v2/", "/v2/guide", "/v2x", "/v3")
MIGRATE_GATEWAY = "infra/shared"
# Hosts the Ingress does not serve: the HTTPRoute must leave them alone.
OTHER_HOSTS = ("other.example.com", "docs.example.org")


def _docs_ingress() -> dict[str, Any]:
    cluster = k8snetviz.load("gateway")
    return next(m.body for m in cluster.scenario.of_kind("Ingress") if m.name == "docs")


def migration_solution() -> str:
    """The HTTPRoute that routes like Ingress ``default/docs`` (see ``ingress_to_httproutes``)."""
    routes = ingress_to_httproutes(_docs_ingress(), gateway=MIGRATE_GATEWAY)
    routes[0]["metadata"]["name"] = "docs"
    return yaml.safe_dump(routes[0], sort_keys=False)


def _check_migration(answer: Any) -> CheckResult:
    outcome = resulting_cluster("gateway", answer)
    routes = _answer_objects(outcome, answer, "HTTPRoute", "docs")
    if not routes:
        return CheckResult.fail("your YAML has no HTTPRoute: write one with kind: HTTPRoute")
    cluster = outcome.cluster
    probe = http_route(cluster, MIGRATE_HOST, "/")
    problems = []
    for r in routes:
        key = f"{(r.get('metadata') or {}).get('namespace') or 'default'}/{(r.get('metadata') or {}).get('name')}"
        parents = probe.statuses.get(key, [])
        if not parents:
            problems.append(f"HTTPRoute {key} has no status: none of its parentRefs names a Gateway that exists "
                            f"(attach it to {MIGRATE_GATEWAY}: parentRefs: [{{name: shared, namespace: infra}}])")
        for p in parents:
            for c in p.conditions:
                if c.status != "True":
                    problems.append(f"HTTPRoute {key} on {p.gateway}: {c.type} is False ({c.reason}): {c.message}")
    if problems:
        return CheckResult.fail(*problems)
    wrong = []
    for path in MIGRATE_URLS:
        via_ingress = ingress(cluster, MIGRATE_HOST, path)
        via_route = http_route(cluster, MIGRATE_HOST, path)
        want = via_ingress.backend or {}
        got = via_route.backend
        url = f"http://{MIGRATE_HOST}{path}"
        if via_route.status is not None:
            wrong.append(f"{url}: the Ingress sends it to {want['service']}:{want['port']}, the Gateway answers "
                         f"{via_route.status} ({via_route.route.reason})")
        elif got != want:
            shown = f"{got['service']}:{got['port']}" if got else \
                ", ".join(f"{c.backend['service']} {c.probability:.0%}" for c in via_route.route.candidates)
            wrong.append(f"{url}: the Ingress sends it to {want['service']}:{want['port']}, your HTTPRoute to {shown}")
    if not wrong:
        # The Ingress serves one host: the route must not take requests for others (no hostnames, a wildcard).
        for other in OTHER_HOSTS:
            seen = http_route(cluster, other, "/")
            mine = [f"{(r.get('metadata') or {}).get('namespace') or 'default'}/{(r.get('metadata') or {}).get('name')}"
                    for r in routes]
            if seen.route is not None and seen.route.route in mine:
                said = (next(r for r in routes if f"{(r.get('metadata') or {}).get('namespace') or 'default'}/"
                             f"{(r.get('metadata') or {}).get('name')}" == seen.route.route).get("spec") or {}).get(
                    "hostnames")
                wrong.append(f"http://{other}/ goes to your HTTPRoute {seen.route.route} too (hostnames: "
                             f"{said or 'none, so every host of the listener'}): the Ingress serves only "
                             f"{MIGRATE_HOST}; set hostnames: [{MIGRATE_HOST}]")
                break
    if wrong:
        return CheckResult.fail(*wrong)
    return CheckResult.ok(f"all {len(MIGRATE_URLS)} URLs go to the same Service and port through the Ingress and "
                          "through your HTTPRoute, and the route is Accepted with all references resolved.",
                          proof=http_route(cluster, MIGRATE_HOST, "/v2/guide"))


def migrate_task() -> Task:
    """Notebook 09: migrate Ingress ``default/docs`` to an HTTPRoute on Gateway ``infra/shared``."""
    return Task(
        "Migrate an Ingress to an HTTPRoute",
        f"In the `gateway` scenario, Ingress `default/docs` sends `{MIGRATE_HOST}/v2` (and below) to `docs-v2` "
        "and everything else to `docs`. Write an HTTPRoute `docs` in namespace `default`, attached to Gateway "
        f"`{MIGRATE_GATEWAY}`, that routes every URL of that host exactly as the Ingress does.",
        _check_migration,
        Solution(migration_solution(),
                 "Ingress Prefix becomes PathPrefix (both match whole path elements), the host becomes "
                 "spec.hostnames, the backend's service name and port become a backendRef. The parentRef names "
                 "the Gateway and its namespace; the listener admits routes from namespaces labelled "
                 "gateway-access=true, which default is."),
        hints=["An HTTPRoute's hostnames apply to all of its rules.",
               "Check `kubectl get httproute docs -o yaml`: status.parents[].conditions must say Accepted."],
    )


# --- predict, then reveal ------------------------------------------------------------------------------


def _reveal_ingress(host: str, path: str, scheme: str = "http") -> Any:
    return lambda: ingress(k8snetviz.load("ingress"), host, path, scheme=scheme)


def predict_prefix() -> Predict:
    return Predict(
        "In the `ingress` scenario, Ingress `shop` has paths `/api` (Prefix, to api) and `/` (Prefix, to web). "
        "Where does `http://shop.example.com/apix` go?",
        ["api:8080", "web:80", "404 from the controller"],
        answer="web:80",
        explanation="Prefix matches whole path elements split on `/`: `/api` matches `/api` and `/api/x`, but "
                    "not `/apix`. Only `/` matches, so web gets it.",
        reveal=_reveal_ingress("shop.example.com", "/apix"),
        wrong={"api:8080": "That is how a plain nginx location (ImplementationSpecific) would match."},
    )


def predict_wildcard() -> Predict:
    return Predict(
        "Ingress `blog` has host `*.example.com`. Where does `http://a.b.example.com/` go?",
        ["blog:80", "web:80 (the defaultBackend of fallback)", "404 from the controller"],
        answer="web:80 (the defaultBackend of fallback)",
        explanation="An Ingress wildcard covers exactly one DNS label: `*.example.com` matches `b.example.com` "
                    "but not `a.b.example.com`. No rule matches, so the catch-all's defaultBackend takes it.",
        reveal=_reveal_ingress("a.b.example.com", "/"),
    )


def predict_tls() -> Predict:
    return Predict(
        "Ingress `secure` has a `tls` section for `secure.example.com`. What does `http://secure.example.com/` "
        "(plain http) get?",
        ["web's page", "a 308 redirect to https", "a TLS error"],
        answer="a 308 redirect to https",
        explanation="TLS terminates at the controller. For a host with TLS, ingress-nginx redirects plain http "
                    "to https (ssl-redirect is on by default) before any backend sees the request.",
        reveal=_reveal_ingress("secure.example.com", "/"),
    )


def _reveal_route(host: str, path: str, headers: dict[str, str] | None = None) -> Any:
    return lambda: http_route(k8snetviz.load("gateway"), host, path, headers=headers)


def predict_weights() -> Predict:
    return Predict(
        "HTTPRoute `shop/shop` sends `/` to `web` (weight 90) and `web-canary` (weight 10). "
        "A request to `http://shop.example.com/cart` carries the header `x-canary: always`. Where does it go?",
        ["web 90%, web-canary 10%", "always web-canary", "always web"],
        answer="always web-canary",
        explanation="Both the header rule and the `/` rule match. Path precedence ties (both are the prefix `/`), "
                    "so the next criterion decides: the match with more header matches wins. Weights only split "
                    "traffic inside the chosen rule.",
        reveal=_reveal_route("shop.example.com", "/cart", {"x-canary": "always"}),
    )


def predict_not_admitted() -> Predict:
    return Predict(
        "HTTPRoute `dev/preview` attaches to Gateway `infra/shared`, whose listener admits routes only from "
        "namespaces labelled `gateway-access=true`. What does `http://preview.example.com/` get?",
        ["preview's page", "404 from the Gateway", "500 from the Gateway"],
        answer="404 from the Gateway",
        explanation="The listener does not admit the route (status Accepted=False, reason NotAllowedByListeners), "
                    "so its rules are never installed: nothing matches the host, and the Gateway answers 404.",
        reveal=_reveal_route("preview.example.com", "/"),
    )
