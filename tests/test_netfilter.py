"""The iptables model: canonical iptables-save lines, save/parse, and the packet walk."""

from __future__ import annotations

import random
from fractions import Fraction
from ipaddress import IPv4Address

import pytest

from k8snetviz.kernel.netfilter import (
    HookContext,
    Packet,
    RecentUpdate,
    Ruleset,
    RulesetError,
    parse_rule,
    split_args,
    traverse_hook,
)

# Each pair: arguments as given to iptables-restore -> the line `iptables-save` prints back.
# Facts from iptables v1.8.9 (nft and legacy print the same), loaded into a scratch network
# namespace: header fields first (-s -d -i -o -p), matches in the order they were loaded, /32
# added, comments quoted unless [-_0-9A-Za-z] only, MARK shown as --set-xmark, the statistic
# probability as the kernel's 31-bit fixed point printed with %.11f, recent's options reordered.
CANONICAL = [
    ('-m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j ACCEPT',
     '-d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j ACCEPT'),
    ("-m comment --comment x -i eth0 -s 1.2.3.4 -p tcp --dport 80 ! -d 5.6.7.9/24 -o x+ -j ACCEPT",
     "-s 1.2.3.4/32 ! -d 5.6.7.0/24 -i eth0 -o x+ -p tcp -m comment --comment x -m tcp --dport 80 -j ACCEPT"),
    ("-p tcp --dport 80 -m comment --comment x -j ACCEPT",
     "-p tcp -m tcp --dport 80 -m comment --comment x -j ACCEPT"),
    ("! -i eth0 -p tcp -m tcp ! --dport 80 --sport 1000:2000 -j ACCEPT",
     "! -i eth0 -p tcp -m tcp --sport 1000:2000 ! --dport 80 -j ACCEPT"),
    ("-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -d 127.0.0.0/8 ! -s 127.0.0.0/8 -j DROP",
     "! -s 127.0.0.0/8 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP"),
    ("-p TCP -j REJECT --reject-with tcp-reset", "-p tcp -j REJECT --reject-with tcp-reset"),
    ("-p 6 -j REJECT", "-p tcp -j REJECT --reject-with icmp-port-unreachable"),
    ("-m mark --mark 0x1 -j ACCEPT", "-m mark --mark 0x1 -j ACCEPT"),
    ("-m mark ! --mark 0x4000/0x4000 -j RETURN", "-m mark ! --mark 0x4000/0x4000 -j RETURN"),
    ("-s 0.0.0.0/0 -p all -j ACCEPT", "-j ACCEPT"),
    ("-m addrtype --dst-type LOCAL --limit-iface-in -j ACCEPT",
     "-m addrtype --dst-type LOCAL --limit-iface-in -j ACCEPT"),
    ("-m multiport --dports 80,443 -p udp -j ACCEPT", None),  # refused: -p must come first
    ("-p tcp -m multiport --sports 80:90,443 -j ACCEPT", "-p tcp -m multiport --sports 80:90,443 -j ACCEPT"),
    ('-m comment --comment "a\\"b" -j ACCEPT', '-m comment --comment "a\\"b" -j ACCEPT'),
    ("-m statistic --mode random --probability 0.2000000000 -j ACCEPT",
     "-m statistic --mode random --probability 0.20000000019 -j ACCEPT"),
    ("-m statistic --mode random --probability 0.3333333333 -j ACCEPT",
     "-m statistic --mode random --probability 0.33333333349 -j ACCEPT"),
    ("-m recent --name X --rcheck --seconds 10800 --reap -j ACCEPT",
     "-m recent --rcheck --seconds 10800 --reap --name X --mask 255.255.255.255 --rsource -j ACCEPT"),
    ("-p udp --sport 53 -j ACCEPT", "-p udp -m udp --sport 53 -j ACCEPT"),
    ("-p sctp --dport 80 -j ACCEPT", "-p sctp -m sctp --dport 80 -j ACCEPT"),
    ("-m conntrack --ctstate ESTABLISHED,NEW -j ACCEPT", "-m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT"),
]

