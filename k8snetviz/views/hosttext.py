"""What a node's own tools print: ``ip addr``, ``ip netns``, ``crictl ps|pods|inspect|inspectp``, ``ps aux``,
``systemctl status kubelet``, ``journalctl -u kubelet``, ``conntrack -L``, ``ss -tlnp``, ``sysctl -a``.

Identifiers a runtime makes up (container and sandbox IDs, the ``cni-…`` namespace names, PIDs) are
derived from the objects' names, so they are the same on every run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from ipaddress import IPv4Interface
from typing import TYPE_CHECKING, Any

from k8snetviz.views.iproute import link_name

if TYPE_CHECKING:
    from k8snetviz.api.objects import Pod
    from k8snetviz.cluster import Cluster
    from k8snetviz.kernel.netns import Interface, NetNS

__all__ = ["ip_addr", "netns_name", "container_id", "sandbox_id", "crictl_ps", "crictl_pods", "image_id",
           "crictl_inspect", "crictl_inspectp", "ps_aux", "systemctl_status", "journalctl_kubelet", "conntrack_list",
           "ss_listening", "sysctl_all", "kubelet_command", "name_matches"]


def _hex(seed: str, n: int = 64) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def _uuid(seed: str) -> str:
    h = _hex(seed, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def netns_name(pod: Pod) -> str:
    """The name the runtime gives a pod's network namespace (``/var/run/netns/cni-…``)."""
    return f"cni-{_uuid('netns/' + pod.key)}"


def container_id(pod: Pod, container: str) -> str:
    return _hex(f"container/{pod.key}/{container}")


def image_id(image: str) -> str:
    return _hex(f"image/{image}")


def sandbox_id(pod: Pod) -> str:
    return _hex(f"sandbox/{pod.key}")


def _pid(seed: str) -> int:
    return 200 + int(_hex(seed, 6), 16) % 3800


def _state(i: Interface) -> str:
    if i.kind in ("loopback", "vxlan"):
        return "UNKNOWN"
    return "UP" if i.up else "DOWN"


def ip_addr(ns: NetNS, dev: str | None = None) -> str:
    """``ip addr [show DEV]``: each device with its link line and addresses."""
    out = []
    for i in sorted(ns.interfaces.values(), key=lambda i: i.ifindex):
        if dev is not None and i.name != dev:
            continue
        flags = "<LOOPBACK,UP,LOWER_UP>" if i.kind == "loopback" else "<BROADCAST,MULTICAST,UP,LOWER_UP>"
        master = f" master {i.master}" if i.master else ""
        qlen = " qlen 1000" if i.kind in ("loopback", "bridge", "vxlan") else ""
        out.append(f"{i.ifindex}: {link_name(i)}: {flags} mtu {i.mtu} qdisc noqueue{master} state {_state(i)} "
                   f"group default{qlen}")
        if i.kind == "loopback":
            out.append("    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00")
        else:
            out.append(f"    link/ether {i.mac} brd ff:ff:ff:ff:ff:ff" + (" link-netnsid 0" if i.peer_ifindex else ""))
        for a in i.addrs:
            out.append(_inet(a, i))
            out.append("       valid_lft forever preferred_lft forever")
    return "\n".join(out)


def _inet(a: IPv4Interface, i: Interface) -> str:
    if i.kind == "loopback":
        return f"    inet {a} scope host {i.name}"
    brd = f" brd {a.network.broadcast_address}" if a.network.prefixlen < 31 else ""
    return f"    inet {a}{brd} scope global {i.name}"


# --- the container runtime -------------------------------------------------------------------------------

def _containers(pod: Pod) -> list[dict[str, Any]]:
    return list((pod.raw.get("spec") or {}).get("containers") or [])


def name_matches(pattern: str, name: str) -> bool:
    """crictl's ``--name`` filter: a regular expression (Go's), searched in the name; one that does not compile
    is taken as plain text."""
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return pattern in name


def crictl_ps(cluster: Cluster, node: str, *, all_: bool = False, name: str | None = None) -> str:
    """``crictl ps``: the running containers of ``node``'s pods."""
    from k8snetviz.views.table import tabwrite

    rows = ["CONTAINER\tIMAGE\tCREATED\tSTATE\tNAME\tATTEMPT\tPOD ID\tPOD\tNAMESPACE"]
    for p in sorted(cluster.pods.values(), key=lambda p: (p.namespace, p.name)):
        if p.node_name != node:
            continue
        for c in _containers(p):
            cname = str(c.get("name", ""))
            if name and not name_matches(name, cname):
                continue
            state = "Running" if p.phase == "Running" else "Exited"
            rows.append(f"{container_id(p, cname)[:13]}\t{_hex('image/' + str(c.get('image', '')))[:13]}\t"
                        f"5 minutes ago\t{state}\t{cname}\t0\t{sandbox_id(p)[:13]}\t{p.name}\t{p.namespace}")
    return tabwrite("\n".join(rows) + "\n", minwidth=0, padding=3).removesuffix("\n")


