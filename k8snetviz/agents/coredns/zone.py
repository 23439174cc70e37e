"""The cluster DNS zone as CoreDNS's ``kubernetes`` plugin serves it.

Records follow the Kubernetes DNS-Based Service Discovery specification as CoreDNS implements it:

- ``svc.ns.svc.zone``: A/AAAA with the ClusterIP(s); for a headless Service one record per *ready*
  endpoint, and NXDOMAIN when no endpoint is ready (the name only exists through its endpoints).
- ``host.svc.ns.svc.zone``: one endpoint, named by its ``hostname`` (set by the EndpointSlice
  controller from a pod's ``hostname`` when its ``subdomain`` is the Service) or its dashed IP.
- ``_port._proto.svc.ns.svc.zone``: SRV, priority 0, weight ``floor(100/n)``; the target is the
  Service name (ClusterIP) or each endpoint's name (headless), with the addresses as additional records.
- PTR for ClusterIPs (``svc.ns.svc.zone``) and for ready endpoint IPs (``host.svc.ns.svc.zone``).
- ExternalName: a CNAME, chased through the resolver for outside targets.
- ``a-b-c-d.ns.pod.zone``: with ``pods insecure`` any well-formed IP in an existing namespace.
- Negative answers carry the zone's SOA (``ns.dns.<zone> hostmaster.<zone>``, TTL min(ttl, 300)).

Names are compared in lower case; answers use the normalised (lower-case, absolute) query name.

>>> web = DNSService("default", "web", cluster_ips=("10.96.0.20",), ports=(DNSServicePort("http", 80),))
>>> zone = Zone([web])
>>> print(zone.lookup("web.default.svc.cluster.local", "A").records[0])
web.default.svc.cluster.local. 30 IN A 10.96.0.20
>>> zone.lookup("db.default.svc.cluster.local", "A").rcode
'NXDOMAIN'
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from k8snetviz.api.validation import (
    DNS1123_SUBDOMAIN_FMT,
    DNS1123_SUBDOMAIN_MSG,
    dns1123_subdomain_errors,
    max_len_error,
    regex_error,
)
from k8snetviz.errors import FieldError, UsageError

__all__ = [
    "NOERROR",
    "NXDOMAIN",
    "SERVFAIL",
    "REFUSED",
    "QTYPES",
    "DEFAULT_SOA_SERIAL",
    "DNS_SCHEMA_VERSION",
    "Record",
    "Answer",
    "Lookup",
    "DNSServicePort",
    "DNSService",
    "DNSEndpointPort",
    "DNSEndpoint",
    "DNSEndpointSlice",
    "DNSPod",
    "KubernetesOptions",
    "Zone",
    "Upstream",
    "fqdn",
    "in_zone",
    "reverse_name",
    "ip_from_reverse",
    "endpoint_hostname",
    "validate_external_name",
    "validate_query_name",
]

NOERROR = "NOERROR"
NXDOMAIN = "NXDOMAIN"
SERVFAIL = "SERVFAIL"
REFUSED = "REFUSED"

QTYPES = ("A", "AAAA", "SRV", "PTR", "CNAME", "SOA", "NS", "TXT", "MX")

# CoreDNS puts the Unix time of the last API change in the SOA serial; a fixed value keeps output stable.
DEFAULT_SOA_SERIAL = 1700000000
# The kubernetes plugin answers TXT dns-version.<zone> with the spec version it implements.
DNS_SCHEMA_VERSION = "1.1.0"

Lookup = Callable[[str, str], "Answer"]


# --------------------------------------------------------------------------------------------- names


def fqdn(name: str) -> str:
    """Lower-case absolute form of ``name`` (``"Web.Default"`` -> ``"web.default."``)."""
    name = name.strip().lower()
    if name in ("", "."):
        return "."
    return name if name.endswith(".") else name + "."


def in_zone(name: str, zone: str) -> bool:
    """True when ``name`` is ``zone`` or below it (both absolute)."""
    return zone == "." or name == zone or name.endswith("." + zone)


def reverse_name(ip: str) -> str:
    """The PTR owner name of an address: ``10.96.0.20`` -> ``20.0.96.10.in-addr.arpa.``."""
    return ipaddress.ip_address(ip).reverse_pointer + "."


def ip_from_reverse(name: str) -> str | None:
    """The address a full reverse name stands for, or None (as CoreDNS's ExtractAddressFromReverse)."""
    name = fqdn(name)
    if name.endswith(".in-addr.arpa."):
        labels = name[: -len(".in-addr.arpa.")].split(".")
        if len(labels) != 4:
            return None
        try:
            return str(ipaddress.IPv4Address(".".join(reversed(labels))))
        except ValueError:
            return None
    if name.endswith(".ip6.arpa."):
        nibbles = name[: -len(".ip6.arpa.")].split(".")
        if len(nibbles) != 32 or not all(len(n) == 1 and n in "0123456789abcdef" for n in nibbles):
            return None
        hexes = "".join(reversed(nibbles))
        return str(ipaddress.IPv6Address(int(hexes, 16)))
    return None


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------- validation


def validate_external_name(value: str | None, path: str = "spec.externalName") -> list[FieldError]:
    """The API server's checks on an ExternalName Service's ``spec.externalName``.

    A trailing dot is allowed (the value is a CNAME target); the rest must be an RFC 1123 subdomain.
    """
    clean = (value or "").removesuffix(".")
    if not clean:
        return [FieldError.required(path)]
    return [FieldError.invalid(path, clean, msg) for msg in dns1123_subdomain_errors(clean)]


_QUERY_LABEL_RE = re.compile(r"^[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?$")


def validate_query_name(name: str) -> str:
    """Check a name typed into a resolver; return it lower-cased, else raise :class:`UsageError`.

    Query names may carry ``_`` (``_http._tcp``) and a trailing dot, otherwise the RFC 1123 rules apply.
    """
    text = name.strip().lower()
    body = text.removesuffix(".")
    problems: list[str] = []
    if not body:
        problems.append("must not be empty")
    elif len(body) > 253:
        problems.append(max_len_error(253))
    else:
        for label in body.split("."):
            if len(label) > 63:
                problems.append("each label must be no more than 63 characters")
                break
            if not _QUERY_LABEL_RE.match(label):
                problems.append(regex_error(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
                break
    if problems:
        raise UsageError(f'invalid DNS name "{name}": ' + "; ".join(problems))
    return text


# ------------------------------------------------------------------------------------ records, answers


@dataclass(frozen=True)
class Record:
    """One resource record; ``data`` is the presentation form dig prints (``0 100 80 web...``)."""

    name: str
    type: str
    ttl: int
    data: str

    def __str__(self) -> str:
        return f"{self.name} {self.ttl} IN {self.type} {self.data}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "ttl": self.ttl, "data": self.data}

    def target(self) -> str | None:
        """The domain name this record points at (CNAME, PTR, SRV, NS), else None."""
        if self.type in ("CNAME", "PTR", "NS"):
            return self.data
        if self.type == "SRV":
            return self.data.split()[-1]
        return None


@dataclass(frozen=True)
class Answer:
    """A DNS response: rcode, answer/authority/additional sections, and who produced it.

    NODATA is ``rcode == "NOERROR"`` with no records (the name exists with other types only).
    """

    name: str
    type: str
    rcode: str
    records: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()
    authoritative: bool = True
    recursion_available: bool = False
    source: str = ""

    @property
    def nodata(self) -> bool:
        return self.rcode == NOERROR and not self.records

    @property
    def positive(self) -> bool:
        """NOERROR with at least one answer record (what a stub resolver accepts)."""
        return self.rcode == NOERROR and bool(self.records)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "rcode": self.rcode,
            "answers": [r.to_dict() for r in self.records],
            "authority": [r.to_dict() for r in self.authority],
            "additional": [r.to_dict() for r in self.additional],
            "authoritative": self.authoritative,
            "source": self.source,
        }


# ------------------------------------------------------------------------------ what CoreDNS watches


@dataclass(frozen=True)
class DNSServicePort:
    """A Service port: ``name`` (None when unnamed), ``port``, ``protocol``."""

    name: str | None
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class DNSService:
    """The parts of a Service CoreDNS uses.

    ``cluster_ips`` is None (or ``("None",)``) for a headless Service; ExternalName Services carry
    ``external_name`` and no ClusterIP.
    """

    namespace: str
    name: str
    type: str = "ClusterIP"
    cluster_ips: tuple[str, ...] | None = ()
    ports: tuple[DNSServicePort, ...] = ()
    external_name: str | None = None

    @property
    def headless(self) -> bool:
        return self.type != "ExternalName" and (not self.cluster_ips or self.cluster_ips[0] == "None")


@dataclass(frozen=True)
class DNSEndpointPort:
    """An EndpointSlice port: the Service port's name, the target (container) port, the protocol."""

    name: str | None
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class DNSEndpoint:
    """One EndpointSlice endpoint (``ready`` None counts as ready, as the API documents)."""

    ip: str
    ready: bool | None = True
    hostname: str | None = None
    node_name: str | None = None
    target_ref: str | None = None  # the pod's name


@dataclass(frozen=True)
class DNSEndpointSlice:
    """An EndpointSlice of Service ``service`` in ``namespace``."""

    namespace: str
    service: str
    endpoints: tuple[DNSEndpoint, ...] = ()
    ports: tuple[DNSEndpointPort, ...] = ()


@dataclass(frozen=True)
class DNSPod:
    """The parts of a Pod DNS uses: its IP, ``spec.hostname`` and ``spec.subdomain``."""

    namespace: str
    name: str
    ip: str | None = None
    hostname: str | None = None
    subdomain: str | None = None


def endpoint_hostname(endpoint: DNSEndpoint, pod_names: bool = False) -> str:
    """The label naming an endpoint: its hostname, else (``endpoint_pod_names``) the pod, else dashed IP."""
    if endpoint.hostname:
        return endpoint.hostname
    # CoreDNS ignores pod names that could not be a DNS label.
    if pod_names and endpoint.target_ref and len(endpoint.target_ref) < 64:
        return endpoint.target_ref
    if "." in endpoint.ip:
        return endpoint.ip.replace(".", "-")
    dashed = endpoint.ip.replace(":", "-")
    return dashed + "0" if dashed.endswith("-") else dashed


# --------------------------------------------------------------------------------- plugin options


@dataclass(frozen=True)
class KubernetesOptions:
    """The ``kubernetes`` plugin's settings; the defaults are kubeadm's Corefile.

    ``fallthrough`` is None when the option is absent, ``()`` for every zone, else the listed zones.
    """

    zones: tuple[str, ...] = ("cluster.local.", "in-addr.arpa.", "ip6.arpa.")
    pods: str = "insecure"  # disabled | insecure | verified
    ttl: int = 30
    fallthrough: tuple[str, ...] | None = ("in-addr.arpa.", "ip6.arpa.")
    endpoint_pod_names: bool = False
    namespaces: tuple[str, ...] = ()
    ignore_empty_service: bool = False
    noendpoints: bool = False

    @property
    def primary_zone(self) -> str:
        """The first zone that is not a reverse zone: PTR answers are built under it."""
        for z in self.zones:
            if not (z.endswith("in-addr.arpa.") or z.endswith("ip6.arpa.")):
                return z
        return self.zones[0]

    def falls_through(self, name: str) -> bool:
        if self.fallthrough is None:
            return False
        if not self.fallthrough:
            return True
        return any(in_zone(name, z) for z in self.fallthrough)


# ------------------------------------------------------------------------------------------- zone


@dataclass(frozen=True)
class _Item:
    """One backend answer, as CoreDNS's msg.Service: a host (IP or name), a port, an owner key."""

    host: str
    port: int
    key: str


@dataclass(frozen=True)
class _Request:
    pod_or_svc: str = ""
    namespace: str = ""
    service: str = ""
    endpoint: str = ""
    port: str = ""
    protocol: str = ""


class _NameError(Exception):
    """NXDOMAIN from the backend (no such item, namespace not exposed, malformed name)."""


_DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class Zone:
    """The ``kubernetes`` plugin: answers names in its zones from Services, EndpointSlices and Pods.

    ``namespaces``: the namespaces that exist (default: those of the objects plus the four built-in
    ones); names in a namespace that does not exist are NXDOMAIN. ``upstream`` resolves ExternalName
    targets outside the zones and, in :meth:`lookup`, any name the plugin does not answer (as
    ``forward . /etc/resolv.conf`` would). ``dns_service_ips`` are the kube-dns ClusterIPs, served at
    ``ns.dns.<zone>``.
    """

    def __init__(
        self,
        services: Iterable[DNSService] = (),
        endpoint_slices: Iterable[DNSEndpointSlice] = (),
        pods: Iterable[DNSPod] = (),
        *,
        namespaces: Iterable[str] | None = None,
        options: KubernetesOptions | None = None,
        upstream: Lookup | None = None,
        dns_service_ips: Sequence[str] = (),
        serial: int = DEFAULT_SOA_SERIAL,
    ) -> None:
        self.services = list(services)
        self.endpoint_slices = list(endpoint_slices)
        self.pods = list(pods)
        self.options = options or KubernetesOptions()
        fall = self.options.fallthrough
        self.options = replace(
            self.options,
            zones=tuple(fqdn(z) for z in self.options.zones),
            fallthrough=None if fall is None else tuple(fqdn(z) for z in fall),
        )
        self.upstream = upstream
        self.dns_service_ips = tuple(dns_service_ips)
        self.serial = serial
        if namespaces is None:
            found = {s.namespace for s in self.services} | {p.namespace for p in self.pods}
            found |= {e.namespace for e in self.endpoint_slices}
            namespaces = sorted(found | set(_DEFAULT_NAMESPACES))
        self.namespaces = {n.lower() for n in namespaces}
        self._by_key: dict[tuple[str, str], list[DNSService]] = {}
        for svc in self.services:
            self._by_key.setdefault((svc.namespace.lower(), svc.name.lower()), []).append(svc)
        self._pods_by_name = {(p.namespace, p.name): p for p in self.pods}

    # -- public -------------------------------------------------------------------------------

    def zone_for(self, name: str) -> str | None:
        """The most specific of the plugin's zones containing ``name``, or None."""
        name = fqdn(name)
        best = None
        for z in self.options.zones:
            if in_zone(name, z) and (best is None or len(z) > len(best)):
                best = z
        return best

    def serve(self, name: str, qtype: str) -> Answer | None:
        """The plugin's response, or None when the query passes to the next plugin.

        None means: the name is outside the plugin's zones, or it is NXDOMAIN in a zone listed
        under ``fallthrough``.
        """
        name, qtype = fqdn(name), qtype.upper()
        zone = self.zone_for(name)
        if zone is None:
            return None
        source = f"kubernetes plugin, zone {zone}"
        try:
            records, extra = self._answer(name, qtype, zone)
        except _NameError:
            if self.options.falls_through(name):
                return None
            return Answer(name, qtype, NXDOMAIN, authority=(self._soa(zone),), source=source)
        if not records:
            return Answer(name, qtype, NOERROR, authority=(self._soa(zone),), source=source)
        return Answer(name, qtype, NOERROR, tuple(records), additional=tuple(extra), source=source)

    def lookup(self, name: str, qtype: str = "A") -> Answer:
        """Answer like CoreDNS with kubeadm's chain: this plugin, then forward to ``upstream``."""
        answer = self.serve(name, qtype)
        if answer is not None:
            return answer
        if self.upstream is None:
            # forward with no upstream configured: the chain ends, CoreDNS answers SERVFAIL.
            return Answer(fqdn(name), qtype.upper(), SERVFAIL, source="no next plugin found")
        return self.upstream(fqdn(name), qtype.upper())

    # -- record assembly ------------------------------------------------------------------------

    def _soa(self, zone: str) -> Record:
        ttl = self.options.ttl
        data = f"ns.dns.{zone} hostmaster.{zone} {self.serial} 7200 1800 86400 {ttl}"
        return Record(zone, "SOA", min(ttl, 300), data)

    def _answer(self, name: str, qtype: str, zone: str) -> tuple[list[Record], list[Record]]:
        if qtype == "A":
            return self._address(name, zone, 4, []), []
        if qtype == "AAAA":
            return self._address(name, zone, 6, []), []
        if qtype == "SRV":
            return self._srv(name, zone)
        if qtype == "PTR":
            return self._ptr(name, zone), []
        if qtype == "CNAME":
            items = self._items(name, zone, qtype)
            if items and _parse_ip(items[0].host) is None:
                return [Record(name, "CNAME", self.options.ttl, fqdn(items[0].host))], []
            return [], []
        if qtype == "TXT":
            if name == f"dns-version.{zone}":
                return [Record(name, "TXT", 28800, f'"{DNS_SCHEMA_VERSION}"')], []
            try:
                items = self._items(name, zone, qtype)
            except _NameError:
                items = []
            if items:
                return [], []
            raise _NameError(name)  # CoreDNS: no item of any type -> NXDOMAIN for TXT
        if qtype == "SOA":
            return ([self._soa(zone)] if name == zone else []), []
        if qtype == "NS" and name == zone:
            ns = f"ns.dns.{zone}"
            records = [Record(name, "NS", self.options.ttl, ns)] if self.dns_service_ips else []
            extra = [Record(ns, _address_type(ip), self.options.ttl, ip) for ip in self.dns_service_ips]
            return records, extra
        # Any other type: a fake A lookup tells NXDOMAIN from NODATA.
        self._address(name, zone, 4, [])
        return [], []

    def _address(self, name: str, zone: str, family: int, chain: list[Record]) -> list[Record]:
        qtype = "A" if family == 4 else "AAAA"
        records: list[Record] = []
        seen: set[str] = set()
        for item in self._items(name, zone, qtype):
            ip = _parse_ip(item.host)
            if ip is not None:
                if ip.version == family and item.host not in seen:
                    seen.add(item.host)
                    records.append(Record(name, qtype, self.options.ttl, item.host))
                continue
            target = fqdn(item.host)
            if target == name:
                continue  # x CNAME x would loop
            cname = Record(name, "CNAME", self.options.ttl, target)
            if len(chain) > 10 or cname in chain:
                continue
            if in_zone(target, zone):
                try:
                    following = self._address(target, zone, family, [*chain, cname])
                except _NameError:
                    following = []
                if following:
                    records += [cname, *following]
                continue
            if self.upstream is None:
                continue  # the outside lookup failed: CoreDNS leaves the CNAME out
            outside = self.upstream(target, qtype)
            records += [cname, *outside.records]
        return records

    def _srv(self, name: str, zone: str) -> tuple[list[Record], list[Record]]:
        # ExternalName Services have no SRV records: CoreDNS drops name-valued items for SRV.
        items = [i for i in self._items(name, zone, "SRV") if _parse_ip(i.host) is not None]
        if not items:
            return [], []
        # Every item weighs 100 at priority 0, so each SRV gets floor(100 / n), at least 1.
        weight = max(1, math.floor(100.0 / (100 * len(items)) * 100))
        records: list[Record] = []
        extra: list[Record] = []
        seen_srv: set[tuple[str, int]] = set()
        seen_addr: set[tuple[str, str]] = set()
        for item in items:
            if item.port == -1:
                continue  # endpoints without ports: addresses but no SRV
            target = item.key
            if (target, item.port) not in seen_srv:
                seen_srv.add((target, item.port))
                records.append(Record(name, "SRV", self.options.ttl, f"0 {weight} {item.port} {target}"))
            if (target, item.host) not in seen_addr:
                seen_addr.add((target, item.host))
                extra.append(Record(target, _address_type(item.host), self.options.ttl, item.host))
        return records, extra

    def _ptr(self, name: str, zone: str) -> list[Record]:
        ip = ip_from_reverse(name)
        if ip is None:
            self._items(name, zone, "PTR")  # raises NXDOMAIN, or NODATA for an existing forward name
            return []
        primary = self.options.primary_zone
        targets: list[str] = []
        for svc in self.services:
            if svc.cluster_ips and ip in svc.cluster_ips and self._ns_allowed(svc.namespace):
                targets = [f"{svc.name}.{svc.namespace}.svc.{primary}"]
                break
        if not targets and not self.options.noendpoints:
            for eps in self.endpoint_slices:
                if not self._ns_allowed(eps.namespace):
                    continue
                for ep in self._ready(eps):
                    if ep.ip == ip:
                        host = self._endpoint_name(ep, eps)
                        targets.append(f"{host}.{eps.service}.{eps.namespace}.svc.{primary}")
        if not targets:
            raise _NameError(name)
        unique = list(dict.fromkeys(t.lower() for t in targets))
        return [Record(name, "PTR", self.options.ttl, t) for t in unique]

    # -- the backend: parse the name, find the items --------------------------------------------

    def _ns_allowed(self, namespace: str) -> bool:
        return not self.options.namespaces or namespace in self.options.namespaces

    def _exposed(self, namespace: str) -> bool:
        return self._ns_allowed(namespace) and namespace in self.namespaces

    def _ready(self, eps: DNSEndpointSlice) -> list[DNSEndpoint]:
        return [e for e in eps.endpoints if e.ready is None or e.ready]

    def _endpoint_name(self, ep: DNSEndpoint, eps: DNSEndpointSlice) -> str:
        if not ep.hostname and ep.target_ref:
            # What the EndpointSlice controller sets: the pod's hostname, when its subdomain is the Service.
            pod = self._pods_by_name.get((eps.namespace, ep.target_ref))
            if pod and pod.hostname and pod.subdomain == eps.service:
                ep = DNSEndpoint(ep.ip, ep.ready, pod.hostname, ep.node_name, ep.target_ref)
        return endpoint_hostname(ep, self.options.endpoint_pod_names).lower()

    @staticmethod
    def _parse(name: str, zone: str) -> _Request:
        base = name[: -len(zone)].rstrip(".") if name != zone else ""
        if base in ("", "svc", "pod"):
            return _Request()  # apex-like names: NODATA
        segs = base.split(".")
        kind = segs[-1]
        if kind not in ("svc", "pod"):
            raise _NameError(name)
        rest = segs[:-1]
        namespace = rest[-1] if rest else ""
        service = rest[-2] if len(rest) >= 2 else ""
        left = rest[:-2]
        if not left:
            return _Request(kind, namespace, service)
        if len(left) == 1:
            return _Request(kind, namespace, service, endpoint=left[0])
        if len(left) == 2:
            return _Request(
                kind, namespace, service, port=left[0].removeprefix("_"), protocol=left[1].removeprefix("_")
            )
        raise _NameError(name)  # too many labels

    def _items(self, name: str, zone: str, qtype: str) -> list[_Item]:
        if name == f"ns.dns.{zone}":
            family = {"A": 4, "AAAA": 6}.get(qtype)
            ips = [ip for ip in self.dns_service_ips if family and getattr(_parse_ip(ip), 'version', None) == family]
            return [_Item(ip, 0, name) for ip in ips]
        req = self._parse(name, zone)
        if not req.pod_or_svc:
            return []
        if zone.endswith("in-addr.arpa.") or zone.endswith("ip6.arpa.") or not self._exposed(req.namespace):
            raise _NameError(name)
        if req.pod_or_svc == "pod":
            return self._pod_items(req, zone)
        return self._service_items(req, zone)

    def _pod_items(self, req: _Request, zone: str) -> list[_Item]:
        if self.options.pods == "disabled":
            raise _NameError(req.service)
        if not req.service:
            return []
        label = req.service
        if label.count("-") == 3 and "--" not in label:
            text = label.replace("-", ".")
        else:
            text = label.replace("-", ":")
        ip = _parse_ip(text)
        key = f"{label}.{req.namespace}.pod.{zone}"
        if self.options.pods == "insecure":
            if ip is None:
                raise _NameError(label)
            return [_Item(text, 0, key)]
        found = [_Item(text, 0, key) for p in self.pods if p.ip == text and p.namespace == req.namespace]
        if not found:
            raise _NameError(label)
        return found

    def _service_items(self, req: _Request, zone: str) -> list[_Item]:
        if not req.service:
            return []  # an existing namespace: NODATA
        items: list[_Item] = []
        found = False
        for svc in self._by_key.get((req.namespace, req.service), []):
            key = (svc.namespace, svc.name)
            slices = [e for e in self.endpoint_slices if (e.namespace, e.service) == key]
            if self.options.ignore_empty_service and svc.type != "ExternalName" and not svc.headless:
                if not any(self._ready(e) for e in slices):
                    continue
            svc_key = f"{svc.name}.{svc.namespace}.svc.{zone}".lower()
            if svc.type == "ExternalName":
                if req.endpoint or req.port or req.protocol:
                    continue
                target = svc.external_name or ""
                if target and _parse_ip(target.removesuffix(".")) is None:
                    items.append(_Item(target, 0, svc_key))
                    found = True
                continue
            if svc.headless or req.endpoint:
                if self.options.noendpoints:
                    continue
                for eps in slices:
                    ports = eps.ports or (DNSEndpointPort(None, -1, ""),)
                    for ep in self._ready(eps):
                        host = self._endpoint_name(ep, eps)
                        if req.endpoint and req.endpoint != host:
                            continue
                        for p in ports:
                            if _port_matches(req, p.name, p.protocol):
                                items.append(_Item(ep.ip, p.port, f"{host}.{svc_key}"))
                                found = True
                continue
            for sp in svc.ports:
                if not _port_matches(req, sp.name, sp.protocol):
                    continue
                found = True
                for ip in svc.cluster_ips or ():
                    items.append(_Item(ip, sp.port, svc_key))
        if not found:
            raise _NameError(req.service)
        return items


def _address_type(ip: str) -> str:
    return "AAAA" if ":" in ip else "A"


def _port_matches(req: _Request, name: str | None, protocol: str) -> bool:
    return (not req.port or req.port == (name or "").lower()) and (not req.protocol or req.protocol == protocol.lower())


# --------------------------------------------------------------------------------------- upstream


@dataclass
class Upstream:
    """The world outside the cluster, as the scenario describes it: name -> records.

    Values are records as ``(type, data)`` or ``(type, data, ttl)`` tuples or :class:`Record`.
    Answers are recursive (RA set, AA clear); a CNAME is followed inside the table. A name with no
    entry is NXDOMAIN unless names exist below it (then NODATA).

    >>> up = Upstream({"example.com": [("A", "93.184.216.34")]})
    >>> up.lookup("example.com", "A").records[0].data
    '93.184.216.34'
    >>> up.lookup("example.org", "A").rcode
    'NXDOMAIN'
    """

    table: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    ttl: int = 300
    name: str = "upstream"

    def __post_init__(self) -> None:
        self._records: dict[str, list[Record]] = {}
        for owner, values in self.table.items():
            owner = fqdn(owner)
            recs = self._records.setdefault(owner, [])
            for v in values:
                if isinstance(v, Record):
                    recs.append(v)
                    continue
                rtype, data, *rest = v
                rtype = rtype.upper()
                if rtype in ("CNAME", "PTR", "NS"):
                    data = fqdn(data)
                recs.append(Record(owner, rtype, int(rest[0]) if rest else self.ttl, data))

    def lookup(self, name: str, qtype: str = "A") -> Answer:
        name, qtype = fqdn(name), qtype.upper()
        records: list[Record] = []
        current = name
        for _ in range(10):
            here = self._records.get(current)
            if here is None:
                exists = any(owner.endswith("." + current) for owner in self._records)
                rcode = NOERROR if exists else NXDOMAIN
                return self._answer(name, qtype, rcode, records)
            matching = [r for r in here if r.type == qtype]
            cnames = [r for r in here if r.type == "CNAME"]
            if matching or not cnames or qtype == "CNAME":
                return self._answer(name, qtype, NOERROR, records + matching)
            records.append(cnames[0])
            current = cnames[0].data
        return self._answer(name, qtype, SERVFAIL, [])

    def _answer(self, name: str, qtype: str, rcode: str, records: list[Record]) -> Answer:
        return Answer(
            name,
            qtype,
            rcode,
            tuple(records),
            authoritative=False,
            recursion_available=True,
            source=self.name,
        )
