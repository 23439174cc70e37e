# ruff: noqa: E501 (the expected nft text is upstream's, and nft's, verbatim)
"""kube-proxy's nftables mode against kube-proxy's own expectations, and against nft itself.

The inputs are those of kubernetes/kubernetes ``pkg/proxy/nftables/proxier_test.go`` (the v1.33 line, with
``filter-prerouting-pre-dnat``): its ``NewFakeProxier`` is node ``test-node`` at 192.168.0.2, pod CIDR
10.0.0.0/8, ServiceCIDR 172.30.0.0/16, ``nodePortAddresses`` 192.168.0.2/32, mark "0x4000". The services
are TestOverallIPTablesRules' (tests/test_kubeproxy_upstream.py), which TestOverallNFTablesRules reuses.
"""

from __future__ import annotations

import pytest
from test_kubeproxy_upstream import (
    CLUSTER_CASES,
    ETP_BOTH,
    ETP_LOCAL,
    EXTERNAL,
    EXTERNAL_BLOCKED,
    LB_SOURCE_RANGES,
    LOCAL_CASES,
    NO_ENDPOINTS,
    NODE,
    NODE_IP,
    NODE_IPS,
    NODEPORT,
    OVERALL,
    POD,
    _etp,
    _itp,
    _terminating,
    ep,
    svc,
)

import k8snetviz
from k8snetviz.agents.kubeproxy.nftables import NFTablesProxier, hash_and_truncate
from k8snetviz.agents.writes import NftablesTransaction
from k8snetviz.errors import K8sNetVizError
from k8snetviz.kernel.netfilter import HookContext, Packet
from k8snetviz.kernel.nftables import NftRuleset, traverse_hook
from k8snetviz.views.nft import nft_list_ruleset, priority_text


def fake_proxier(**options: object) -> NFTablesProxier:
    """proxier_test.go NewFakeProxier(v1.IPv4Protocol)."""
    opts: dict[str, object] = dict(cluster_cidr="10.0.0.0/8", service_cidrs=("172.30.0.0/16",),
                                   nodeport_ips=("192.168.0.2",), mark="0x4000")
    opts.update(options)
    return NFTablesProxier(NODE, NODE_IP, **opts)  # type: ignore[arg-type]


def loaded(services: list, **options: object) -> NftRuleset:
    rs = NftRuleset()
    rs.apply(fake_proxier(**options).sync(services))
    return rs


def sort_transaction(lines: list[str]) -> list[str]:
    """helpers_test.go sortNFTablesTransaction: blank lines and comments dropped, then by object type (table,
    chain, rule, set, map, element) and name; rules keep their order within a chain, the rest by text."""
    rank = {"table": 0, "chain": 1, "rule": 2, "set": 3, "map": 4, "element": 5}
    kept = [line for line in lines if line.strip() and not line.startswith("#")]
    keyed = []
    for i, line in enumerate(kept):
        words = line.split()
        keyed.append((rank[words[1]], words[4] if len(words) > 4 else "", i if words[1] == "rule" else 0, line))
    return [k[3] for k in sorted(keyed)]


BASE_RULES = """\
add table ip kube-proxy { comment "rules for kube-proxy" ; }

add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }

add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }

add chain ip kube-proxy cluster-ips-check
add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }
add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }
add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }
add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }
add chain ip kube-proxy firewall-check
add chain ip kube-proxy mark-for-masquerade
add chain ip kube-proxy masquerading
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
add chain ip kube-proxy nodeport-endpoints-check
add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
add chain ip kube-proxy services
add chain ip kube-proxy service-endpoints-check

add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
add rule ip kube-proxy cluster-ips-check ip daddr { 172.30.0.0/16 } drop comment "Drop traffic to unallocated ClusterIPs"
add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check
add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check
add rule ip kube-proxy filter-input ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-output ct state new jump cluster-ips-check
add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
add rule ip kube-proxy masquerading mark and 0x4000 == 0 return
add rule ip kube-proxy masquerading mark set mark xor 0x4000
add rule ip kube-proxy masquerading masquerade fully-random
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-postrouting jump masquerading
add rule ip kube-proxy nat-prerouting jump services
add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports

add element ip kube-proxy nodeport-ips { 192.168.0.2 }
add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
"""

