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
    "task_api_ingress",
    "task_serve_legacy",
    "task_admit_preview",
    "task_canary_half",
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
    "task_tls",
    "TLS_SOLUTION",
    "SHOP_TLS_SECRET",
    "task_default_backend",
    "FALLBACK_SOLUTION",
    "predict_rewrite",
    "predict_secret_namespace",
    "ingress_predictions",
    "ingress_tasks",
    "REFGRANT_ROUTE",
    "REFGRANT_SOLUTION",
    "task_reference_grant",
    "CANARY_SOLUTION",
    "task_header_canary",
    "predict_listener_hostname",
    "predict_cross_namespace",
    "gateway_predictions",
    "gateway_tasks",
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
    """Notebook 06: send ``/api`` to Service ``api`` on 8080 and everything else to ``web`` on 80."""
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
    """Notebook 07: migrate Ingress ``default/docs`` to an HTTPRoute on Gateway ``infra/shared``."""
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


# --- Ingress: TLS and default backends -----------------------------------------------------------------------

# What `kubectl create secret tls shop-tls --cert=shop.crt --key=shop.key` leaves in the cluster (data elided).
SHOP_TLS_SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: shop-tls
type: kubernetes.io/tls
data:
  tls.crt: ""
  tls.key: ""
"""

TLS_SOLUTION = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
spec:
  ingressClassName: nginx
  tls:
  - hosts:
    - shop.example.com
    secretName: shop-tls
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /api
        pathType: Prefix
        backend:
          service:
            name: api
            port:
              number: 8080
      - path: /healthz
        pathType: Exact
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
# The routes the shop must keep over https: path -> Service
SHOP_ROUTES = {"/api/orders": "default/api", "/healthz": "default/api", "/healthz/": "default/web", "/": "default/web"}


def _check_tls(answer: str) -> CheckResult:
    mine = [i for i in _learner_objects(answer, "Ingress") if (i.get("metadata") or {}).get("name") == "shop"]
    if not mine:
        return CheckResult.fail("write the Ingress shop (all of it): applying it replaces the existing one")
    cluster = k8snetviz.load("ingress", SHOP_TLS_SECRET + "---\n" + answer)
    tls = (mine[0].get("spec") or {}).get("tls") or []
    if not tls:
        return CheckResult.fail("shop has no `tls` section: without it the controller serves shop.example.com over "
                                "plain http only")
    named = [t for t in tls if "shop.example.com" in (t.get("hosts") or [])]
    if not named:
        return CheckResult.fail("the `tls` section does not list the host shop.example.com in its `hosts`")
    if named[0].get("secretName") != "shop-tls":
        said = named[0].get("secretName")
        return CheckResult.fail("the `tls` entry names " + (f"the Secret {said}" if said else "no Secret (the "
                                "controller would serve its self-signed default certificate)") +
                                ": name shop-tls, the Secret with the shop's certificate")
    for path, want in SHOP_ROUTES.items():
        secure = ingress(cluster, "shop.example.com", path, scheme="https")
        got = (secure.backend or {}).get("service")
        if secure.status is not None or got != want:
            return CheckResult.fail(f"https://shop.example.com{path} gets {secure.status or got}, not {want}: the "
                                    "routes must stay as they were (/api to api:8080, exactly /healthz to api:8080, "
                                    "/ to web:80)", proof=secure)
    secure = ingress(cluster, "shop.example.com", "/api/orders", scheme="https")
    plain = ingress(cluster, "shop.example.com", "/api/orders")
    if plain.status != 308:
        return CheckResult.fail(f"plain http to shop.example.com gets {plain.status or plain.backend}, not the 308 "
                                "redirect a TLS host gets", proof=plain)
    return CheckResult.ok("https://shop.example.com is served with the certificate in default/shop-tls, and plain "
                          "http is redirected to it (308).", proof=secure)


def task_tls() -> Task:
    return Task(
        "Serve the shop over HTTPS",
        "The certificate and key for shop.example.com are in the Secret `shop-tls` (type kubernetes.io/tls, "
        "namespace default). Rewrite the Ingress `shop` (all of it, same routes: `/api` and `/healthz` to "
        "api:8080, `/` to web:80) so that the controller terminates TLS for shop.example.com with that "
        "certificate.",
        _check_tls,
        Solution(TLS_SOLUTION, "`spec.tls` lists hosts and the Secret with their certificate; the "
                 "Secret must be in the Ingress's namespace. The controller terminates TLS and, for a host with "
                 "TLS, redirects plain http with 308 (annotation `nginx.ingress.kubernetes.io/ssl-redirect`). "
                 "The Secret comes from `kubectl create secret tls shop-tls --cert=shop.crt --key=shop.key`; "
                 "`kubectl create ingress shop --class=nginx --rule=\"shop.example.com/*=web:80,tls=shop-tls\"` "
                 "writes a tls section too."),
        hints=["The field is `spec.tls`: a list of `{hosts: [...], secretName: ...}`."],
    )


FALLBACK_SOLUTION = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: fallback
spec:
  ingressClassName: nginx
  defaultBackend:
    service:
      name: blog
      port:
        number: 80
"""


