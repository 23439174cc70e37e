"""Read a scenario into manifests, keeping where each one came from.

A scenario is what ``kubectl apply -f`` takes (multi-document YAML, JSON, a directory of such files)
or what ``kubectl get -o yaml|json`` prints (``kind: List``, or a typed list such as ``PodList`` whose
items carry no ``kind``), optionally with a kind ``Cluster`` config and one ``k8snetviz.dev/v1alpha1``
``Scenario`` document.

What kubectl refuses is refused here with one line naming the file and line: bytes that are not UTF-8
text, text that is not YAML or JSON, a document that is not an object or has no ``kind``, and a key
written twice in one mapping (sigs.k8s.io/yaml's strict conversion: ``key "name" already set in map``).
Timestamps stay strings, as they are in the JSON the API server keeps.
"""

from __future__ import annotations

import gc
import json
import operator
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from k8snetviz.errors import ScenarioError

if TYPE_CHECKING:
    from importlib.abc import Traversable

__all__ = ["Manifest", "Scenario", "read_scenario", "parse_text", "parse_bytes", "resolve_path", "json_type",
           "shipped_scenarios", "MANIFEST_SUFFIXES", "MAX_SCENARIO_BYTES"]

# Files of a directory that are read, as `kubectl apply -f DIR` reads them.
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# A scenario larger than this is refused before it is parsed: Kubernetes' own scalability limits
# (150,000 pods, 5,000 nodes) fit in well under it, even as `kubectl get -o yaml` with managedFields.
MAX_SCENARIO_BYTES = 2 << 30


@dataclass
class Manifest:
    """One Kubernetes object as written, with its file and line for messages."""

    body: dict[str, Any]
    source: str
    line: int
    # read from a scenario the package ships (its tests check every document's shape)
    shipped: bool = field(default=False, compare=False, repr=False)

    @property
    def kind(self) -> str:
        k = self.body.get("kind", "")
        return k if isinstance(k, str) else ""

    @property
    def api_version(self) -> str:
        v = self.body.get("apiVersion", "")
        return v if isinstance(v, str) else ""

    @property
    def metadata(self) -> dict[str, Any]:
        md = self.body.get("metadata")
        return md if isinstance(md, dict) else {}

    @property
    def name(self) -> str:
        n = self.metadata.get("name", "")
        return n if isinstance(n, str) else str(n)

    @property
    def namespace(self) -> str | None:
        ns = self.metadata.get("namespace")
        return str(ns) if ns else None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass
class Scenario:
    """The documents of a scenario (a file, or the files of a directory), in order."""

    source: str
    manifests: list[Manifest] = field(default_factory=list)
    text: str = ""
    # Files of a directory that hold no Kubernetes object (a support bundle's RBAC rules, version info), skipped.
    skipped: list[str] = field(default_factory=list)
    _kinds: tuple[tuple[int, int, int], dict[str, list[int]]] | None = field(
        default=None, init=False, repr=False, compare=False)

    def of_kind(self, *kinds: str) -> list[Manifest]:
        """The documents of these kinds, in order (indexed by kind once: a build asks for some thirty kinds
        of a dump that may hold 165,000 documents; the index is made again when the list changes)."""
        docs = self.manifests
        stamp = (id(docs), len(docs), id(docs[-1]) if docs else 0)
        if self._kinds is None or self._kinds[0] != stamp:
            index: dict[str, list[int]] = {}
            for i, m in enumerate(docs):
                index.setdefault(m.kind, []).append(i)
            self._kinds = (stamp, index)
        index = self._kinds[1]
        found = [index[k] for k in dict.fromkeys(kinds) if k in index]
        if len(found) > 1:  # in document order
            return [docs[i] for i in sorted(i for positions in found for i in positions)]
        return [docs[i] for i in found[0]] if found else []


def _scenarios() -> Traversable:
    """The shipped scenarios: package data, read with importlib.resources (inside a wheel too)."""
    return resources.files("k8snetviz") / "data" / "scenarios"


