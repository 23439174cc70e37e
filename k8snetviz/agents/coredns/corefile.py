"""The Corefile: parsed as CoreDNS parses it, and the server it configures.

Parsing follows CoreDNS's Caddyfile dialect: server blocks (``zone:port`` keys, several separated by
spaces or commas, braces optional for a single block), one directive per line with its arguments, an
optional ``{ ... }`` sub-block, ``#`` comments, double quotes, and snippets ``(name) { ... }`` with
``import name``. Errors read as CoreDNS prints them (``Corefile:7 - Error during parsing: ...``), and
plugin errors carry the plugin's prefix (``plugin/kubernetes: ...``).

:class:`CoreDNS` answers queries the way a CoreDNS pod would: the most specific server block for the
name (else ``.``; else REFUSED), then the plugins in CoreDNS's fixed execution order (not the
Corefile's order): ``rewrite`` -> ``hosts`` -> ``kubernetes`` -> ``forward``. Other plugins are
parsed and kept but do not change answers (``cache``, ``loadbalance`` and ``log`` change timing,
order or logs, not content).

>>> core = CoreDNS(services=[], upstreams=Upstream({"example.com": [("A", "93.184.216.34")]}))
>>> core.query("example.com", "A").records[0].data
'93.184.216.34'
>>> core.query("nosuch.default.svc.cluster.local", "A").rcode
'NXDOMAIN'
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from k8snetviz.agents.coredns.zone import (
    DEFAULT_SOA_SERIAL,
    NOERROR,
    REFUSED,
    SERVFAIL,
    Answer,
    DNSEndpointSlice,
    DNSPod,
    DNSService,
    KubernetesOptions,
    Record,
    Upstream,
    Zone,
    fqdn,
    in_zone,
    ip_from_reverse,
    reverse_name,
)
from k8snetviz.errors import K8sNetVizError

__all__ = [
    "KUBEADM_COREFILE",
    "COREDNS_PLUGINS",
    "CorefileError",
    "Directive",
    "ServerBlock",
    "Corefile",
    "ForwardRule",
    "HostsRule",
    "RewriteRule",
    "ServerConfig",
    "CoreDNS",
    "parse_corefile",
    "server_zones",
]

# The Corefile kubeadm writes into the kube-system/coredns ConfigMap (and so kind uses), for the
# default cluster domain. Recent kubeadm releases keep cluster.local answers out of the cache.
KUBEADM_COREFILE = """\
.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
"""

# Every directive CoreDNS knows, in its execution order (core/dnsserver/zdirectives.go).
COREDNS_PLUGINS = (
    "root", "metadata", "geoip", "cancel", "proxyproto", "quic", "grpc_server", "https", "https3",
    "timeouts", "multisocket", "reload", "nsid", "bufsize", "bind", "debug", "trace", "ready",
    "health", "pprof", "shed", "prometheus", "errors", "log", "dnstap", "local", "dns64", "any",
    "chaos", "loadbalance", "tsig", "rewrite", "autopath", "acl", "cache", "header", "dnssec", "tls",
    "minimal", "template", "transfer", "hosts", "route53", "azure", "clouddns", "k8s_external",
    "kubernetes", "file", "auto", "secondary", "etcd", "loop", "forward", "grpc", "erratic", "whoami",
    "on", "sign", "view", "nomad",
)  # fmt: skip


class CorefileError(K8sNetVizError):
    """A Corefile CoreDNS would refuse to start with; ``str()`` is CoreDNS's own message."""


# ------------------------------------------------------------------------------------------ lexer