def _check_fallback(answer: str) -> CheckResult:
    mine = _learner_objects(answer, "Ingress")
    if not mine:
        return CheckResult.fail("your YAML has no Ingress")
    if not any((i.get("metadata") or {}).get("name") == "fallback" for i in mine):
        # A new Ingress is younger than fallback, and the catch-all takes the oldest one's defaultBackend.
        return CheckResult.fail("ingress-nginx's catch-all uses the defaultBackend of the oldest Ingress that has one "
                                "and no host: a new Ingress would be younger than fallback and change nothing; "
                                "change fallback itself")
    cluster = k8snetviz.load("ingress", answer)
    got = ingress(cluster, "unknown.test", "/")
    backend = got.backend or {}
    if got.status is not None or backend.get("service") != "default/blog":
        shown = got.status or f"{backend.get('service')}:{backend.get('port')}"
        return CheckResult.fail(f"http://unknown.test/ goes to {shown}, not blog:80", proof=got)
    shop = ingress(cluster, "shop.example.com", "/")
    if (shop.backend or {}).get("service") != "default/web":
        return CheckResult.fail("shop.example.com no longer reaches web: leave the other Ingresses as they are",
                                proof=shop)
    return CheckResult.ok("requests for hosts no rule names now go to blog:80, through fallback's defaultBackend; "
                          "shop.example.com still goes to web.", proof=got)


def task_default_backend() -> Task:
    return Task(
        "Send unknown hosts to the blog",
        "Requests for hosts no Ingress rule names (`http://unknown.test/`, a bare IP) reach `web` today. Make them "
        "reach Service `blog` on port 80 instead, without changing where any named host goes.",
        _check_fallback,
        Solution(FALLBACK_SOLUTION, "`spec.defaultBackend` takes requests no rule matches. ingress-nginx uses the "
                 "defaultBackend of the oldest Ingress that has one and no host of its own as the catch-all, so "
                 "change fallback (`kubectl edit ingress fallback`). Without any, the controller's own default "
                 "backend answers 404. `kubectl create ingress fallback --class=nginx --default-backend=blog:80` "
                 "writes one."),
        hints=["`kubectl describe ingress fallback` shows `Default backend:`."],
    )


def predict_rewrite() -> Predict:
    return Predict(
        "An Ingress for `rewrite.bar.com` has the path `/something(/|$)(.*)` (with `use-regex: \"true\"`) and the "
        "annotation `nginx.ingress.kubernetes.io/rewrite-target: /$2`. A client asks for "
        "`http://rewrite.bar.com/something/new`. Which path does the backend receive?",
        ["/something/new", "/new", "/$2"],
        answer="/new",
        explanation="rewrite-target replaces the path before the request goes upstream. `$2` is the second capture "
                    "group of the path's regular expression, `(.*)`: here `new`. `/something` and `/something/` "
                    "both become `/`. Since ingress-nginx 0.22 every part to keep must be captured explicitly; a "
                    "host that uses rewrite-target or use-regex on any Ingress gets regular-expression matching on "
                    "all its paths.",
        wrong={"/something/new": "That is what the backend gets without the annotation."},
    )


def predict_secret_namespace() -> Predict:
    return Predict(
        "Ingress `shop` in namespace `default` names `secretName: shop-tls` in its tls section, but the Secret was "
        "created in namespace `ingress-nginx`. What do https clients of shop.example.com see?",
        ["the shop's certificate: the controller finds the Secret in its own namespace",
         "the controller's self-signed default certificate: an Ingress can only use Secrets of its own namespace",
         "the API server refuses the Ingress"],
        answer="the controller's self-signed default certificate: an Ingress can only use Secrets of its own "
               "namespace",
        explanation="`secretName` has no namespace: it always means the Ingress's namespace. The API server "
                    "accepts the Ingress; the controller does not find the Secret, logs it, and serves its fake "
                    "default certificate, which browsers reject. Create the Secret beside the Ingress.",
    )