def _is_shipped(path: Path) -> bool:
    """Whether ``path`` is one of the package's shipped scenario files."""
    try:
        return path.suffix == ".yaml" and path.resolve().parent == Path(str(_scenarios())).resolve()
    except (OSError, ValueError):
        return False


def shipped_scenarios() -> list[str]:
    """Names of the scenarios that ship with the package (``k8snetviz/data/scenarios/``)."""
    return sorted(p.name[:-5] for p in _scenarios().iterdir() if p.name.endswith(".yaml"))


def resolve_path(scenario: str | os.PathLike[str]) -> Path:
    """A path as given (a file or a directory), or the shipped scenario of that name (``influxdb``)."""
    if not isinstance(scenario, str | os.PathLike):
        raise ScenarioError(f"a scenario is a path or the name of a shipped scenario, not {type(scenario).__name__}")
    p = Path(scenario)
    try:
        if p.is_file() or p.is_dir():
            return p
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        pass
    name = str(scenario)
    if "/" not in name and "\0" not in name and name not in ("", ".", ".."):
        shipped = _scenarios() / f"{name}.yaml"
        if shipped.is_file():
            return Path(str(shipped))
    names = ", ".join(shipped_scenarios()) or "none"
    shown = name if len(name) <= 200 else name[:200] + "…"
    raise ScenarioError(f'scenario "{shown}" not found: not a file, nor a shipped scenario ({names})')


# --- YAML as kubectl reads it ---------------------------------------------------------------------------

_BASE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """libyaml's safe loader (several times faster than PyYAML's), with kubectl's strictness."""

    # Timestamps stay strings: the API server keeps them as RFC 3339 text.
    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in getattr(_BASE_LOADER, "yaml_implicit_resolvers", {}).items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                if key in seen and key != "<<":
                    raise _DuplicateKey(key, key_node.start_mark.line + 1)
                seen.add(key)
        mapping = super().construct_mapping(node, deep=deep)
        for key in mapping:
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a string, not a " + type(key).__name__, node.start_mark)
        return mapping

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._tags: dict[str, str] = {}  # plain scalars already resolved (a manifest repeats most of its words)
        self._plain = not _WILDCARD and not self.yaml_path_resolvers
        if not self.yaml_path_resolvers:
            # libyaml's composer calls these around every node; without path resolvers they do nothing
            # (BaseResolver returns at once). C callables that take the same arguments and do nothing
            # save a Python call each: 13 million of them for a dump of 150,000 pods.
            self.descend_resolver = operator.is_  # type: ignore[method-assign, assignment]
            self.ascend_resolver = bool  # type: ignore[method-assign, assignment]

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        # A plain scalar no implicit resolver can claim (its first character starts none of them: names,
        # addresses, labels) is a string, as PyYAML would decide; the others are looked up once each.
        if self._plain and kind is _SCALAR:
            if not implicit[0] or (value and value[0] not in _CLAIMED):
                return _STR
            tag = self._tags.get(value)
            if tag is None:
                tag = self._tags[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)
_CLAIMED = frozenset(k for k in _Loader.yaml_implicit_resolvers if k is not None)
_WILDCARD = None in _Loader.yaml_implicit_resolvers
_STR = "tag:yaml.org,2002:str"
_SCALAR = yaml.ScalarNode
_MAPPING = yaml.MappingNode
_SEQUENCE = yaml.SequenceNode
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_INT = "tag:yaml.org,2002:int"


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _dup_message(key: Any, line: int) -> str:
    # sigs.k8s.io/yaml (go-yaml's strict unmarshal), as kubectl prints it, on one line.
    return f'error converting YAML to JSON: yaml: unmarshal errors: line {line}: key "{key}" already set in map'


def _json_duplicate_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _DuplicateKey(k, 0)
            seen.add(k)
    return d


# The line at which each item of `kubectl get -o json`'s list starts: 8 spaces and a brace.
_JSON_ITEM_RE = re.compile(r"^        \{\s*$", re.MULTILINE)


