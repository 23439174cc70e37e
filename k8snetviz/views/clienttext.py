"""What the client programs print: ``curl`` (8.x), busybox and GNU ``wget``, busybox and OpenBSD ``nc``,
busybox and iputils ``ping``, busybox ``nslookup`` — for a :class:`~k8snetviz.questions.connect.Connection`
or :class:`~k8snetviz.questions.connect.HTTPResponse`.

Each function returns ``(stdout, stderr, exit status)`` as the program would. Timings are fixed so output
is reproducible. The page a server sends depends on its image: nginx's welcome page, http-echo's text,
otherwise the pod's hostname (as ``agnhost serve-hostname`` answers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from k8snetviz.cluster import Cluster
    from k8snetviz.questions.connect import Connection, HTTPResponse

__all__ = ["curl_output", "wget_output", "nc_output", "ping_output", "page_for", "busybox_nslookup",
           "NGINX_PAGE", "error_page"]

NGINX_PAGE = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""

Out = tuple[str, str, int]


def error_page(status: int, reason: str) -> str:
    """nginx's (and ingress-nginx's) error page."""
    return (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}"
            "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


def page_for(cluster: Cluster, receiver: str | None) -> tuple[str, str]:
    """(body, Server header) of what ``receiver`` (``pod/NS/NAME``) serves at ``/``."""
    pod = cluster.pods.get(receiver[4:]) if receiver and receiver.startswith("pod/") else None
    if pod is None:
        return "", ""
    images = " ".join(pod.images)
    if "nginx" in images and "ingress" not in images:
        return NGINX_PAGE, "nginx/1.27.3"
    if "httpd" in images or "apache" in images:
        return "<html><body><h1>It works!</h1></body></html>\n", "Apache/2.4.62 (Unix)"
    if "http-echo" in images:
        args = [str(a) for c in (pod.raw.get("spec") or {}).get("containers") or [] for a in c.get("args") or []]
        text = next((a.split("=", 1)[1] for a in args if a.startswith("-text=")), "hello-world")
        return text + "\n", ""
    if "whoami" in images:
        return (f"Hostname: {pod.name}\nIP: 127.0.0.1\nIP: {pod.ip}\nRemoteAddr: {pod.ip}:40000\nGET / HTTP/1.1\n"
                "Host: web\nUser-Agent: curl/8.5.0\nAccept: */*\n"), ""
    return (pod.hostname or pod.name) + "\n", ""


def _status_line(resp: HTTPResponse) -> str:
    return f"HTTP/1.1 {resp.status} {resp.reason}"


def _body(cluster: Cluster, resp: HTTPResponse, path: str = "/") -> tuple[str, str]:
    if resp.status == 200 and resp.connection.port == 10249 and path == "/proxyMode" and \
            (resp.server or "").startswith("node/"):
        # kube-proxy's metrics server answers its mode, nothing else (kubernetes cmd/kube-proxy/app/server.go,
        # serveMetrics: fmt.Fprintf(w, "%s", proxyMode))
        return cluster.config.kube_proxy_mode, ""
    if resp.status == 200:
        return page_for(cluster, resp.server)
    return error_page(resp.status or 500, resp.reason), "nginx"


def _fail(conn: Connection, opts: dict[str, Any]) -> tuple[str, int]:
    host, port = conn.host, conn.port
    if conn.outcome == "unresolved":
        return f"curl: (6) Could not resolve host: {host}", 6
    if conn.outcome == "refused":
        return f"curl: (7) Failed to connect to {host} port {port} after 3 ms: Couldn't connect to server", 7
    limit = opts.get("max_time") or opts.get("connect_timeout")
    if limit:
        ms = int(float(limit) * 1000) + 1
        return f"curl: (28) Connection timed out after {ms} milliseconds", 28
    return f"curl: (28) Failed to connect to {host} port {port} after 135254 ms: Couldn't connect to server", 28


def curl_output(cluster: Cluster, resp: HTTPResponse, url: str, opts: dict[str, Any]) -> Out:
    """``curl [-s] [-S] [-v] [-I] [-i] [-o FILE] [-w FORMAT] [-m N] [--connect-timeout N] [-f] [-L] URL``."""
    conn = resp.connection
    silent, show_err = opts.get("silent", False), opts.get("show_error", False)
    verbose = opts.get("verbose", False)
    err: list[str] = []
    if verbose and conn.address:
        err.append(f"*   Trying {conn.address}:{conn.port}...")
    if resp.status is None:
        msg, code = _fail(conn, opts)
        if verbose and conn.outcome == "refused":
            err.append(f"* connect to {conn.address} port {conn.port} from 10.244.0.1 port 40000 failed: "
                       "Connection refused")
        out = _write_out(opts.get("write_out"), resp, conn)
        if not silent or show_err:
            err.append(msg)
        return out, "".join(e + "\n" for e in err), code
    body, server = _body(cluster, resp, opts.get("path", "/"))
    headers = [_status_line(resp)]
    if server:
        headers.append(f"Server: {server}")
    headers.append("Date: Wed, 01 Jan 2025 12:00:00 GMT")
    headers.append("Content-Type: text/html" if "<" in body else "Content-Type: text/plain; charset=utf-8")
    headers.append(f"Content-Length: {len(body.encode())}")
    headers.append("Connection: keep-alive")
    if resp.location:
        headers.append(f"Location: {resp.location}")
    if verbose:
        err.append(f"* Connected to {conn.host} ({conn.address}) port {conn.port}")
        err += [f"> GET {opts.get('path', '/')} HTTP/1.1", f"> Host: {opts.get('host_header', conn.host)}",
                "> User-Agent: curl/8.5.0", "> Accept: */*", ">"]
        err += [f"< {h}" for h in headers] + ["<"]
    head_text = "".join(h + "\r\n" for h in headers) + "\r\n"
    if opts.get("head"):
        out = head_text
    else:
        out = (head_text if opts.get("include") else "") + body
    code = 0
    if opts.get("fail") and (resp.status or 0) >= 400:
        out = ""
        code = 22
        if not silent or show_err:
            err.append(f"curl: (22) The requested URL returned error: {resp.status}")
    if opts.get("output") and opts["output"] != "-":
        out = ""
    if verbose:
        err.append(f"* Connection #0 to host {conn.host} left intact")
    out += _write_out(opts.get("write_out"), resp, conn)
    return out, "".join(e + "\n" for e in err), code


def _write_out(fmt: str | None, resp: HTTPResponse, conn: Connection) -> str:
    if not fmt:
        return ""
    code = f"{resp.status:03d}" if resp.status else "000"
    values = {"http_code": code, "response_code": code, "remote_ip": conn.address or "",
              "remote_port": str(conn.port or ""), "time_total": "0.003214", "time_connect": "0.000812",
              "exitcode": "0", "url_effective": ""}
    out = fmt
    for k, v in values.items():
        out = out.replace("%{" + k + "}", v)
    return out.replace("\\n", "\n").replace("\\t", "\t")


def wget_output(cluster: Cluster, resp: HTTPResponse, url: str, opts: dict[str, Any]) -> Out:
    """busybox ``wget [-q] [-O FILE|-] [--spider] [-T SEC] URL``."""
    conn = resp.connection
    quiet, target, spider = opts.get("quiet", False), opts.get("output"), opts.get("spider", False)
    lines: list[str] = []
    addr = f"{conn.address}:{conn.port}"
    if conn.outcome == "unresolved":
        return "", f"wget: bad address '{conn.host}'\n", 1
    if not quiet:
        lines.append(f"Connecting to {conn.host} ({addr})")
    if resp.status is None:
        if conn.outcome == "refused":
            lines.append(f"wget: can't connect to remote host ({conn.address}): Connection refused")
        elif opts.get("timeout"):
            lines.append("wget: download timed out")
        else:
            lines.append(f"wget: can't connect to remote host ({conn.address}): Connection timed out")
        return "", "".join(ln + "\n" for ln in lines), 1
    if (resp.status or 0) >= 400 or resp.status in (301, 308):
        if resp.status in (301, 308) and not quiet:
            lines.append(f"wget: server returned error: {_status_line(resp)}")
            return "", "".join(ln + "\n" for ln in lines), 1
        lines.append(f"wget: server returned error: {_status_line(resp)}")
        return "", "".join(ln + "\n" for ln in lines), 1
    if spider:
        if not quiet:
            lines.append("remote file exists")
        return "", "".join(ln + "\n" for ln in lines), 0
    body, _ = _body(cluster, resp)
    size = len(body.encode())
    if target == "-":
        if not quiet:
            lines.append("writing to stdout")
        progress = f"-                    100% |********************************|   {size}  0:00:00 ETA"
        err_tail = "" if quiet else f"{progress}\nwritten to stdout\n"
        return body, "".join(ln + "\n" for ln in lines) + err_tail, 0
    name = target or "index.html"
    if not quiet:
        lines.append(f"saving to '{name}'")
        lines.append(f"{name:<20} 100% |********************************|   {size}  0:00:00 ETA")
        lines.append(f"'{name}' saved")
    return "", "".join(ln + "\n" for ln in lines), 0


def nc_output(conn: Connection, *, busybox: bool, verbose: bool, udp: bool = False) -> Out:
    """``nc -z[v] HOST PORT`` in busybox's words or OpenBSD netcat's (Debian, netshoot)."""
    host, port = conn.host, conn.port
    addr = conn.address or host
    proto = "udp" if udp else "tcp"
    if conn.outcome == "unresolved":
        return "", (f"nc: bad address '{host}'\n" if busybox else
                    f"nc: getaddrinfo for host \"{host}\" port {port}: Name or service not known\n"), 1
    service = {80: "http", 443: "https", 53: "domain", 22: "ssh", 6443: "*", 5432: "postgresql",
               6379: "redis", 3306: "mysql"}.get(port or 0, "*")
    if conn.outcome == "open":
        if not verbose:
            return "", "", 0
        if busybox:
            return "", f"{host} ({addr}:{port}) open\n", 0
        return "", f"Connection to {host} ({addr}) {port} port [{proto}/{service}] succeeded!\n", 0
    if udp:
        # UDP has no handshake: netcat reports success unless an ICMP error comes back.
        if conn.outcome == "refused":
            return "", "", 1
        return "", (f"{host} ({addr}:{port}) open\n" if busybox else
                    f"Connection to {host} ({addr}) {port} port [udp/{service}] succeeded!\n") if verbose else "", 0
    if conn.outcome == "refused":
        if busybox:
            return "", f"nc: {host} ({addr}:{port}): Connection refused\n", 1
        return "", f"nc: connect to {host} ({addr}) port {port} ({proto}) failed: Connection refused\n", 1
    if busybox:
        return "", f"nc: {host} ({addr}:{port}): Connection timed out\n", 1
    return "", f"nc: connect to {host} ({addr}) port {port} ({proto}) timed out: Operation now in progress\n", 1


def _ttl(conn: Connection) -> int:
    """64 minus the routers on the way: every namespace between the sender and the receiver."""
    if conn.trace is None:
        return 64
    seen: list[str] = []
    for h in conn.trace.request_hops:
        if not seen or seen[-1] != h.at:
            seen.append(h.at)
    return 64 - max(len(seen) - 2, 0)


def ping_output(conn: Connection, count: int, *, busybox: bool) -> Out:
    """``ping -c N HOST``: replies when the address's holder answers the echo; none for a cluster IP."""
    addr = conn.address or conn.host
    if conn.outcome == "unresolved":
        return "", (f"ping: bad address '{conn.host}'\n" if busybox else
                    f"ping: {conn.host}: Name or service not known\n"), 1 if busybox else 2
    answered = conn.outcome == "open"
    ttl = _ttl(conn)
    times = ["0.081", "0.094", "0.072", "0.088", "0.079"]
    if busybox:
        lines = [f"PING {conn.host} ({addr}): 56 data bytes"]
        if answered:
            lines += [f"64 bytes from {addr}: seq={i} ttl={ttl} time={times[i % 5]} ms" for i in range(count)]
        lines += ["", f"--- {conn.host} ping statistics ---",
                  f"{count} packets transmitted, {count if answered else 0} packets received, "
                  f"{0 if answered else 100}% packet loss"]
        if answered:
            lines.append("round-trip min/avg/max = 0.072/0.083/0.094 ms")
        return "".join(ln + "\n" for ln in lines), "", 0 if answered else 1
    lines = [f"PING {conn.host} ({addr}) 56(84) bytes of data."]
    if answered:
        lines += [f"64 bytes from {addr}: icmp_seq={i + 1} ttl={ttl} time={times[i % 5]} ms" for i in range(count)]
    lines += ["", f"--- {conn.host} ping statistics ---",
              f"{count} packets transmitted, {count if answered else 0} received, {0 if answered else 100}% packet "
              f"loss, time {max(count - 1, 0) * 1017}ms"]
    if answered:
        lines.append("rtt min/avg/max/mdev = 0.072/0.083/0.094/0.008 ms")
    return "".join(ln + "\n" for ln in lines), "", 0 if answered else 1


def busybox_nslookup(result: Any, server: str, server_name: str | None) -> Out:
    """busybox 1.28's ``nslookup NAME`` (the exam's ``busybox:1.28``): the server with its PTR name, then the
    name with each address and the address's own name."""
    head = [f"Server:    {server}", f"Address 1: {server}" + (f" {server_name}" if server_name else ""), ""]
    if not result.ok:
        return "\n".join(head) + "\n", f"nslookup: can't resolve '{result.name}'\n", 1
    lines = [f"Name:      {result.name}"]
    for i, rec in enumerate(result.answers_named if hasattr(result, "answers_named") else [], 1):
        lines.append(f"Address {i}: {rec}")
    return "\n".join(head + lines) + "\n", "", 0