def crictl_pods(cluster: Cluster, node: str, *, name: str | None = None, namespace: str | None = None) -> str:
    """``crictl pods``: the pod sandboxes on ``node``."""
    from k8snetviz.views.table import tabwrite

    rows = ["POD ID\tCREATED\tSTATE\tNAME\tNAMESPACE\tATTEMPT\tRUNTIME"]
    for p in sorted(cluster.pods.values(), key=lambda p: (p.namespace, p.name)):
        if p.node_name != node or (name and not name_matches(name, p.name)) or (namespace and p.namespace != namespace):
            continue
        rows.append(f"{sandbox_id(p)[:13]}\t5 minutes ago\tReady\t{p.name}\t{p.namespace}\t0\t(default)")
    return tabwrite("\n".join(rows) + "\n", minwidth=0, padding=3).removesuffix("\n")


def crictl_inspectp(cluster: Cluster, pod: Pod) -> str:
    """``crictl inspectp POD-ID``: the sandbox's status, with its network namespace and IP."""
    netns = "" if pod.host_network else f"/var/run/netns/{netns_name(pod)}"
    info = {
        "status": {
            "id": sandbox_id(pod), "metadata": {"attempt": 0, "name": pod.name, "namespace": pod.namespace,
                                                "uid": _uuid("pod/" + pod.key)},
            "state": "SANDBOX_READY", "createdAt": "2025-01-01T11:55:00.000000000Z",
            "network": {"additionalIps": [], "ip": str(pod.ip) if pod.ip else ""},
            "linux": {"namespaces": {"options": {"ipc": "POD", "network": "NODE" if pod.host_network else "POD",
                                                 "pid": "CONTAINER", "targetId": "", "userNs": {"mode": "NODE"}}}},
            "labels": {"io.kubernetes.pod.name": pod.name, "io.kubernetes.pod.namespace": pod.namespace,
                       "io.kubernetes.pod.uid": _uuid("pod/" + pod.key), **pod.labels},
            "annotations": {"kubernetes.io/config.seen": "2025-01-01T11:55:00.000000000Z",
                            "kubernetes.io/config.source": "api"},
            "runtimeHandler": "",
        },
        "info": {
            "pid": _pid("sandbox/" + pod.key),
            "runtimeSpec": {"linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
                                                     {"type": "mount"}]
                                      + ([] if pod.host_network else [{"type": "network", "path": netns}])}},
            "cniResult": None if pod.host_network else {
                "Interfaces": {"eth0": {"IPConfigs": [{"IP": str(pod.ip), "Gateway": str(
                    cluster.nodes[pod.node_name].pod_cidr.network_address + 1)}], "Mac": "", "Sandbox": netns}},
                "DNS": [{}, {}], "Routes": None},
        },
    }
    return json.dumps(info, indent=2)


def crictl_inspect(cluster: Cluster, pod: Pod, container: str) -> str:
    """``crictl inspect CONTAINER-ID``: the container's status, image and PID."""
    c = next((c for c in _containers(pod) if c.get("name") == container), {})
    info = {
        "status": {
            "id": container_id(pod, container), "metadata": {"attempt": 0, "name": container},
            "state": "CONTAINER_RUNNING", "createdAt": "2025-01-01T11:55:01.000000000Z",
            "startedAt": "2025-01-01T11:55:01.000000000Z", "finishedAt": "0001-01-01T00:00:00Z", "exitCode": 0,
            "image": {"image": c.get("image", "")}, "imageRef": c.get("image", ""),
            "labels": {"io.kubernetes.container.name": container, "io.kubernetes.pod.name": pod.name,
                       "io.kubernetes.pod.namespace": pod.namespace},
            "logPath": f"/var/log/pods/{pod.namespace}_{pod.name}_{_uuid('pod/' + pod.key)}/{container}/0.log",
        },
        "info": {"sandboxID": sandbox_id(pod), "pid": _pid(f"container/{pod.key}/{container}"),
                 "runtimeSpec": {"process": {"args": list(c.get("command") or []) + list(c.get("args") or [])}}},
    }
    return json.dumps(info, indent=2)


# --- processes and services ------------------------------------------------------------------------------