def _parse_json(text: str, source: str, scenario: Scenario) -> bool:
    """JSON read with the json module (much faster than YAML); False when the text is not JSON."""
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return False
    try:
        body = json.loads(text, object_pairs_hook=_json_duplicate_hook)
    except _DuplicateKey as e:
        raise ScenarioError(f'json: duplicate field "{e.key}"', source=source) from None
    except json.JSONDecodeError as e:
        # `kubectl cluster-info dump` to standard output: one JSON list after another, with the containers' logs
        # between them; anything else is flow-style YAML or broken JSON, and the YAML parser says where.
        return e.msg == "Extra data" and _parse_json_stream(text, source, scenario)
    except RecursionError:
        return False
    _add_json(scenario, body, text, stripped, source)
    return True


# kubectl's cluster-info dump writes each container's logs between these lines (clusterinfo_dump.go, printContainer).
_LOG_START = re.compile(r"==== START logs for container (.*) of pod (.*) ====\n")


def _parse_json_stream(text: str, source: str, scenario: Scenario) -> bool:
    """JSON values one after another (``kubectl cluster-info dump`` without ``--output-directory``), the logs
    between them skipped; False (the YAML parser then says what is wrong) when the text is anything else."""
    decoder = json.JSONDecoder(object_pairs_hook=_json_duplicate_hook)
    values: list[tuple[int, Any]] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos >= end:
            break
        if text[pos] in "{[":
            try:
                value, after = decoder.raw_decode(text, pos)
            except _DuplicateKey as e:
                raise ScenarioError(f'json: duplicate field "{e.key}"', source=source) from None
            except (json.JSONDecodeError, RecursionError):
                return False
            values.append((pos, value))
            pos = after
            continue
        start = _LOG_START.match(text, pos)
        if start is None:
            return False
        marker = f"==== END logs for container {start.group(1)} of pod {start.group(2)} ====\n"
        stop = text.find(marker, start.end())
        if stop < 0:
            raise ScenarioError(f"kubectl cluster-info dump cut short: the logs of container {start.group(1)} of pod "
                                f"{start.group(2)} have no END line", source=source,
                                line=text.count("\n", 0, pos) + 1)
        pos = stop + len(marker)
    if len(values) < 2:
        return False
    line, last = 1, 0
    for at, value in values:
        line += text.count("\n", last, at)
        last = at
        _add(scenario, value, source, line, "", None)
    return True


def _add_json(scenario: Scenario, body: Any, text: str, stripped: str, source: str) -> None:
    line = text[: len(text) - len(stripped)].count("\n") + 1
    if isinstance(body, list):  # a bare array of objects, as some tools write them
        for i, item in enumerate(body):
            _add(scenario, item, source, line, f"[{i}]")
        return
    starts = None
    items = body.get("items") if isinstance(body, dict) else None
    if isinstance(items, list):
        found, pos, line_no = [], 0, 1
        for m in _JSON_ITEM_RE.finditer(text):  # count newlines incrementally: linear in the text
            line_no += text.count("\n", pos, m.start())
            pos = m.start()
            found.append(line_no)
        starts = found if len(found) == len(items) else None
    _add(scenario, body, source, line, "", starts)


def _is_list(body: dict[str, Any]) -> bool:
    kind = body.get("kind")
    return isinstance(kind, str) and (kind == "List" or (kind.endswith("List") and "items" in body))


