"""Run the real CNI plugin binaries, as a container runtime does.

The CNI spec's protocol: the operation and its parameters in the environment
(``CNI_COMMAND`` ADD/DEL/CHECK/VERSION, ``CNI_CONTAINERID``, ``CNI_NETNS`` - a path such as
``/run/netns/NAME`` -, ``CNI_IFNAME``, ``CNI_PATH``, optional ``CNI_ARGS``), the network
configuration as JSON on stdin, the result (or an error object with ``code``/``msg``) as
JSON on stdout.

For a ``.conflist`` each plugin of the chain gets its own configuration: its object plus the
list's ``name`` and ``cniVersion``, plus ``prevResult`` - the previous plugin's result for
ADD, the cached final ADD result for DEL and CHECK (libcni passes it to DEL only from
cniVersion 0.4.0 on, and refuses CHECK below 0.4.0). DEL runs the chain in reverse.

A plugin sets up the host side of the veth in the namespace it runs in, so the lab runs
it *inside the node's namespace* (``ip netns exec <node> /usr/lib/cni/bridge``): the pod's
eth0 lands in ``CNI_NETNS``, the host end and ``cni0`` in the node namespace.

>>> conf = plugin_config({"cniVersion": "0.3.1", "name": "kindnet", "plugins": []},
...                      {"type": "portmap"}, {"cniVersion": "0.3.1", "ips": []})
>>> sorted(conf)
['cniVersion', 'name', 'prevResult', 'type']
>>> conf["name"], conf["prevResult"]["ips"]
('kindnet', [])
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from k8snetviz.lab.command import in_netns, run
from k8snetviz.lab.errors import CNIError, CommandError, LabError

__all__ = [
    "CNIResult",
    "plugin_env",
    "plugin_config",
    "exec_plugin",
    "add_network_list",
    "del_network_list",
    "check_network_list",
    "save_result",
    "load_result",
    "k8s_cni_args",
]

COMMANDS = ("ADD", "DEL", "CHECK", "VERSION")


@dataclass(frozen=True)
class CNIResult:
    """A plugin's success result (spec "Success"): interfaces, ips, routes, dns."""

    raw: dict[str, Any]
    cni_version: str = ""
    interfaces: list[dict[str, Any]] = field(default_factory=list)
    ips: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    dns: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CNIResult:
        return cls(
            raw=dict(data),
            cni_version=str(data.get("cniVersion", "")),
            interfaces=list(data.get("interfaces") or []),
            ips=list(data.get("ips") or []),
            routes=list(data.get("routes") or []),
            dns=dict(data.get("dns") or {}),
        )

    def host_interfaces(self) -> list[dict[str, Any]]:
        """Interfaces without a ``sandbox``: in the namespace the plugin ran in (cni0, vethXXXX)."""
        return [i for i in self.interfaces if not i.get("sandbox")]

    def sandbox_interfaces(self) -> list[dict[str, Any]]:
        """Interfaces inside ``CNI_NETNS`` (the pod's eth0)."""
        return [i for i in self.interfaces if i.get("sandbox")]

    def addresses(self) -> list[str]:
        """The pod's addresses in CIDR form (``10.244.0.2/24``)."""
        return [ip["address"] for ip in self.ips if "address" in ip]


def k8s_cni_args(namespace: str, pod: str, container_id: str) -> str:
    """``CNI_ARGS`` as the kubelet's runtime passes them (``K8S_POD_NAMESPACE=...;...``)."""
    return f"IgnoreUnknown=1;K8S_POD_NAMESPACE={namespace};K8S_POD_NAME={pod};K8S_POD_INFRA_CONTAINER_ID={container_id}"


def plugin_env(
    command: str,
    *,
    container_id: str,
    netns: str,
    ifname: str,
    cni_path: Sequence[str] | str,
    cni_args: str | None = None,
) -> dict[str, str]:
    """The environment of one plugin call; ``netns`` is a namespace *name* (``/run/netns/NAME``)."""
    if command not in COMMANDS:
        raise LabError(f"unknown CNI command {command!r}: one of {', '.join(COMMANDS)}")
    path = cni_path if isinstance(cni_path, str) else ":".join(cni_path)
    env = {
        # plugins call iptables, sysctl ... through PATH
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": f"/run/netns/{netns}",
        "CNI_IFNAME": ifname,
        "CNI_PATH": path,
    }
    if cni_args:
        env["CNI_ARGS"] = cni_args
    return env


def plugin_config(
    conflist: Mapping[str, Any], plugin: Mapping[str, Any], prev_result: Mapping[str, Any] | None
) -> dict[str, Any]:
    """One plugin's stdin in a chain: the plugin object, the list's name and cniVersion, prevResult."""
    conf = dict(plugin)
    conf["name"] = conflist["name"]
    conf["cniVersion"] = conflist["cniVersion"]
    if prev_result is not None:
        conf["prevResult"] = dict(prev_result)
    return conf


def _find_plugin(plugin_type: str, cni_path: Sequence[str] | str) -> str:
    dirs = cni_path.split(":") if isinstance(cni_path, str) else list(cni_path)
    for d in dirs:
        p = Path(d) / plugin_type
        if os.access(p, os.X_OK):
            return str(p)
    raise LabError(f"failed to find plugin {plugin_type!r} in path {dirs}")