# TestOverallNFTablesRules: what it appends to baseRules for svc1 ... svc6.
OVERALL_SERVICES = """\
# svc1
add chain ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80
add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 }

add chain ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80
add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 ip saddr 10.180.0.1 jump mark-for-masquerade
add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 meta l4proto tcp dnat to 10.180.0.1:80

add element ip kube-proxy cluster-ips { 172.30.0.41 }
add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80 }

# svc2
add chain ip kube-proxy service-42NFTM6N-ns2/svc2/tcp/p80
add rule ip kube-proxy service-42NFTM6N-ns2/svc2/tcp/p80 ip daddr 172.30.0.42 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-42NFTM6N-ns2/svc2/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80 }
add chain ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80
add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 ip saddr 10.0.0.0/8 goto service-42NFTM6N-ns2/svc2/tcp/p80 comment "short-circuit pod traffic"
add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"
add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 fib saddr type local goto service-42NFTM6N-ns2/svc2/tcp/p80 comment "short-circuit local traffic"
add chain ip kube-proxy endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80
add rule ip kube-proxy endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80 ip saddr 10.180.0.2 jump mark-for-masquerade
add rule ip kube-proxy endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80 meta l4proto tcp dnat to 10.180.0.2:80

add element ip kube-proxy cluster-ips { 172.30.0.42 }
add element ip kube-proxy service-ips { 172.30.0.42 . tcp . 80 : goto service-42NFTM6N-ns2/svc2/tcp/p80 }
add element ip kube-proxy service-ips { 192.168.99.22 . tcp . 80 : goto external-42NFTM6N-ns2/svc2/tcp/p80 }
add element ip kube-proxy service-ips { 1.2.3.4 . tcp . 80 : goto external-42NFTM6N-ns2/svc2/tcp/p80 }
add element ip kube-proxy service-nodeports { tcp . 3001 : goto external-42NFTM6N-ns2/svc2/tcp/p80 }

add element ip kube-proxy no-endpoint-nodeports { tcp . 3001 comment "ns2/svc2:p80" : drop }
add element ip kube-proxy no-endpoint-services { 1.2.3.4 . tcp . 80 comment "ns2/svc2:p80" : drop }
add element ip kube-proxy no-endpoint-services { 192.168.99.22 . tcp . 80 comment "ns2/svc2:p80" : drop }

# svc3
add chain ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80
add rule ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80 ip daddr 172.30.0.43 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80 }
add chain ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80
add rule ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80 jump mark-for-masquerade
add rule ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80 goto service-4AT6LBPK-ns3/svc3/tcp/p80
add chain ip kube-proxy endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80
add rule ip kube-proxy endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80 ip saddr 10.180.0.3 jump mark-for-masquerade
add rule ip kube-proxy endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80 meta l4proto tcp dnat to 10.180.0.3:80

add element ip kube-proxy cluster-ips { 172.30.0.43 }
add element ip kube-proxy service-ips { 172.30.0.43 . tcp . 80 : goto service-4AT6LBPK-ns3/svc3/tcp/p80 }
add element ip kube-proxy service-nodeports { tcp . 3003 : goto external-4AT6LBPK-ns3/svc3/tcp/p80 }

# svc4
add chain ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80
add rule ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80 ip daddr 172.30.0.44 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80 numgen random mod 2 vmap { 0 : goto endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80 , 1 : goto endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 }
add chain ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80
add rule ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80 jump mark-for-masquerade
add rule ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80 goto service-LAUZTJTB-ns4/svc4/tcp/p80
add chain ip kube-proxy endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80
add rule ip kube-proxy endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 ip saddr 10.180.0.5 jump mark-for-masquerade
add rule ip kube-proxy endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 meta l4proto tcp dnat to 10.180.0.5:80
add chain ip kube-proxy endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80
add rule ip kube-proxy endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80 ip saddr 10.180.0.4 jump mark-for-masquerade
add rule ip kube-proxy endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80 meta l4proto tcp dnat to 10.180.0.4:80

add element ip kube-proxy cluster-ips { 172.30.0.44 }
add element ip kube-proxy service-ips { 172.30.0.44 . tcp . 80 : goto service-LAUZTJTB-ns4/svc4/tcp/p80 }
add element ip kube-proxy service-ips { 192.168.99.33 . tcp . 80 : goto external-LAUZTJTB-ns4/svc4/tcp/p80 }

# svc5
add set ip kube-proxy affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }
add chain ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80
add rule ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80 ip daddr 172.30.0.45 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80 ip saddr @affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 goto endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80
add rule ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 }
add chain ip kube-proxy external-HVFWP5L3-ns5/svc5/tcp/p80
add rule ip kube-proxy external-HVFWP5L3-ns5/svc5/tcp/p80 jump mark-for-masquerade
add rule ip kube-proxy external-HVFWP5L3-ns5/svc5/tcp/p80 goto service-HVFWP5L3-ns5/svc5/tcp/p80

add chain ip kube-proxy endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80
add rule ip kube-proxy endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 ip saddr 10.180.0.3 jump mark-for-masquerade
add rule ip kube-proxy endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 update @affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 { ip saddr }
add rule ip kube-proxy endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 meta l4proto tcp dnat to 10.180.0.3:80

add chain ip kube-proxy firewall-HVFWP5L3-ns5/svc5/tcp/p80
add rule ip kube-proxy firewall-HVFWP5L3-ns5/svc5/tcp/p80 ip saddr != { 203.0.113.0/25 } drop

add element ip kube-proxy cluster-ips { 172.30.0.45 }
add element ip kube-proxy service-ips { 172.30.0.45 . tcp . 80 : goto service-HVFWP5L3-ns5/svc5/tcp/p80 }
add element ip kube-proxy service-ips { 5.6.7.8 . tcp . 80 : goto external-HVFWP5L3-ns5/svc5/tcp/p80 }
add element ip kube-proxy service-nodeports { tcp . 3002 : goto external-HVFWP5L3-ns5/svc5/tcp/p80 }
add element ip kube-proxy firewall-ips { 5.6.7.8 . tcp . 80 : goto firewall-HVFWP5L3-ns5/svc5/tcp/p80 }

# svc6
add element ip kube-proxy cluster-ips { 172.30.0.46 }
add element ip kube-proxy no-endpoint-services { 172.30.0.46 . tcp . 80 comment "ns6/svc6:p80" : goto reject-chain }
"""