def _add(scenario: Scenario, body: Any, source: str, line: int, where: str = "",
         item_lines: list[int] | None = None) -> None:
    """One document: an object, or a list whose items are flattened (typed lists lend their items a kind)."""
    if isinstance(body, str) and re.match(r"(NAMESPACE|NAME)\s+\S", body):
        raise ScenarioError("kubectl's table output, not objects: save the dump with `kubectl get ... -o yaml` (or "
                            "-o json)", source=source, line=line)
    if not isinstance(body, dict):
        what = "an array" if isinstance(body, list) else f"a {json_type(body)}"
        raise ScenarioError(f"{where + ': ' if where else ''}a document must be a mapping (an object), not {what}: "
                            "not a Kubernetes object", source=source, line=line)
    kind = body.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise ScenarioError(f"{where + '.' if where else ''}kind: json: cannot unmarshal {json_type(kind)} into Go "
                            "struct field TypeMeta.kind of type string", source=source, line=line)
    if _is_list(body):
        items = body.get("items")
        if items is None:
            return
        if not isinstance(items, list):
            raise ScenarioError(f"{where + '.' if where else ''}items: json: cannot unmarshal {json_type(items)} "
                                f"into Go struct field {kind}.items of type []runtime.RawExtension",
                                source=source, line=line)
        # A typed list (PodList, ServiceList, ...) as the API returns it: its items carry no kind.
        item_kind = kind[: -len("List")] if isinstance(kind, str) and kind != "List" else None
        api_version = body.get("apiVersion")
        for i, item in enumerate(items):
            item_line = item_lines[i] if item_lines and i < len(item_lines) else line
            if isinstance(item, dict) and item_kind and "kind" not in item:
                item = {"kind": item_kind, **({"apiVersion": api_version} if "apiVersion" not in item and
                                               isinstance(api_version, str) else {}), **item}
            _add(scenario, item, source, item_line, f"{where}items[{i}]")
        return
    if kind is None or kind == "":
        shown = _one_line(json.dumps(body, default=str))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise ScenarioError(f"{where + ': ' if where else ''}not a Kubernetes object: Object 'Kind' is missing in "
                            f"'{shown}'", source=source, line=line)
    scenario.manifests.append(Manifest(body, source, line))


def json_type(value: Any) -> str:
    """The JSON type name Go's decoder uses in its messages (``bool``, ``string``, ``array``, ``object``, ``null``,
    ``number``)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "null"
    return "number"


class _Fallback(Exception):
    """A document the fast path leaves to PyYAML's constructor (merge keys, recursive anchors, odd keys)."""


def _document(loader: Any, node: yaml.Node) -> Any:
    """The Python value of one composed document, as the loader's constructor would make it.

    Strings, mappings and sequences (nearly all of a manifest) are built here directly, with the same
    duplicate-key check; every other scalar (int, bool, null, float) goes through the loader's own
    constructor, and so does any document with something unusual in it (a merge key, a key that is no
    plain string or number, a recursive alias). A dump of 150,000 pods is built in two thirds of the time.
    """
    try:
        return _value(loader, node, set())
    except _Fallback:
        return loader.construct_document(node)
    finally:
        loader.constructed_objects = {}
        loader.recursive_objects = {}


def _value(loader: Any, node: yaml.Node, busy: set[int]) -> Any:
    # A string scalar (most values) is taken in the loop that meets it, without a call of its own.
    tag = node.tag
    nt = type(node)
    if nt is _SCALAR:
        return node.value if tag == _STR else loader.construct_object(node, deep=True)
    if id(node) in busy:
        raise _Fallback
    busy.add(id(node))
    if nt is _MAPPING and tag == _MAP:
        out: dict[Any, Any] = {}
        seen: set[str] | None = None  # keys' texts, once an int key makes a key differ from its text
        for i, (key_node, value_node) in enumerate(node.value):
            if type(key_node) is not _SCALAR:
                raise _Fallback
            ktag = key_node.tag
            raw = key_node.value
            if ktag == _STR:
                key = raw
            elif ktag == _INT:
                key = loader.construct_object(key_node, deep=True)
                if seen is None:
                    seen = {k.value for k, _ in node.value[:i]}
            else:
                raise _Fallback
            # keys are compared by their text, as sigs.k8s.io/yaml does
            if seen is not None:
                if raw in seen:
                    raise _DuplicateKey(raw, key_node.start_mark.line + 1)
                seen.add(raw)
            elif key in out:
                raise _DuplicateKey(raw, key_node.start_mark.line + 1)
            out[key] = value_node.value if type(value_node) is _SCALAR and value_node.tag == _STR \
                else _value(loader, value_node, busy)
    elif nt is _SEQUENCE and tag == _SEQ:
        out = [item.value if type(item) is _SCALAR and item.tag == _STR else _value(loader, item, busy)  # type: ignore[assignment]
               for item in node.value]
    else:
        raise _Fallback
    busy.discard(id(node))
    return out


