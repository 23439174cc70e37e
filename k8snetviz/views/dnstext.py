"""``nslookup`` and ``dig`` output, as BIND 9's tools in the dnsutils debug pod print it.

Pure formatting of results the model computed: ``nslookup_text`` takes the lookups from
:func:`k8snetviz.agents.kubelet.resolvconf.nslookup_lookups`, ``dig_text`` one :class:`Answer`. Output is
deterministic: a fixed message id, a fixed cookie, a fixed ``WHEN`` and query time, unless given.

dig lays a record out in columns 24/32/40/48 with tabs of 8, falling back to one space when a field
overruns its column, which gives the familiar ``name.<TAB><TAB>30<TAB>IN<TAB>A<TAB>10.96.0.20``.

>>> from k8snetviz.agents.coredns.zone import Record
>>> dig_record_line(Record("web.default.svc.cluster.local.", "A", 30, "10.96.0.20"))
'web.default.svc.cluster.local. 30 IN\\tA\\t10.96.0.20'
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from html import escape

from k8snetviz.agents.coredns.zone import NOERROR, Answer, Record, reverse_name
from k8snetviz.agents.kubelet.resolvconf import Resolution, nslookup_lookups
from k8snetviz.questions.display import rich_view, text_view
from k8snetviz.questions.resolve import DNS_PORT, DNSResult, is_numeric
from k8snetviz.views.theme import themed

__all__ = [
    "dns_outcome",
    "dns_text",
    "dns_dig",
    "dns_nslookup",
    "dns_html",
    "DIG_VERSION",
    "DIG_WHEN",
    "dig_record_line",
    "dig_question_line",
    "dig_text",
    "message_size",
    "nslookup_record",
    "nslookup_text",
]

DIG_VERSION = "9.18.33-1~deb12u2-Debian"
DIG_WHEN = "Wed Jan 01 12:00:00 UTC 2025"  # the terminal's clock (`date`): 1 January 2025 was a Wednesday
_EDNS_UDP_SIZE = 1232  # what dig 9.18 advertises; CoreDNS echoes the client's size


# ------------------------------------------------------------------------------------------- dig


def _indent(col: int, to: int) -> tuple[str, int]:
    # BIND masterdump's indent(): at least one blank, tabs to the tab stop, then spaces.
    to = max(to, col + 1)
    tabs = to // 8 - col // 8
    out = ""
    if tabs > 0:
        out = "\t" * tabs
        col = (to // 8) * 8
    return out + " " * (to - col), to


def dig_record_line(record: Record) -> str:
    """One record as dig prints it in a section."""
    parts = [record.name]
    col = len(record.name)
    for text, column in ((str(record.ttl), 24), ("IN", 32), (record.type, 40), (record.data, 48)):
        pad, col = _indent(col, column)
        parts += [pad, text]
        col += len(text)
    return "".join(parts)


def dig_question_line(name: str, qtype: str) -> str:
    """The QUESTION SECTION line: ``;name<TAB>IN<TAB>TYPE`` (no TTL column)."""
    owner = ";" + name
    pad1, col = _indent(len(owner), 32)
    pad2, _ = _indent(col + 2, 40)
    return f"{owner}{pad1}IN{pad2}{qtype}"


def _cookie(name: str, qtype: str) -> str:
    return hashlib.sha256(f"{name}/{qtype}".encode()).hexdigest()[:16]


def _name_size(name: str, table: dict[str, int], offset: int, compress: bool = True) -> int:
    """Bytes of ``name`` at ``offset`` with RFC 1035 compression, recording its suffixes."""
    labels = [x for x in name.rstrip(".").split(".") if x] if name != "." else []
    size = 0
    for i in range(len(labels)):
        suffix = ".".join(labels[i:]).lower()
        if compress and suffix in table:
            return size + 2
        if offset + size < 0x3FFF:
            table.setdefault(suffix, offset + size)
        size += 1 + len(labels[i])
    return size + 1


def _rdata_size(record: Record, table: dict[str, int], offset: int, compress: bool) -> int:
    if record.type == "A":
        return 4
    if record.type == "AAAA":
        return 16
    if record.type in ("CNAME", "PTR", "NS"):
        return _name_size(record.data, table, offset, compress)
    if record.type == "SRV":
        # SRV targets are never compressed (RFC 2782), but miekg/dns remembers them for later names.
        return 6 + _name_size(record.data.split()[-1], table, offset + 6, compress=False)
    if record.type == "SOA":
        mname, rname = record.data.split()[:2]
        first = _name_size(mname, table, offset, compress)
        return first + _name_size(rname, table, offset + first, compress) + 20
    if record.type == "TXT":
        return sum(1 + len(s) for s in record.data.strip('"').split('" "'))
    return len(record.data)


def message_size(answer: Answer, *, compress: bool = False, edns_option_bytes: int = 12) -> int:
    """The response's size on the wire (dig's ``MSG SIZE rcvd``).

    CoreDNS leaves UDP answers uncompressed unless they would pass 1480 bytes (request.Scrub), so
    names are written in full by default. ``edns_option_bytes``: the OPT record's options (an
    echoed 8-byte client cookie takes 12).
    """
    table: dict[str, int] = {}
    size = 12
    size += _name_size(answer.name, table, size, compress) + 4
    for record in (*answer.records, *answer.authority, *answer.additional):
        size += _name_size(record.name, table, size, compress) + 10
        size += _rdata_size(record, table, size, compress)
    return size + 11 + edns_option_bytes


def dig_text(
    answer: Answer,
    *,
    server: str = "10.96.0.10",
    port: int = 53,
    args: str | None = None,
    query_id: int = 4242,
    query_time_ms: int = 0,
    when: str = DIG_WHEN,
    version: str = DIG_VERSION,
    transport: str = "UDP",
) -> str:
    """``dig`` output for ``answer`` (a query with recursion desired, EDNS and a cookie, as dig sends)."""
    qtype = answer.type
    cmd = args if args is not None else (answer.name.rstrip(".") or ".") + ("" if qtype == "A" else f" {qtype}")
    flags = ["qr"] + (["aa"] if answer.authoritative else []) + ["rd"]
    if answer.recursion_available:
        flags.append("ra")
    counts = (
        f"QUERY: 1, ANSWER: {len(answer.records)}, AUTHORITY: {len(answer.authority)}, "
        f"ADDITIONAL: {len(answer.additional) + 1}"
    )
    out = [
        "",
        f"; <<>> DiG {version} <<>> {cmd}",
        ";; global options: +cmd",
        ";; Got answer:",
        f";; ->>HEADER<<- opcode: QUERY, status: {answer.rcode}, id: {query_id}",
        f";; flags: {' '.join(flags)}; {counts}",
    ]
    if not answer.recursion_available:
        out.append(";; WARNING: recursion requested but not available")
    out += [
        "",
        ";; OPT PSEUDOSECTION:",
        f"; EDNS: version: 0, flags:; udp: {_EDNS_UDP_SIZE}",
        f"; COOKIE: {_cookie(answer.name, qtype)} (echoed)",
        ";; QUESTION SECTION:",
        dig_question_line(answer.name, qtype),
        "",
    ]
    for title, records in (
        ("ANSWER", answer.records),
        ("AUTHORITY", answer.authority),
        ("ADDITIONAL", answer.additional),
    ):
        if records:
            out.append(f";; {title} SECTION:")
            out += [dig_record_line(r) for r in records]
            out.append("")
    out += [
        f";; Query time: {query_time_ms} msec",
        f";; SERVER: {server}#{port}({server}) ({transport})",
        f";; WHEN: {when}",
        f";; MSG SIZE  rcvd: {message_size(answer)}",
        "",
    ]
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------------------------- nslookup


def nslookup_record(record: Record) -> str:
    """One answer record as nslookup prints it (owner without the final dot)."""
    owner = record.name.rstrip(".")
    if record.type in ("A", "AAAA"):
        return f"Name:\t{owner}\nAddress: {record.data}"
    if record.type == "CNAME":
        return f"{owner}\tcanonical name = {record.data}"
    if record.type == "PTR":
        return f"{owner}\tname = {record.data}"
    if record.type == "SRV":
        return f"{owner}\tservice = {record.data}"
    if record.type == "NS":
        return f"{owner}\tnameserver = {record.data}"
    if record.type == "TXT":
        return f"{owner}\ttext = {record.data}"
    if record.type == "MX":
        return f"{owner}\tmail exchanger = {record.data}"
    if record.type == "SOA":
        mname, rname, serial, refresh, retry, expire, minimum = record.data.split()
        return (
            f"{owner}\n\torigin = {mname}\n\tmail addr = {rname}\n\tserial = {serial}\n"
            f"\trefresh = {refresh}\n\tretry = {retry}\n\texpire = {expire}\n\tminimum = {minimum}"
        )
    return f"{owner}\t{record.type} = {record.data}"


def nslookup_text(lookups: Sequence[Resolution], *, server: str = "10.96.0.10", port: int = 53) -> str:
    """``nslookup`` output for the lookups it made (see ``nslookup_lookups``).

    The default lookups (A, then AAAA for the name found) print "Non-authoritative answer:" once,
    and "*** Can't find NAME: No answer" only when neither type had records.
    """
    types = [r.queries[-1].type for r in lookups if r.queries]
    # Without -type nslookup asks A, then AAAA for the name found (a failed A lookup ends it).
    default = types == ["A", "AAAA"]
    out = [f"Server:\t\t{server}", f"Address:\t{server}#{port}", ""]
    a_noanswer = False
    for res in lookups:
        if not res.queries or not res.accepted:
            continue
        answer = res.accepted[-1]
        qtype = res.queries[-1].type
        if answer.rcode != NOERROR:
            out.append(f"** server can't find {answer.name.rstrip('.')}: {answer.rcode}")
            continue
        if not answer.authoritative and (not default or qtype == "A"):
            out.append("Non-authoritative answer:")
        if answer.records:
            out += [nslookup_record(r) for r in answer.records]
        elif default and qtype == "A":
            a_noanswer = True
        elif not default or (qtype == "AAAA" and a_noanswer):
            out.append(f"*** Can't find {res.name.rstrip('.')}: No answer")
    out.append("")
    return "\n".join(out) + "\n"


# --- a name resolved from a pod (questions.resolve) -------------------------------------------------


def dns_outcome(result: DNSResult) -> str:
    """One line: what the lookup gave."""
    if result.ok:
        got = ", ".join(r.data for r in result.answers if r.type == result.type) or ", ".join(
            r.data for r in result.answers)
        via = f" from {result.resolution.source}" if result.resolution.source != "dns" else ""
        return f"{result.name} -> {got}{via}"
    last = result.queries[-1].rcode if result.queries else ""
    return f"{result.name}: {result.resolution.message} ({result.error}" + (f", last rcode {last})" if last else ")")

def dns_text(result: DNSResult) -> str:
    """The pod's resolv.conf, each query with its rcode, then the answer.

    Addresses (A, AAAA, CNAME) are printed as nslookup prints them; SRV, PTR and the other types
    as dig's ANSWER SECTION, whose columns show the record's fields.
    """
    out = [f"# pod {result.pod} (dnsPolicy {result.pod_dns.policy}): /etc/resolv.conf",
           result.resolv_conf.rstrip("\n"), ""]
    out += [f"# {e}" for e in result.pod_dns.events]
    out += [f"# {s}" for s in result.skipped]
    if result.queries:
        where = f" to {result.nameserver}:{DNS_PORT}/UDP, {result.server}" if result.nameserver else ""
        out.append(f"# queries{where}, in the order the resolver sends them")
        width = max(len(q.name) for q in result.queries)
        for i, q in enumerate(result.queries, 1):
            out.append(f"{i:>2}  {q.name.ljust(width)}  {q.type:<5} {q.rcode}")
    else:
        out.append(f"# no query sent: {result.resolution.source} answered")
    out.append("")
    if result.ok:
        if result.type in ("A", "AAAA", "CNAME"):
            out += [nslookup_record(r) for r in result.answers]
        else:
            out += [dig_record_line(r) for r in result.answers]
    else:
        out.append(f"** {dns_outcome(result)}")
    return "\n".join(out).rstrip("\n") + "\n"

def dns_dig(result: DNSResult) -> str:
    """``dig NAME TYPE`` for the name that answered (or the last one asked), from the pod.

    dig itself does not use the search list: it asks exactly the fully qualified name given.
    """
    answer = result.last_answer()
    if answer is None or result.nameserver is None:
        return ";; connection timed out; no servers could be reached\n"
    return dig_text(answer, server=result.nameserver)

def dns_nslookup(result: DNSResult) -> str:
    """``nslookup NAME`` in the pod (``-type=T`` for types other than A; without it, A then AAAA)."""
    if result.lookup is None or result.nameserver is None:
        return ";; connection timed out; no servers could be reached\n"
    qtype = None if result.type == "A" else result.type
    name = result.name
    if result.type == "PTR" and is_numeric(name):
        name = reverse_name(name)
    return nslookup_text(nslookup_lookups(name, result.pod_dns.resolv_conf, result.lookup, qtype),
                         server=result.nameserver)

def dns_html(result: DNSResult) -> str:
    """The queries as a table (query, type, rcode, answer) with the resolv.conf and the outcome."""
    rows = []
    for i, q in enumerate(result.queries, 1):
        data = ", ".join(r.data for r in q.answer.records) if q.answer.records else (
            "no records (NODATA)" if q.rcode == NOERROR else "")
        cls = "knv-dns-ok" if q.answer.positive else "knv-dns-miss"
        rows.append(f'<tr class="{cls}"><td>{i}</td><td><code>{escape(q.name)}</code></td>'
                    f"<td>{escape(q.type)}</td><td><b>{escape(q.rcode)}</b></td><td>{escape(data)}</td></tr>")
    if not rows:
        rows.append(f'<tr><td colspan="5">no query sent: {escape(result.resolution.source)} answered</td></tr>')
    mark = "✔" if result.ok else "✘"
    verdict = "knv-ok" if result.ok else "knv-bad"
    notes = "".join(f"<li>{escape(n)}</li>" for n in (*result.pod_dns.events, *result.skipped))
    server = f"to <code>{escape(result.nameserver)}:{DNS_PORT}</code> (UDP): {escape(result.server)}" \
        if result.nameserver else ""
    return themed(
        f'<div class="knv-dns-result"><p><b>{escape(result.pod)}</b> (dnsPolicy '
        f"<code>{escape(result.pod_dns.policy)}</code>) asks {server}</p>"
        f'<pre class="knv-resolv-conf" aria-label="/etc/resolv.conf">{escape(result.resolv_conf)}</pre>'
        + (f"<ul>{notes}</ul>" if notes else "")
        + '<table class="knv-dns-queries"><thead><tr><th>#</th><th>query</th><th>type</th><th>rcode</th>'
        f'<th>answer</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        f'<p class="knv-dns-outcome knv-verdict {verdict}">{mark} {escape(dns_outcome(result))}</p></div>'
    )


@text_view.register
def _(result: DNSResult) -> str:
    return dns_text(result)


@rich_view.register
def _(result: DNSResult) -> dict[str, str]:
    return {"text/plain": dns_text(result), "text/html": dns_html(result)}