def ingress_predictions() -> list[Predict]:
    return [predict_prefix(), predict_wildcard(), predict_tls(), predict_secret_namespace(), predict_rewrite()]


def ingress_tasks() -> list[Task]:
    return [api_split_task(), task_tls(), task_default_backend()]


# --- Gateway API: cross-namespace references, headers and weights --------------------------------------------

REFGRANT_ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: docs-link
  namespace: shop
spec:
  parentRefs:
  - name: shared
    namespace: infra
  hostnames:
  - shop.example.com
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /docs
    backendRefs:
    - name: docs
      namespace: default
      port: 80
"""

REFGRANT_SOLUTION = """\
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: shop-routes-to-docs
  namespace: default
spec:
  from:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    namespace: shop
  to:
  - group: ""
    kind: Service
    name: docs
"""


def _route_conditions(answer: Any, key: str) -> dict[str, Any]:
    return {c.type: c for p in answer.statuses.get(key, []) for c in p.conditions}


def _check_grant(answer: str) -> CheckResult:
    grants = _learner_objects(answer, "ReferenceGrant")
    if not grants:
        return CheckResult.fail("your YAML has no ReferenceGrant")
    wrong_ns = [g for g in grants if ((g.get("metadata") or {}).get("namespace") or "default") != "default"]
    cluster = k8snetviz.load("gateway", REFGRANT_ROUTE + "---\n" + answer)
    got = http_route(cluster, "shop.example.com", "/docs/intro")
    conditions = _route_conditions(got, "shop/docs-link")
    resolved = conditions.get("ResolvedRefs")
    if resolved is None or resolved.status != "True" or got.status is not None:
        why = ""
        if wrong_ns:
            why = ("a ReferenceGrant lives in the namespace of the object it opens (the Service's, default), not in "
                   "the route's")
        else:
            why = "its `from` must name group gateway.networking.k8s.io, kind HTTPRoute, namespace shop; its `to` "\
                  "group \"\" (core), kind Service (and name docs, or no name for every Service)"
        reason = f"{resolved.reason}: {resolved.message}" if resolved is not None else "no status"
        return CheckResult.fail(f"shop/docs-link still has ResolvedRefs False ({reason}): {why}", proof=got)
    return CheckResult.ok("the route's reference is allowed: ResolvedRefs is True, and shop.example.com/docs reaches "
                          "default/docs:80.", proof=got)


def task_reference_grant() -> Task:
    return Task(
        "Let a route in shop send to a Service in default",
        "The HTTPRoute `shop/docs-link` (shown above) sends `shop.example.com/docs` to the Service `docs` in "
        "namespace `default`, and every request gets 500. Write the object that allows it, and nothing more: "
        "HTTPRoutes of namespace `shop` may reach the Service `docs` in `default`.",
        _check_grant,
        Solution(REFGRANT_SOLUTION, "A ReferenceGrant sits in the namespace of the target (default) and lists who "
                 "may refer (`from`: HTTPRoutes of shop) and to what (`to`: the Service docs; without `name`, every "
                 "Service of default). Attaching a route to a Gateway in another namespace needs no grant: the "
                 "listener's allowedRoutes decides that. A Gateway listener's certificateRefs to a Secret in "
                 "another namespace needs one too (`from` kind Gateway, `to` kind Secret)."),
        hints=["Whose namespace decides what may point into it?"],
    )


CANARY_SOLUTION = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: beta
  namespace: shop
spec:
  parentRefs:
  - name: shared
    namespace: infra
  hostnames:
  - beta.example.com
  rules:
  - matches:
    - headers:
      - name: x-beta
        value: "yes"
    backendRefs:
    - name: web-canary
      port: 80
  - backendRefs:
    - name: web
      port: 80
      weight: 80
    - name: web-canary
      port: 80
      weight: 20
"""


