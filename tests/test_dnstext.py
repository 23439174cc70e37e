"""nslookup and dig output formats (BIND 9.18 as in the dnsutils debug pod).

Facts: BIND dig.c (columns 24/32/40/48, tab width 8), lib/dns/masterdump.c indent(), nslookup.c
printmessage() ("Non-authoritative answer:", "** server can't find", "*** Can't find ...: No answer").
"""

from __future__ import annotations

import pytest

from k8snetviz.agents.coredns.corefile import CoreDNS
from k8snetviz.agents.coredns.zone import (
    DNSEndpoint,
    DNSEndpointPort,
    DNSEndpointSlice,
    DNSService,
    DNSServicePort,
    Record,
    Upstream,
)
from k8snetviz.agents.kubelet.resolvconf import nslookup_lookups, pod_resolv_conf
from k8snetviz.views.dnstext import (
    dig_question_line,
    dig_record_line,
    dig_text,
    message_size,
    nslookup_text,
)

WEB = DNSService("default", "web", cluster_ips=("10.96.0.20",), ports=(DNSServicePort("http", 80),))
EXT = DNSService("default", "ext", type="ExternalName", external_name="example.com")
DB = DNSService("default", "db", cluster_ips=None, ports=(DNSServicePort("pg", 5432),))
DB_SLICE = DNSEndpointSlice(
    "default", "db", (DNSEndpoint("10.244.1.5"), DNSEndpoint("10.244.2.6")), (DNSEndpointPort("pg", 5432),)
)
CORE = CoreDNS(
    services=[WEB, EXT, DB],
    endpoint_slices=[DB_SLICE],
    upstreams=Upstream({"example.com": [("A", "93.184.216.34"), ("AAAA", "2606:2800:220:1::1")]}),
)
RC = pod_resolv_conf("default").resolv_conf


def nslookup(name, qtype=None):
    return nslookup_text(nslookup_lookups(name, RC, CORE.query, qtype))


def test_dig_columns_tabs_then_single_spaces_when_a_field_overruns():
    assert (
        dig_record_line(Record("example.com.", "A", 300, "93.184.216.34"))
        == "example.com.\t\t300\tIN\tA\t93.184.216.34"
    )
    # 30 chars of owner: past column 24, so one space each until the rdata column's tab stop.
    assert dig_record_line(Record("web.default.svc.cluster.local.", "A", 30, "10.96.0.20")) == (
        "web.default.svc.cluster.local. 30 IN\tA\t10.96.0.20"
    )
    assert dig_record_line(Record("cluster.local.", "SOA", 30, "x")) == "cluster.local.\t\t30\tIN\tSOA\tx"


def test_dig_question_line_has_no_ttl_column():
    assert dig_question_line("example.com.", "A") == ";example.com.\t\t\tIN\tA"
    assert dig_question_line("web.default.svc.cluster.local.", "A") == ";web.default.svc.cluster.local.\tIN\tA"


def test_dig_full_output_for_a_service():
    text = dig_text(CORE.query("web.default.svc.cluster.local", "A"))
    lines = text.split("\n")
    assert lines[0] == "" and lines[1] == "; <<>> DiG 9.18.33-1~deb12u2-Debian <<>> web.default.svc.cluster.local"
    # CoreDNS answers authoritatively and does not set RA, so dig warns.
    assert ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242" in lines
    assert ";; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1" in lines
    assert ";; WARNING: recursion requested but not available" in lines
    i = lines.index(";; ANSWER SECTION:")
    assert lines[i + 1] == "web.default.svc.cluster.local. 30 IN\tA\t10.96.0.20"
    assert ";; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)" in lines
    assert ";; Query time: 0 msec" in lines
    assert text == dig_text(CORE.query("web.default.svc.cluster.local", "A"))  # deterministic


def test_dig_nxdomain_shows_the_soa_in_authority():
    text = dig_text(CORE.query("nosuch.default.svc.cluster.local", "A"))
    assert "status: NXDOMAIN" in text and "ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1" in text
    assert (
        ";; AUTHORITY SECTION:\ncluster.local.\t\t30\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. "
        "1700000000 7200 1800 86400 30\n"
    ) in text
    assert ";; ANSWER SECTION:" not in text


