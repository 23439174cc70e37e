"""The Pyodide lock of the static site: a ``pyodide-lock.json`` that names only wheels the site serves.

The ``pyodide`` npm package is Pyodide's core alone (the runtime, the standard library); the ~350 wheels
its own ``pyodide-lock.json`` names live only on Pyodide's CDN. This module writes a new lock, next to
the wheels it names, so the kernel loads everything from the site itself:

* the packages are the closure of ``roots`` (what the kernel loads at start and ``k8snetviz``) over the
  wheels' own ``Requires-Dist``, evaluated with Pyodide's markers (``sys_platform == "emscripten"``,
  Python 3.14);
* a wheel in one of the ``local`` folders wins (the package itself, the kernel's own wheels, the pure
  PyYAML); every other package must be pinned in ``site/pyodide-packages.txt`` and is fetched from PyPI
  as a ``py3-none-any`` wheel or one built for this Pyodide (``pyemscripten_2026_0_wasm32``);
* a dependency that is not pinned, or pinned outside its range, stops the build with one line;
* ``sha256``, ``imports`` (what ``import x`` auto-loads) and ``depends`` are computed from the wheels.

Run by ``site/build.py`` with the site's build environment (it needs ``packaging``).
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename
from packaging.version import Version

__all__ = ["LockError", "Wheel", "read_pins", "resolve", "write_lock", "rehash"]

# The marker environment of Pyodide 314 (Python 3.14.2 compiled to WebAssembly by Emscripten).
PYODIDE_ENV = {
    "python_version": "3.14",
    "python_full_version": "3.14.2",
    "sys_platform": "emscripten",
    "platform_system": "Emscripten",
    "os_name": "posix",
    "platform_machine": "wasm32",
    "implementation_name": "cpython",
    "implementation_version": "3.14.2",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_version": "",
    "extra": "",
}


class LockError(Exception):
    """A package the site needs cannot be locked; ``str()`` is the one line to print."""


@dataclass
class Wheel:
    """One wheel file and what its metadata says."""

    path: Path
    name: NormalizedName
    version: Version
    imports: list[str]
    requires: list[Requirement] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Wheel:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            meta_name = next(n for n in names if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
            meta = email.parser.Parser().parsestr(zf.read(meta_name).decode())
            top = next((n for n in names if n.endswith(".dist-info/top_level.txt") and n.count("/") == 1), None)
            imports = {x.strip() for x in zf.read(top).decode().split()} if top else _top_level(names)
        requires = [r for r in map(Requirement, meta.get_all("Requires-Dist") or [])
                    if r.marker is None or r.marker.evaluate(PYODIDE_ENV)]
        return cls(path, canonicalize_name(meta["Name"]), Version(meta["Version"]),
                   sorted(i for i in imports if i), requires)


def _top_level(names: list[str]) -> set[str]:
    """Top-level importable names of a wheel without top_level.txt."""
    out = set()
    for n in names:
        first = n.split("/", 1)[0]
        if first.endswith((".dist-info", ".data")) or first == "__pycache__":
            continue
        if "/" in n:
            out.add(first)
        elif n.endswith(".py"):
            out.add(n[:-3])
    return out


def read_pins(path: Path) -> dict[NormalizedName, Version]:
    """``name==version`` lines (comments and blank lines allowed)."""
    pins: dict[NormalizedName, Version] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==":
            raise LockError(f"{path}:{number}: {line!r} must pin one version (name==version)")
        pins[canonicalize_name(req.name)] = Version(specs[0].version)
    return pins


def _usable(path: Path, platform: str) -> bool:
    return any(t.platform in ("any", platform) for t in parse_wheel_filename(path.name)[3])


def _fetch(name: str, version: Version, cache: Path, platform: str) -> Path:
    """The pinned wheel from the cache, else from PyPI (a pure wheel, else one built for this Pyodide)."""

    def cached() -> Path | None:
        for whl in sorted(cache.glob("*.whl")):
            n, v, _, _ = parse_wheel_filename(whl.name)
            if n == name and v == version and _usable(whl, platform):
                return whl
        return None

    hit = cached()
    if hit:
        return hit
    cache.mkdir(parents=True, exist_ok=True)
    common = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
              "--only-binary=:all:", "--python-version", "3.14", "-d", str(cache), f"{name}=={version}"]
    for tags in (["--platform", "any", "--implementation", "py", "--abi", "none"],
                 ["--platform", platform, "--implementation", "cp", "--abi", "cp314", "--abi", "abi3",
                  "--abi", "none"]):
        subprocess.run([*common, *tags], stderr=subprocess.DEVNULL, check=False)
        hit = cached()
        if hit:
            return hit
    raise LockError(f"{name}=={version}: PyPI has no py3-none-any or {platform} wheel of it")


def resolve(roots: list[str], pins: dict[NormalizedName, Version], local: list[Path], cache: Path,
            platform: str) -> dict[NormalizedName, Wheel]:
    """Every package the roots need, each with its wheel; LockError names the first problem."""
    mine: dict[NormalizedName, Path] = {}
    for folder in local:
        for whl in sorted(folder.glob("*.whl")):
            name, version, _, _ = parse_wheel_filename(whl.name)
            if _usable(whl, platform) and (name not in mine or parse_wheel_filename(mine[name].name)[1] < version):
                mine[name] = whl
    packages: dict[NormalizedName, Wheel] = {}
    todo = [canonicalize_name(r) for r in roots]
    while todo:
        name = todo.pop(0)
        if name in packages:
            continue
        if name in mine:
            wheel = Wheel.read(mine[name])
            if name in pins and wheel.version != pins[name]:
                raise LockError(f"{mine[name].name}: site/pyodide-packages.txt pins {name}=={pins[name]}")
        elif name in pins:
            wheel = Wheel.read(_fetch(name, pins[name], cache, platform))
        else:
            needed_by = sorted(p.name for p in packages.values() if any(
                canonicalize_name(r.name) == name for r in p.requires)) or ["the roots"]
            raise LockError(f"{name}: needed by {', '.join(needed_by)} but not pinned in site/pyodide-packages.txt")
        packages[name] = wheel
        todo.extend(canonicalize_name(r.name) for r in wheel.requires)
    for wheel in packages.values():
        for req in wheel.requires:
            got = packages[canonicalize_name(req.name)].version
            if req.specifier and not req.specifier.contains(got, prereleases=True):
                raise LockError(f"{wheel.name} {wheel.version} needs {req}, but the site has {req.name} {got}")
    unused = sorted(set(pins) - set(packages) - set(mine))
    if unused:
        raise LockError(f"pinned in site/pyodide-packages.txt but needed by nothing: {', '.join(unused)}")
    return packages


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_lock(packages: dict[NormalizedName, Wheel], info: dict, out: Path) -> Path:
    """Copy the wheels into ``out`` and write ``out/pyodide-lock.json`` naming exactly them."""
    out.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name, wheel in sorted(packages.items()):
        target = out / wheel.path.name
        if wheel.path.resolve() != target.resolve():
            shutil.copyfile(wheel.path, target)
        entries[name] = {
            "name": name,
            "version": str(wheel.version),
            "file_name": wheel.path.name,
            "install_dir": "site",
            "sha256": _sha256(target),
            "package_type": "package",
            "imports": wheel.imports,
            "depends": sorted({canonicalize_name(r.name) for r in wheel.requires}),
            "unvendored_tests": False,
            "shared_library": False,
        }
    lock = out / "pyodide-lock.json"
    lock.write_text(json.dumps({"info": info, "packages": entries}, indent=1) + "\n")
    return lock


def rehash(lock: Path) -> None:
    """Recompute every entry's sha256 from the wheel beside the lock (after the wheels were rewritten)."""
    data = json.loads(lock.read_text())
    for entry in data["packages"].values():
        entry["sha256"] = _sha256(lock.parent / entry["file_name"])
    lock.write_text(json.dumps(data, indent=1) + "\n")
