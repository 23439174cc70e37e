"""YAML and JSON as kubectl prints objects (``-o yaml``, ``-o json``)."""

from __future__ import annotations

import json
from typing import Any

import yaml

__all__ = ["to_yaml", "to_json"]


class _Dumper(yaml.SafeDumper):
    pass


def _plain_ok(data: str) -> bool:
    if not data or data != data.strip() or data[0] in "!&*-?:,[]{}#|>@`'\"%" or ": " in data or " #" in data:
        return data == "-" and False
    try:
        return yaml.safe_load(data) == data
    except yaml.YAMLError:
        return False


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Go's yaml (kubectl) writes multi-line strings as | blocks and quotes with double quotes.
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    if _plain_ok(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data)
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')


_Dumper.add_representer(str, _str_presenter)


def to_yaml(obj: Any) -> str:
    """YAML as kubectl prints it: keys sorted, block style, multi-line strings as ``|`` blocks."""
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=10 ** 6)


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False)