def test_dig_srv_with_additional_and_forwarded_flags():
    srv = dig_text(CORE.query("_pg._tcp.db.default.svc.cluster.local", "SRV"))
    assert "ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 3" in srv
    # A 38-character owner pushes every later field past its column: single spaces.
    assert "_pg._tcp.db.default.svc.cluster.local. 30 IN SRV 0 50 5432 10-244-1-5.db.default.svc.cluster.local." in srv
    assert "<<>> _pg._tcp.db.default.svc.cluster.local SRV\n" in srv
    outside = dig_text(CORE.query("example.com", "A"))
    assert ";; flags: qr rd ra;" in outside and "WARNING" not in outside


CASES = [
    ("web.default.svc.cluster.local", "A"),
    ("nosuch.default.svc.cluster.local", "A"),
    ("_pg._tcp.db.default.svc.cluster.local", "SRV"),
    ("20.0.96.10.in-addr.arpa", "PTR"),
    ("ext.default.svc.cluster.local", "A"),
]


def _packed(dnslib, ans):
    query = dnslib.DNSQuestion(ans.name, getattr(dnslib.QTYPE, ans.type))
    msg = dnslib.DNSRecord(dnslib.DNSHeader(id=1, qr=1, aa=1, rd=1), q=query)
    for section, add in ((ans.records, msg.add_answer), (ans.authority, msg.add_auth), (ans.additional, msg.add_ar)):
        for r in section:
            add(*dnslib.RR.fromZone(f"{r.name} {r.ttl} IN {r.type} {r.data}"))
    msg.add_ar(dnslib.EDNS0(udp_len=1232, opts=[dnslib.EDNSOption(10, b"\x01" * 8)]))
    return len(msg.pack())


@pytest.mark.parametrize(("name", "qtype"), CASES)
def test_message_size_uncompressed_as_coredns_sends(name, qtype, monkeypatch):
    # CoreDNS request.Scrub compresses only answers past 1480 bytes (IPv4).
    dnslib = pytest.importorskip("dnslib")
    monkeypatch.setattr(dnslib.DNSBuffer, "encode_name", dnslib.DNSBuffer.encode_name_nocompress)
    ans = CORE.query(name, qtype)
    assert message_size(ans) == _packed(dnslib, ans)
    assert f";; MSG SIZE  rcvd: {message_size(ans)}\n" in dig_text(ans)


@pytest.mark.parametrize(("name", "qtype"), [c for c in CASES if c[1] != "SRV"])
def test_message_size_compressed(name, qtype):
    dnslib = pytest.importorskip("dnslib")
    ans = CORE.query(name, qtype)
    assert message_size(ans, compress=True) == _packed(dnslib, ans)


def test_nslookup_service():
    assert nslookup("web") == (
        "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\n"
        "Name:\tweb.default.svc.cluster.local\nAddress: 10.96.0.20\n\n"
    )


def test_nslookup_headless_lists_every_pod():
    out = nslookup("db")
    assert out.count("Name:\tdb.default.svc.cluster.local\n") == 2
    assert "Address: 10.244.1.5\n" in out and "Address: 10.244.2.6\n" in out


def test_nslookup_nxdomain_names_the_last_name_tried():
    assert nslookup("nosuch").endswith("** server can't find nosuch: NXDOMAIN\n\n")


def test_nslookup_no_answer_for_a_name_without_records():
    assert "*** Can't find default.svc.cluster.local: No answer\n" in nslookup("default")


def test_nslookup_externalname_shows_the_cname_then_addresses():
    out = nslookup("ext")
    assert "ext.default.svc.cluster.local\tcanonical name = example.com.\n" in out
    assert "Name:\texample.com\nAddress: 93.184.216.34\n" in out
    # The AAAA lookup goes to the CNAME target; CoreDNS forwarded it, so no aa, but the header prints once.
    assert "Address: 2606:2800:220:1::1\n" in out and "Non-authoritative answer:" not in out


def test_nslookup_outside_name_is_non_authoritative():
    out = nslookup("example.com")
    assert out.split("\n")[3] == "Non-authoritative answer:" and out.count("Non-authoritative") == 1


def test_nslookup_reverse_and_srv():
    assert "20.0.96.10.in-addr.arpa\tname = web.default.svc.cluster.local.\n" in nslookup("10.96.0.20")
    srv = nslookup("_pg._tcp.db", "SRV")
    assert (
        "_pg._tcp.db.default.svc.cluster.local\tservice = 0 50 5432 10-244-1-5.db.default.svc.cluster.local.\n" in srv
    )
