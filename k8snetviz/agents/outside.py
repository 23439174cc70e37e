"""The world beyond the cluster, as writes to the kernel: the scenario's outside clients (a laptop on the
node network, or a host beyond the gateway) and the load balancers in front of LoadBalancer Services.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from k8snetviz.agents.cni.base import mac_for
from k8snetviz.agents.writes import AddrAdd, LinkAdd, NetnsAdd, Owner, RouteAdd, Write
from k8snetviz.api.objects import ExternalClient

__all__ = ["client_writes", "load_balancer_writes"]


def client_writes(ext: ExternalClient, network: IPv4Network, gateway: IPv4Address) -> list[Write]:
    """An outside client: on the node network it holds an address there; beyond it, a /32 behind the gateway."""
    ns = f"external/{ext.name}"
    owner = Owner("scenario", None, f"Scenario client {ext.name}", (), "a host outside the cluster")
    in_lan = ext.ip in network
    out: list[Write] = [
        NetnsAdd(ns, "external", owner),
        LinkAdd(ns, "eth0", "ether", mac_for(f"external/{ext.name}/eth0"), owner=owner),
        AddrAdd(ns, "eth0", f"{ext.ip}/{network.prefixlen if in_lan else 32}", owner),
        RouteAdd(ns, "default", "eth0", via=str(gateway), onlink=not in_lan,
                 owner=Owner("scenario", None, f"Scenario client {ext.name}", (), "the client's default gateway")),
    ]
    if in_lan:
        out.append(RouteAdd(ns, str(network), "eth0", proto="kernel", scope="link", src=str(ext.ip),
                            owner=Owner("kernel", why="the address on eth0")))
    return out


def load_balancer_writes(service: str, addr: IPv4Address, network: IPv4Network) -> list[Write]:
    """The load balancer that holds a LoadBalancer Service's EXTERNAL-IP on the node network."""
    ns = f"loadbalancer/{service}"
    owner = Owner("cloud-controller", None, f"Service {service}", (),
                  f"the load balancer for the EXTERNAL-IP {addr}")
    return [
        NetnsAdd(ns, "loadbalancer", owner),
        LinkAdd(ns, "eth0", "ether", mac_for(f"lb/{service}"), owner=owner),
        AddrAdd(ns, "eth0", f"{addr}/{network.prefixlen}", owner),
    ]