def _items_nodes(node: yaml.Node) -> list[int]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode):
            return [n.start_mark.line + 1 for n in value.value]
    return []


# kubectl's -o yaml starts every object and every List with apiVersion at column 0 (it sorts the keys).
_APPENDED = re.compile(r"^apiVersion:", re.MULTILINE)


def _parse_appended(text: str, source: str, scenario: Scenario) -> bool:
    """``kubectl get … -o yaml >> dump.yaml`` run twice: two documents without a ``---`` between them, which YAML
    reads as one mapping with every key twice. Read as the documents they are, each at its own lines; False when
    a part does not parse on its own (the duplicate key is then the error)."""
    starts = [m.start() for m in _APPENDED.finditer(text)]
    if len(starts) < 2:
        return False
    bounds = [0, *starts[1:], len(text)]
    parts: list[Manifest] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        part = Scenario(source)
        try:
            _parse_yaml(text[a:b], source, part, appended=False)
        except ScenarioError:
            return False
        offset = text.count("\n", 0, a)
        parts += [Manifest(m.body, m.source, m.line + offset) for m in part.manifests]
    scenario.manifests += parts
    return True


def _parse_yaml(text: str, source: str, scenario: Scenario, appended: bool = True) -> None:
    loader = _Loader(text)
    before = len(scenario.manifests)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            body = _document(loader, node)
            if body is None:
                continue
            _add(scenario, body, source, line, "", _items_nodes(node))
    except _DuplicateKey as e:
        lines = text.splitlines()
        if appended and e.key == "apiVersion" and 0 < e.line <= len(lines) and lines[e.line - 1].startswith(
                "apiVersion:"):
            del scenario.manifests[before:]
            if _parse_appended(text, source, scenario):
                return
        raise ScenarioError(_dup_message(e.key, e.line), source=source, line=e.line) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        problem = _one_line(e.problem or str(e))
        if e.context:
            problem = f"{problem} ({_one_line(e.context)})"
        raise ScenarioError(f"YAML does not parse: {problem}", source=source, line=line) from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"YAML does not parse: {_one_line(str(e))}", source=source) from None
    except RecursionError:
        raise ScenarioError("YAML does not parse: nested too deeply", source=source) from None
    finally:
        loader.dispose()


def parse_text(text: str, source: str = "<scenario>") -> Scenario:
    """Parse multi-document YAML or JSON, flattening lists and recording each document's line."""
    if not isinstance(text, str):
        raise ScenarioError(f"scenario text must be a str, not {type(text).__name__}", source=source)
    scenario = Scenario(source=source, text=text)
    _parse_into(scenario, text, source)
    return scenario


def _parse_into(scenario: Scenario, text: str, source: str) -> None:
    # A dump makes millions of long-lived objects; the cyclic collector would rescan them again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _parse_text_into(scenario, text, source)
    finally:
        if collecting:
            gc.enable()


def _parse_text_into(scenario: Scenario, text: str, source: str) -> None:
    if "\0" in text:
        raise ScenarioError("not a text file (it holds NUL bytes): expected Kubernetes YAML or JSON", source=source)
    if not _parse_json(text, source, scenario):
        _parse_yaml(text, source, scenario)