def kubelet_command(cluster: Cluster, node: str) -> str:
    n = cluster.nodes[node]
    return ("/usr/bin/kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf "
            "--kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml "
            "--container-runtime-endpoint=unix:///run/containerd/containerd.sock "
            f"--node-ip={n.internal_ip} --node-labels= --pod-infra-container-image=registry.k8s.io/pause:3.10 "
            f"--provider-id=kind://docker/{cluster.config.name}/{node} "
            "--runtime-cgroups=/system.slice/containerd.service")


def ps_aux(cluster: Cluster, node: str) -> str:
    """``ps aux`` on a node: systemd, containerd, the kubelet, and each pod's shim, pause and processes."""
    from k8snetviz.agents import kubeadm_files as kf

    n = cluster.nodes[node]
    rows = ["USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND",
            "root           1  0.0  0.0  18960 11264 ?        Ss   11:54   0:00 /sbin/init",
            "root          95  0.0  0.0  27464 10240 ?        Ss   11:54   0:00 /lib/systemd/systemd-journald",
            "root         108  0.8  0.3 2235344 57344 ?       Ssl  11:54   0:02 /usr/local/bin/containerd",
            f"root         231  1.9  0.5 2418412 89088 ?       Ssl  11:54   0:06 {kubelet_command(cluster, node)}"]
    statics = kf.static_pod_manifests(cluster.config, node, str(n.internal_ip)) if n.role == "control-plane" else {}
    for comp, body in statics.items():
        cmd = " ".join(body["spec"]["containers"][0]["command"])
        rows.append(f"root        {_pid('static/' + comp):>4}  2.1  1.6 1520464 262144 ?      Ssl  11:54   0:07 {cmd}")
    for p in sorted(cluster.pods.values(), key=lambda p: (p.namespace, p.name)):
        if p.node_name != node:
            continue
        sid = sandbox_id(p)
        rows.append(f"root        {_pid('shim/' + p.key):>4}  0.0  0.0 1233540 13312 ?       Sl   11:55   0:00 "
                    f"/usr/local/bin/containerd-shim-runc-v2 -namespace k8s.io -id {sid} -address "
                    "/run/containerd/containerd.sock")
        rows.append(f"65535       {_pid('pause/' + p.key):>4}  0.0  0.0   1020   640 ?        Ss   11:55   0:00 "
                    "/pause")
        for c in _containers(p):
            image = str(c.get("image", ""))
            cmd = " ".join(str(x) for x in (c.get("command") or []) + (c.get("args") or [])) or _default_cmd(
                image, cluster, node)
            user = "101" if "nginx" in image else "root"
            pid = _pid("container/" + p.key + "/" + str(c.get("name", "")))
            rows.append(f"{user:<8}    {pid:>4}  0.0  0.0  11404  7424 ?        Ss   11:55   0:00 {cmd}")
    return "\n".join(rows)


def _default_cmd(image: str, cluster: Cluster, node: str) -> str:
    if "coredns" in image:
        return "/coredns -conf /etc/coredns/Corefile"
    if "kube-proxy" in image:
        return f"/usr/local/bin/kube-proxy --config=/var/lib/kube-proxy/config.conf --hostname-override={node}"
    if "kindnetd" in image:
        return "/bin/kindnetd"
    if "nginx" in image and "ingress" not in image:
        return "nginx: master process nginx -g daemon off;"
    if "ingress" in image:
        return "/nginx-ingress-controller --publish-service=ingress-nginx/ingress-nginx-controller"
    return image.rsplit("/", 1)[-1].split(":")[0]


def systemctl_status(cluster: Cluster, node: str, unit: str) -> str:
    """``systemctl status kubelet`` (or containerd)."""
    if unit in ("containerd", "containerd.service"):
        return ("● containerd.service - containerd container runtime\n"
                "     Loaded: loaded (/etc/systemd/system/containerd.service; enabled; preset: enabled)\n"
                "     Active: active (running) since Wed 2025-01-01 11:54:48 UTC; 5min ago\n"
                "       Docs: https://containerd.io\n"
                "   Main PID: 108 (containerd)\n"
                "      Tasks: 120\n"
                "     Memory: 95.3M\n"
                "        CPU: 6.211s\n"
                "     CGroup: /system.slice/containerd.service\n"
                "             └─108 /usr/local/bin/containerd")
    return ("● kubelet.service - kubelet: The Kubernetes Node Agent\n"
            "     Loaded: loaded (/etc/systemd/system/kubelet.service; enabled; preset: enabled)\n"
            "    Drop-In: /etc/systemd/system/kubelet.service.d\n"
            "             └─10-kubeadm.conf, 11-kind.conf\n"
            "     Active: active (running) since Wed 2025-01-01 11:54:50 UTC; 5min ago\n"
            "       Docs: http://kubernetes.io/docs/\n"
            "   Main PID: 231 (kubelet)\n"
            "      Tasks: 17 (limit: 19005)\n"
            "     Memory: 40.5M\n"
            "        CPU: 12.345s\n"
            "     CGroup: /kubelet.slice/kubelet.service\n"
            f"             └─231 {kubelet_command(cluster, node)}")