# What `nft list ruleset` (nftables 1.0.6, Debian 12, as on kind's nodes) printed after `nft -f` of the
# transaction above (tables, sets, maps and chains first): captured in this project's lab.
NFT_LIST_RULESET = """\
table ip kube-proxy {
\tcomment "rules for kube-proxy"
\tset cluster-ips {
\t\ttype ipv4_addr
\t\tcomment "Active ClusterIPs"
\t\telements = { 172.30.0.41, 172.30.0.42,
\t\t\t     172.30.0.43, 172.30.0.44,
\t\t\t     172.30.0.45, 172.30.0.46 }
\t}

\tset nodeport-ips {
\t\ttype ipv4_addr
\t\tcomment "IPs that accept NodePort traffic"
\t\telements = { 192.168.0.2 }
\t}

\tmap firewall-ips {
\t\ttype ipv4_addr . inet_proto . inet_service : verdict
\t\tcomment "destinations that are subject to LoadBalancerSourceRanges"
\t\telements = { 5.6.7.8 . tcp . 80 : goto firewall-HVFWP5L3-ns5/svc5/tcp/p80 }
\t}

\tmap no-endpoint-nodeports {
\t\ttype inet_proto . inet_service : verdict
\t\tcomment "vmap to drop or reject packets to service nodeports with no endpoints"
\t\telements = { tcp . 3001 comment "ns2/svc2:p80" : drop }
\t}

\tmap no-endpoint-services {
\t\ttype ipv4_addr . inet_proto . inet_service : verdict
\t\tcomment "vmap to drop or reject packets to services with no endpoints"
\t\telements = { 1.2.3.4 . tcp . 80 comment "ns2/svc2:p80" : drop,
\t\t\t     192.168.99.22 . tcp . 80 comment "ns2/svc2:p80" : drop,
\t\t\t     172.30.0.46 . tcp . 80 comment "ns6/svc6:p80" : goto reject-chain }
\t}

\tmap service-ips {
\t\ttype ipv4_addr . inet_proto . inet_service : verdict
\t\tcomment "ClusterIP, ExternalIP and LoadBalancer IP traffic"
\t\telements = { 1.2.3.4 . tcp . 80 : goto external-42NFTM6N-ns2/svc2/tcp/p80,
\t\t\t     5.6.7.8 . tcp . 80 : goto external-HVFWP5L3-ns5/svc5/tcp/p80,
\t\t\t     192.168.99.22 . tcp . 80 : goto external-42NFTM6N-ns2/svc2/tcp/p80,
\t\t\t     192.168.99.33 . tcp . 80 : goto external-LAUZTJTB-ns4/svc4/tcp/p80,
\t\t\t     172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80,
\t\t\t     172.30.0.42 . tcp . 80 : goto service-42NFTM6N-ns2/svc2/tcp/p80,
\t\t\t     172.30.0.43 . tcp . 80 : goto service-4AT6LBPK-ns3/svc3/tcp/p80,
\t\t\t     172.30.0.44 . tcp . 80 : goto service-LAUZTJTB-ns4/svc4/tcp/p80,
\t\t\t     172.30.0.45 . tcp . 80 : goto service-HVFWP5L3-ns5/svc5/tcp/p80 }
\t}

\tmap service-nodeports {
\t\ttype inet_proto . inet_service : verdict
\t\tcomment "NodePort traffic"
\t\telements = { tcp . 3001 : goto external-42NFTM6N-ns2/svc2/tcp/p80,
\t\t\t     tcp . 3002 : goto external-HVFWP5L3-ns5/svc5/tcp/p80,
\t\t\t     tcp . 3003 : goto external-4AT6LBPK-ns3/svc3/tcp/p80 }
\t}

\tset affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 {
\t\ttype ipv4_addr
\t\tsize 65535
\t\tflags dynamic,timeout
\t\ttimeout 3h
\t}

\tchain cluster-ips-check {
\t\tip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
\t\tip daddr 172.30.0.0/16 drop comment "Drop traffic to unallocated ClusterIPs"
\t}

\tchain filter-prerouting-pre-dnat {
\t\ttype filter hook prerouting priority dstnat - 10; policy accept;
\t\tct state new jump firewall-check
\t}

\tchain filter-output-pre-dnat {
\t\ttype filter hook output priority -110; policy accept;
\t\tct state new jump firewall-check
\t}

\tchain filter-forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tct state new jump service-endpoints-check
\t\tct state new jump cluster-ips-check
\t}

\tchain filter-input {
\t\ttype filter hook input priority filter; policy accept;
\t\tct state new jump nodeport-endpoints-check
\t\tct state new jump service-endpoints-check
\t}

\tchain filter-output {
\t\ttype filter hook output priority filter; policy accept;
\t\tct state new jump service-endpoints-check
\t\tct state new jump cluster-ips-check
\t}

\tchain firewall-check {
\t\tip daddr . meta l4proto . th dport vmap @firewall-ips
\t}

\tchain mark-for-masquerade {
\t\tmeta mark set meta mark | 0x00004000
\t}

\tchain masquerading {
\t\tmeta mark & 0x00004000 == 0x00000000 return
\t\tmeta mark set meta mark ^ 0x00004000
\t\tmasquerade fully-random
\t}

\tchain nat-output {
\t\ttype nat hook output priority -100; policy accept;
\t\tjump services
\t}

\tchain nat-postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tjump masquerading
\t}

\tchain nat-prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tjump services
\t}

\tchain nodeport-endpoints-check {
\t\tip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
\t}

\tchain reject-chain {
\t\tcomment "helper for @no-endpoint-services / @no-endpoint-nodeports"
\t\treject
\t}

\tchain services {
\t\tip daddr . meta l4proto . th dport vmap @service-ips
\t\tip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
\t}

\tchain service-endpoints-check {
\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services
\t}

\tchain service-ULMVA6XW-ns1/svc1/tcp/p80 {
\t\tip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
\t\tnumgen random mod 1 vmap { 0 : goto endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 }
\t}

\tchain endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 {
\t\tip saddr 10.180.0.1 jump mark-for-masquerade
\t\tmeta l4proto tcp dnat to 10.180.0.1:80
\t}

\tchain service-42NFTM6N-ns2/svc2/tcp/p80 {
\t\tip daddr 172.30.0.42 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
\t\tnumgen random mod 1 vmap { 0 : goto endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80 }
\t}

\tchain external-42NFTM6N-ns2/svc2/tcp/p80 {
\t\tip saddr 10.0.0.0/8 goto service-42NFTM6N-ns2/svc2/tcp/p80 comment "short-circuit pod traffic"
\t\tfib saddr type local jump mark-for-masquerade comment "masquerade local traffic"
\t\tfib saddr type local goto service-42NFTM6N-ns2/svc2/tcp/p80 comment "short-circuit local traffic"
\t}

\tchain endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80 {
\t\tip saddr 10.180.0.2 jump mark-for-masquerade
\t\tmeta l4proto tcp dnat to 10.180.0.2:80
\t}

\tchain service-4AT6LBPK-ns3/svc3/tcp/p80 {
\t\tip daddr 172.30.0.43 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
\t\tnumgen random mod 1 vmap { 0 : goto endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80 }
\t}

\tchain external-4AT6LBPK-ns3/svc3/tcp/p80 {
\t\tjump mark-for-masquerade
\t\tgoto service-4AT6LBPK-ns3/svc3/tcp/p80
\t}

\tchain endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80 {
\t\tip saddr 10.180.0.3 jump mark-for-masquerade
\t\tmeta l4proto tcp dnat to 10.180.0.3:80
\t}

\tchain service-LAUZTJTB-ns4/svc4/tcp/p80 {
\t\tip daddr 172.30.0.44 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
\t\tnumgen random mod 2 vmap { 0 : goto endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80, 1 : goto endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 }
\t}

\tchain external-LAUZTJTB-ns4/svc4/tcp/p80 {
\t\tjump mark-for-masquerade
\t\tgoto service-LAUZTJTB-ns4/svc4/tcp/p80
\t}

\tchain endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 {
\t\tip saddr 10.180.0.5 jump mark-for-masquerade
\t\tmeta l4proto tcp dnat to 10.180.0.5:80
\t}

\tchain endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80 {
\t\tip saddr 10.180.0.4 jump mark-for-masquerade
\t\tmeta l4proto tcp dnat to 10.180.0.4:80
\t}

\tchain service-HVFWP5L3-ns5/svc5/tcp/p80 {
\t\tip daddr 172.30.0.45 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
\t\tip saddr @affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 goto endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80
\t\tnumgen random mod 1 vmap { 0 : goto endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 }
\t}

\tchain external-HVFWP5L3-ns5/svc5/tcp/p80 {
\t\tjump mark-for-masquerade
\t\tgoto service-HVFWP5L3-ns5/svc5/tcp/p80
\t}

\tchain endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 {
\t\tip saddr 10.180.0.3 jump mark-for-masquerade
\t\tupdate @affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 { ip saddr }
\t\tmeta l4proto tcp dnat to 10.180.0.3:80
\t}

\tchain firewall-HVFWP5L3-ns5/svc5/tcp/p80 {
\t\tip saddr != 203.0.113.0/25 drop
\t}
}
"""


