"""NetworkPolicy: which connections the policies of a cluster allow, and which rule decided.

The semantics follow the ``networking.k8s.io/v1`` API and the Kubernetes documentation:

- A pod is *isolated for ingress* when at least one NetworkPolicy with ``Ingress`` in its
  ``policyTypes`` selects it, and likewise for egress. A pod that no policy isolates in a
  direction accepts everything in that direction.
- Policies are additive: an isolated pod accepts what at least one rule of one of the
  policies that select it allows. A connection between two pods needs the source's egress
  *and* the destination's ingress; a reply of an allowed connection is always allowed.
- ``policyTypes`` defaults to ``["Ingress"]``, plus ``"Egress"`` when ``spec.egress`` has at
  least one rule (``egress: []`` does not count), as the API server's defaulting does.
- A missing or empty ``from``/``to``/``ports`` list matches everything; ``ingress: [{}]``
  allows all, ``ingress: []`` (or no ``ingress``) allows nothing.
- In one peer, ``podSelector`` and ``namespaceSelector`` are ANDed; separate peers are ORed.
  A ``podSelector`` alone means the policy's own namespace; ``namespaceSelector: {}`` means
  every namespace. Every namespace carries ``kubernetes.io/metadata.name: <name>``.
- A named port is resolved on the *destination* pod (for egress too): the destination must
  have a container port of that name and protocol, with the number being connected to.
- A pod cannot block access to itself, and traffic between a pod and its own node is always
  allowed. Policies do not apply to ``hostNetwork`` pods.

Choices where the documentation leaves things open, documented here:

- ``ipBlock`` matches any address, pod IPs included. The docs say ipBlock *should* name
  cluster-external addresses because pod IPs are ephemeral; the upstream e2e suite
  (``should enforce except clause while egress access to server in CIDR block``) checks
  ipBlock against pod IPs, and common CNI plugins do the same.
- Policies see addresses *after* kube-proxy's DNAT: callers pass the endpoint pod that
  kube-proxy picked, never a ClusterIP. The source address is whatever reaches the pod
  (after any SNAT), so a NodePort client may appear as a node's IP.
- Peer selectors never match ``hostNetwork`` pods (their traffic carries the node's IP);
  ``ipBlock`` still matches that IP.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from k8snetviz.agents.writes import fast_init
from k8snetviz.api.refs import Ref
from k8snetviz.api.validation import (
    CIDR_ERROR,
    PORT_NUM_ERROR,
    dns1123_subdomain_errors,
    label_value_errors,
    port_name_errors,
    port_number_errors,
    qualified_name_errors,
)
from k8snetviz.errors import FieldError, InvalidObject, NotFound, UsageError, format_value

__all__ = [
    "PROTOCOLS",
    "PodPort",
    "PolicyPod",
    "PolicyNamespace",
    "LabelSelector",
    "Requirement",
    "IPBlock",
    "NetworkPolicyPeer",
    "NetworkPolicyPort",
    "NetworkPolicyRule",
    "NetworkPolicy",
    "RuleRef",
    "DirectionVerdict",
    "Verdict",
    "Reachability",
    "PolicyEngine",
    "validate_network_policy",
    "parse_network_policy",
    "check",
    "reachability",
]

PROTOCOLS = ("TCP", "UDP", "SCTP")  # the order the API server lists them in its error
POLICY_TYPES = ("Ingress", "Egress")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class PodPort:
    """A container port (``spec.containers[].ports[]``): what a named policy port resolves to."""

    port: int
    name: str | None = None
    protocol: str = "TCP"


@dataclass(frozen=True)
class PolicyPod:
    """What NetworkPolicy needs to know of a pod. ``node_ip``: the IP of the node it runs on."""

    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str | IPAddress | None = None
    ports: tuple[PodPort, ...] = ()
    node_ip: str | IPAddress | None = None
    host_network: bool = False

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class PolicyNamespace:
    """A namespace and its labels (``kubernetes.io/metadata.name`` is added when absent)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


@fast_init  # one per pod: 150,000 at Kubernetes' limits
@dataclass(frozen=True)
class _Pod:
    """A pod normalised from any object shaped like :class:`PolicyPod` (or the model's Pod)."""

    namespace: str
    name: str
    labels: Mapping[str, str]
    ip: IPAddress | None
    ports: tuple[PodPort, ...]
    node_ip: IPAddress | None
    host_network: bool

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def has_named_port(self, name: str, port: int, protocol: str) -> bool:
        return any(p.name == name and p.port == port and p.protocol == protocol for p in self.ports)


def _ip(value: Any) -> IPAddress | None:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value  # (first: comparing an address with "" runs ipaddress's __eq__ in Python)
    if value is None or value == "":
        return None
    return ipaddress.ip_address(str(value))


def _normalise_pod(obj: Any) -> _Pod:
    ports = []
    for p in getattr(obj, "ports", ()) or ():
        number = getattr(p, "port", None)
        if number is None:
            number = getattr(p, "container_port", None)  # the model's ContainerPort
        if number is None:
            continue
        ports.append(
            PodPort(int(number), getattr(p, "name", None) or None, getattr(p, "protocol", "TCP") or "TCP")
        )
    return _Pod(
        namespace=obj.namespace,
        name=obj.name,
        labels=dict(getattr(obj, "labels", None) or {}),
        ip=_ip(getattr(obj, "ip", None)),
        ports=tuple(ports),
        node_ip=_ip(getattr(obj, "node_ip", None)),
        host_network=bool(getattr(obj, "host_network", False)),
    )