def journalctl_kubelet(cluster: Cluster, node: str) -> str:
    """``journalctl -u kubelet``: the kubelet starting, its CNI, and each pod's sandbox."""
    head = f"Jan 01 11:54:50 {node}"
    lines = [f"{head} systemd[1]: Started kubelet.service - kubelet: The Kubernetes Node Agent.",
             f'{head} kubelet[231]: I0101 11:54:50.120000     231 server.go:530] "Kubelet version" '
             'kubeletVersion="v1.33.1"',
             f'{head} kubelet[231]: I0101 11:54:50.310000     231 kubelet_node_status.go:75] "Attempting to register '
             f'node" node="{node}"',
             f'{head} kubelet[231]: I0101 11:54:51.020000     231 kubelet_node_status.go:78] "Successfully '
             f'registered node" node="{node}"',
             f'{head} kubelet[231]: I0101 11:54:52.500000     231 kuberuntime_manager.go:1702] "Updating runtime '
             f'config through cri with podcidr" CIDR="{cluster.nodes[node].pod_cidr}"',
             f'{head} kubelet[231]: I0101 11:54:52.510000     231 kubelet_network.go:61] "Updating Pod CIDR" '
             f'originalPodCIDR="" newPodCIDR="{cluster.nodes[node].pod_cidr}"']
    for p in sorted(cluster.pods.values(), key=lambda p: (p.namespace, p.name)):
        if p.node_name != node:
            continue
        lines.append(f'Jan 01 11:55:00 {node} kubelet[231]: I0101 11:55:00.100000     231 '
                     f'pod_startup_latency_tracker.go:104] "Observed pod startup duration" pod="{p.key}"')
    return "\n".join(lines)


def conntrack_list(entries: Sequence[tuple[str, str, str, str, str]]) -> tuple[str, str]:
    """``conntrack -L``: (proto, orig src:port, orig dst:port, reply src:port, reply dst:port) per flow."""
    out = []
    for proto, osrc, odst, rsrc, rdst in entries:
        (os_, op), (od, odp) = osrc.rsplit(":", 1), odst.rsplit(":", 1)
        (rs, rp), (rd, rdp) = rsrc.rsplit(":", 1), rdst.rsplit(":", 1)
        if proto == "udp":
            out.append(f"udp      17 29 src={os_} dst={od} sport={op} dport={odp} src={rs} dst={rd} sport={rp} "
                       f"dport={rdp} mark=0 use=1")
        else:
            out.append(f"tcp      6 86397 ESTABLISHED src={os_} dst={od} sport={op} dport={odp} src={rs} dst={rd} "
                       f"sport={rp} dport={rdp} [ASSURED] mark=0 use=1")
    return "\n".join(out), f"conntrack v1.4.7 (conntrack-tools): {len(out)} flow entries have been shown.\n"


def ss_listening(cluster: Cluster, node: str, *, processes: bool = True) -> str:
    """``ss -tlnp`` on a node: the kubelet, kube-proxy's health check, the control plane's listeners."""
    n = cluster.nodes[node]
    ip = str(n.internal_ip)
    rows = [("127.0.0.1:10248", "kubelet", 231), ("127.0.0.1:10249", "kube-proxy", 1000),
            ("127.0.0.11:40261", "containerd", 108), ("*:10250", "kubelet", 231), ("*:10256", "kube-proxy", 1000)]
    if n.role == "control-plane":
        rows += [(f"{ip}:2379", "etcd", 300), ("127.0.0.1:2379", "etcd", 300), (f"{ip}:2380", "etcd", 300),
                 ("127.0.0.1:2381", "etcd", 300), ("*:6443", "kube-apiserver", 310),
                 ("127.0.0.1:10257", "kube-controller-ma", 320), ("127.0.0.1:10259", "kube-scheduler", 330)]
    out = ["State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess"]
    for addr, proc, pid in sorted(rows):
        line = f"LISTEN 0      4096   {addr:<18} {'*:*' if addr.startswith('*') else '0.0.0.0:*':<16}"
        if processes:
            line += f'users:(("{proc}",pid={pid},fd=20))'
        out.append(line.rstrip())
    return "\n".join(out)


def sysctl_all(ns: NetNS) -> str:
    from k8snetviz.kernel.netns import SYSCTL_DEFAULTS

    keys = sorted(set(SYSCTL_DEFAULTS) | set(ns.sysctls))
    return "\n".join(f"{k} = {ns.sysctl(k)}" for k in keys)