def test_overall_nftables_rules_match_kube_proxy() -> None:
    # proxier_test.go TestOverallNFTablesRules, compared as assertNFTablesTransactionEqual compares.
    tx = fake_proxier().sync(OVERALL)
    got = [c for c, _ in tx.commands]
    assert sort_transaction(got) == sort_transaction((BASE_RULES + OVERALL_SERVICES).splitlines())


def test_chain_names_are_hashed_as_kube_proxy_hashes_them() -> None:
    # proxier.go hashAndTruncate; the values are TestOverallNFTablesRules' chain names and, for the services
    # every cluster has, those a real cluster's `nft list table ip kube-proxy` shows.
    assert hash_and_truncate("ns1/svc1/tcp/p80") == "ULMVA6XW-ns1/svc1/tcp/p80"
    assert hash_and_truncate("ns4/svc4/tcp/p80__10.180.0.4/80") == "UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80"
    assert hash_and_truncate("default/kubernetes/tcp/https") == "2QRHZV4L-default/kubernetes/tcp/https"
    assert hash_and_truncate("kube-system/kube-dns/udp/dns") == "FY5PMXPG-kube-system/kube-dns/udp/dns"


def test_the_table_prints_as_nft_list_ruleset_prints_it() -> None:
    # The same objects, in the order kube-proxy's transaction creates them when tables, sets, maps and chains
    # go first (the order nft lists them in), printed as nft 1.0.6 printed them.
    tx = fake_proxier().sync(OVERALL)
    rs = NftRuleset()
    for order in ("table", ("set", "map", "chain"), ("rule", "element")):
        for command, owner in tx.commands:
            if command.split()[1] in order:
                rs.apply_line(command, owner)
    assert sorted(nft_list_ruleset(rs).splitlines()) == sorted(NFT_LIST_RULESET.splitlines())
    again = NftRuleset()
    for line in (BASE_RULES + OVERALL_SERVICES).splitlines():
        if line.startswith("add ") and line.split()[1] in ("table", "set", "map", "chain"):
            again.apply_line(line)
    for line in (BASE_RULES + OVERALL_SERVICES).splitlines():
        if line.startswith("add ") and line.split()[1] in ("rule", "element"):
            again.apply_line(line)
    assert nft_list_ruleset(again) == NFT_LIST_RULESET