def _namespace_labels(namespaces: Iterable[Any], pods: Iterable[_Pod]) -> dict[str, dict[str, str]]:
    """Labels of every namespace, with the label the API server sets on each namespace."""
    out: dict[str, dict[str, str]] = {}
    for ns in namespaces:
        labels = dict(getattr(ns, "labels", None) or {})
        labels.setdefault(NAMESPACE_NAME_LABEL, ns.name)
        out[ns.name] = labels
    for pod in pods:
        out.setdefault(pod.namespace, {NAMESPACE_NAME_LABEL: pod.namespace})
    return out


def _parse_cidr(value: str) -> IPNetwork | None:
    # The API server validates ipBlock CIDRs as a legacy field: "10.0.0.1/24" is accepted
    # (with a warning) and means 10.0.0.0/24, so parse non-strictly.
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _type_error(path: str, value: Any, expected: str) -> FieldError:
    # The API server rejects these while decoding, before validation, in Go's words;
    # ours name the field and what it must be.
    return FieldError.invalid(
        path, value if isinstance(value, (str, int, float, bool)) else str(value), f"must be {expected}"
    )


# --------------------------------------------------------------------------- parsed policy


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` item."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            # a pod without the key is "not in" the values, as in labels.Selector
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels  # DoesNotExist

    def __str__(self) -> str:
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return "!" + self.key
        op = "in" if self.operator == "In" else "notin"
        return f"{self.key} {op} ({','.join(sorted(self.values))})"


@dataclass(frozen=True)
class LabelSelector:
    """``matchLabels`` and ``matchExpressions``, ANDed; an empty selector matches everything.

    >>> sel = LabelSelector.from_dict({"matchLabels": {"pod": "a"},
    ...     "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]})
    >>> sel.matches({"pod": "a"}), sel.matches({"pod": "a", "tier": "db"}), str(sel)
    (True, False, 'pod=a,tier notin (db)')
    """

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any] | None) -> LabelSelector:
        obj = obj or {}
        labels = tuple(sorted((str(k), str(v)) for k, v in (obj.get("matchLabels") or {}).items()))
        exprs = tuple(
            Requirement(
                str(e.get("key", "")),
                str(e.get("operator", "")),
                tuple(str(v) for v in e.get("values") or ()),
            )
            for e in obj.get("matchExpressions") or ()
        )
        return cls(labels, exprs)

    @property
    def empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            r.matches(labels) for r in self.match_expressions
        )

    def __str__(self) -> str:
        """The selector as kubectl prints it (``<none>`` for an empty one)."""
        parts = [f"{k}={v}" for k, v in self.match_labels] + [str(r) for r in self.match_expressions]
        return ",".join(parts) if parts else "<none>"


@dataclass(frozen=True)
class IPBlock:
    """``ipBlock``: a CIDR minus its ``except`` CIDRs."""

    cidr: IPNetwork
    except_: tuple[IPNetwork, ...] = ()

    def contains(self, ip: IPAddress | None) -> bool:
        if ip is None or ip.version != self.cidr.version or ip not in self.cidr:
            return False
        return not any(ip in e for e in self.except_)

    def __str__(self) -> str:
        return str(self.cidr) + (f" except {', '.join(map(str, self.except_))}" if self.except_ else "")


@dataclass(frozen=True)
class NetworkPolicyPeer:
    """One ``from``/``to`` item: selectors (ANDed when both are set) or an ipBlock."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None

    def __str__(self) -> str:
        if self.ip_block is not None:
            return f"ipBlock {self.ip_block}"
        parts = []
        if self.namespace_selector is not None:
            parts.append(f"namespaceSelector {self.namespace_selector}")
        if self.pod_selector is not None:
            parts.append(f"podSelector {self.pod_selector}")
        return " and ".join(parts)


@dataclass(frozen=True)
class NetworkPolicyPort:
    """One ``ports`` item: protocol (default TCP), a number, a name or nothing, and ``endPort``."""

    protocol: str = "TCP"
    port: int | str | None = None
    end_port: int | None = None

    def matches(self, port: int, protocol: str, dst: _Pod | None) -> bool:
        if protocol != self.protocol:
            return False
        if self.port is None:
            return True
        if isinstance(self.port, str):
            # resolved on the destination pod; an address outside the cluster has no names
            return dst is not None and dst.has_named_port(self.port, port, protocol)
        if self.end_port is not None:
            return self.port <= port <= self.end_port
        return port == self.port

    def __str__(self) -> str:
        if self.port is None:
            return f"all {self.protocol} ports"
        if self.end_port is not None:
            return f"{self.protocol} {self.port}-{self.end_port}"
        return f"{self.protocol} {self.port}"


@dataclass(frozen=True)
class NetworkPolicyRule:
    """An ingress or egress rule. Empty ``peers`` or ``ports`` match everything."""

    peers: tuple[NetworkPolicyPeer, ...] = ()
    ports: tuple[NetworkPolicyPort, ...] = ()


@dataclass(frozen=True)
class NetworkPolicy:
    """A validated NetworkPolicy with ``policyTypes`` defaulted as the API server does."""

    namespace: str
    name: str
    pod_selector: LabelSelector
    policy_types: tuple[str, ...]
    ingress: tuple[NetworkPolicyRule, ...] = ()
    egress: tuple[NetworkPolicyRule, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: str) -> tuple[NetworkPolicyRule, ...]:
        return self.ingress if direction == "Ingress" else self.egress

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> NetworkPolicy:
        return parse_network_policy(manifest)


def _as_mapping(value: Any, path: str, errs: list[FieldError]) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        errs.append(_type_error(path, value, "an object"))
        return None
    return value


def _as_list(value: Any, path: str, errs: list[FieldError]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        errs.append(_type_error(path, value, "a list"))
        return []
    return value


def _validate_selector(sel: Any, path: str, errs: list[FieldError]) -> None:
    sel = _as_mapping(sel, path, errs)
    if sel is None:
        return
    labels = _as_mapping(sel.get("matchLabels"), path + ".matchLabels", errs) or {}
    for key in sorted(labels, key=str):
        for msg in qualified_name_errors(str(key)):
            errs.append(FieldError.invalid(path + ".matchLabels", str(key), msg))
        value = labels[key]
        for msg in label_value_errors("" if value is None else str(value)):
            errs.append(FieldError.invalid(path + ".matchLabels", value, msg))
    for i, expr in enumerate(_as_list(sel.get("matchExpressions"), path + ".matchExpressions", errs)):
        epath = f"{path}.matchExpressions[{i}]"
        expr = _as_mapping(expr, epath, errs)
        if expr is None:
            continue
        op, values = expr.get("operator"), _as_list(expr.get("values"), epath + ".values", errs)
        if op in ("In", "NotIn"):
            if not values:
                errs.append(
                    FieldError.required(
                        epath + ".values", "must be specified when `operator` is 'In' or 'NotIn'"
                    )
                )
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    FieldError.forbidden(
                        epath + ".values",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            errs.append(
                FieldError.invalid(
                    epath + ".operator", "" if op is None else op, "not a valid selector operator"
                )
            )
        for msg in qualified_name_errors(str(expr.get("key") or "")):
            errs.append(FieldError.invalid(epath + ".key", str(expr.get("key") or ""), msg))
        for j, value in enumerate(values):
            for msg in label_value_errors(str(value)):
                errs.append(FieldError.invalid(f"{epath}.values[{j}]", value, msg))


def _validate_port(port: Any, path: str, errs: list[FieldError]) -> None:
    port = _as_mapping(port, path, errs)
    if port is None:
        return
    protocol = port.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        errs.append(FieldError.not_supported(path + ".protocol", protocol, PROTOCOLS))
    number, end = port.get("port"), port.get("endPort")
    if end is not None and (isinstance(end, bool) or not isinstance(end, int)):
        errs.append(_type_error(path + ".endPort", end, "an integer"))
        end = None
    if number is None:
        if end is not None:
            errs.append(
                FieldError.invalid(
                    path + ".endPort", end, "may not be specified when `port` is not specified"
                )
            )
    elif isinstance(number, int) and not isinstance(number, bool):
        errs.extend(FieldError.invalid(path + ".port", number, m) for m in port_number_errors(number))
        if end is not None:
            if end < number:
                # the API server reports `port`'s value here, not endPort's
                errs.append(
                    FieldError.invalid(path + ".endPort", number, "must be greater than or equal to `port`")
                )
            errs.extend(FieldError.invalid(path + ".endPort", end, m) for m in port_number_errors(end))
    elif isinstance(number, str):
        if end is not None:
            errs.append(
                FieldError.invalid(path + ".endPort", end, "may not be specified when `port` is non-numeric")
            )
        errs.extend(FieldError.invalid(path + ".port", number, m) for m in port_name_errors(number))
    else:
        errs.append(_type_error(path + ".port", number, "an integer or a string"))


def _validate_ip_block(block: Any, path: str, errs: list[FieldError]) -> None:
    block = _as_mapping(block, path, errs)
    if block is None:
        return
    cidr_text = block.get("cidr")
    if not cidr_text:
        errs.append(FieldError.required(path + ".cidr"))
        return
    cidr = _parse_cidr(str(cidr_text))
    if cidr is None:
        errs.append(FieldError.invalid(path + ".cidr", cidr_text, CIDR_ERROR))
        return
    for i, text in enumerate(_as_list(block.get("except"), path + ".except", errs)):
        epath = f"{path}.except[{i}]"
        exc = _parse_cidr(str(text))
        if exc is None:
            errs.append(FieldError.invalid(epath, text, CIDR_ERROR))
            continue
        if exc.version != cidr.version or exc.network_address not in cidr or exc.prefixlen <= cidr.prefixlen:
            errs.append(FieldError.invalid(epath, text, "must be a strict subset of `cidr`"))


def _validate_peer(peer: Any, path: str, errs: list[FieldError]) -> None:
    peer = _as_mapping(peer, path, errs)
    if peer is None:
        return
    kinds = 0
    if peer.get("podSelector") is not None:
        kinds += 1
        _validate_selector(peer["podSelector"], path + ".podSelector", errs)
    if peer.get("namespaceSelector") is not None:
        kinds += 1
        _validate_selector(peer["namespaceSelector"], path + ".namespaceSelector", errs)
    if peer.get("ipBlock") is not None:
        kinds += 1
        _validate_ip_block(peer["ipBlock"], path + ".ipBlock", errs)
    if kinds == 0:
        errs.append(FieldError.required(path, "must specify a peer"))
    elif kinds > 1 and peer.get("ipBlock") is not None:
        errs.append(FieldError.forbidden(path, "may not specify both ipBlock and another peer"))


def validate_network_policy(manifest: Mapping[str, Any]) -> list[FieldError]:
    """The field errors the API server would answer for this NetworkPolicy, in its order.

    Messages follow pkg/apis/networking/validation (ValidateNetworkPolicySpec and friends).

    >>> bad = {"metadata": {"name": "p"}, "spec": {"ingress": [{"from": [
    ...     {"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]}}
    >>> print(validate_network_policy(bad)[0])
    spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer
    """
    errs: list[FieldError] = []
    if not isinstance(manifest, Mapping):
        return [_type_error("<root>", manifest, "an object")]
    meta = _as_mapping(manifest.get("metadata"), "metadata", errs) or {}
    name = meta.get("name")
    if not name:
        errs.append(FieldError.required("metadata.name", "name or generateName is required"))
    else:
        errs.extend(
            FieldError.invalid("metadata.name", name, m) for m in dns1123_subdomain_errors(str(name))
        )
    spec = _as_mapping(manifest.get("spec"), "spec", errs) or {}
    if spec.get("podSelector") is not None:
        _validate_selector(spec["podSelector"], "spec.podSelector", errs)
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(_as_list(spec.get(direction), f"spec.{direction}", errs)):
            rpath = f"spec.{direction}[{i}]"
            rule = _as_mapping(rule, rpath, errs)
            if rule is None:
                continue
            for j, port in enumerate(_as_list(rule.get("ports"), rpath + ".ports", errs)):
                _validate_port(port, f"{rpath}.ports[{j}]", errs)
            for j, peer in enumerate(_as_list(rule.get(peers_key), f"{rpath}.{peers_key}", errs)):
                _validate_peer(peer, f"{rpath}.{peers_key}[{j}]", errs)
    types = _as_list(spec.get("policyTypes"), "spec.policyTypes", errs)
    if len(types) > len(POLICY_TYPES):
        errs.append(
            FieldError.invalid("spec.policyTypes", types, "may not specify more than two policyTypes")
        )
    else:
        for i, ptype in enumerate(types):
            if ptype not in POLICY_TYPES:
                errs.append(FieldError.not_supported(f"spec.policyTypes[{i}]", ptype, POLICY_TYPES))
    return errs


def _parse_peer(peer: Mapping[str, Any]) -> NetworkPolicyPeer:
    block = peer.get("ipBlock")
    ip_block = None
    if block is not None:
        cidr = _parse_cidr(str(block["cidr"]))
        assert cidr is not None  # validated
        excepts = tuple(e for e in (_parse_cidr(str(t)) for t in block.get("except") or ()) if e is not None)
        ip_block = IPBlock(cidr, excepts)
    return NetworkPolicyPeer(
        pod_selector=None
        if peer.get("podSelector") is None
        else LabelSelector.from_dict(peer["podSelector"]),
        namespace_selector=None
        if peer.get("namespaceSelector") is None
        else LabelSelector.from_dict(peer["namespaceSelector"]),
        ip_block=ip_block,
    )


def _parse_rule(rule: Mapping[str, Any] | None, peers_key: str) -> NetworkPolicyRule:
    rule = rule or {}
    return NetworkPolicyRule(
        peers=tuple(_parse_peer(p) for p in rule.get(peers_key) or ()),
        ports=tuple(
            NetworkPolicyPort(p.get("protocol") or "TCP", p.get("port"), p.get("endPort"))
            for p in rule.get("ports") or ()
        ),
    )


def parse_network_policy(manifest: Mapping[str, Any]) -> NetworkPolicy:
    """Validate a NetworkPolicy manifest and return it parsed, or raise :class:`InvalidObject`.

    >>> p = parse_network_policy({"metadata": {"name": "deny", "namespace": "x"},
    ...                           "spec": {"podSelector": {}, "egress": []}})
    >>> p.key, p.policy_types
    ('x/deny', ('Ingress',))
    """
    errs = validate_network_policy(manifest)
    meta = manifest.get("metadata") if isinstance(manifest, Mapping) else None
    name = str((meta or {}).get("name") or "") if isinstance(meta, Mapping) else ""
    if errs:
        raise InvalidObject("NetworkPolicy", name, errs)
    spec = manifest.get("spec") or {}
    types = tuple(spec.get("policyTypes") or ())
    if not types:
        types = ("Ingress", "Egress") if spec.get("egress") else ("Ingress",)
    return NetworkPolicy(
        namespace=str((meta or {}).get("namespace") or "default"),
        name=name,
        pod_selector=LabelSelector.from_dict(spec.get("podSelector")),
        policy_types=types,
        ingress=tuple(_parse_rule(r, "from") for r in spec.get("ingress") or ()),
        egress=tuple(_parse_rule(r, "to") for r in spec.get("egress") or ()),
    )


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class RuleRef:
    """The rule that allowed a connection: policy, rule index, and peer and port index.

    ``peer``/``port`` are None when the rule's ``from``/``to``/``ports`` list is empty
    (which matches everything).
    """

    policy: str
    direction: str
    rule: int
    peer: int | None = None
    port: int | None = None

    @property
    def path(self) -> str:
        """The field path of the deciding item, e.g. ``spec.ingress[0].from[1].ports[0]``."""
        base = f"spec.{self.direction.lower()}[{self.rule}]"
        peers_key = "from" if self.direction == "Ingress" else "to"
        return (
            base
            + (f".{peers_key}[{self.peer}]" if self.peer is not None else "")
            + (f".ports[{self.port}]" if self.port is not None else "")
        )

    def __str__(self) -> str:
        peers_key = "from" if self.direction == "Ingress" else "to"
        peer = (
            f"{peers_key}[{self.peer}]" if self.peer is not None else f"any {peers_key} (no {peers_key} list)"
        )
        port = f"ports[{self.port}]" if self.port is not None else "any port (no ports list)"
        return f"NetworkPolicy {self.policy} spec.{self.direction.lower()}[{self.rule}]: {peer}, {port}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "direction": self.direction,
            "rule": self.rule,
            "peer": self.peer,
            "port": self.port,
            "path": self.path,
        }


@dataclass(frozen=True)
class DirectionVerdict:
    """The verdict of one direction: the source's egress or the destination's ingress."""

    direction: str
    pod: str | None
    allowed: bool
    isolated: bool = False
    selected_by: tuple[str, ...] = ()
    allowed_by: RuleRef | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "pod": self.pod,
            "allowed": self.allowed,
            "isolated": self.isolated,
            "selected_by": list(self.selected_by),
            "allowed_by": self.allowed_by.to_dict() if self.allowed_by else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Verdict:
    """Whether a new connection src -> dst:port/protocol is allowed, and why.

    Replies of an allowed connection are allowed whatever the policies say in the other
    direction (policies act on connections, and the CNI plugin tracks them).
    """

    src: str
    dst: str
    port: int
    protocol: str
    egress: DirectionVerdict
    ingress: DirectionVerdict

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed

    @property
    def replies_allowed(self) -> bool:
        return self.allowed

    @property
    def reason(self) -> str:
        if not self.egress.allowed:
            return self.egress.reason
        if not self.ingress.allowed:
            return self.ingress.reason
        return f"{self.egress.reason}; {self.ingress.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "src": self.src,
            "dst": self.dst,
            "port": self.port,
            "protocol": self.protocol,
            "allowed": self.allowed,
            "reason": self.reason,
            "egress": self.egress.to_dict(),
            "ingress": self.ingress.to_dict(),
        }


@dataclass(frozen=True)
class Reachability:
    """The pods x pods truth table for one port and protocol: ``allowed[from][to]``.

    ``pods`` are sorted by namespace, then name (the e2e suite's x/a, x/b, ... order); the
    diagonal is always True, since a pod cannot block access to itself.
    """

    port: int
    protocol: str
    pods: list[str]
    allowed: dict[str, dict[str, bool]]

    def to_dict(self) -> dict[str, Any]:
        """The ``policy --json`` document (docs/contract.md)."""
        return {
            "port": self.port,
            "protocol": self.protocol,
            "pods": list(self.pods),
            "allowed": self.allowed,
        }


# --------------------------------------------------------------------------- engine


def _and_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise UsageError(
            f"unsupported protocol {format_value(protocol)}: supported values: "
            + ", ".join(format_value(p) for p in PROTOCOLS)
        )
    return protocol


def _check_port(port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise UsageError(f"invalid port {format_value(port)}: {PORT_NUM_ERROR}")
    return port


class PolicyEngine:
    """The policies of a cluster over its pods: verdicts with provenance, and the matrix.

    Inputs are plain objects: pods shaped like :class:`PolicyPod` (the model's Pod works too),
    namespaces shaped like :class:`PolicyNamespace`, and policies as manifests (dicts) or
    :class:`NetworkPolicy`. A manifest the API server would refuse raises InvalidObject.
    """

    def __init__(
        self,
        pods: Iterable[Any],
        namespaces: Iterable[Any] = (),
        policies: Iterable[Mapping[str, Any] | NetworkPolicy] = (),
    ) -> None:
        self.pods: list[_Pod] = sorted((_normalise_pod(p) for p in pods), key=lambda p: (p.namespace, p.name))
        self.by_key: dict[str, _Pod] = {p.key: p for p in self.pods}
        self.by_ip: dict[IPAddress, _Pod] = {
            p.ip: p for p in self.pods if p.ip is not None and not p.host_network
        }
        self.policies: list[NetworkPolicy] = [
            p if isinstance(p, NetworkPolicy) else parse_network_policy(p) for p in policies
        ]
        self.namespace_labels = _namespace_labels(namespaces, self.pods)
        self._index()

    # ------------------------------------------------------------------ precomputation
    def _index(self) -> None:
        """Bitsets (Python ints, bit i = self.pods[i]) of what each label, namespace and policy selects.

        Each bitset is made from its list of pod indexes in one step (:func:`_mask`): OR-ing one bit at a
        time into a 150,000-bit integer copies the integer every time, which is quadratic.
        """
        n = len(self.pods)
        self.all_mask = (1 << n) - 1
        label_pods: dict[tuple[str, str], list[int]] = {}
        key_pods: dict[str, list[int]] = {}
        ns_pods: dict[str, list[int]] = {}
        hostnet: list[int] = []
        for i, pod in enumerate(self.pods):
            ns_pods.setdefault(pod.namespace, []).append(i)
            if pod.host_network:
                hostnet.append(i)
                continue  # selectors never match hostNetwork pods
            for kv in pod.labels.items():
                got = label_pods.get(kv)
                if got is None:
                    label_pods[kv] = [i]
                else:
                    got.append(i)
                got = key_pods.get(kv[0])
                if got is None:
                    key_pods[kv[0]] = [i]
                else:
                    got.append(i)
        self._label_mask: dict[tuple[str, str], int] = {kv: _mask(ix, n) for kv, ix in label_pods.items()}
        self._key_mask: dict[str, int] = {k: _mask(ix, n) for k, ix in key_pods.items()}
        self._ns_mask: dict[str, int] = {ns: _mask(ix, n) for ns, ix in ns_pods.items()}
        self._hostnet_mask = _mask(hostnet, n)
        self._selectable = self.all_mask & ~self._hostnet_mask
        # pod addresses in order, for ipBlocks: a CIDR is a range of them
        ordered = sorted((int(p.ip), i) for i, p in enumerate(self.pods) if p.ip is not None and p.ip.version == 4)
        self._ip_values = [v for v, _ in ordered]
        self._ip_pods = [i for _, i in ordered]
        self._ip_other = [i for i, p in enumerate(self.pods) if p.ip is not None and p.ip.version != 4]
        self._selector_cache: dict[LabelSelector, int] = {}
        self._ns_selector_cache: dict[LabelSelector, int] = {}
        self._ipblock_cache: dict[IPBlock, int] = {}
        self._peer_cache: dict[tuple[str, NetworkPolicyPeer], int] = {}
        # the policies of each namespace, in order: what a single verdict looks through
        self._in_namespace: dict[str, list[NetworkPolicy]] = {}
        for pol in self.policies:
            self._in_namespace.setdefault(pol.namespace, []).append(pol)
        # which policies select each pod, per direction (indices into self.policies)
        self._selecting: dict[str, list[list[int]]] = {
            "Ingress": [[] for _ in range(n)],
            "Egress": [[] for _ in range(n)],
        }
        for pi, pol in enumerate(self.policies):
            selected = _bits(self._pod_selector_mask(pol.pod_selector) & self._ns_mask.get(pol.namespace, 0))
            for direction in pol.policy_types:
                lists = self._selecting[direction]
                for i in selected:
                    lists[i].append(pi)

    def _pod_selector_mask(self, sel: LabelSelector) -> int:
        cached = self._selector_cache.get(sel)
        if cached is not None:
            return cached
        mask = self._selectable
        for kv in sel.match_labels:
            mask &= self._label_mask.get(kv, 0)
        for req in sel.match_expressions:
            hits = 0
            for v in req.values:
                hits |= self._label_mask.get((req.key, v), 0)
            if req.operator == "In":
                mask &= hits
            elif req.operator == "NotIn":
                mask &= ~hits
            elif req.operator == "Exists":
                mask &= self._key_mask.get(req.key, 0)
            else:
                mask &= ~self._key_mask.get(req.key, 0)
        self._selector_cache[sel] = mask
        return mask

    def _namespace_selector_mask(self, sel: LabelSelector) -> int:
        cached = self._ns_selector_cache.get(sel)
        if cached is None:
            cached = 0
            for ns, labels in self.namespace_labels.items():
                if sel.matches(labels):
                    cached |= self._ns_mask.get(ns, 0)
            self._ns_selector_cache[sel] = cached
        return cached

    def _ip_block_mask(self, block: IPBlock) -> int:
        cached = self._ipblock_cache.get(block)
        if cached is None:
            if block.cidr.version != 4:
                hits = [i for i in self._ip_other if block.contains(self.pods[i].ip)]
            else:
                hits = self._ip_range(block.cidr)
                for e in block.except_:
                    if e.version == 4 and hits:
                        left_out = set(self._ip_range(e))
                        hits = [i for i in hits if i not in left_out]
            cached = self._ipblock_cache[block] = _mask(hits, len(self.pods))
        return cached

    def _ip_range(self, cidr: IPNetwork) -> list[int]:
        """The pods whose IPv4 address is in ``cidr``."""
        lo = bisect.bisect_left(self._ip_values, int(cidr.network_address))
        hi = bisect.bisect_right(self._ip_values, int(cidr.broadcast_address))
        return self._ip_pods[lo:hi]

    def _peer_mask(self, namespace: str, peer: NetworkPolicyPeer) -> int:
        """The pods a peer of a policy in ``namespace`` matches."""
        key = (namespace, peer)
        cached = self._peer_cache.get(key)
        if cached is not None:
            return cached
        if peer.ip_block is not None:
            mask = self._ip_block_mask(peer.ip_block)
        else:
            if peer.namespace_selector is not None:
                mask = self._namespace_selector_mask(peer.namespace_selector)
            else:
                mask = self._ns_mask.get(namespace, 0)
            if peer.pod_selector is not None:
                mask &= self._pod_selector_mask(peer.pod_selector)
            mask &= self._selectable
        self._peer_cache[key] = mask
        return mask

    def _rule_peers_mask(self, namespace: str, rule: NetworkPolicyRule) -> int:
        if not rule.peers:
            return self.all_mask
        mask = 0
        for peer in rule.peers:
            mask |= self._peer_mask(namespace, peer)
        return mask

    def _rule_port_mask(
        self, rule: NetworkPolicyRule, port: int, protocol: str, named: dict[str, int]
    ) -> int:
        """The destination pods on which the rule's ports match port/protocol."""
        if not rule.ports:
            return self.all_mask
        mask = 0
        for p in rule.ports:
            if isinstance(p.port, str):
                if p.protocol == protocol:
                    mask |= named.get(p.port, 0)
            elif p.matches(port, protocol, None):
                return self.all_mask
        return mask

    # ------------------------------------------------------------------ matrix
    def reachability(self, port: int, protocol: str = "TCP") -> Reachability:
        """``allowed[from][to]`` for every ordered pair of pods, for new connections to port/protocol."""
        port, protocol = _check_port(port), _check_protocol(protocol)
        n = len(self.pods)
        named: dict[str, int] = {}  # named port -> pods where it means this port/protocol
        for i, pod in enumerate(self.pods):
            for p in pod.ports:
                if p.name and p.port == port and p.protocol == protocol:
                    named[p.name] = named.get(p.name, 0) | (1 << i)
        rule_cache: dict[tuple[int, str, int], tuple[int, int]] = {}

        def rule_masks(pi: int, direction: str, ri: int) -> tuple[int, int]:
            key = (pi, direction, ri)
            got = rule_cache.get(key)
            if got is None:
                pol = self.policies[pi]
                rule = pol.rules(direction)[ri]
                got = (
                    self._rule_peers_mask(pol.namespace, rule),
                    self._rule_port_mask(rule, port, protocol, named),
                )
                rule_cache[key] = got
            return got

        # hostNetwork pods carry their node's IP: pods always talk to and from their own node
        hostnet_on: dict[IPAddress, int] = {}
        for i, pod in enumerate(self.pods):
            if pod.host_network and pod.ip is not None:
                hostnet_on[pod.ip] = hostnet_on.get(pod.ip, 0) | (1 << i)

        egress_ok: list[int] = []
        ingress_ok: list[int] = []
        for i, pod in enumerate(self.pods):
            own_node = hostnet_on.get(pod.node_ip, 0) if pod.node_ip is not None else 0
            # egress of pod i: the destinations it may open connections to
            selecting = self._selecting["Egress"][i]
            if pod.host_network or not selecting:
                egress_ok.append(self.all_mask)
            else:
                mask = own_node | (1 << i)
                for pi in selecting:
                    for ri in range(len(self.policies[pi].egress)):
                        peers, ports = rule_masks(pi, "Egress", ri)
                        mask |= peers & ports
                egress_ok.append(mask)
            # ingress of pod i: the sources it accepts connections from
            selecting = self._selecting["Ingress"][i]
            if pod.host_network or not selecting:
                ingress_ok.append(self.all_mask)
            else:
                mask = own_node | (1 << i)
                bit = 1 << i
                for pi in selecting:
                    for ri in range(len(self.policies[pi].ingress)):
                        peers, ports = rule_masks(pi, "Ingress", ri)
                        if ports & bit:
                            mask |= peers
                ingress_ok.append(mask)

        # accepts[i][j]: whether destination j's ingress accepts source i. The ingress masks, written out
        # as rows of bits, transposed in one zip: a 1,000-pod matrix is a million cells.
        keys = [p.key for p in self.pods]
        allowed: dict[str, dict[str, bool]] = {}
        if n:
            rows = [format(mask, f"0{n}b")[::-1] for mask in ingress_ok]  # rows[j][i]: j accepts from i
            for i, column in enumerate(zip(*rows, strict=True)):
                row = egress_ok[i] & int("".join(reversed(column)), 2)
                bits = format(row, f"0{n}b")[::-1]
                allowed[keys[i]] = dict(zip(keys, map(_BIT.__getitem__, bits), strict=True))
        return Reachability(port, protocol, keys, allowed)

    # ------------------------------------------------------------------ single verdict
    def _endpoint(self, ref: Any) -> tuple[_Pod | None, IPAddress | None, str]:
        """A pod (by key, object or pod IP) or a bare address; returns (pod, ip, label)."""
        if isinstance(ref, str) and "/" in ref and not _looks_like_cidr(ref):
            key = Ref.parse(ref).key
            pod = self.by_key.get(key)
            if pod is None:
                ns, _, name = key.partition("/")
                raise NotFound("pods", name, ns)
            return pod, pod.ip, pod.key
        if hasattr(ref, "namespace") and hasattr(ref, "name"):
            key = f"{ref.namespace}/{ref.name}"
            pod = self.by_key.get(key)
            if pod is None:
                raise NotFound("pods", ref.name, ref.namespace)
            return pod, pod.ip, pod.key
        try:
            ip = ipaddress.ip_address(str(ref))
        except ValueError:
            raise UsageError(f"not a pod (NS/NAME) or an IP address: {ref!r}") from None
        pod = self.by_ip.get(ip)
        if pod is not None:
            return pod, ip, pod.key
        return None, ip, str(ip)

    def check(self, src: Any, dst: Any, port: int, protocol: str = "TCP") -> Verdict:
        """The verdict for a new connection from ``src`` to ``dst`` on port/protocol.

        ``src``/``dst``: a pod key ``NS/NAME`` (or ``pod/NS/NAME``), a pod object, or an IP
        address (a pod's IP means that pod). ``dst`` is the pod after kube-proxy's DNAT.
        """
        port, protocol = _check_port(port), _check_protocol(protocol)
        src_pod, src_ip, src_label = self._endpoint(src)
        dst_pod, dst_ip, dst_label = self._endpoint(dst)
        egress = self._direction("Egress", src_pod, dst_pod, dst_ip, port, protocol)
        ingress = self._direction("Ingress", dst_pod, src_pod, src_ip, port, protocol)
        return Verdict(src_label, dst_label, port, protocol, egress, ingress)

    def _direction(
        self,
        direction: str,
        pod: _Pod | None,
        peer_pod: _Pod | None,
        peer_ip: IPAddress | None,
        port: int,
        protocol: str,
    ) -> DirectionVerdict:
        """``pod`` is the end whose policies decide; ``peer_*`` the other end."""
        word = direction.lower()
        # the named-port destination: the peer on egress, the pod itself on ingress
        dst = peer_pod if direction == "Egress" else pod
        if pod is None:
            return DirectionVerdict(
                direction,
                None,
                True,
                reason=f"{word}: the {'source' if direction == 'Egress' else 'destination'} "
                "is not a pod; NetworkPolicy does not apply to it",
            )
        if pod.host_network:
            return DirectionVerdict(
                direction,
                pod.key,
                True,
                reason=f"pod {pod.key} uses the host network; NetworkPolicy does not apply",
            )
        if peer_pod is not None and peer_pod.key == pod.key:
            return DirectionVerdict(
                direction, pod.key, True, reason=f"a pod cannot block access to itself ({pod.key})"
            )
        if peer_ip is not None and pod.node_ip is not None and peer_ip == pod.node_ip:
            return DirectionVerdict(
                direction,
                pod.key,
                True,
                reason=f"traffic between pod {pod.key} and its own node is always allowed",
            )
        # evaluated rule by rule here, not from the matrix's bitsets, so each checks the other
        selecting = [
            pol
            for pol in self._in_namespace.get(pod.namespace, ())
            if direction in pol.policy_types and pol.pod_selector.matches(pod.labels)
        ]
        names = tuple(p.key for p in selecting)
        if not selecting:
            return DirectionVerdict(
                direction,
                pod.key,
                True,
                False,
                (),
                reason=f"pod {pod.key} is not isolated for {word}: no NetworkPolicy "
                f"with {direction} in its policyTypes selects it",
            )
        for pol in selecting:
            for ri, rule in enumerate(pol.rules(direction)):
                peer_index = self._matching_peer(pol, rule, peer_pod, peer_ip)
                if peer_index is False:
                    continue
                port_index = _matching_port(rule, port, protocol, dst)
                if port_index is False:
                    continue
                ref = RuleRef(pol.key, direction, ri, peer_index, port_index)
                return DirectionVerdict(
                    direction,
                    pod.key,
                    True,
                    True,
                    names,
                    ref,
                    reason=f"{word} of pod {pod.key} allowed by {ref}",
                )
        label, whose = ("NetworkPolicy", "its") if len(names) == 1 else ("NetworkPolicies", "their")
        return DirectionVerdict(
            direction,
            pod.key,
            False,
            True,
            names,
            None,
            reason=f"pod {pod.key} is isolated for {word} by {label} {_and_list(names)}, "
            f"and none of {whose} rules matches",
        )

    def _matching_peer(
        self, pol: NetworkPolicy, rule: NetworkPolicyRule, peer_pod: _Pod | None, peer_ip: IPAddress | None
    ) -> int | None | bool:
        """Index of the first peer matching, None if the rule has no peers (all match), False if none."""
        if not rule.peers:
            return None
        for k, peer in enumerate(rule.peers):
            if peer.ip_block is not None:
                if peer.ip_block.contains(peer_ip):
                    return k
            elif peer_pod is not None and not peer_pod.host_network:
                ns_labels = self.namespace_labels.get(
                    peer_pod.namespace, {NAMESPACE_NAME_LABEL: peer_pod.namespace}
                )
                if peer.namespace_selector is not None:
                    ns_ok = peer.namespace_selector.matches(ns_labels)
                else:
                    ns_ok = peer_pod.namespace == pol.namespace
                if ns_ok and (peer.pod_selector is None or peer.pod_selector.matches(peer_pod.labels)):
                    return k
        return False


_BIT = {"0": False, "1": True}


def _bits(mask: int) -> list[int]:
    """The indexes of the set bits, lowest first (read off the binary text: no shifting of big integers)."""
    text = format(mask, "b")[::-1] if mask else ""
    out = []
    i = text.find("1")
    while i >= 0:
        out.append(i)
        i = text.find("1", i + 1)
    return out


def _mask(indexes: Iterable[int], n: int) -> int:
    """The bitset of ``indexes`` (each below ``n``), built in a byte array and converted once."""
    buf = bytearray((n + 7) // 8)
    for i in indexes:
        buf[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buf, "little")


def _looks_like_cidr(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F:.]+/\d+", text))


def _matching_port(rule: NetworkPolicyRule, port: int, protocol: str, dst: _Pod | None) -> int | None | bool:
    if not rule.ports:
        return None
    for k, p in enumerate(rule.ports):
        if p.matches(port, protocol, dst):
            return k
    return False


def check(
    pods: Iterable[Any],
    namespaces: Iterable[Any],
    policies: Iterable[Any],
    src: Any,
    dst: Any,
    port: int,
    protocol: str = "TCP",
) -> Verdict:
    """One verdict; see :meth:`PolicyEngine.check`."""
    return PolicyEngine(pods, namespaces, policies).check(src, dst, port, protocol)


def reachability(
    pods: Iterable[Any], namespaces: Iterable[Any], policies: Iterable[Any], port: int, protocol: str = "TCP"
) -> Reachability:
    """The truth table pods x pods for port/protocol; ``.to_dict()`` is ``policy --json``.

    >>> pods = [PolicyPod("x", n, {"pod": n}, f"10.244.1.{i}") for i, n in enumerate("ab", 2)]
    >>> deny = {"metadata": {"name": "deny", "namespace": "x"},
    ...         "spec": {"podSelector": {"matchLabels": {"pod": "b"}}}}
    >>> reachability(pods, [PolicyNamespace("x")], [deny], 80).to_dict()["allowed"]
    {'x/a': {'x/a': True, 'x/b': False}, 'x/b': {'x/a': True, 'x/b': True}}
    """
    return PolicyEngine(pods, namespaces, policies).reachability(port, protocol)
