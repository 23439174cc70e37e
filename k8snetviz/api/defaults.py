"""What a kind cluster has when the scenario does not say otherwise.

These are the values `kind create cluster` gives a three-node cluster with the default
config: node names, the docker network 172.18.0.0/16, the pod and service subnets.
"""

from __future__ import annotations

__all__ = [
    "CLUSTER_NAME",
    "DEFAULT_ROLES",
    "NODE_NETWORK",
    "NODE_GATEWAY",
    "FIRST_NODE_HOST",
    "POD_SUBNET",
    "SERVICE_SUBNET",
    "NODE_CIDR_MASK",
    "CLUSTER_DOMAIN",
    "DNS_SERVICE_IP",
    "KUBE_PROXY_MODE",
    "CNI",
    "EXTERNAL_CLIENT_IP",
    "LOAD_BALANCER_POOL",
    "NODE_PORT_RANGE",
    "EPHEMERAL_PORT",
    "API_VERSION",
]

CLUSTER_NAME = "kind"
DEFAULT_ROLES = ("control-plane", "worker", "worker")
# Docker's "kind" network: the gateway is the docker host, nodes get .2, .3, ...
NODE_NETWORK = "172.18.0.0/16"
NODE_GATEWAY = "172.18.0.1"
FIRST_NODE_HOST = 2
POD_SUBNET = "10.244.0.0/16"
SERVICE_SUBNET = "10.96.0.0/16"
NODE_CIDR_MASK = 24  # kube-controller-manager --node-cidr-mask-size for IPv4
CLUSTER_DOMAIN = "cluster.local"
DNS_SERVICE_IP = "10.96.0.10"  # the tenth address of the service subnet, as kubeadm picks it
KUBE_PROXY_MODE = "iptables"
CNI = "kindnet"
# A laptop on the same docker network as the nodes.
EXTERNAL_CLIENT_IP = "172.18.0.100"
# Where a LoadBalancer's EXTERNAL-IP comes from (cloud-provider-kind/MetalLB hand out docker-network addresses).
LOAD_BALANCER_POOL = "172.18.255.200/29"
NODE_PORT_RANGE = (30000, 32767)
# The client's source port in every trace: a fixed ephemeral port keeps traces reproducible.
EPHEMERAL_PORT = 40000
API_VERSION = "k8snetviz.dev/v1alpha1"