@pytest.mark.parametrize(("priority", "hook", "text"), [
    (-110, "prerouting", "dstnat - 10"), (-110, "output", "-110"), (-100, "prerouting", "dstnat"),
    (-100, "output", "-100"), (0, "input", "filter"), (100, "postrouting", "srcnat"), (-300, "prerouting", "raw"),
])
def test_priorities_print_with_nfts_standard_names(priority: int, hook: str, text: str) -> None:
    # nft's std_prios: dstnat only at prerouting, srcnat only at postrouting (what nft printed above)
    assert priority_text(priority, hook) == text


def flow(rs: NftRuleset, src: str, dst: str, dport: int, proto: str = "tcp") -> tuple[str, bool]:
    """helpers_test.go tracePacket: filter-prerouting-pre-dnat and nat-prerouting (every numgen branch), then
    filter-forward or filter-input on the DNATed packet; a drop or reject is the output."""
    ctx = HookContext(in_iface="eth0", local_addresses=frozenset(NODE_IPS))
    pkt = Packet(src, dst, proto, 40000, dport)
    pre = traverse_hook(None, rs, "PREROUTING", pkt, ctx)
    stopped = [o for o in pre if o.verdict in ("DROP", "REJECT")]
    if stopped:
        return stopped[0].verdict, False
    reached = sorted({f"{o.packet.dst}:{o.packet.dport}" for o in pre
                      if (o.packet.dst, o.packet.dport) != (pkt.dst, pkt.dport)})
    masq = any(o.packet.mark & 0x4000 for o in pre)
    after = pre.outcomes[0].packet
    hook = "INPUT" if ctx.is_local(after.dst) else "FORWARD"
    states = frozenset({"NEW", "DNAT"} if reached else {"NEW"})
    filt = traverse_hook(None, rs, hook, after, HookContext(in_iface="eth0", local_addresses=frozenset(NODE_IPS),
                                                            ctstate=states))
    stopped = [o for o in filt if o.verdict in ("DROP", "REJECT")]
    if stopped:
        return stopped[0].verdict, masq
    return ", ".join(reached), masq


