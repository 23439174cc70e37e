"""A cluster at Kubernetes' documented limits, as YAML text, generated on the fly for the benchmarks.

Kubernetes documents its limits ("Considerations for large clusters"): 5,000 nodes, 150,000 pods,
10,000 Services. The cluster here is written the way ``kubectl get -o yaml`` would dump one, as plain
manifests the loader has to parse and honour:

- Nodes with ``spec.podCIDR`` and their ``InternalIP``;
- Pods with ``spec.nodeName``, ``status.podIP`` and a container port, in 100 namespaces;
- Services with ``spec.clusterIP`` and a selector; Service ``s`` selects exactly ``endpoints`` pods
  (of its own namespace), so the EndpointSlice controller lists ``services * endpoints`` endpoints;
- NetworkPolicies of the shapes the course teaches (default deny, pod and namespace selectors,
  matchExpressions, ipBlock with except, named ports).

Nothing here is committed output: :func:`limits_yaml` writes the text each time it is called.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

__all__ = ["limits_yaml", "LIMITS", "POD_SUBNET", "NAMESPACES", "system_pods"]

LIMITS = {"nodes": 5000, "pods": 150_000, "services": 10_000, "endpoints": 10, "policies": 500}


def system_pods(nodes: int) -> int:
    """The pods kind runs by itself, which the model adds: kube-proxy's and kindnet's on every node, the
    control plane's four static pods, CoreDNS's two replicas, local-path-provisioner. The dump's own pods are
    the rest of Kubernetes' 150,000 (the limit counts every pod)."""
    return 2 * nodes + 4 + 2 + 1
POD_SUBNET = "10.0.0.0/11"  # 8,192 node /24s
NODE_NETWORK = "172.18.0.0/16"
NAMESPACES = 100


def _node_names(nodes: int) -> list[str]:
    return ["kind-control-plane"] + [f"kind-worker{'' if i == 1 else i}" for i in range(1, nodes)]


def _policy(k: int, ns: str) -> str:
    shape = k % 6
    head = (f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: policy-{k}\n"
            f"  namespace: {ns}\nspec:\n")
    if shape == 0:  # default deny ingress for one app
        return head + f"  podSelector:\n    matchLabels: {{app: a{k % 50}}}\n  policyTypes: [Ingress]\n"
    if shape == 1:  # allow from one tier
        return head + (f"  podSelector:\n    matchLabels: {{app: a{k % 50}}}\n  ingress:\n"
                       f"  - from:\n    - podSelector:\n        matchLabels: {{tier: t{k % 4}}}\n"
                       "    ports: [{port: http}]\n")
    if shape == 2:  # namespace AND pod selector
        return head + (f"  podSelector:\n    matchExpressions:\n    - {{key: tier, operator: In, values: [t0, t1]}}\n"
                       "  ingress:\n  - from:\n    - namespaceSelector:\n"
                       f"        matchLabels: {{kubernetes.io/metadata.name: team-{(k + 1) % NAMESPACES}}}\n"
                       "      podSelector:\n        matchLabels: {tier: t2}\n    ports: [{port: 8080}]\n")
    if shape == 3:  # ipBlock with except
        return head + ("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/11\n"
                       f"        except: [10.{k % 16}.0.0/16]\n")
    if shape == 4:  # egress to DNS and to one app
        return head + ("  podSelector:\n    matchLabels: {tier: t3}\n  policyTypes: [Egress]\n  egress:\n"
                       "  - to:\n    - namespaceSelector: {}\n      podSelector:\n"
                       "        matchLabels: {k8s-app: kube-dns}\n"
                       "    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]\n"
                       f"  - to:\n    - podSelector:\n        matchLabels: {{app: a{k % 50}}}\n")
    return head + "  podSelector:\n    matchExpressions:\n    - {key: tier, operator: NotIn, values: [t0]}\n" \
                  "  ingress:\n  - {}\n"


def limits_yaml(nodes: int = 5000, pods: int = 150_000, services: int = 10_000, endpoints: int = 10,
                policies: int = 500, kube_proxy_mode: str = "iptables") -> str:
    """The scenario as multi-document YAML (about 50 MB at the limits); ``pods`` counts kind's own too;
    ``kube_proxy_mode`` as kind's ``networking.kubeProxyMode`` (``iptables``, ``nftables``)."""
    pods -= system_pods(nodes)
    if services * endpoints > pods:
        raise ValueError("every endpoint is a pod of its own: services * endpoints must not exceed pods")
    out: list[str] = [
        "apiVersion: k8snetviz.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: limits\nspec:\n  cni: kindnet\n"
        f"  description: {nodes} nodes, {pods} pods, {services} Services\n",
        "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\nname: limits\nnetworking:\n"
        f"  podSubnet: {POD_SUBNET}\n  serviceSubnet: 10.96.0.0/16\n  kubeProxyMode: {kube_proxy_mode}\n",
    ]
    names = _node_names(nodes)
    cidrs = IPv4Network(POD_SUBNET).subnets(new_prefix=24)
    node_net = IPv4Network(NODE_NETWORK).network_address
    node_cidr: list[IPv4Network] = []
    for i, name in enumerate(names):
        cidr = next(cidrs)
        node_cidr.append(cidr)
        role = "\n  labels: {node-role.kubernetes.io/control-plane: ''}" if i == 0 else ""
        out.append(f"apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}{role}\nspec:\n  podCIDR: {cidr}\n"
                   f"status:\n  addresses:\n  - {{type: InternalIP, address: {node_net + 2 + i}}}\n"
                   f"  - {{type: Hostname, address: {name}}}\n")
    workers = list(range(1, nodes)) or [0]
    per_node: dict[int, int] = {}
    for i in range(pods):
        # pod i of service s = i // endpoints lives in the Service's namespace; the rest spread evenly
        ns = f"team-{(i // endpoints) % NAMESPACES}"
        node = workers[i % len(workers)]
        host = per_node.get(node, 2)
        per_node[node] = host + 1
        ip = IPv4Address(int(node_cidr[node].network_address) + host)
        svc = f", svc: s{i // endpoints}" if i < services * endpoints else ""
        out.append(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: app-{i}\n  namespace: {ns}\n"
                   f"  labels: {{app: a{i % 50}, tier: t{i % 4}{svc}}}\nspec:\n  nodeName: {names[node]}\n"
                   "  containers:\n  - name: app\n    image: registry.example/app:1\n"
                   "    ports: [{name: http, containerPort: 8080}]\n"
                   f"status:\n  phase: Running\n  podIP: {ip}\n")
    service_base = int(IPv4Address("10.96.1.0"))
    for s in range(services):
        ns = f"team-{s % NAMESPACES}"
        out.append(f"apiVersion: v1\nkind: Service\nmetadata:\n  name: s{s}\n  namespace: {ns}\nspec:\n"
                   f"  clusterIP: {IPv4Address(service_base + s)}\n  selector: {{svc: s{s}}}\n"
                   "  ports: [{name: http, port: 80, targetPort: 8080}]\n")
    for k in range(policies):
        out.append(_policy(k, f"team-{k % NAMESPACES}"))
    return "---\n".join(out)