@dataclass(frozen=True)
class _Token:
    text: str
    line: int


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    line = 1
    val: list[str] = []
    start = 1
    quoted = escaped = comment = False
    for ch in text:
        if quoted:
            if not escaped and ch == "\\":
                escaped = True
                continue
            if not escaped and ch == '"':
                quoted = False
                tokens.append(_Token("".join(val), start))
                val = []
                continue
            if ch == "\n":
                line += 1
            if escaped and ch != '"':
                val.append("\\")  # only quotes can be escaped
            val.append(ch)
            escaped = False
            continue
        if ch.isspace():
            if ch == "\n":
                line += 1
                comment = False
            if val:
                tokens.append(_Token("".join(val), start))
                val = []
            continue
        if ch == "#":
            comment = True
        if comment:
            continue
        if not val:
            start = line
            if ch == '"':
                quoted = True
                continue
        val.append(ch)
    if val or quoted:
        tokens.append(_Token("".join(val), start))
    return tokens


# ----------------------------------------------------------------------------------------- parser


@dataclass(frozen=True)
class Directive:
    """One plugin line: its name, arguments, sub-block lines and line number."""

    name: str
    args: tuple[str, ...] = ()
    block: tuple[Directive, ...] = ()
    line: int = 0

    def option(self, name: str) -> Directive | None:
        """The first sub-block line named ``name``."""
        return next((d for d in self.block if d.name == name), None)


@dataclass(frozen=True)
class ServerBlock:
    """A server block: its keys (``.:53``, ``corp.example:53``) and its directives."""

    keys: tuple[str, ...]
    directives: tuple[Directive, ...]
    line: int = 0

    def directive(self, name: str) -> Directive | None:
        return next((d for d in self.directives if d.name == name), None)

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.directives if d.name == name]


class _Parser:
    def __init__(self, tokens: list[_Token], filename: str) -> None:
        self.tokens = tokens
        self.filename = filename
        self.cursor = -1
        self.snippets: dict[str, list[_Token]] = {}

    # -- the dispenser -----------------------------------------------------------------------

    def next(self) -> bool:
        if self.cursor < len(self.tokens) - 1:
            self.cursor += 1
            return True
        return False

    @property
    def val(self) -> str:
        return self.tokens[self.cursor].text if 0 <= self.cursor < len(self.tokens) else ""

    @property
    def line(self) -> int:
        if not self.tokens:
            return 0
        return self.tokens[min(max(self.cursor, 0), len(self.tokens) - 1)].line

    def new_line(self) -> bool:
        if self.cursor < 1:
            return True
        if self.cursor > len(self.tokens) - 1:
            return False
        prev = self.tokens[self.cursor - 1]
        return prev.line + prev.text.count("\n") < self.tokens[self.cursor].line

    def err(self, msg: str) -> CorefileError:
        return CorefileError(f"{self.filename}:{self.line} - Error during parsing: {msg}")

    def syntax_err(self, expected: str) -> CorefileError:
        return CorefileError(
            f"{self.filename}:{self.line} - Syntax error: Unexpected token '{self.val}', expecting '{expected}'"
        )

    # -- grammar --------------------------------------------------------------------------------

    def parse(self) -> list[ServerBlock]:
        blocks = []
        while self.next():
            block = self.server_block()
            if block is not None:
                blocks.append(block)
        return blocks

    def server_block(self) -> ServerBlock | None:
        start = self.line
        keys, eof = self.addresses()
        if eof:
            return ServerBlock(tuple(keys), (), start) if keys else None
        if len(keys) == 1 and keys[0].startswith("(") and keys[0].endswith(")"):
            self.snippet(keys[0][1:-1])
            return None
        braced = self.val == "{"
        if not braced:
            self.cursor -= 1  # a single server block may leave out its braces
        directives = self.directives()
        if braced and self.val != "}":
            raise self.syntax_err("}")
        return ServerBlock(tuple(keys), tuple(directives), start)

    def addresses(self) -> tuple[list[str], bool]:
        keys: list[str] = []
        expecting_another = False
        while True:
            tkn = self.val
            if tkn == "import" and self.new_line():
                self.do_import()
                continue
            if tkn == "{":
                if expecting_another:
                    raise self.err(f"Expected another address but had '{tkn}' - check for extra comma")
                return keys, False
            if tkn:
                expecting_another = tkn.endswith(",")
                keys.append(tkn.rstrip(",") if expecting_another else tkn)
            has_next = self.next()
            if expecting_another and not has_next:
                raise self.err("Unexpected EOF")
            if not has_next:
                return keys, True
            if not expecting_another and self.new_line():
                return keys, False

    def snippet(self, name: str) -> None:
        if name in self.snippets:
            raise self.err(f"redeclaration of previously declared snippet {name}")
        if self.val != "{":
            raise self.syntax_err("{")
        depth, body = 1, []
        while self.next():
            if self.val == "}":
                depth -= 1
                if depth == 0:
                    break
            if self.val == "{":
                depth += 1
            body.append(self.tokens[self.cursor])
        if depth != 0:
            raise self.syntax_err("}")
        self.snippets[name] = body

    def do_import(self) -> None:
        at = self.cursor
        if not self.next() or self.new_line():
            if self.cursor != at:
                self.cursor -= 1
            raise self.err(f"Wrong argument count or unexpected line ending after '{self.val}'")
        name = self.val
        if name not in self.snippets:
            raise self.err(f"File to import not found: {name}")
        self.tokens[at : at + 2] = self.snippets[name]
        self.cursor = at

    def directives(self) -> list[Directive]:
        out: list[Directive] = []
        while self.next():
            if self.val == "}":
                break
            if self.val == "import":
                self.do_import()
                self.cursor -= 1
                continue
            out.append(self.directive())
        return out

    def directive(self) -> Directive:
        name, line = self.val, self.line
        if name not in COREDNS_PLUGINS:
            raise self.err(f"Unknown directive '{name}'")
        tokens: list[_Token] = []
        nesting = 0
        while self.next():
            if self.val == "{":
                nesting += 1
            elif self.new_line() and nesting == 0:
                self.cursor -= 1
                break
            elif self.val == "}" and nesting > 0:
                nesting -= 1
            elif self.val == "}":
                raise self.err("Unexpected '}' because no matching opening brace")
            elif self.val == "import" and self.new_line():
                self.do_import()
                self.cursor -= 1
                continue
            tokens.append(self.tokens[self.cursor])
        if nesting > 0:
            raise self.err("Unexpected EOF")
        return _group(name, line, tokens)