@pytest.mark.parametrize(("src", "dst", "port", "output", "masq"), [
    # the flows of TestTracePacket, with nftables mode's answers
    (POD, "172.30.0.41", 80, "10.180.0.1:80", False),
    (POD, "172.30.0.44", 80, "10.180.0.4:80, 10.180.0.5:80", False),
    (NODE_IP, "192.168.99.22", 80, "10.180.0.2:80", True),
    (EXTERNAL, "192.168.99.22", 80, "DROP", False),
    (NODE_IP, NODE_IP, 30000, "", False),  # no health-check-port rule in nftables mode
    (POD, "172.30.0.46", 80, "REJECT", False),
])
def test_overall_flows(src: str, dst: str, port: int, output: str, masq: bool) -> None:
    assert flow(loaded(OVERALL), src, dst, port) == (output, masq)


@pytest.mark.parametrize(("dst", "port", "proto", "output"), [
    # proxier_test.go (nftables) TestClusterIPGeneral: invalid ports of a cluster IP are rejected, addresses of
    # the service CIDR that are no cluster IP are dropped (cluster-ips-check)
    ("172.30.0.41", 80, "tcp", "10.180.0.1:80"),
    ("172.30.0.41", 80, "udp", "REJECT"),  # TCP-only port does not match UDP traffic
    ("172.30.0.41", 443, "tcp", "REJECT"),  # svc1 does not accept svc2's ports
    ("172.30.0.50", 80, "tcp", "DROP"),  # packet to unallocated cluster ip
])
def test_cluster_ip_checks(dst: str, port: int, proto: str, output: str) -> None:
    assert flow(loaded(OVERALL), POD, dst, port, proto)[0] == output


@pytest.mark.parametrize(("src", "dst", "port"), [
    (POD, "172.30.0.41", 80), (EXTERNAL, "192.168.99.11", 80), (POD, NODE_IP, 3001), (EXTERNAL, NODE_IP, 3001),
    (POD, "1.2.3.4", 80), (EXTERNAL, "1.2.3.4", 80),
])
def test_no_endpoints_reject(src: str, dst: str, port: int) -> None:
    # proxier_test.go (nftables) TestNoEndpointsReject
    assert flow(loaded(NO_ENDPOINTS), src, dst, port) == ("REJECT", False)


@pytest.mark.parametrize(("src", "dst", "port", "output", "masq"), [
    # proxier_test.go (nftables) TestLoadBalancer: the firewall chain at priority -110, before DNAT
    (POD, "172.30.0.41", 80, "10.180.0.1:80", False),
    (EXTERNAL, NODE_IP, 3001, "10.180.0.1:80", True),
    (EXTERNAL_BLOCKED, NODE_IP, 3001, "10.180.0.1:80", True),  # nodePort bypasses LoadBalancerSourceRanges
    (EXTERNAL, "1.2.3.4", 80, "10.180.0.1:80", True),
    (EXTERNAL_BLOCKED, "5.6.7.8", 80, "DROP", False),
    (POD, "1.2.3.4", 80, "DROP", False),
    (NODE_IP, "5.6.7.8", 80, "10.180.0.1:80", True),
    ("1.2.3.4", "1.2.3.4", 80, "10.180.0.1:80", True),  # same node to LB1, SNATted to LB1 (implicitly allowed)
])
def test_load_balancer_source_ranges(src: str, dst: str, port: int, output: str, masq: bool) -> None:
    assert flow(loaded(LB_SOURCE_RANGES), src, dst, port) == (output, masq)