NAT_CANONICAL = [
    ("-j MARK --or-mark 0x4000", "-j MARK --set-xmark 0x4000/0x4000"),
    ("-j MARK --xor-mark 0x4000", "-j MARK --set-xmark 0x4000/0x0"),
    ("-j MARK --set-mark 0x10", "-j MARK --set-xmark 0x10/0xffffffff"),
    ("-j MARK --and-mark 0xff", "-j MARK --set-xmark 0x0/0xffffff00"),
    ("-m comment --comment ns1/svc1:p80 -m recent --name KUBE-SEP-X --set -m tcp -p tcp "
     "-j DNAT --to-destination 10.180.0.1:80",
     '-p tcp -m comment --comment "ns1/svc1:p80" -m recent --set --name KUBE-SEP-X --mask 255.255.255.255 '
     "--rsource -m tcp -j DNAT --to-destination 10.180.0.1:80"),
]


@pytest.mark.parametrize(("given", "saved"), CANONICAL)
def test_rules_are_stored_as_iptables_save_prints_them(given: str, saved: str | None) -> None:
    if saved is None:
        with pytest.raises(RulesetError, match="multiport needs"):
            parse_rule("filter", "FORWARD", given)
    else:
        assert parse_rule("filter", "FORWARD", given).line == "-A FORWARD " + saved


@pytest.mark.parametrize(("given", "saved"), NAT_CANONICAL)
def test_mark_and_nat_targets_are_stored_as_iptables_save_prints_them(given: str, saved: str) -> None:
    assert parse_rule("nat", "X", given).line == "-A X " + saved


def test_split_args_follows_iptables_restore_quoting() -> None:
    assert split_args('-m comment --comment "a b" -j X') == ["-m", "comment", "--comment", "a b", "-j", "X"]
    assert split_args('--comment "say \\"hi\\""') == ["--comment", 'say "hi"']
    with pytest.raises(RulesetError):
        split_args('--comment "open')


def _sample() -> Ruleset:
    rs = Ruleset(["filter", "nat"])
    rs.new_chain("nat", "SVC")
    rs.new_chain("nat", "SEP-A")
    rs.new_chain("nat", "SEP-B")
    rs.append("nat", "PREROUTING", '-m comment --comment "portals" -j SVC')
    rs.append("nat", "SVC", "-m statistic --mode random --probability 0.5000000000 -j SEP-A")
    rs.append("nat", "SVC", "-j SEP-B")
    rs.append("nat", "SEP-A", "-m tcp -p tcp -j DNAT --to-destination 10.244.1.5:8080")
    rs.append("nat", "SEP-B", "-m tcp -p tcp -j DNAT --to-destination 10.244.2.5:8080")
    rs.append("nat", "POSTROUTING", "-s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE --random-fully")
    rs.set_policy("filter", "FORWARD", "DROP")
    rs.append("filter", "FORWARD", "-i cni0 -o eth+ -j ACCEPT")
    return rs


def test_save_prints_tables_chains_and_rules_like_iptables_save() -> None:
    text = _sample().save(header=False)
    assert text.splitlines() == [
        "*filter",
        ":INPUT ACCEPT [0:0]",
        ":FORWARD DROP [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        "-A FORWARD -i cni0 -o eth+ -j ACCEPT",
        "COMMIT",
        "*nat",
        ":PREROUTING ACCEPT [0:0]",
        ":INPUT ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
        ":SEP-A - [0:0]",
        ":SEP-B - [0:0]",
        ":SVC - [0:0]",
        "-A PREROUTING -m comment --comment portals -j SVC",
        "-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE --random-fully",
        "-A SEP-A -p tcp -m tcp -j DNAT --to-destination 10.244.1.5:8080",
        "-A SEP-B -p tcp -m tcp -j DNAT --to-destination 10.244.2.5:8080",
        "-A SVC -m statistic --mode random --probability 0.50000000000 -j SEP-A",
        "-A SVC -j SEP-B",
        "COMMIT",
    ]


def test_save_then_parse_round_trips() -> None:
    text = _sample().save()
    again = Ruleset.parse(text)
    assert again.save() == text
    assert len(again) == len(_sample()) == 7