def _check_canary(answer: str) -> CheckResult:
    routes = _learner_objects(answer, "HTTPRoute")
    if not routes:
        return CheckResult.fail("your YAML has no HTTPRoute")
    cluster = k8snetviz.load("gateway", answer)
    tester = http_route(cluster, "beta.example.com", "/", headers={"x-beta": "yes"})
    others = http_route(cluster, "beta.example.com", "/cart")
    problems = []
    for key in [f"{(r.get('metadata') or {}).get('namespace') or 'default'}/{(r.get('metadata') or {}).get('name')}"
                for r in routes]:
        for c in _route_conditions(others, key).values():
            if c.status != "True":
                problems.append(f"HTTPRoute {key}: {c.type} is False ({c.reason}): {c.message}")
    if problems:
        return CheckResult.fail(*problems, proof=others)
    shares = {c.backend["service"]: round(c.probability, 2) for c in tester.route.candidates if c.problem is None}
    if tester.status is not None or shares != {"shop/web-canary": 1.0}:
        return CheckResult.fail(f"a request with `x-beta: yes` goes to {tester.status or shares}, not always to "
                                "web-canary", proof=tester)
    shares = {c.backend["service"]: round(c.probability, 2) for c in others.route.candidates if c.problem is None}
    if others.status is not None or shares != {"shop/web": 0.8, "shop/web-canary": 0.2}:
        return CheckResult.fail(f"other requests go to {others.status or shares}, not 80% web and 20% web-canary",
                                proof=others)
    return CheckResult.ok("testers with `x-beta: yes` always reach web-canary; everyone else is split 80/20 between "
                          "web and web-canary.", proof=others)


def task_header_canary() -> Task:
    return Task(
        "A canary by header and by weight",
        "Write an HTTPRoute `beta` in namespace `shop`, attached to Gateway `infra/shared`, for the host "
        "`beta.example.com`: requests with the header `x-beta: yes` always go to Service `web-canary` (port 80); "
        "all other requests are split 80% to `web` and 20% to `web-canary`.",
        _check_canary,
        Solution(CANARY_SOLUTION, "Two rules: the one with a header match wins for requests that carry it (more "
                 "header matches beat fewer when the paths tie); the other splits by `weight`, which counts "
                 "relative to the sum of the rule's weights (80 + 20)."),
        hints=["One rule per behaviour; `weight` sits on each backendRef."],
    )


def predict_listener_hostname() -> Predict:
    return Predict(
        "HTTPRoute `shop/partner` names the Gateway `infra/shared` and the hostname `shop.partner.org`; the "
        "Gateway's only listener is for `*.example.com`. What is the route's status?",
        ["Accepted: the listener passes every host on", "Accepted=False, reason NoMatchingListenerHostname",
         "ResolvedRefs=False, reason BackendNotFound"],
        answer="Accepted=False, reason NoMatchingListenerHostname",
        explanation="A route attaches to a listener only where their hostnames intersect. `shop.partner.org` is "
                    "not under `*.example.com`, so no listener takes the route and requests for that host get 404.",
        reveal=lambda: kubectl_route_status("partner", "shop"),
    )


def predict_cross_namespace() -> Predict:
    return Predict(
        "An HTTPRoute in namespace `shop` sends `/docs` to the Service `docs` in namespace `default`. No "
        "ReferenceGrant exists. What do requests for shop.example.com/docs get?",
        ["the docs page: a route may name any Service", "404: the route is not accepted",
         "500: the route is accepted, but its backendRef is not permitted (ResolvedRefs=False, RefNotPermitted)"],
        answer="500: the route is accepted, but its backendRef is not permitted (ResolvedRefs=False, "
               "RefNotPermitted)",
        explanation="Every cross-namespace reference in the Gateway API, except a route attaching to a Gateway, "
                    "needs a ReferenceGrant in the target's namespace. Without it the reference does not resolve; "
                    "a rule whose backends are all invalid answers 500.",
        reveal=lambda: http_route(k8snetviz.load("gateway", REFGRANT_ROUTE), "shop.example.com", "/docs/intro"),
    )


def kubectl_route_status(name: str, namespace: str) -> Any:
    from k8snetviz.course.quiz import TextBlock
    from k8snetviz.views import ingresstext

    return TextBlock(ingresstext.httproute_yaml(k8snetviz.load("gateway"), name, namespace))


def gateway_predictions() -> list[Predict]:
    return [predict_not_admitted(), predict_listener_hostname(), predict_weights(), predict_cross_namespace()]