@pytest.mark.parametrize(("src", "dst", "port", "local", "cluster"), [
    # proxier_test.go (nftables) TestExternalTrafficPolicyLocal / TestExternalTrafficPolicyCluster
    (POD, "172.30.0.41", 80, (ETP_BOTH, False), (ETP_BOTH, False)),
    (POD, "192.168.99.11", 80, (ETP_BOTH, False), (ETP_BOTH, True)),
    (EXTERNAL, "192.168.99.11", 80, (ETP_LOCAL, False), (ETP_BOTH, True)),
    (EXTERNAL, "1.2.3.4", 80, (ETP_LOCAL, False), (ETP_BOTH, True)),
    (POD, NODE_IP, 3001, (ETP_BOTH, False), (ETP_BOTH, True)),
    (EXTERNAL, NODE_IP, 3001, (ETP_LOCAL, False), (ETP_BOTH, True)),
])
def test_external_traffic_policy(src: str, dst: str, port: int, local: tuple, cluster: tuple) -> None:
    assert flow(loaded(_etp("Local")), src, dst, port) == local
    assert flow(loaded(_etp("Cluster")), src, dst, port) == cluster


@pytest.mark.parametrize(("policy", "nodes", "output"), [
    # proxier_test.go (nftables) TestInternalTrafficPolicy
    ("Cluster", (NODE, "node1", "node2"), "10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80"),
    ("Local", (NODE, "node1", "node2"), "10.0.1.1:80"),
    ("Local", (NODE, NODE, "node2"), "10.0.1.1:80, 10.0.1.2:80"),
    ("Local", ("node0", "node1", "node2"), "DROP"),
])
def test_internal_traffic_policy(policy: str, nodes: tuple[str, ...], output: str) -> None:
    eps = [ep(f"10.0.1.{i + 1}", node) for i, node in enumerate(nodes)]
    assert flow(loaded(_itp(policy, eps)), POD, "172.30.1.1", 80) == (output, False)
    assert flow(loaded(_itp(policy, [])), POD, "172.30.1.1", 80) == ("REJECT", False)


@pytest.mark.parametrize(("case", "policy", "to_cluster_ip", "to_lb"), [
    # proxier_test.go (nftables) TestTerminatingEndpointsTrafficPolicyLocal / ...Cluster
    ("ready endpoints exist", "Local", "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80", ("10.0.1.1:80, 10.0.1.2:80", False)),
    ("only terminating endpoints exist", "Local", "10.0.1.5:80", ("10.0.1.2:80, 10.0.1.3:80", False)),
    ("terminating endpoints on remote node", "Local", "10.0.1.5:80", ("DROP", False)),
    ("no usable endpoints on any node", "Local", "REJECT", ("REJECT", False)),
    ("ready endpoints exist", "Cluster", "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80",
     ("10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80", True)),
    ("only terminating endpoints exist", "Cluster", "10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80",
     ("10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80", True)),
    ("terminating endpoints on remote node", "Cluster", "10.0.1.5:80", ("10.0.1.5:80", True)),
    ("no usable endpoints on any node", "Cluster", "REJECT", ("REJECT", False)),
])
def test_terminating_endpoints(case: str, policy: str, to_cluster_ip: str, to_lb: tuple) -> None:
    eps = (LOCAL_CASES if policy == "Local" else CLUSTER_CASES)[case]
    rs = loaded(_terminating(policy, eps))
    assert flow(rs, POD, "172.30.1.1", 80) == (to_cluster_ip, False)
    assert flow(rs, EXTERNAL, "1.2.3.4", 80) == to_lb


def test_node_ports_only_on_the_primary_address_never_localhost() -> None:
    # proxier_test.go (nftables) TestNodePorts and the kube-proxy docs ("Migrating from iptables mode to
    # nftables"): NodePorts answer on --nodeport-addresses (default "primary"); 127.0.0.1 never works.
    rs = loaded(NODEPORT)
    both = "10.180.0.1:80, 10.180.2.1:80"
    assert flow(rs, EXTERNAL, NODE_IP, 3001) == (both, True)
    assert flow(rs, EXTERNAL, "192.168.1.2", 3001) == ("", False)  # the other address of the node
    assert flow(rs, "127.0.0.1", "127.0.0.1", 3001) == ("", False)
    assert "127.0.0.1" not in [c for c, _ in fake_proxier(nodeport_ips=("127.0.0.1", NODE_IP)).sync([]).commands
                               if "nodeport-ips {" in c and "add element" in c][0]


def test_session_affinity() -> None:
    # TestOverallNFTablesRules svc5: an affinity set per endpoint, checked before numgen, updated by the endpoint
    rs = loaded(OVERALL)
    table = rs.table("ip", "kube-proxy")
    name = "affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"
    assert (table.sets[name].flags, table.sets[name].timeout) == (("dynamic", "timeout"), 10800)
    assert [r.text for r in table.chains["service-HVFWP5L3-ns5/svc5/tcp/p80"].rules][1] == \
        f"ip saddr @{name} goto endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"