def _decode(data: bytes, source: str) -> str:
    # kubectl reads files through unicode.BOMOverride(UTF8 decoder) (cli-runtime resource/visitor.go, FileVisitor):
    # a byte-order mark selects UTF-16 (what Windows PowerShell's `>` writes) or UTF-8; without one, UTF-8.
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16-le" if data[:2] == b"\xff\xfe" else "utf-16-be"
        try:
            return data[2:].decode(encoding)
        except UnicodeDecodeError as e:
            raise ScenarioError(f"not {encoding.upper()} text (bytes at offset {e.start + 2}): the file starts with a "
                                f"{encoding.upper()} byte-order mark", source=source) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ScenarioError(f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}): expected Kubernetes "
                            "YAML or JSON", source=source, line=line) from None


def parse_bytes(data: bytes, source: str = "<scenario>") -> Scenario:
    """Parse a file's bytes: UTF-8 text holding YAML or JSON."""
    return parse_text(_decode(data, source), source)


def _files(directory: Path) -> list[Path]:
    """The manifest files under a directory, recursively, in path order (hidden entries skipped)."""
    out = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [Path(root) / n for n in sorted(names) if n.endswith(MANIFEST_SUFFIXES) and not n.startswith(".")]
    return sorted(out)


def _read(path: Path, shown: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_SCENARIO_BYTES:
            raise ScenarioError(f"too large to model: {size} bytes (the limit is {MAX_SCENARIO_BYTES} bytes)",
                                source=shown)
        return path.read_bytes()
    except OSError as e:
        raise ScenarioError(f"cannot read: {e.strerror or e}", source=shown) from None


# The loader's own words for a document that is no Kubernetes object (see _add).
_NOT_OBJECTS = ("not a Kubernetes object", "a document must be a mapping")


def _not_empty(scenario: Scenario) -> Scenario:
    """A file (or directory) that holds no object is refused, as ``kubectl apply -f`` refuses it ("no objects
    passed to apply"), rather than read as the default cluster: an empty ``kubectl get`` List is a dump of nothing."""
    if not scenario.manifests:
        raise ScenarioError("no objects passed to apply: it holds no Kubernetes object (an empty file, or a kubectl "
                            "List without items: the cluster or namespace had none of what was asked for)",
                            source=scenario.source)
    return scenario


def read_scenario(scenario: str | os.PathLike[str]) -> Scenario:
    """Read a scenario from a file, a directory of files, or a shipped name."""
    path = resolve_path(scenario)
    try:
        is_dir = path.is_dir()
    except OSError:
        is_dir = False
    if not is_dir:
        shown = str(path) if Path(scenario).is_file() else str(scenario)
        out = _not_empty(parse_bytes(_read(path, shown), shown))
        if _is_shipped(path):
            for m in out.manifests:
                m.shipped = True
        return out
    files = _files(path)
    if not files:
        raise ScenarioError("no .yaml, .yml or .json file in this directory", source=str(path))
    total = 0
    out = Scenario(source=str(path))
    texts: list[str] = []
    first_skip: ScenarioError | None = None
    for f in files:
        data = _read(f, str(f))
        total += len(data)
        if total > MAX_SCENARIO_BYTES:
            raise ScenarioError(f"too large to model: more than {MAX_SCENARIO_BYTES} bytes in its files",
                                source=str(path))
        text = _decode(data, str(f))
        before = len(out.manifests)
        try:
            _parse_into(out, text, str(f))
        except ScenarioError as e:
            # A dump's directory may hold other data beside the objects (troubleshoot's support bundle: the
            # RBAC rules of auth-cani-list/, version files): a file whose first document is no Kubernetes object
            # is skipped and listed; a file that does not parse, or that mixes objects with other documents, is
            # refused as kubectl refuses it.
            if len(out.manifests) != before or not any(w in str(e) for w in _NOT_OBJECTS) or len(files) == 1:
                raise
            out.skipped.append(str(f))
            first_skip = first_skip or e
            continue
        texts.append(text)
    if not out.manifests and first_skip is not None:
        raise first_skip
    _not_empty(out)
    out.text = "\n---\n".join(texts) if len(texts) > 1 else (texts[0] if texts else "")
    return out