def test_a_repeated_table_block_replaces_the_earlier_one() -> None:
    # iptables-restore without --noflush replaces a table wholesale.
    rs = Ruleset.parse("*filter\n-A INPUT -j DROP\nCOMMIT\n*filter\n-A INPUT -j ACCEPT\nCOMMIT\n")
    assert [r.line for r in rs.rules("filter")] == ["-A INPUT -j ACCEPT"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("*filter\n-A INPUT -o eth0 -j ACCEPT\nCOMMIT\n", "iptables-restore:2: Can't use -o with INPUT"),
        ("*nat\n-A PREROUTING -j KUBE-NOPE\nCOMMIT\n", "iptables-restore:2: Couldn't load target `KUBE-NOPE'"),
        ("*filter\n-A FORWARD -j DNAT --to-destination 1.2.3.4\nCOMMIT\n", "only valid in nat table"),
        ("*nat\n-A POSTROUTING -j SNAT --to-source 1.2.3.4:80\nCOMMIT\n", "Need TCP, UDP, SCTP or DCCP"),
        ("*filter\n-A INPUT -m tcp --dport 80 -j ACCEPT\nCOMMIT\n", "tcp match needs `-p tcp'"),
        ("*filter\n-A INPUT --bogus 1 -j ACCEPT\nCOMMIT\n", 'unknown option "--bogus"'),
        ("*filter\n-A INPUT -j ACCEPT\n", "COMMIT expected"),
        ("*mystery\nCOMMIT\n", "Table does not exist"),
    ],
)
def test_parse_refuses_what_iptables_restore_refuses(text: str, message: str) -> None:
    with pytest.raises(RulesetError) as err:
        Ruleset.parse(text)
    assert message in str(err.value)


# ---------------------------------------------------------------------------------------------
# The walk

CLIENT = "10.244.3.7"


def test_statistic_rules_split_the_walk_into_outcomes_with_exact_probabilities() -> None:
    walk = _sample().traverse("nat", "PREROUTING", Packet(CLIENT, "10.96.0.20", "tcp", 40000, 80))
    assert [(o.packet.dst, o.packet.dport, o.probability) for o in walk] == [
        (IPv4Address("10.244.1.5"), 8080, Fraction(1, 2)),
        (IPv4Address("10.244.2.5"), 8080, Fraction(1, 2)),
    ]
    assert walk.total_probability == 1
    picked = walk.to("10.244.2.5", 8080)
    assert picked is not None
    assert [r.chain for r in picked.matched] == ["PREROUTING", "SVC", "SEP-B"]
    assert picked.verdict == "ACCEPT" and picked.deciding_rule is not None
    assert picked.deciding_rule.line == "-A SEP-B -p tcp -m tcp -j DNAT --to-destination 10.244.2.5:8080"


def test_three_way_split_gives_a_third_each() -> None:
    rs = Ruleset(["nat"])
    for name in ("A", "B", "C"):
        rs.new_chain("nat", name)
        rs.append("nat", name, f"-p tcp -j DNAT --to-destination 10.0.0.{ord(name)}:80")
    rs.append("nat", "PREROUTING", "-m statistic --mode random --probability 0.3333333333 -j A")
    rs.append("nat", "PREROUTING", "-m statistic --mode random --probability 0.5000000000 -j B")
    rs.append("nat", "PREROUTING", "-j C")
    walk = rs.traverse("nat", "PREROUTING", Packet(CLIENT, "10.96.0.1", "tcp", 1, 80))
    assert [o.probability for o in walk] == [Fraction(1, 3)] * 3
    assert walk.total_probability == 1
    # The kernel's own number is 715827883 / 2**31, within rounding of 1/3.
    assert rs.rules("nat", "PREROUTING")[0].probability == Fraction(1, 3)