def test_rows_carry_their_owner() -> None:
    tx = fake_proxier().sync([(svc("ns1", "svc1", "172.30.0.41"), [ep("10.180.0.1", slice="svc1-abc")])])
    rs = NftRuleset()
    rs.apply(tx)
    table = rs.table("ip", "kube-proxy")
    dnat = table.chains["endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"].rules[-1]
    assert (dnat.owner.component, dnat.owner.object, dnat.owner.chain) == (
        "kube-proxy", "EndpointSlice ns1/svc1-abc", ("Service ns1/svc1",))
    element = table.sets["service-ips"].elements[("172.30.0.41", "tcp", "80")]
    assert element.owner.object == "Service ns1/svc1"
    assert table.chains["services"].rules[0].owner is None or table.chains["services"].rules[0].owner.object is None
    assert isinstance(tx, NftablesTransaction)


@pytest.fixture(scope="module")
def nft_cluster() -> k8snetviz.Cluster:
    return k8snetviz.load("kube-proxy-nftables")


def test_the_scenario_runs_kube_proxy_in_nftables_mode(nft_cluster: k8snetviz.Cluster) -> None:
    text = nft_cluster.nft("kind-worker")
    assert text.startswith('table ip kube-proxy {\n\tcomment "rules for kube-proxy"\n')
    assert "KUBE-SERVICES" not in nft_cluster.iptables("kind-worker")  # no iptables-mode rules
    t = nft_cluster.trace("default/client", "svc/default/web:80")
    assert t.verdict == "delivered"
    dnat = next(h for h in t.hops if h.action == "dnat")
    assert dnat.decided_by.text.startswith("add rule ip kube-proxy endpoint-")
    assert dnat.decided_by.owner.component == "kube-proxy"
    assert "numgen" in " ".join(dnat.rules)
    assert len(t.candidates) == 2


def _kind(mode: str) -> str:
    return f"kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking:\n  kubeProxyMode: {mode}\n"


def test_an_unknown_kube_proxy_mode_is_one_line_naming_the_field_and_the_modes(tmp_path, capsys) -> None:
    # kind accepts ipvs too, but the model does not know it: bad input, in the API server's words, exit 2
    from k8snetviz.cli import main

    path = tmp_path / "ipvs.yaml"
    path.write_text(_kind("ipvs"))
    assert main(["get", str(path), "pods"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['The Cluster "kind" is invalid: networking.kubeProxyMode: Unsupported value: "ipvs": '
                   'supported values: "iptables", "nftables", "none"']


def test_no_kube_proxy_writes_no_service_rules_and_says_why() -> None:
    c = k8snetviz.loads(_kind("none"))
    assert c.nft("kind-control-plane") == ""
    assert "KUBE-SERVICES" not in c.iptables("kind-control-plane")
    t = c.trace("node/kind-control-plane", "10.96.0.1:443")
    assert t.verdict == "no-route" and "kubeProxyMode: none" in t.hops[-1].detail


def test_the_cli_prints_the_table(capsys) -> None:
    from k8snetviz.cli import main

    assert main(["nft", "kube-proxy-nftables", "kind-worker"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("table ip kube-proxy {") and "\tchain nat-prerouting {\n\t\ttype nat hook prerouting " \
        "priority dstnat; policy accept;\n\t\tjump services\n\t}" in out


def test_telling_which_mode_a_node_runs_from_its_terminal() -> None:
    # On a node, `nft list table ip kube-proxy` exists only in nftables mode; `iptables-save -t nat` shows KUBE-SVC
    # chains only in iptables mode (each mode removes the other's rules at start); localhost NodePorts, and so
    # route_localnet=1, are iptables mode's alone (kube-proxy's "Migrating from iptables mode to nftables").
    from k8snetviz.course import run

    ipt, nftc = k8snetviz.load("services"), k8snetviz.load("kube-proxy-nftables")
    with pytest.raises(K8sNetVizError) as missing:  # nft's own error, exit status 1
        run(ipt, "nft list table ip kube-proxy", on="kind-worker")
    assert str(missing.value) == "Error: No such file or directory\nlist table ip kube-proxy\n              ^^^^^^^^^^"
    assert "-j KUBE-SVC-" in run(ipt, "iptables-save -t nat", on="kind-worker").output
    assert run(nftc, "nft list table ip kube-proxy", on="kind-worker").output == nftc.nft("kind-worker").rstrip("\n")
    assert run(nftc, "nft list tables", on="kind-worker").output.endswith("table ip kube-proxy")
    assert "KUBE-SVC-" not in run(nftc, "iptables-save -t nat", on="kind-worker").output
    assert run(ipt, "sysctl net.ipv4.conf.all.route_localnet", on="kind-worker").output.endswith("= 1")
    assert run(nftc, "sysctl net.ipv4.conf.all.route_localnet", on="kind-worker").output.endswith("= 0")
