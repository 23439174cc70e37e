"""The files ``kubeadm`` (as kind runs it) writes on the nodes, and the configuration it stores in ConfigMaps.

- ``/etc/kubernetes/manifests/*.yaml`` on the control-plane node: the static pods of etcd, kube-apiserver,
  kube-controller-manager and kube-scheduler, with kubeadm's flags in its order (alphabetical). The
  networking ones come from the cluster: ``--service-cluster-ip-range`` (the service subnet),
  ``--cluster-cidr`` and ``--allocate-node-cidrs`` (the pod subnet), ``--advertise-address`` (the node's IP).
- ``/var/lib/kubelet/config.yaml`` on every node: ``clusterDNS`` (the kube-dns address) and
  ``clusterDomain``, kind's cgroup settings.
- the ConfigMaps ``kube-system/kubeadm-config`` (ClusterConfiguration with ``podSubnet`` and
  ``serviceSubnet``) and ``kube-system/kube-proxy`` (``config.conf`` with ``mode`` and ``clusterCIDR``).

Flags and fields are those of a kind cluster (kind's ``pkg/cluster/internal/kubeadm/config.go``, and
``kubectl -n kube-system get pod kube-apiserver-kind-control-plane -o yaml`` on kind v0.25).

>>> from k8snetviz.api.config import ClusterConfig
>>> "--service-cluster-ip-range=10.96.0.0/16" in static_pods(ClusterConfig(), "kind-control-plane", "172.18.0.2")[
...     "kube-apiserver.yaml"]
True
"""

from __future__ import annotations

from typing import Any

import yaml

from k8snetviz.api.config import ClusterConfig

__all__ = ["static_pods", "static_pod_manifests", "kubelet_config", "kube_proxy_config", "kubeadm_config",
           "MANIFESTS_DIR", "KUBELET_CONFIG", "KUBERNETES_VERSION", "IMAGES"]

MANIFESTS_DIR = "/etc/kubernetes/manifests"
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
KUBERNETES_VERSION = "v1.33.1"
IMAGES = {
    "etcd": "registry.k8s.io/etcd:3.5.21-0",
    "kube-apiserver": f"registry.k8s.io/kube-apiserver:{KUBERNETES_VERSION}",
    "kube-controller-manager": f"registry.k8s.io/kube-controller-manager:{KUBERNETES_VERSION}",
    "kube-scheduler": f"registry.k8s.io/kube-scheduler:{KUBERNETES_VERSION}",
    "kube-proxy": f"registry.k8s.io/kube-proxy:{KUBERNETES_VERSION}",
    "kindnetd": "docker.io/kindest/kindnetd:v20250512-df8de77b",
}


def _apiserver(cfg: ClusterConfig, ip: str) -> list[str]:
    return [
        "kube-apiserver",
        f"--advertise-address={ip}",
        "--allow-privileged=true",
        "--authorization-mode=Node,RBAC",
        "--client-ca-file=/etc/kubernetes/pki/ca.crt",
        "--enable-admission-plugins=NodeRestriction",
        "--enable-bootstrap-token-auth=true",
        "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt",
        "--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt",
        "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key",
        "--etcd-servers=https://127.0.0.1:2379",
        "--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt",
        "--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key",
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        "--proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt",
        "--proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-username-headers=X-Remote-User",
        "--runtime-config=",
        "--secure-port=6443",
        f"--service-account-issuer=https://kubernetes.default.svc.{cfg.cluster_domain}",
        "--service-account-key-file=/etc/kubernetes/pki/sa.pub",
        "--service-account-signing-key-file=/etc/kubernetes/pki/sa.key",
        f"--service-cluster-ip-range={cfg.service_subnet}",
        "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt",
        "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
    ]


def _controller_manager(cfg: ClusterConfig) -> list[str]:
    return [
        "kube-controller-manager",
        "--allocate-node-cidrs=true",
        "--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf",
        "--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf",
        "--bind-address=127.0.0.1",
        "--client-ca-file=/etc/kubernetes/pki/ca.crt",
        f"--cluster-cidr={cfg.pod_subnet}",
        f"--cluster-name={cfg.name}",
        "--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt",
        "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key",
        "--controllers=*,bootstrapsigner,tokencleaner",
        "--enable-hostpath-provisioner=true",
        "--kubeconfig=/etc/kubernetes/controller-manager.conf",
        "--leader-elect=true",
        "--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt",
        "--root-ca-file=/etc/kubernetes/pki/ca.crt",
        "--service-account-private-key-file=/etc/kubernetes/pki/sa.key",
        f"--service-cluster-ip-range={cfg.service_subnet}",
        "--use-service-account-credentials=true",
    ]


