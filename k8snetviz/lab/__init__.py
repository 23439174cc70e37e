"""The real Linux lab: the scenario built in network namespaces, to check the simulator.

One module per job:

- :mod:`~k8snetviz.lab.preflight` - root, iproute2, iptables and the CNI plugins present?
- :mod:`~k8snetviz.lab.command` - run one command, as an argument list, with a timeout;
- :mod:`~k8snetviz.lab.state` - the record of what a lab created (``/run/k8snetviz/<lab>.json``);
- :mod:`~k8snetviz.lab.netns` - :class:`Lab`, the transaction that creates namespaces and
  removes them again on failure, SIGINT/SIGTERM or ``down``;
- :mod:`~k8snetviz.lab.cniexec` - run the real CNI plugins for ADD/CHECK/DEL;
- :mod:`~k8snetviz.lab.topology` - LAN, nodes, pods, node routes, flannel's VXLAN;
- :mod:`~k8snetviz.lab.podserver` - the server in each pod that names the peer it sees;
- :mod:`~k8snetviz.lab.probe` - its client, on the standard library alone so that a probe starts at once;
- :mod:`~k8snetviz.lab.groundtruth` - the three CNI set-ups built and recorded for the simulator;
- :mod:`~k8snetviz.lab.dnsserver` - the model's CoreDNS answering on real port 53 in a pod namespace;
- :mod:`~k8snetviz.lab.build` - ``lab up``: a whole scenario in the kernel;
- :mod:`~k8snetviz.lab.verify` and :mod:`~k8snetviz.lab.dnsverify` - ``lab verify``: real traffic and real
  glibc lookups compared with the simulator, ``N agree, M disagree``;
- :mod:`~k8snetviz.lab.cli` - ``k8snetviz lab up|verify|down``.

Every namespace is named ``knv-<lab>-<role>``; the lab touches nothing it did not create.
"""

from __future__ import annotations

from k8snetviz.lab.errors import CNIError, CommandError, LabError, MissingTool, NamespaceCollision, NotRoot
from k8snetviz.lab.netns import Lab, down

__all__ = ["Lab", "down", "LabError", "NotRoot", "MissingTool", "CommandError", "NamespaceCollision", "CNIError"]
