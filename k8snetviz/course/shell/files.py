"""The files a learner reads on a node or in a pod: CNI configuration and binaries, the kubelet's config,
the control plane's static pod manifests, ``/etc/resolv.conf`` and ``/etc/hosts``, ``/proc/sys``.

Each file's content comes from the program that writes it (``agents/cni/config.py``, ``agents/kubeadm_files.py``,
the kubelet's resolv.conf and hosts file); this module only knows where each one lives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from k8snetviz.course.shell.session import Session

__all__ = ["read", "listing", "node_files", "pod_files", "CNI_BINARIES"]

# What /opt/cni/bin holds: kind's node image ships the plugins kindnet needs; the other set-ups install the
# reference plugins (containernetworking/plugins), and flannel adds its own binary.
_REFERENCE = ("bandwidth", "bridge", "dhcp", "dummy", "firewall", "host-device", "host-local", "ipvlan", "loopback",
              "macvlan", "portmap", "ptp", "sbr", "static", "tap", "tuning", "vlan", "vrf")
CNI_BINARIES = {"kindnet": ("host-local", "loopback", "portmap", "ptp"), "bridge": _REFERENCE,
                "flannel": (*_REFERENCE[:6], "flannel", *_REFERENCE[6:])}
_BINARY_SIZE = 4_000_000


def node_files(session: Session, node: str) -> dict[str, str]:
    """Every file the model knows on ``node``, by absolute path."""
    from k8snetviz.agents import kubeadm_files as kf
    from k8snetviz.agents.cni import config as cc
    from k8snetviz.views.hostfiles import etc_hosts_text, node_resolv_conf

    cluster = session.cluster
    n = cluster.node(node)
    cfg = cluster.config
    files: dict[str, str] = {}
    conf = cc.conflist_file(cluster, n.name)
    files[conf.path] = conf.text
    files[kf.KUBELET_CONFIG] = kf.kubelet_config(cfg)
    files["/etc/kubernetes/kubelet.conf"] = _kubeconfig(cfg.name, f"system:node:{n.name}", _cp(session))
    files["/etc/resolv.conf"] = node_resolv_conf(cluster)
    files["/etc/hosts"] = etc_hosts_text({"localhost": ["127.0.0.1", "::1"], n.name: [str(n.internal_ip)]},
                                         managed=False)
    files["/etc/hostname"] = n.name + "\n"
    ns = cluster.netns[f"node/{n.name}"]
    files["/proc/sys/net/ipv4/ip_forward"] = ns.sysctl("net.ipv4.ip_forward") + "\n"
    files["/proc/sys/net/bridge/bridge-nf-call-iptables"] = ns.sysctl("net.bridge.bridge-nf-call-iptables") + "\n"
    for path, text in cc.host_local_files(cluster, n.name).items():
        files[path] = text
    if cfg.cni == "flannel":
        files["/run/flannel/subnet.env"] = cc.flannel_subnet_env(str(n.pod_cidr))
    for b in CNI_BINARIES.get(cfg.cni, _REFERENCE):
        files[f"{cc.CNI_BIN_DIR_KIND}/{b}"] = "\0"  # a binary: cat prints nothing readable
    if n.role == "control-plane":
        for name, text in kf.static_pods(cfg, n.name, str(n.internal_ip)).items():
            files[f"{kf.MANIFESTS_DIR}/{name}"] = text
        for conf_name, user in (("admin.conf", "kubernetes-admin"), ("super-admin.conf", "kubernetes-super-admin"),
                                ("controller-manager.conf", "system:kube-controller-manager"),
                                ("scheduler.conf", "system:kube-scheduler")):
            files[f"/etc/kubernetes/{conf_name}"] = _kubeconfig(cfg.name, user, _cp(session))
        for pki in ("ca.crt", "ca.key", "apiserver.crt", "apiserver.key", "sa.key", "sa.pub",
                    "front-proxy-ca.crt", "front-proxy-ca.key"):
            files[f"/etc/kubernetes/pki/{pki}"] = "-----BEGIN CERTIFICATE-----\n(not shown)\n" \
                "-----END CERTIFICATE-----\n" if pki.endswith(".crt") else "(a key: not shown)\n"
    else:
        files["/etc/kubernetes/pki/ca.crt"] = "-----BEGIN CERTIFICATE-----\n(not shown)\n-----END CERTIFICATE-----\n"
    return files


def _cp(session: Session) -> str:
    cluster = session.cluster
    cp = next((n for n in cluster.nodes.values() if n.role == "control-plane"), next(iter(cluster.nodes.values())))
    return cp.name


def _kubeconfig(cluster: str, user: str, server_host: str) -> str:
    return f"""\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: DATA+OMITTED
    server: https://{server_host}:6443
  name: {cluster}
contexts:
- context:
    cluster: {cluster}
    user: {user}
  name: {user}@{cluster}
current-context: {user}@{cluster}
kind: Config
preferences: {{}}
users:
- name: {user}
  user:
    client-certificate-data: DATA+OMITTED
    client-key-data: DATA+OMITTED
"""


def pod_files(session: Session, pod_key: str) -> dict[str, str]:
    """The files a pod's containers see that the kubelet writes: resolv.conf, hosts, hostname."""
    from k8snetviz.questions.resolve import etc_hosts, resolv_conf
    from k8snetviz.views.hostfiles import etc_hosts_text

    cluster = session.cluster
    pod = cluster.pod(pod_key)
    files = {"/etc/resolv.conf": resolv_conf(cluster, pod.key),
             "/etc/hostname": (pod.hostname or pod.name) + "\n",
             "/var/run/secrets/kubernetes.io/serviceaccount/namespace": pod.namespace,
             "/proc/sys/net/ipv4/ip_forward": "0\n"}
    if pod.host_network:
        return {**node_files(session, pod.node_name), **files}
    files["/etc/hosts"] = etc_hosts_text(etc_hosts(cluster, pod))
    return files


def _files_here(session: Session) -> dict[str, str]:
    p = session.place
    if p.kind == "node":
        return node_files(session, p.name)
    if p.kind == "pod":
        return pod_files(session, p.name)
    return {}


def read(session: Session, path: str) -> str | None:
    """The content of ``path`` where the terminal is, or None when there is no such file."""
    if path in session.files:
        return session.files[path]
    return _files_here(session).get(path)


def listing(session: Session, path: str) -> dict[str, int] | None:
    """``ls PATH``: entry → size (-1 for a directory), or None when PATH is not a directory."""
    from k8snetviz.agents.cni.config import CNI_BIN_DIR_KIND

    path = path.rstrip("/") or "/"
    prefix = "" if path == "/" else path
    entries: dict[str, int] = {}
    for f, text in [*_files_here(session).items(), *session.files.items()]:
        if f.startswith(prefix + "/"):
            rest = f[len(prefix) + 1:]
            head, sep, _ = rest.partition("/")
            if sep:
                entries[head] = -1
            else:
                entries[head] = _BINARY_SIZE + len(head) * 4096 if f.startswith(CNI_BIN_DIR_KIND) else \
                    len(text.encode())
    if not entries:
        return {} if path in (session.env.get("HOME", "/root"), "/tmp", "/opt") else None
    return entries