def _group(name: str, line: int, tokens: list[_Token]) -> Directive:
    """Turn a directive's tokens into its arguments and its sub-block lines (nested as written)."""
    args: list[str] = []
    i = 0
    while i < len(tokens) and tokens[i].text != "{" and tokens[i].line == line:
        args.append(tokens[i].text)
        i += 1
    block: list[Directive] = []
    if i < len(tokens) and tokens[i].text == "{":
        inner, _ = _lines(tokens, i + 1)
        block = inner
    return Directive(name, tuple(args), tuple(block), line)


def _lines(tokens: list[_Token], i: int) -> tuple[list[Directive], int]:
    out: list[Directive] = []
    while i < len(tokens):
        tok = tokens[i]
        if tok.text == "}":
            return out, i + 1
        args: list[str] = []
        j = i + 1
        while j < len(tokens) and tokens[j].line == tok.line and tokens[j].text not in ("{", "}"):
            args.append(tokens[j].text)
            j += 1
        block: list[Directive] = []
        if j < len(tokens) and tokens[j].text == "{":
            block, j = _lines(tokens, j + 1)
        out.append(Directive(tok.text, tuple(args), tuple(block), tok.line))
        i = j
    return out, i


@dataclass(frozen=True)
class Corefile:
    """A parsed Corefile: its server blocks, in order."""

    blocks: tuple[ServerBlock, ...]
    filename: str = "Corefile"
    text: str = ""