def exec_plugin(
    command: str,
    netconf: Mapping[str, Any],
    *,
    run_in: str,
    container_id: str,
    netns: str,
    ifname: str = "eth0",
    cni_path: Sequence[str] | str = ("/usr/lib/cni",),
    cni_args: str | None = None,
    timeout: float = 30.0,
) -> dict[str, Any] | None:
    """Run the plugin ``netconf["type"]`` for ``command`` inside namespace ``run_in``.

    Returns the parsed JSON result (None when the plugin prints nothing, as DEL and CHECK do);
    raises :class:`CNIError` with the plugin's ``code``/``msg``/``details`` when it fails.
    """
    plugin_type = str(netconf.get("type") or "")
    if not plugin_type:
        raise LabError('network configuration has no "type": which plugin should run?')
    binary = _find_plugin(plugin_type, cni_path)
    env = plugin_env(
        command, container_id=container_id, netns=netns, ifname=ifname, cni_path=cni_path, cni_args=cni_args
    )
    argv = in_netns(run_in, [binary])
    try:
        done = run(argv, check=False, input=json.dumps(netconf), env=env, timeout=timeout)
    except CommandError as exc:
        raise CNIError(plugin_type, command, None, exc.detail) from None
    out = done.stdout.strip()
    parsed: Any = None
    if out:
        try:
            parsed = json.loads(out)
        except ValueError:
            parsed = None
    if done.returncode != 0:
        if isinstance(parsed, dict) and "msg" in parsed:
            raise CNIError(plugin_type, command, parsed.get("code"), str(parsed["msg"]), str(parsed.get("details", "")))
        raise CNIError(plugin_type, command, None, (done.stderr or out or f"exit {done.returncode}").strip())
    if out and not isinstance(parsed, dict):
        raise CNIError(plugin_type, command, None, f"result is not a JSON object: {out[:200]}")
    return parsed


def _plugins(conflist: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    for key in ("name", "cniVersion"):
        if not conflist.get(key):
            raise LabError(f"network configuration list has no {key!r}")
    plugins = conflist.get("plugins")
    if not isinstance(plugins, list) or not plugins:
        raise LabError(f"network configuration list {conflist['name']!r} has no plugins")
    return plugins


def _version_at_least(version: str, minimum: tuple[int, ...]) -> bool:
    try:
        parts = tuple(int(x) for x in version.split("."))
    except ValueError:
        return False
    return parts >= minimum


def add_network_list(conflist: Mapping[str, Any], **kwargs: Any) -> CNIResult:
    """ADD: run the chain in order, each plugin getting the previous result; return the last.

    When a plugin fails, the whole list is run for DEL before the error is raised, as a
    runtime does after a failed ADD (containerd's CRI tears the sandbox network down): a
    plugin may leave half its work behind (the bridge plugin keeps the veth when IPAM fails).
    """
    plugins = _plugins(conflist)
    prev: dict[str, Any] | None = None
    for plugin in plugins:
        try:
            result = exec_plugin("ADD", plugin_config(conflist, plugin, prev), **kwargs)
            if result is None:
                raise CNIError(str(plugin.get("type")), "ADD", None, "plugin printed no result")
        except LabError:
            for undo in reversed(plugins):
                try:
                    exec_plugin("DEL", plugin_config(conflist, undo, None), **kwargs)
                except LabError:
                    pass  # the original error is the one worth reporting
            raise
        prev = result
    assert prev is not None
    return CNIResult.from_json(prev)


def del_network_list(
    conflist: Mapping[str, Any], prev_result: Mapping[str, Any] | CNIResult | None = None, **kwargs: Any
) -> None:
    """DEL: run the chain in reverse; the cached ADD result is passed from cniVersion 0.4.0 on."""
    raw = prev_result.raw if isinstance(prev_result, CNIResult) else prev_result
    if not _version_at_least(str(conflist.get("cniVersion", "")), (0, 4, 0)):
        raw = None
    for plugin in reversed(_plugins(conflist)):
        exec_plugin("DEL", plugin_config(conflist, plugin, raw), **kwargs)


def check_network_list(conflist: Mapping[str, Any], prev_result: Mapping[str, Any] | CNIResult, **kwargs: Any) -> None:
    """CHECK: run the chain in order with the cached ADD result; needs cniVersion >= 0.4.0."""
    version = str(conflist.get("cniVersion", ""))
    if not _version_at_least(version, (0, 4, 0)):
        raise LabError(f'configuration version "{version}" does not support the CHECK command')
    raw = prev_result.raw if isinstance(prev_result, CNIResult) else prev_result
    for plugin in _plugins(conflist):
        exec_plugin("CHECK", plugin_config(conflist, plugin, raw), **kwargs)


def _cache_path(cache_dir: Path, network: str, container_id: str, ifname: str) -> Path:
    return Path(cache_dir) / f"{network}-{container_id}-{ifname}.json"


def save_result(cache_dir: Path, network: str, container_id: str, ifname: str, result: CNIResult) -> Path:
    """Cache an ADD result (as a runtime does under /var/lib/cni/results; the lab keeps its own)."""
    Path(cache_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    path = _cache_path(cache_dir, network, container_id, ifname)
    path.write_text(json.dumps(result.raw, indent=1))
    return path


def load_result(cache_dir: Path, network: str, container_id: str, ifname: str) -> CNIResult | None:
    path = _cache_path(cache_dir, network, container_id, ifname)
    if not path.exists():
        return None
    return CNIResult.from_json(json.loads(path.read_text()))