def test_first_match_wins_and_jumps_return() -> None:
    rs = Ruleset(["filter"])
    rs.new_chain("filter", "CHECK")
    rs.append("filter", "CHECK", "-p udp -j RETURN")
    rs.append("filter", "CHECK", "-m mark --mark 0x1 -j ACCEPT")
    rs.append("filter", "INPUT", "-j CHECK")
    rs.append("filter", "INPUT", "-p udp --dport 53 -j ACCEPT")
    rs.append("filter", "INPUT", "-p udp -j DROP")
    rs.set_policy("filter", "INPUT", "DROP")
    dns = rs.traverse("filter", "INPUT", Packet(CLIENT, "10.244.1.1", "udp", 5000, 53)).only()
    assert dns.verdict == "ACCEPT"
    assert [r.line for r in dns.matched] == [
        "-A INPUT -j CHECK", "-A CHECK -p udp -j RETURN", "-A INPUT -p udp -m udp --dport 53 -j ACCEPT"]
    other = rs.traverse("filter", "INPUT", Packet(CLIENT, "10.244.1.1", "udp", 5000, 54)).only()
    assert other.verdict == "DROP" and other.deciding_rule.line == "-A INPUT -p udp -j DROP"
    tcp = rs.traverse("filter", "INPUT", Packet(CLIENT, "10.244.1.1", "tcp", 5000, 80)).only()
    assert (tcp.verdict, tcp.policy_chain, tcp.deciding_rule) == ("DROP", "INPUT", None)
    marked = rs.traverse("filter", "INPUT", Packet(CLIENT, "10.244.1.1", "tcp", 5000, 80, mark=0x1)).only()
    assert marked.verdict == "ACCEPT" and marked.deciding_rule.chain == "CHECK"


def test_mark_goes_on_and_masquerade_uses_the_out_address() -> None:
    rs = Ruleset(["nat"])
    rs.new_chain("nat", "KUBE-MARK-MASQ")
    rs.append("nat", "KUBE-MARK-MASQ", "-j MARK --or-mark 0x4000")
    rs.append("nat", "POSTROUTING", "-j KUBE-MARK-MASQ")
    rs.append("nat", "POSTROUTING", "-m mark ! --mark 0x4000/0x4000 -j RETURN")
    rs.append("nat", "POSTROUTING", "-j MARK --xor-mark 0x4000")
    rs.append("nat", "POSTROUTING", "-j MASQUERADE --random-fully")
    ctx = HookContext(out_iface="eth0", out_address="172.18.0.3")
    out = rs.traverse("nat", "POSTROUTING", Packet(CLIENT, "10.244.1.5", "tcp", 40000, 8080), ctx).only()
    assert out.packet.src == IPv4Address("172.18.0.3") and out.packet.sport == 40000
    assert out.packet.mark == 0  # set by the or-mark, cleared by the xor-mark
    assert out.nat_rules[0].line == "-A POSTROUTING -j MASQUERADE --random-fully"
    with pytest.raises(ValueError, match="out interface's address"):
        rs.traverse("nat", "POSTROUTING", Packet(CLIENT, "10.244.1.5", "tcp", 1, 2))


def test_reject_carries_its_icmp_type() -> None:
    rs = Ruleset(["filter"])
    rs.append("filter", "OUTPUT", "-d 10.96.0.9 -p tcp --dport 80 -j REJECT")
    out = rs.traverse("filter", "OUTPUT", Packet(CLIENT, "10.96.0.9", "tcp", 1, 80)).only()
    assert (out.verdict, out.reject_with) == ("REJECT", "icmp-port-unreachable")