def parse_corefile(text: str, filename: str = "Corefile") -> Corefile:
    """Parse a Corefile; raise :class:`CorefileError` worded as CoreDNS words it.

    >>> parse_corefile("corp.example:53 {\\n  forward . 10.0.0.10\\n}\\n").blocks[0].keys
    ('corp.example:53',)
    >>> parse_corefile(".:53 {\\n  errors\\n  foo\\n}\\n")
    Traceback (most recent call last):
    ...
    k8snetviz.agents.coredns.corefile.CorefileError: Corefile:3 - Error during parsing: Unknown directive 'foo'
    """
    parser = _Parser(_lex(text), filename)
    return Corefile(tuple(parser.parse()), filename, text)


# ------------------------------------------------------------------------------ zones and addresses


def _split_key(key: str) -> tuple[str, str]:
    for scheme in ("dns://", "tls://", "grpc://", "https://", "quic://"):
        if key.startswith(scheme):
            key = key[len(scheme) :]
            break
    if key.startswith("["):
        host, _, rest = key[1:].partition("]")
        return host, rest.removeprefix(":")
    if key.count(":") == 1:
        host, port = key.split(":")
        return host, port
    return key, ""


def _cidr_zones(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    # Reverse zones sit on octet (IPv4) or nibble (IPv6) boundaries; other prefixes expand to several.
    step = 8 if net.version == 4 else 4
    prefix = math.ceil(net.prefixlen / step) * step
    zones = []
    for sub in net.subnets(new_prefix=prefix) if prefix != net.prefixlen else [net]:
        labels = reverse_name(str(sub.network_address)).split(".")
        keep = prefix // step
        total = 4 if net.version == 4 else 32
        zones.append(".".join(labels[total - keep :]))
    return zones


def _normalize_zone(host: str) -> list[str]:
    if "/" in host:
        try:
            return _cidr_zones(ipaddress.ip_network(host, strict=False))
        except ValueError:
            pass
    return [fqdn(host)]


def server_zones(key: str) -> list[tuple[str, int]]:
    """The (zone, port) pairs a server block key stands for.

    >>> server_zones(".:53"), server_zones("corp.example"), server_zones("10.0.0.0/8:53")
    ([('.', 53)], [('corp.example.', 53)], [('10.in-addr.arpa.', 53)])
    """
    host, port = _split_key(key)
    return [(z, int(port) if port.isdigit() else 53) for z in _normalize_zone(host or ".")]


# --------------------------------------------------------------------------------- interpretation


@dataclass(frozen=True)
class ForwardRule:
    """``forward FROM TO...``: names under ``from_zone`` (minus ``except``) go to the ``to`` servers."""

    from_zone: str
    to: tuple[str, ...]
    excepts: tuple[str, ...] = ()
    line: int = 0

    def matches(self, name: str) -> bool:
        return in_zone(name, self.from_zone) and not any(in_zone(name, e) for e in self.excepts)

    def __str__(self) -> str:
        return f"forward {self.from_zone.rstrip('.') or '.'} {' '.join(self.to)}"


@dataclass(frozen=True)
class HostsRule:
    """``hosts``: inline entries (name -> addresses), zones, ``fallthrough`` and TTL."""

    entries: Mapping[str, tuple[str, ...]]
    zones: tuple[str, ...]
    fallthrough: tuple[str, ...] | None = None
    ttl: int = 3600
    reverse: bool = True
    line: int = 0

    def falls_through(self, name: str) -> bool:
        if self.fallthrough is None:
            return False
        return not self.fallthrough or any(in_zone(name, z) for z in self.fallthrough)


@dataclass(frozen=True)
class RewriteRule:
    """``rewrite [stop|continue] name [exact|prefix|suffix|substring|regex] FROM TO [answer auto]``."""

    match: str
    source: str
    target: str
    answer_auto: bool = False
    stop: bool = True
    line: int = 0

    def apply(self, name: str) -> str | None:
        """The rewritten name, or None when the rule does not match."""
        if self.match == "exact":
            return self.target if name == self.source else None
        if self.match == "prefix":
            return self.target + name[len(self.source) :] if name.startswith(self.source) else None
        if self.match == "suffix":
            return name[: -len(self.source)] + self.target if name.endswith(self.source) else None
        if self.match == "substring":
            return name.replace(self.source, self.target, 1) if self.source in name else None
        m = re.match(self.source, name)
        if not m:
            return None
        return re.sub(r"\{(\d+)\}", lambda g: m.group(int(g.group(1))) or "", self.target)


@dataclass(frozen=True)
class ServerConfig:
    """What a server block configures: its zones and port and the plugins that shape answers."""

    block: ServerBlock
    zones: tuple[str, ...]
    port: int
    kubernetes: KubernetesOptions | None = None
    forwards: tuple[ForwardRule, ...] = ()
    hosts: HostsRule | None = None
    rewrites: tuple[RewriteRule, ...] = ()
    kubernetes_line: int = 0


class _Setup:
    """Plugin setup: turns directives into rules, raising CoreDNS's plugin errors."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def err(self, plugin: str, msg: str, line: int | None = None) -> CorefileError:
        where = f"{self.filename}:{line} - Error during parsing: " if line is not None else ""
        return CorefileError(f"plugin/{plugin}: {where}{msg}")

    def arg_err(self, plugin: str, d: Directive, last: str | None = None) -> CorefileError:
        after = last if last is not None else (d.args[-1] if d.args else d.name)
        return self.err(plugin, f"Wrong argument count or unexpected line ending after '{after}'", d.line)

    def config(self, block: ServerBlock) -> list[ServerConfig]:
        pairs = [p for key in block.keys for p in server_zones(key)]
        zones = tuple(z for z, _ in pairs)
        kube = block.all("kubernetes")
        if len(kube) > 1:
            raise self.err("kubernetes", "this plugin can only be used once per Server Block")
        hosts = block.all("hosts")
        if len(hosts) > 1:
            raise self.err("hosts", "this plugin can only be used once per Server Block")
        options = self.kubernetes(kube[0], zones) if kube else None
        forwards = tuple(self.forward(d) for d in block.all("forward"))
        hosts_rule = self.hosts(hosts[0], zones) if hosts else None
        rewrites = tuple(r for d in block.all("rewrite") for r in self.rewrite(d))
        ports = sorted({p for _, p in pairs})
        return [
            ServerConfig(block, zones, port, options, forwards, hosts_rule, rewrites, kube[0].line if kube else 0)
            for port in ports
        ]

    def kubernetes(self, d: Directive, block_zones: tuple[str, ...]) -> KubernetesOptions:
        zones = tuple(z for a in d.args for z in _normalize_zone(a)) or block_zones
        if not any(not (z.endswith("in-addr.arpa.") or z.endswith("ip6.arpa.")) for z in zones):
            raise self.err("kubernetes", "non-reverse zone name must be used")
        # The plugin's own defaults, not kubeadm's: pods disabled, TTL 5, no fallthrough.
        opts: dict = {"zones": zones, "pods": "disabled", "ttl": 5, "fallthrough": None}
        for o in d.block:
            if o.name == "pods":
                if len(o.args) != 1:
                    raise self.arg_err("kubernetes", o)
                if o.args[0] not in ("disabled", "insecure", "verified"):
                    raise self.err(
                        "kubernetes",
                        f"wrong value for pods: {o.args[0]},  must be one of: disabled, verified, insecure",
                    )
                opts["pods"] = o.args[0]
            elif o.name == "ttl":
                if not o.args:
                    raise self.arg_err("kubernetes", o)
                if not re.fullmatch(r"[+-]?\d+", o.args[0]):
                    raise self.err("kubernetes", f'strconv.Atoi: parsing "{o.args[0]}": invalid syntax')
                ttl = int(o.args[0])
                if not 0 <= ttl <= 3600:
                    raise self.err("kubernetes", f"ttl must be in range [0, 3600]: {ttl}", o.line)
                opts["ttl"] = ttl
            elif o.name == "fallthrough":
                opts["fallthrough"] = tuple(z for a in o.args for z in _normalize_zone(a))
            elif o.name == "endpoint_pod_names":
                opts["endpoint_pod_names"] = True
            elif o.name == "namespaces":
                if not o.args:
                    raise self.arg_err("kubernetes", o)
                opts["namespaces"] = tuple(o.args)
            elif o.name == "ignore":
                if o.args and o.args[0] != "empty_service":
                    raise self.err("kubernetes", f"unable to parse ignore value: '{o.args[0]}'")
                opts["ignore_empty_service"] = bool(o.args)
            elif o.name == "noendpoints":
                opts["noendpoints"] = True
            elif o.name not in _KUBERNETES_OTHER_OPTIONS:
                raise self.err("kubernetes", f"unknown property '{o.name}'", o.line)
        return KubernetesOptions(**opts)

    def forward(self, d: Directive) -> ForwardRule:
        if not d.args:
            raise self.arg_err("forward", d)
        if len(d.args) < 2:
            raise self.arg_err("forward", d)
        from_zone = _normalize_zone(d.args[0])[0]
        for to in d.args[1:]:
            if not _is_upstream_address(to):
                raise self.err("forward", f'not an IP address or file "{to}": open {to}: no such file or directory')
        excepts: tuple[str, ...] = ()
        for o in d.block:
            if o.name == "except":
                if not o.args:
                    raise self.arg_err("forward", o)
                excepts += tuple(fqdn(a) for a in o.args)
            elif o.name not in _FORWARD_OTHER_OPTIONS:
                raise self.err("forward", f"unknown property '{o.name}'", o.line)
        return ForwardRule(from_zone, tuple(d.args[1:]), excepts, d.line)

    def hosts(self, d: Directive, block_zones: tuple[str, ...]) -> HostsRule:
        zones = tuple(z for a in d.args[1:] for z in _normalize_zone(a)) or block_zones
        entries: dict[str, list[str]] = {}
        fall: tuple[str, ...] | None = None
        ttl, reverse = 3600, True
        for o in d.block:
            if o.name == "fallthrough":
                fall = tuple(z for a in o.args for z in _normalize_zone(a))
            elif o.name == "ttl":
                if len(o.args) != 1 or not o.args[0].isdigit():
                    raise self.arg_err("hosts", o)
                ttl = int(o.args[0])
            elif o.name == "no_reverse":
                reverse = False
            elif o.name in ("reload", "fallthrough_unsupported"):
                continue
            else:
                try:
                    ipaddress.ip_address(o.name.split("%")[0])
                except ValueError:
                    raise self.err("hosts", f"unknown property '{o.name}'", o.line) from None
                for host in o.args:
                    entries.setdefault(fqdn(host), []).append(o.name)
        frozen = {k: tuple(v) for k, v in entries.items()}
        return HostsRule(frozen, zones, fall, ttl, reverse, d.line)

    def rewrite(self, d: Directive) -> list[RewriteRule]:
        args = list(d.args)
        stop = True
        if args and args[0] in ("stop", "continue"):
            stop = args.pop(0) == "stop"
        if not args or args[0] != "name":
            return []  # other rewrite fields (type, class, ttl, edns0...) do not change names
        args.pop(0)
        if len(args) < 2:
            raise self.err("rewrite", "too few arguments for a name rule")
        match = "exact"
        if args[0] in ("exact", "prefix", "suffix", "substring", "regex"):
            match = args.pop(0)
        elif len(args) > 2:
            raise self.err(
                "rewrite",
                "name rule supports only exact, prefix, suffix, substring, and regex name matching, "
                f"received: {args[0]}",
            )
        if len(args) < 2:
            raise self.err("rewrite", "too few arguments for a name rule")
        source, target, rest = args[0], args[1], args[2:]
        if match == "exact":
            source, target = fqdn(source), fqdn(target)
        auto = rest[:2] == ["answer", "auto"]
        return [RewriteRule(match, source, target, auto, stop, d.line)]


_KUBERNETES_OTHER_OPTIONS = {
    "endpoint", "tls", "kubeconfig", "labels", "namespace_labels", "multicluster", "startup_timeout",
    "apiserver_qps", "apiserver_burst", "apiserver_max_inflight", "zonal",
}  # fmt: skip
_FORWARD_OTHER_OPTIONS = {
    "force_tcp", "prefer_udp", "tls", "tls_servername", "policy", "health_check", "max_fails",
    "expire", "max_idle_conns", "max_concurrent", "max_age", "next", "failfast_all_unhealthy_upstreams",
    "read_timeout", "doh_method",
}  # fmt: skip


def _is_upstream_address(to: str) -> bool:
    if to.startswith("/"):
        return True  # a resolv.conf-style file: its nameservers
    for scheme in ("dns://", "tls://", "https://"):
        to = to.removeprefix(scheme)
    host, _port = _split_key(to)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------------------- server


@dataclass
class CoreDNS:
    """A CoreDNS server running ``corefile`` against the cluster's objects.

    ``upstreams``: one :class:`Upstream` for every ``forward`` target, or a mapping from the target
    as written in the Corefile (``/etc/resolv.conf``, ``10.0.0.10``, ``10.0.0.10:53``) to its
    Upstream; a target with no Upstream does not answer (SERVFAIL).
    """

    corefile: Corefile | str = KUBEADM_COREFILE
    services: Iterable[DNSService] = ()
    endpoint_slices: Iterable[DNSEndpointSlice] = ()
    pods: Iterable[DNSPod] = ()
    namespaces: Iterable[str] | None = None
    upstreams: Upstream | Mapping[str, Upstream] | None = None
    dns_service_ips: Sequence[str] = ("10.96.0.10",)
    serial: int = DEFAULT_SOA_SERIAL
    port: int = 53
    configs: list[ServerConfig] = field(init=False)

    @property
    def parsed(self) -> Corefile:
        """The Corefile, parsed (``corefile`` may be given as text)."""
        assert isinstance(self.corefile, Corefile)
        return self.corefile

    def __post_init__(self) -> None:
        if isinstance(self.corefile, str):
            self.corefile = parse_corefile(self.corefile)
        self.services = list(self.services)
        self.endpoint_slices = list(self.endpoint_slices)
        self.pods = list(self.pods)
        setup = _Setup(self.parsed.filename)
        self.configs = [c for b in self.parsed.blocks for c in setup.config(b)]
        seen: dict[tuple[str, int], ServerConfig] = {}
        for c in self.configs:
            for z in c.zones:
                if (z, c.port) in seen:
                    raise CorefileError(f"cannot serve dns://{z}:{c.port} - it is already defined")
                seen[(z, c.port)] = c
        self._zones: dict[int, Zone] = {}

    # -- selection -----------------------------------------------------------------------------

    def server_block_for(self, name: str) -> tuple[ServerConfig, str] | None:
        """The server block (and its zone) a query for ``name`` reaches: the most specific zone wins."""
        name = fqdn(name)
        best: tuple[ServerConfig, str] | None = None
        for c in self.configs:
            if c.port != self.port:
                continue
            for z in c.zones:
                if in_zone(name, z) and (best is None or len(z) > len(best[1])):
                    best = (c, z)
        return best

    def kubernetes_zone(self, config: ServerConfig) -> Zone | None:
        """The kubernetes plugin of a server block, as a :class:`Zone` (None when absent)."""
        if config.kubernetes is None:
            return None
        key = id(config)
        if key not in self._zones:
            self._zones[key] = Zone(
                self.services,
                self.endpoint_slices,
                self.pods,
                namespaces=self.namespaces,
                options=config.kubernetes,
                upstream=self.query,
                dns_service_ips=self.dns_service_ips,
                serial=self.serial,
            )
        return self._zones[key]

    # -- queries ---------------------------------------------------------------------------------

    def query(self, name: str, qtype: str = "A") -> Answer:
        """The response a CoreDNS pod sends to a query for ``name``/``qtype``."""
        name, qtype = fqdn(name), qtype.upper()
        chosen = self.server_block_for(name)
        if chosen is None:
            return Answer(name, qtype, REFUSED, source="no server block for this name")
        config, zone = chosen
        where = f"server block {' '.join(config.block.keys)} ({self.parsed.filename}:{config.block.line})"
        qname, rule = name, None
        for r in config.rewrites:
            new = r.apply(qname)
            if new is not None:
                qname, rule = new, r
                if r.stop:
                    break
        answer = self._chain(config, qname, qtype)
        answer = replace(answer, source=f"{where}: {answer.source}")
        if rule is not None:
            answer = self._revert(answer, name, qname, rule)
        return answer

    def _chain(self, config: ServerConfig, name: str, qtype: str) -> Answer:
        if config.hosts is not None:
            answer = self._hosts(config.hosts, name, qtype)
            if answer is not None:
                return answer
        kube = self.kubernetes_zone(config)
        if kube is not None:
            answer = kube.serve(name, qtype)
            if answer is not None:
                return replace(answer, source=f"{answer.source} ({self.parsed.filename}:{config.kubernetes_line})")
        for fwd in config.forwards:
            if fwd.matches(name):
                return self._forward(fwd, name, qtype)
        return Answer(name, qtype, SERVFAIL, source="no next plugin found")

    def _forward(self, rule: ForwardRule, name: str, qtype: str) -> Answer:
        label = f"{rule} ({self.parsed.filename}:{rule.line})"
        upstream: Upstream | None = None
        if isinstance(self.upstreams, Upstream):
            upstream = self.upstreams
        elif self.upstreams:
            for to in rule.to:
                upstream = self.upstreams.get(to) or self.upstreams.get(_split_key(to)[0])
                if upstream is not None:
                    break
        if upstream is None:
            return Answer(name, qtype, SERVFAIL, source=f"{label}: no upstream answered")
        answer = upstream.lookup(name, qtype)
        return replace(answer, source=f"{label} -> {answer.source}")

    def _hosts(self, rule: HostsRule, name: str, qtype: str) -> Answer | None:
        label = f"hosts ({self.parsed.filename}:{rule.line})"
        if qtype == "PTR":
            ip = ip_from_reverse(name)
            names = [h for h, ips in rule.entries.items() if ip in ips] if ip and rule.reverse else []
            if not names:
                return None
            recs = tuple(Record(name, "PTR", rule.ttl, h) for h in names)
            return Answer(name, qtype, NOERROR, recs, source=label)
        if not any(in_zone(name, z) for z in rule.zones):
            return None
        ips = rule.entries.get(name, ())
        family = {"A": 4, "AAAA": 6}.get(qtype)
        wanted = [ip for ip in ips if family and ipaddress.ip_address(ip.split("%")[0]).version == family]
        if not wanted and not ips:
            if rule.falls_through(name):
                return None
            # hosts has no SOA to prove NXDOMAIN with, so CoreDNS answers SERVFAIL instead.
            return Answer(name, qtype, SERVFAIL, source=label)
        recs = tuple(Record(name, qtype, rule.ttl, ip) for ip in dict.fromkeys(wanted))
        return Answer(name, qtype, NOERROR, recs, source=label)

    @staticmethod
    def _revert(answer: Answer, original: str, rewritten: str, rule: RewriteRule) -> Answer:
        # The question is always restored; owner names only for exact rules or "answer auto".
        def owner(n: str) -> str:
            if n == rewritten and (rule.match == "exact" or rule.answer_auto):
                return original
            if rule.answer_auto and rule.match in ("suffix", "prefix", "substring"):
                back = RewriteRule(rule.match, rule.target, rule.source).apply(n)
                return back or n
            return n

        records = tuple(replace(r, name=owner(r.name)) for r in answer.records)
        note = f"rewrite name {rule.match} {rule.source} {rule.target} (line {rule.line})"
        return replace(answer, name=original, records=records, source=f"{note}; {answer.source}")