def _scheduler() -> list[str]:
    return [
        "kube-scheduler",
        "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf",
        "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf",
        "--bind-address=127.0.0.1",
        "--kubeconfig=/etc/kubernetes/scheduler.conf",
        "--leader-elect=true",
    ]


def _etcd(node: str, ip: str) -> list[str]:
    return [
        "etcd",
        f"--advertise-client-urls=https://{ip}:2379",
        "--cert-file=/etc/kubernetes/pki/etcd/server.crt",
        "--client-cert-auth=true",
        "--data-dir=/var/lib/etcd",
        "--experimental-initial-corrupt-check=true",
        "--experimental-watch-progress-notify-interval=5s",
        f"--initial-advertise-peer-urls=https://{ip}:2380",
        f"--initial-cluster={node}=https://{ip}:2380",
        "--key-file=/etc/kubernetes/pki/etcd/server.key",
        f"--listen-client-urls=https://127.0.0.1:2379,https://{ip}:2379",
        "--listen-metrics-urls=http://127.0.0.1:2381",
        f"--listen-peer-urls=https://{ip}:2380",
        f"--name={node}",
        "--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt",
        "--peer-client-cert-auth=true",
        "--peer-key-file=/etc/kubernetes/pki/etcd/peer.key",
        "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
        "--snapshot-count=10000",
        "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
    ]


def static_pod_manifests(cfg: ClusterConfig, node: str, ip: str) -> dict[str, dict[str, Any]]:
    """The four static pods as objects, by component name."""
    commands = {"etcd": _etcd(node, ip), "kube-apiserver": _apiserver(cfg, ip),
                "kube-controller-manager": _controller_manager(cfg), "kube-scheduler": _scheduler()}
    ports = {"etcd": 2381, "kube-apiserver": 6443, "kube-controller-manager": 10257, "kube-scheduler": 10259}
    out: dict[str, dict[str, Any]] = {}
    for comp, cmd in commands.items():
        probe_host = ip if comp == "kube-apiserver" else "127.0.0.1"
        scheme = "HTTP" if comp == "etcd" else "HTTPS"
        path = {"etcd": "/health?exclude=NOSPACE&serializable=true", "kube-apiserver": "/livez"}.get(comp, "/healthz")
        md: dict[str, Any] = {"labels": {"component": comp, "tier": "control-plane"}, "name": comp,
                              "namespace": "kube-system"}
        if comp == "kube-apiserver":
            md["annotations"] = {"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": f"{ip}:6443"}
        elif comp == "etcd":
            md["annotations"] = {"kubeadm.kubernetes.io/etcd.advertise-client-urls": f"https://{ip}:2379"}
        out[comp] = {
            "apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {
                "containers": [{
                    "command": cmd, "image": IMAGES[comp], "imagePullPolicy": "IfNotPresent",
                    "livenessProbe": {"failureThreshold": 8, "httpGet": {
                        "host": probe_host, "path": path, "port": ports[comp], "scheme": scheme},
                        "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 15},
                    "name": comp,
                    "resources": {"requests": {"cpu": {"etcd": "100m", "kube-apiserver": "250m",
                                                       "kube-controller-manager": "200m",
                                                       "kube-scheduler": "100m"}[comp]}},
                }],
                "hostNetwork": True,
                "priority": 2000001000,
                "priorityClassName": "system-node-critical",
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            },
            "status": {},
        }
    return out


def static_pods(cfg: ClusterConfig, node: str, ip: str) -> dict[str, str]:
    """``/etc/kubernetes/manifests/``: file name → YAML, as kubeadm writes them."""
    return {f"{comp}.yaml": yaml.safe_dump(body, sort_keys=False, default_flow_style=False)
            for comp, body in static_pod_manifests(cfg, node, ip).items()}