def test_addrtype_conntrack_and_interface_wildcards() -> None:
    rs = Ruleset(["filter"])
    rs.append("filter", "FORWARD", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
    rs.append("filter", "FORWARD", "-i veth+ -m addrtype ! --dst-type LOCAL -j ACCEPT")
    rs.set_policy("filter", "FORWARD", "DROP")
    local = HookContext(in_iface="veth1", local_addresses={"172.18.0.3"})
    to_node = Packet(CLIENT, "172.18.0.3", "tcp", 1, 22)
    to_other = Packet(CLIENT, "172.18.0.4", "tcp", 1, 22)
    assert rs.traverse("filter", "FORWARD", to_node, local).only().verdict == "DROP"
    assert rs.traverse("filter", "FORWARD", to_other, local).only().verdict == "ACCEPT"
    eth = HookContext(in_iface="eth0", local_addresses={"172.18.0.3"})
    assert rs.traverse("filter", "FORWARD", to_other, eth).only().verdict == "DROP"
    est = HookContext(in_iface="eth0", ctstate="ESTABLISHED")
    assert rs.traverse("filter", "FORWARD", to_node, est).only().verdict == "ACCEPT"


def test_recent_lists_check_and_set() -> None:
    rs = Ruleset(["nat"])
    rs.new_chain("nat", "SEP")
    rs.append("nat", "SEP", "-m recent --name SEP --set -p tcp -j DNAT --to-destination 10.244.1.5:80")
    rs.append("nat", "PREROUTING", "-m recent --name SEP --rcheck --seconds 10800 --reap -j SEP")
    pkt = Packet(CLIENT, "10.96.0.1", "tcp", 1, 80)
    fresh = rs.traverse("nat", "PREROUTING", pkt).only()
    assert fresh.policy_chain == "PREROUTING" and fresh.recent == ()
    known = rs.traverse("nat", "PREROUTING", pkt, HookContext(recent={"SEP": {CLIENT}})).only()
    assert known.packet.dst == IPv4Address("10.244.1.5")
    assert known.recent == (RecentUpdate("set", "SEP", IPv4Address(CLIENT)),)


def test_traverse_hook_runs_tables_in_priority_order_and_skips_nat_after_the_first_packet() -> None:
    rs = Ruleset(["filter", "nat"])
    rs.append("nat", "OUTPUT", "-d 10.96.0.1 -p tcp --dport 80 -j DNAT --to-destination 10.244.1.5:8080")
    rs.append("filter", "OUTPUT", "-m conntrack --ctstate DNAT -j ACCEPT")
    rs.append("filter", "OUTPUT", "-d 10.96.0.1 -j DROP")
    rs.append("filter", "OUTPUT", "-d 10.244.1.5 -j REJECT")
    pkt = Packet("172.18.0.3", "10.96.0.1", "tcp", 1, 80)
    first = traverse_hook(rs, "OUTPUT", pkt).only()
    assert first.verdict == "ACCEPT" and first.packet.dst == IPv4Address("10.244.1.5")
    assert [r.table for r in first.matched] == ["nat", "filter"]
    # A later packet of the connection: conntrack rewrites it, the nat rules are not consulted.
    later = traverse_hook(rs, "OUTPUT", pkt, HookContext(ctstate="ESTABLISHED")).only()
    assert later.verdict == "DROP" and [r.table for r in later.matched] == ["filter"]


def test_the_index_finds_the_same_first_match_as_a_linear_scan() -> None:
    # The chain index (Chain docstring) must never change which rule matches first.
    rng = random.Random(7)
    rs = Ruleset(["filter"])
    rs.new_chain("filter", "BIG")
    dsts = ["10.96.0.1", "10.96.0.2", "10.96.0.3", "10.96.0.0/24", "10.0.0.0/8"]
    for n in range(400):
        parts = []
        if rng.random() < 0.8:
            parts += [rng.choice(["", "! "]) + "-d", rng.choice(dsts)]
        if rng.random() < 0.8:
            proto = rng.choice(["tcp", "udp"])
            parts += [rng.choice(["-p", "-p", "! -p"]), proto]
            if not parts[-2].startswith("!") and rng.random() < 0.8:
                parts += [rng.choice(["--dport", "--dport", "! --dport"]), str(rng.choice([53, 80, 443]))]
        if rng.random() < 0.2:
            parts += ["-s", "10.244.0.0/16"]
        parts += ["-j", rng.choice(["ACCEPT", "DROP", "REJECT"]), "-m", "comment", "--comment", f"r{n}"]
        # -m comment after -j would be a target option; put it first instead.
        parts = parts[-4:] + parts[:-4]
        rs.append("filter", "BIG", " ".join(parts).split())
    rs.append("filter", "INPUT", "-j BIG")
    chain = rs.chain("filter", "BIG")
    ctx = HookContext()
    checked = 0
    for _ in range(300):
        proto = rng.choice(["tcp", "udp", "icmp"])
        port = rng.choice([53, 80, 443, 8080]) if proto != "icmp" else None
        src = rng.choice(["10.244.1.1", "192.168.1.1"])
        pkt = Packet(src, rng.choice(["10.96.0.1", "10.96.0.2", "10.96.0.9", "10.1.2.3"]), proto,
                     1000 if port else None, port)
        linear = next((r for r in chain.rules if r.evaluate(pkt, ctx)[0]), None)
        walked = rs.traverse("filter", "INPUT", pkt, ctx).only()
        first = walked.matched[1] if len(walked.matched) > 1 else None
        assert first is linear, pkt
        checked += first is not None
    assert checked > 200  # most packets did hit a rule, so the comparison means something
    assert len(chain.candidates(Packet(CLIENT, "10.96.0.1", "tcp", 1, 80))) < len(chain.rules)