def gateway_tasks() -> list[Task]:
    return [migrate_task(), task_reference_grant(), task_header_canary()]


# --- imperative tasks: Ingress and Gateway API --------------------------------------------------------

API_INGRESS_COMMAND = 'kubectl create ingress api --class=nginx --rule="api.example.com/*=api:8080"'


def _check_api_ingress(answer: Any) -> CheckResult:
    outcome = resulting_cluster("ingress", answer)
    got = ingress(outcome.cluster, "api.example.com", "/v1/orders")
    backend = got.backend or {}
    if got.status is not None or backend.get("service") != "default/api" or \
            _port_number(outcome.cluster, "default/api", backend.get("port")) != 8080:
        where = f"{backend.get('service')}:{backend.get('port')}" if backend else f"HTTP {got.status}"
        return CheckResult.fail(f"http://api.example.com/v1/orders goes to {where} (Ingress {got.route.ingress or '-'}"
                                "): it must reach the Service api on 8080" + (
                                    f" (your commands: {outcome.note()})" if outcome.errors else ""),
                                proof=got)
    blog = ingress(outcome.cluster, "blog.example.com", "/")
    if (blog.backend or {}).get("service") != "default/blog":
        return CheckResult.fail(f"http://blog.example.com/ no longer reaches blog ({blog.backend}): add a rule for "
                                "api.example.com only", proof=blog)
    return CheckResult.ok(f"api.example.com goes to api:8080 through Ingress {got.route.ingress}: an exact host beats "
                          "the wildcard *.example.com of Ingress blog, which still serves the other hosts.", proof=got)


def task_api_ingress() -> Task:
    """Notebook 06: publish the API on its own host, with kubectl create ingress."""
    return Task(
        "Publish the API on its own host",
        "In the `ingress` scenario, make http://api.example.com/ (every path) reach the Service `api` on port 8080 "
        "through ingress-nginx, with an Ingress named `api`. Use `kubectl create ingress`; write the command as the "
        "answer (YAML is accepted too). The other hosts must keep working.",
        _check_api_ingress,
        Solution(API_INGRESS_COMMAND, "A rule ending in `*` is a Prefix path (`/*` is every path). api.example.com "
                 "also matches blog's `*.example.com`; ingress-nginx takes the exact host first.", language="bash"),
        hints=["`kubectl create ingress NAME --class=CLASS --rule=\"HOST/PATH*=SERVICE:PORT\"`",
               "`kubectl get ingress` shows every Ingress with its hosts."],
        start="ingress",
    )


LEGACY_COMMAND = "kubectl patch ingress legacy -p '{\"spec\":{\"ingressClassName\":\"nginx\"}}'"


def _check_legacy(answer: Any) -> CheckResult:
    outcome = resulting_cluster("ingress", answer)
    got = ingress(outcome.cluster, "shop.example.com", "/old/catalogue")
    if got.route.ingress != "default/legacy":
        return CheckResult.fail(f"http://shop.example.com/old/catalogue is routed by {got.route.ingress or 'nothing'}, "
                                "not by Ingress legacy: its class still names a controller that does not run here "
                                "(kubectl get ingressclass lists the classes)" + (
                                    f" (your commands: {outcome.note()})" if outcome.errors else ""), proof=got)
    return CheckResult.ok("Ingress legacy has class nginx now: ingress-nginx serves its /old rule (the longest path "
                          "for shop.example.com/old).", proof=got)


def task_serve_legacy() -> Task:
    """Notebook 06: the Ingress no controller serves."""
    return Task(
        "Serve the forgotten Ingress",
        "In the `ingress` scenario, the Ingress `legacy` routes shop.example.com/old, but ingress-nginx ignores it. "
        "Make ingress-nginx serve it, with one kubectl command.",
        _check_legacy,
        Solution(LEGACY_COMMAND, "legacy's ingressClassName is traefik, and no traefik controller runs: an Ingress "
                 "is served only by the controller of its class. Patch the class to nginx (kubectl edit would do the "
                 "same).", language="bash"),
        hints=["`kubectl get ingress` shows each Ingress's CLASS; `kubectl get ingressclass` the classes that exist."],
        start="ingress",
    )


PREVIEW_COMMAND = "kubectl label namespace dev gateway-access=true"