def kubelet_config(cfg: ClusterConfig) -> str:
    """``/var/lib/kubelet/config.yaml`` on a kind node."""
    return f"""\
apiVersion: kubelet.config.k8s.io/v1beta1
authentication:
  anonymous:
    enabled: false
  webhook:
    cacheTTL: 0s
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
  webhook:
    cacheAuthorizedTTL: 0s
    cacheUnauthorizedTTL: 0s
cgroupDriver: systemd
cgroupRoot: /kubelet
clusterDNS:
- {cfg.dns_service_ip}
clusterDomain: {cfg.cluster_domain}
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
cpuManagerReconcilePeriod: 0s
evictionHard:
  imagefs.available: 0%
  nodefs.available: 0%
  nodefs.inodesFree: 0%
evictionPressureTransitionPeriod: 0s
failSwapOn: false
fileCheckFrequency: 0s
healthzBindAddress: 127.0.0.1
healthzPort: 10248
httpCheckFrequency: 0s
imageGCHighThresholdPercent: 100
imageMaximumGCAge: 0s
imageMinimumGCAge: 0s
kind: KubeletConfiguration
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
    text:
      infoBufferSize: "0"
  verbosity: 0
memorySwap: {{}}
nodeStatusReportFrequency: 0s
nodeStatusUpdateFrequency: 0s
rotateCertificates: true
runtimeRequestTimeout: 0s
shutdownGracePeriod: 0s
shutdownGracePeriodCriticalPods: 0s
staticPodPath: /etc/kubernetes/manifests
streamingConnectionIdleTimeout: 0s
syncFrequency: 0s
volumeStatsAggPeriod: 0s
"""


def kube_proxy_config(cfg: ClusterConfig) -> str:
    """``config.conf`` of the ConfigMap ``kube-system/kube-proxy`` (kubeadm's defaults with kind's settings)."""
    return f"""\
apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
bindAddressHardFail: false
clientConnection:
  acceptContentTypes: ""
  burst: 0
  contentType: ""
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
  qps: 0
clusterCIDR: {cfg.pod_subnet}
configSyncPeriod: 0s
conntrack:
  maxPerCore: 0
  min: null
  tcpBeLiberal: false
  tcpCloseWaitTimeout: null
  tcpEstablishedTimeout: null
  udpStreamTimeout: 0s
  udpTimeout: 0s
detectLocal:
  bridgeInterface: ""
  interfaceNamePrefix: ""
detectLocalMode: ""
enableProfiling: false
healthzBindAddress: ""
hostnameOverride: ""
iptables:
  localhostNodePorts: null
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 1s
  syncPeriod: 0s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 0s
  scheduler: ""
  strictARP: false
  syncPeriod: 0s
  tcpFinTimeout: 0s
  tcpTimeout: 0s
  udpTimeout: 0s
kind: KubeProxyConfiguration
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
    text:
      infoBufferSize: "0"
  verbosity: 0
metricsBindAddress: ""
mode: {cfg.kube_proxy_mode}
nftables:
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
nodePortAddresses: null
oomScoreAdj: null
portRange: ""
showHiddenMetricsForVersion: ""
winkernel:
  enableDSR: false
  forwardHealthCheckVip: false
  networkName: ""
  rootHnsEndpointName: ""
  sourceVip: ""
"""


def kubeadm_config(cfg: ClusterConfig, control_plane: str) -> str:
    """``ClusterConfiguration`` of the ConfigMap ``kube-system/kubeadm-config``."""
    return f"""\
apiServer:
  certSANs:
  - localhost
  - 127.0.0.1
  extraArgs:
  - name: runtime-config
    value: ""
apiVersion: kubeadm.k8s.io/v1beta4
caCertificateValidityPeriod: 87600h0m0s
certificateValidityPeriod: 8760h0m0s
certificatesDir: /etc/kubernetes/pki
clusterName: {cfg.name}
controlPlaneEndpoint: {control_plane}:6443
controllerManager:
  extraArgs:
  - name: enable-hostpath-provisioner
    value: "true"
dns: {{}}
encryptionAlgorithm: RSA-2048
etcd:
  local:
    dataDir: /var/lib/etcd
imageRepository: registry.k8s.io
kind: ClusterConfiguration
kubernetesVersion: {KUBERNETES_VERSION}
networking:
  dnsDomain: {cfg.cluster_domain}
  podSubnet: {cfg.pod_subnet}
  serviceSubnet: {cfg.service_subnet}
proxy: {{}}
scheduler: {{}}
"""
