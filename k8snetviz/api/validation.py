"""The API server's generic name and value checks (apimachinery ``util/validation``), word for word.

Each ``*_errors`` function returns the messages the API server would attach to a field (an empty list
when the value is valid); the caller wraps each in a :class:`~k8snetviz.errors.FieldError` with its path.

>>> dns1123_label_errors("web.default")
['must not contain dots']
>>> port_name_errors("http--alt")
['must not contain consecutive hyphens']
>>> qualified_name_errors("app.kubernetes.io/name")
[]
"""

from __future__ import annotations

import re

__all__ = [
    "DNS1123_LABEL_FMT",
    "DNS1123_SUBDOMAIN_FMT",
    "DNS1123_SUBDOMAIN_MSG",
    "PORT_NUM_ERROR",
    "IP_ERROR",
    "CIDR_ERROR",
    "regex_error",
    "max_len_error",
    "dns1123_label_errors",
    "dns1123_subdomain_errors",
    "wildcard_dns1123_subdomain_errors",
    "dns1035_label_errors",
    "qualified_name_errors",
    "label_value_errors",
    "port_number_errors",
    "port_name_errors",
]

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
WILDCARD_DNS1123_SUBDOMAIN_FMT = "\\*\\." + DNS1123_SUBDOMAIN_FMT
WILDCARD_DNS1123_SUBDOMAIN_MSG = (
    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must "
    "consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character"
)
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character"
)
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
LABEL_VALUE_FMT = f"({QUALIFIED_NAME_FMT})?"
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)

PORT_NUM_ERROR = "must be between 1 and 65535, inclusive"
IP_ERROR = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR_ERROR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"

# Go's regexp anchors ^...$ match the whole text only, so fullmatch (re.match with $ would
# also accept a trailing newline).
_DNS1123_LABEL_RE = re.compile(DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(DNS1123_SUBDOMAIN_FMT)
_WILDCARD_DNS1123_SUBDOMAIN_RE = re.compile(WILDCARD_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE = re.compile(DNS1035_LABEL_FMT)
_QUALIFIED_NAME_RE = re.compile(QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE = re.compile(LABEL_VALUE_FMT)
_PORT_NAME_CHARSET_RE = re.compile("[-a-z0-9]+")
_PORT_NAME_LETTER_RE = re.compile("[a-z]")


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """apimachinery's ``RegexError``: the message, then the examples and the regex in parentheses.

    Each example is followed by ``", "`` and they are joined with ``" or "``, hence the double space:

    >>> regex_error("must be short", "[a-z]", "a", "b")
    "must be short (e.g. 'a',  or 'b', regex used for validation is '[a-z]')"
    """
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    return msg + " (e.g. " + " or ".join(f"'{e}', " for e in examples) + f"regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    """apimachinery's ``MaxLenError``."""
    return f"must be no more than {length} characters"


def dns1123_label_errors(value: str) -> list[str]:
    """``IsDNS1123Label`` (port names in Services and EndpointSlices)."""
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _DNS1123_LABEL_RE.fullmatch(value):
        if _DNS1123_SUBDOMAIN_RE.fullmatch(value):
            # a valid subdomain that is not a label: the length was checked, so it is the dots
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def dns1123_subdomain_errors(value: str) -> list[str]:
    """``IsDNS1123Subdomain`` (most object names, ``spec.externalName``, DNS search domains).

    >>> dns1123_subdomain_errors("db.example.com")
    []
    """
    errs = []
    if len(value) > 253:
        errs.append(max_len_error(253))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(regex_error(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def wildcard_dns1123_subdomain_errors(value: str) -> list[str]:
    """``IsWildcardDNS1123Subdomain`` (``*.example.com`` hosts in an Ingress)."""
    errs = []
    if len(value) > 253:
        errs.append(max_len_error(253))
    if not _WILDCARD_DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(regex_error(WILDCARD_DNS1123_SUBDOMAIN_MSG, WILDCARD_DNS1123_SUBDOMAIN_FMT, "*.example.com"))
    return errs


def dns1035_label_errors(value: str) -> list[str]:
    """``IsDNS1035Label`` (Service names: no leading digit)."""
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errs.append(regex_error(DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def qualified_name_errors(value: str) -> list[str]:
    """``IsQualifiedName``: a label key, an optional DNS subdomain prefix and ``/`` before the name."""
    parts = value.split("/")
    errs: list[str] = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in dns1123_subdomain_errors(prefix))
    else:
        return [
            "a qualified name "
            + regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        errs.append("name part " + regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def label_value_errors(value: str) -> list[str]:
    """``IsValidLabelValue``: empty, or a qualified name of at most 63 characters."""
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(regex_error(LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def port_number_errors(port: int) -> list[str]:
    """``IsValidPortNum``: 1 to 65535."""
    return [] if 1 <= port <= 65535 else [PORT_NUM_ERROR]


def port_name_errors(value: str) -> list[str]:
    """``IsValidPortName``: an IANA service name (a named ``targetPort`` or NetworkPolicy port)."""
    errs = []
    if len(value) > 15:
        errs.append(max_len_error(15))
    if not _PORT_NAME_CHARSET_RE.fullmatch(value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER_RE.search(value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs
