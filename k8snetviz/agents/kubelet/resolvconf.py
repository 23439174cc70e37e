"""The pod's side of DNS: its ``/etc/resolv.conf`` and the resolver's search list.

``pod_resolv_conf`` builds the file as the kubelet does (pkg/kubelet/network/dns): ``ClusterFirst``
gives ``search <ns>.svc.<domain> svc.<domain> <domain>`` plus the node's search domains, the cluster
DNS Service as the only nameserver and ``options ndots:5``; ``ClusterFirst`` on a hostNetwork pod
falls back to ``Default`` (the node's file); ``ClusterFirstWithHostNet`` keeps the cluster settings;
``None`` starts empty. ``dnsConfig`` is then appended (duplicates dropped, options overriding by
name) and the result cut to the kubelet's limits (3 nameservers, 32 search domains, 2048 characters),
with the kubelet's warning event. The container runtime writes ``search``, ``nameserver``, ``options``
in that order.

``search`` expands a name as glibc's ``res_search`` does for ``getaddrinfo``:

- a name ending in a dot is asked as is, once;
- with at least ``ndots`` dots it is asked as is first, then with each search domain;
- otherwise each search domain first, then as is (unless ``no-tld-query`` and no dots);
- NXDOMAIN *and* NODATA both move on to the next candidate (glibc keeps searching on NODATA);
  SERVFAIL too; any other failure (REFUSED) stops the search list;
- with ``family="UNSPEC"`` (getaddrinfo's AF_UNSPEC) each candidate is one A and one AAAA query,
  sent together on the same socket (A first) and both awaited; the pair succeeds when either
  answer has records. ``single-request`` sends them one after the other, same order.

``bind_search`` is the search of the BIND tools in the dnsutils debug pod (``nslookup``): only
NXDOMAIN moves to the next candidate, and each lookup is one query type.

>>> rc = pod_resolv_conf("default").resolv_conf
>>> print(rc.render(), end="")
search default.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from k8snetviz.agents.coredns.zone import (
    NOERROR,
    NXDOMAIN,
    SERVFAIL,
    Answer,
    Record,
    fqdn,
    reverse_name,
)
from k8snetviz.api.validation import IP_ERROR, dns1123_subdomain_errors
from k8snetviz.errors import FieldError, GoLiteral, InvalidObject

__all__ = [
    "DNS_POLICIES",
    "MAX_DNS_NAMESERVERS",
    "MAX_DNS_SEARCH_PATHS",
    "MAX_DNS_SEARCH_LIST_CHARS",
    "KIND_NODE_RESOLV_CONF",
    "DNSConfigOption",
    "PodDNSConfig",
    "ResolvConf",
    "PodDNS",
    "Query",
    "Resolution",
    "parse_resolv_conf",
    "validate_pod_dns",
    "pod_resolv_conf",
    "search",
    "bind_search",
    "nslookup_lookups",
]

DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
MAX_DNS_NAMESERVERS = 3
MAX_DNS_SEARCH_PATHS = 32
MAX_DNS_SEARCH_LIST_CHARS = 2048

# A kind node's resolv.conf: Docker's embedded-DNS file, with kind pointing it at the network gateway.
KIND_NODE_RESOLV_CONF = "nameserver 172.18.0.1\noptions ndots:0\n"

Lookup = Callable[[str, str], Answer]


# ------------------------------------------------------------------------------------ the config


@dataclass(frozen=True)
class DNSConfigOption:
    """One ``spec.dnsConfig.options`` entry (``value`` None for flags such as ``single-request``)."""

    name: str
    value: str | None = None

    def __str__(self) -> str:
        return self.name if not self.value else f"{self.name}:{self.value}"


@dataclass(frozen=True)
class PodDNSConfig:
    """A pod's ``spec.dnsConfig``."""

    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[DNSConfigOption, ...] = ()

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any] | None) -> PodDNSConfig | None:
        """From the manifest's ``dnsConfig`` mapping (None stays None)."""
        if spec is None:
            return None
        opts = tuple(
            DNSConfigOption(str(o.get("name", "")), None if o.get("value") is None else str(o.get("value")))
            for o in spec.get("options") or ()
        )
        return cls(
            tuple(str(s) for s in spec.get("nameservers") or ()),
            tuple(str(s) for s in spec.get("searches") or ()),
            opts,
        )


@dataclass(frozen=True)
class ResolvConf:
    """The contents of a resolv.conf: nameservers, search domains, options (``ndots:5``)."""

    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    def option(self, name: str) -> str | None:
        """The value of option ``name`` ("" for a flag), or None when absent; the last one wins."""
        found = None
        for o in self.options:
            key, _, value = o.partition(":")
            if key == name:
                found = value
        return found

    @property
    def ndots(self) -> int:
        """glibc's ndots: 1 when unset, capped at 15."""
        value = self.option("ndots")
        if value is None or not value.isdigit():
            return 1
        return min(int(value), 15)

    def render(self) -> str:
        """The file as the container runtime writes it."""
        lines = []
        if self.searches:
            lines.append("search " + " ".join(self.searches))
        lines += [f"nameserver {ns}" for ns in self.nameservers]
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "".join(line + "\n" for line in lines)


def parse_resolv_conf(text: str) -> ResolvConf:
    """Parse a resolv.conf as the kubelet does: nameservers add up, the last search/options line wins."""
    nameservers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            continue
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            nameservers.append(fields[1])
        elif fields[0] == "search":
            searches = [s.removesuffix(".") for s in fields[1:]]
        elif fields[0] == "options":
            options = fields[1:]
    return ResolvConf(tuple(nameservers), tuple(searches), tuple(options))


# ------------------------------------------------------------------------------------- validation


def validate_pod_dns(dns_policy: str | None, dns_config: PodDNSConfig | None, path: str = "spec") -> list[FieldError]:
    """The API server's checks on ``dnsPolicy`` and ``dnsConfig`` (pkg/apis/core/validation)."""
    errs: list[FieldError] = []
    policy = dns_policy or "ClusterFirst"
    if policy not in DNS_POLICIES:
        return [FieldError.not_supported(f"{path}.dnsPolicy", policy, DNS_POLICIES)]
    cfg_path = f"{path}.dnsConfig"
    if policy == "None":
        if dns_config is None:
            return [FieldError.required(cfg_path, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not dns_config.nameservers:
            detail = "must provide at least one DNS nameserver when `dnsPolicy` is None"
            return [FieldError.required(f"{cfg_path}.nameservers", detail)]
    if dns_config is None:
        return errs
    if len(dns_config.nameservers) > MAX_DNS_NAMESERVERS:
        errs.append(
            FieldError.invalid(
                f"{cfg_path}.nameservers",
                GoLiteral.strings(dns_config.nameservers),
                f"must not have more than {MAX_DNS_NAMESERVERS} nameservers",
            )
        )
    for i, ns in enumerate(dns_config.nameservers):
        try:
            ipaddress.ip_address(ns)
        except ValueError:
            errs.append(FieldError.invalid(f"{cfg_path}.nameservers[{i}]", ns, IP_ERROR))
    if len(dns_config.searches) > MAX_DNS_SEARCH_PATHS:
        errs.append(
            FieldError.invalid(
                f"{cfg_path}.searches",
                GoLiteral.strings(dns_config.searches),
                f"must not have more than {MAX_DNS_SEARCH_PATHS} search paths",
            )
        )
    if len(" ".join(dns_config.searches)) > MAX_DNS_SEARCH_LIST_CHARS:
        errs.append(
            FieldError.invalid(
                f"{cfg_path}.searches",
                GoLiteral.strings(dns_config.searches),
                f"must not have more than {MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list",
            )
        )
    for i, s in enumerate(dns_config.searches):
        clean = s.removesuffix(".")  # a trailing dot is fine
        errs += [FieldError.invalid(f"{cfg_path}.searches[{i}]", clean, m) for m in dns1123_subdomain_errors(clean)]
    for i, o in enumerate(dns_config.options):
        if not o.name:
            errs.append(FieldError.required(f"{cfg_path}.options[{i}]", "must not be empty"))
    return errs


# ------------------------------------------------------------------------------------ the kubelet


@dataclass(frozen=True)
class PodDNS:
    """A pod's resolver configuration and how the kubelet got there.

    ``mode`` is the kubelet's DNS type: ``cluster`` (ClusterFirst, ClusterFirstWithHostNet),
    ``host`` (Default, or ClusterFirst on the host network), ``none``. ``events`` are the warning
    events the kubelet records (``DNSConfigForming``, ``MissingClusterDNS``).
    """

    resolv_conf: ResolvConf
    policy: str
    mode: str
    events: tuple[str, ...] = ()


def _dedup(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _merge_options(existing: Sequence[str], extra: Sequence[DNSConfigOption]) -> list[str]:
    # The kubelet keys options by name, dnsConfig winning; it then iterates a Go map (no fixed
    # order), so this keeps the first-seen order instead.
    merged: dict[str, str] = {}
    for text in existing:
        name, _, value = text.partition(":")
        merged[name] = value
    for o in extra:
        merged[o.name] = o.value or ""
    return [f"{k}:{v}" if v else k for k, v in merged.items()]


def pod_resolv_conf(
    namespace: str,
    dns_policy: str | None = "ClusterFirst",
    *,
    host_network: bool = False,
    dns_config: PodDNSConfig | None = None,
    cluster_domain: str = "cluster.local",
    cluster_dns: Sequence[str] = ("10.96.0.10",),
    node_resolv_conf: ResolvConf | str = KIND_NODE_RESOLV_CONF,
    pod_name: str | None = None,
) -> PodDNS:
    """The pod's resolv.conf as the kubelet writes it; invalid DNS settings raise :class:`InvalidObject`."""
    policy = dns_policy or "ClusterFirst"
    errs = validate_pod_dns(policy, dns_config)
    if errs:
        raise InvalidObject("Pod", pod_name or "", errs)
    host = parse_resolv_conf(node_resolv_conf) if isinstance(node_resolv_conf, str) else node_resolv_conf
    events: list[str] = []
    domain = cluster_domain.removesuffix(".")
    if policy == "None":
        mode = "none"
    elif policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not host_network):
        mode = "cluster"
    else:
        mode = "host"
    servers, searches, options = list(host.nameservers), list(host.searches), list(host.options)
    if mode == "none":
        servers, searches, options = [], [], []
    elif mode == "cluster":
        if cluster_dns:
            servers = list(cluster_dns)
            if domain:
                searches = _dedup([f"{namespace}.svc.{domain}", f"svc.{domain}", domain, *searches])
            options = ["ndots:5"]
        else:
            events.append(
                f'kubelet does not have ClusterDNS IP configured and cannot create Pod using "{policy}" '
                'policy. Falling back to "Default" policy.'
            )
            mode = "host"
    if dns_config is not None:
        servers = _dedup([*servers, *dns_config.nameservers])
        searches = _dedup([*searches, *dns_config.searches])
        options = _merge_options(options, dns_config.options)
    servers, searches = _fit_limits(servers, searches, events)
    return PodDNS(ResolvConf(tuple(servers), tuple(searches), tuple(options)), policy, mode, tuple(events))


def _fit_limits(servers: list[str], searches: list[str], events: list[str]) -> tuple[list[str], list[str]]:
    if len(servers) > MAX_DNS_NAMESERVERS:
        servers = servers[:MAX_DNS_NAMESERVERS]
        events.append(
            "Nameserver limits were exceeded, some nameservers have been omitted, "
            "the applied nameserver line is: " + " ".join(servers)
        )
    exceeded = False
    if len(searches) > MAX_DNS_SEARCH_PATHS:
        searches, exceeded = searches[:MAX_DNS_SEARCH_PATHS], True
    kept = [s for s in searches if len(s) <= 253]  # longer ones crash some resolvers
    exceeded |= len(kept) != len(searches)
    searches = kept
    while searches and len(" ".join(searches)) > MAX_DNS_SEARCH_LIST_CHARS:
        searches, exceeded = searches[:-1], True
    if exceeded:
        events.append(
            "Search Line limits were exceeded, some search paths have been omitted, "
            "the applied search line is: " + " ".join(searches)
        )
    return servers, searches


# --------------------------------------------------------------------------------- the resolver


@dataclass(frozen=True)
class Query:
    """One query on the wire and the response it got."""

    name: str
    type: str
    answer: Answer

    @property
    def rcode(self) -> str:
        return self.answer.rcode

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "rcode": self.rcode}


# glibc's h_errno values and what getaddrinfo reports for them (gai_strerror).
_GAI = {
    "HOST_NOT_FOUND": "Name or service not known",
    "NO_DATA": "No address associated with hostname",
    "TRY_AGAIN": "Temporary failure in name resolution",
    "NO_RECOVERY": "Non-recoverable failure in name resolution",
}


@dataclass(frozen=True)
class Resolution:
    """A name's resolution: every query in the order sent, and the responses finally used.

    ``error`` is None on success, else glibc's h_errno (``HOST_NOT_FOUND``, ``NO_DATA``,
    ``TRY_AGAIN``, ``NO_RECOVERY``); for :func:`bind_search` the last response's rcode.
    ``source`` says what answered without DNS (``/etc/hosts``, ``numeric address``), if anything.
    """

    name: str
    queries: tuple[Query, ...]
    accepted: tuple[Answer, ...] = ()
    error: str | None = None
    source: str = "dns"
    resolver: str = "glibc"

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def records(self) -> tuple[Record, ...]:
        return tuple(r for a in self.accepted for r in a.records)

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(r.data for r in self.records if r.type in ("A", "AAAA"))

    @property
    def final_name(self) -> str | None:
        """The name that answered (the search candidate), or None."""
        return self.accepted[0].name if self.accepted else None

    @property
    def message(self) -> str:
        """getaddrinfo's words for the outcome ("" on success)."""
        return "" if self.error is None else _GAI.get(self.error, self.error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "queries": [q.to_dict() for q in self.queries],
            "answers": [{"name": r.name, "type": r.type, "data": r.data} for r in self.records],
        }


def _h_errno(first: Answer, second: Answer | None = None) -> str:
    # glibc's __res_context_query: with two answers, the AAAA rcode speaks when A was NOERROR.
    rcode = first.rcode if second is None or first.rcode != NOERROR else second.rcode
    if rcode == NXDOMAIN:
        return "HOST_NOT_FOUND"
    if rcode == SERVFAIL:
        return "TRY_AGAIN"
    if rcode == NOERROR:
        return "NO_DATA"
    return "NO_RECOVERY"


def search(
    name: str,
    resolv_conf: ResolvConf,
    lookup: Lookup,
    *,
    family: str = "UNSPEC",
    qtype: str | None = None,
    etc_hosts: Mapping[str, Sequence[str]] | None = None,
) -> Resolution:
    """Resolve ``name`` as glibc does: every query in order, stopping at the first positive answer.

    ``family``: ``UNSPEC`` (A and AAAA per candidate), ``INET`` (A) or ``INET6`` (AAAA);
    ``qtype`` overrides it with a single type (``res_search`` for SRV, PTR...). ``etc_hosts`` maps
    names to addresses consulted first (nsswitch ``files dns``). ``lookup(name, type)`` asks the
    first nameserver.
    """
    text = name.strip()
    if qtype is None:
        numeric = _numeric(text)
        if numeric is not None:
            rec = Record(text, "AAAA" if ":" in text else "A", 0, numeric)
            ans = Answer(text, rec.type, NOERROR, (rec,), source="numeric address")
            return Resolution(text, (), (ans,), None, "numeric address")
        if etc_hosts:
            hit = etc_hosts.get(text.removesuffix(".").lower())
            if hit:
                recs = tuple(Record(fqdn(text), "AAAA" if ":" in ip else "A", 0, ip) for ip in hit)
                ans = Answer(fqdn(text), "A", NOERROR, recs, source="/etc/hosts")
                return Resolution(text, (), (ans,), None, "/etc/hosts")
    types = _types(resolv_conf, family, qtype)
    queries: list[Query] = []

    def ask(candidate: str) -> tuple[bool, str, tuple[Answer, ...]]:
        answers = []
        for t in types:
            ans = lookup(candidate, t)
            queries.append(Query(candidate, t, ans))
            answers.append(ans)
        ok = any(a.positive for a in answers)
        return ok, ("" if ok else _h_errno(*answers)), tuple(a for a in answers if a.positive)

    dots = text.count(".")
    trailing = text.endswith(".")
    base = text.removesuffix(".")
    saved: str | None = None
    last = "HOST_NOT_FOUND"
    tried_as_is = searched = root_on_list = got_nodata = got_servfail = False

    if dots >= resolv_conf.ndots or trailing:
        ok, herr, used = ask(fqdn(base))
        if ok or trailing:
            return _resolution(text, queries, used, herr)
        saved, tried_as_is = herr, True
    if not trailing:  # glibc: no dots (RES_DEFNAMES) or dots without a trailing one (RES_DNSRCH)
        for domain in resolv_conf.searches:
            searched = True
            domain = domain.removeprefix(".")
            if domain in ("", "."):
                root_on_list = True
                candidate = fqdn(base)
            else:
                candidate = fqdn(f"{base}.{domain}")
            ok, herr, used = ask(candidate)
            if ok:
                return _resolution(text, queries, used, "")
            last = herr
            if herr == "NO_DATA":
                got_nodata = True
            elif herr == "TRY_AGAIN":
                got_servfail = True
            elif herr != "HOST_NOT_FOUND":
                break  # anything else ends the search list
    no_tld = resolv_conf.option("no-tld-query") is not None
    if (dots or not searched or not no_tld) and not (tried_as_is or root_on_list):
        ok, herr, used = ask(fqdn(base))
        if ok:
            return _resolution(text, queries, used, "")
        last = herr
    if saved is not None:
        error = saved
    elif got_nodata:
        error = "NO_DATA"
    elif got_servfail:
        error = "TRY_AGAIN"
    else:
        error = last
    return _resolution(text, queries, (), error)


def _types(resolv_conf: ResolvConf, family: str, qtype: str | None) -> tuple[str, ...]:
    if qtype is not None:
        return (qtype.upper(),)
    family = family.upper()
    if family == "INET":
        return ("A",)
    if family == "INET6":
        return ("AAAA",)
    if resolv_conf.option("no-aaaa") is not None:
        return ("A",)
    return ("A", "AAAA")


def _numeric(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _resolution(name: str, queries: list[Query], used: tuple[Answer, ...], error: str) -> Resolution:
    return Resolution(name, tuple(queries), used if not error else (), error or None)


def bind_search(name: str, resolv_conf: ResolvConf, lookup: Lookup, qtype: str = "A") -> Resolution:
    """Resolve like BIND's nslookup: search list per ndots, moving on only after NXDOMAIN."""
    text = name.strip()
    base = text.removesuffix(".")
    if text.endswith("."):
        candidates = [fqdn(base)]
    else:
        listed = [fqdn(f"{base}.{d.removeprefix('.')}") if d not in ("", ".") else fqdn(base)
                  for d in resolv_conf.searches]  # fmt: skip
        if text.count(".") >= resolv_conf.ndots:
            candidates = [fqdn(base), *listed]
        else:
            candidates = [*listed, fqdn(base)]
    candidates = _dedup(candidates)
    queries: list[Query] = []
    answer: Answer | None = None
    for candidate in candidates:
        answer = lookup(candidate, qtype.upper())
        queries.append(Query(candidate, qtype.upper(), answer))
        if answer.rcode != NXDOMAIN:
            break
    assert answer is not None
    error = None if answer.rcode == NOERROR else answer.rcode
    return Resolution(text, tuple(queries), (answer,), error, resolver="bind")


def nslookup_lookups(name: str, resolv_conf: ResolvConf, lookup: Lookup, qtype: str | None = None) -> list[Resolution]:
    """The lookups ``nslookup NAME`` makes, in order.

    An address becomes a PTR query for its reverse name. Without ``-type``, an A lookup through the
    search list, then, if it found the name, one AAAA query for the name it resolved to (after
    following CNAMEs), without the search list.
    """
    text = name.strip()
    if qtype is None and _numeric(text) is not None:
        return [bind_search(reverse_name(text), resolv_conf, lookup, "PTR")]
    if qtype is not None:
        return [bind_search(text, resolv_conf, lookup, qtype)]
    first = bind_search(text, resolv_conf, lookup, "A")
    if first.error is not None or not first.accepted:
        return [first]
    target = first.accepted[0].name
    for r in first.accepted[0].records:
        if r.type == "CNAME" and r.name == target:
            target = r.data
    aaaa = lookup(target, "AAAA")
    second = Resolution(
        target, (Query(target, "AAAA", aaaa),), (aaaa,), None if aaaa.rcode == NOERROR else aaaa.rcode, resolver="bind"
    )
    return [first, second]
