"""Each node's iptables rules: kube-proxy's (when it runs in iptables mode) plus the CNI add-on's."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from k8snetviz.agents.cni.base import CNIModel
from k8snetviz.kernel.netfilter import Ruleset
from k8snetviz.api.objects import Node

__all__ = ["node_ruleset"]


def node_ruleset(node: Node, cni: CNIModel, kube_proxy: Ruleset | None = None) -> Ruleset:
    """kube-proxy writes its chains first (its jumps are prepended); the CNI's rules are appended after."""
    rs = kube_proxy if kube_proxy is not None else Ruleset(("filter", "nat"))
    _append(rs, cni.netfilter_rules(node))
    return rs


def _append(rs: Ruleset, rules: Iterable[tuple[str, str, Sequence[Any]]]) -> None:
    for table, chain, args in rules:
        if not rs.has_chain(table, chain):
            rs.new_chain(table, chain)
        if args:
            rs.append(table, chain, list(args))