def _check_preview(answer: Any) -> CheckResult:
    outcome = resulting_cluster("gateway", answer)
    before = k8snetviz.load("gateway").documents("Gateway")
    base = {(b.get("metadata") or {}).get("name"): b.get("spec") for b in before}
    now = {(b.get("metadata") or {}).get("name"): b.get("spec") for b in outcome.cluster.documents("Gateway")}
    if now != base:
        return CheckResult.fail("the Gateway changed: the platform team owns infra/shared; admit the route from its "
                                "own side (its namespace)")
    got = http_route(outcome.cluster, "preview.example.com", "/")
    accepted = [c for p in got.statuses.get("dev/preview", []) for c in p.conditions if c.type == "Accepted"]
    if not accepted or any(c.status != "True" for c in accepted) or got.route.route != "dev/preview":
        why = "; ".join(f"{c.reason}: {c.message}" for c in accepted) or "no status"
        return CheckResult.fail(f"dev/preview is still not admitted ({why}): the listener admits routes only from "
                                "namespaces labelled gateway-access=true" + (
                                    f" (your commands: {outcome.note()})" if outcome.errors else ""), proof=got)
    return CheckResult.ok("namespace dev carries gateway-access=true: the listener admits dev/preview (Accepted), so "
                          "the Gateway routes preview.example.com by it (it answers 500 until dev has a Service "
                          "preview: the route's backendRef).", proof=got)


def task_admit_preview() -> Task:
    """Notebook 07: admit a route by labelling its namespace."""
    return Task(
        "Admit the preview route",
        "In the `gateway` scenario, http://preview.example.com/ answers 404: the Gateway `infra/shared` does not "
        "admit the HTTPRoute dev/preview. Get the route admitted (status Accepted) without changing the Gateway "
        "(another team owns it). One kubectl command.",
        _check_preview,
        Solution(PREVIEW_COMMAND, "The listener's allowedRoutes selects namespaces labelled gateway-access=true; the "
                 "route's status said NotAllowedByListeners. Labelling the route's namespace admits it.",
                 language="bash"),
        hints=["`kubectl get httproute preview -n dev -o yaml` shows the route's status and its reason.",
               "`kubectl get gateway shared -n infra -o yaml`: look at the listener's allowedRoutes."],
        start="gateway",
    )


CANARY_COMMAND = ("kubectl -n shop patch httproute shop --type=json -p='["
                  '{"op":"replace","path":"/spec/rules/2/backendRefs/0/weight","value":50},'
                  '{"op":"replace","path":"/spec/rules/2/backendRefs/1/weight","value":50}]\'')


def _check_canary_half(answer: Any) -> CheckResult:
    outcome = resulting_cluster("gateway", answer)
    got = http_route(outcome.cluster, "shop.example.com", "/cart")
    split = {c.backend["service"]: round(c.probability, 2) for c in (got.route.candidates or [])}
    if split != {"shop/web": 0.5, "shop/web-canary": 0.5}:
        return CheckResult.fail(f"http://shop.example.com/cart is split {split or got.status}: it must go half to web, "
                                "half to web-canary" + (f" (your commands: {outcome.note()})" if outcome.errors
                                                        else ""), proof=got)
    header = http_route(outcome.cluster, "shop.example.com", "/cart", headers={"x-canary": "always"})
    api = http_route(outcome.cluster, "shop.example.com", "/api/x")
    if (header.backend or {}).get("service") != "shop/web-canary" or (api.backend or {}).get("service") != "shop/api":
        return CheckResult.fail("the other rules changed: /api must still go to api and x-canary: always to "
                                "web-canary", proof=header)
    return CheckResult.ok("the / rule splits 50/50 between web and web-canary; /api and the x-canary rule are as "
                          "they were.", proof=got)


def task_canary_half() -> Task:
    """Notebook 07: shift a weighted split with kubectl patch."""
    return Task(
        "Send half the traffic to the canary",
        "In the `gateway` scenario, HTTPRoute shop/shop sends / 90% to web and 10% to web-canary. Make it 50/50, "
        "leaving its other rules as they are, with kubectl (a JSON patch, or apply the whole route).",
        _check_canary_half,
        Solution(CANARY_COMMAND, "The weights are on the backendRefs of the third rule (index 2). Weights are "
                 "relative: 50/50, 1/1 and 5/5 all split evenly.", language="bash"),
        hints=["`kubectl -n shop get httproute shop -o yaml`: count the rules from 0."],
        start="gateway",
    )
