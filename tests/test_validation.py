"""The API server's generic name checks, shared by Services, Ingress, NetworkPolicy and the pod DNS config."""

from __future__ import annotations

from k8snetviz.api.validation import (
    dns1035_label_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    label_value_errors,
    port_name_errors,
    qualified_name_errors,
    regex_error,
    wildcard_dns1123_subdomain_errors,
)
from k8snetviz.errors import FieldError, GoLiteral


def test_regex_error_joins_examples_the_way_apimachinery_does():
    # apimachinery RegexError: every example is followed by ", " and joined with " or ", so two
    # examples leave a double space; with none, only the regex is named.
    assert regex_error("m", "x", "a", "b") == "m (e.g. 'a',  or 'b', regex used for validation is 'x')"
    assert regex_error("m", "x", "a") == "m (e.g. 'a', regex used for validation is 'x')"
    assert regex_error("m", "x") == "m (regex used for validation is 'x')"


def test_a_trailing_newline_is_not_a_valid_name():
    # Go's regexp ^...$ anchors the whole text (no multi-line mode), so "web\n" fails every name check
    # (Python's re.match with $ would accept it).
    assert dns1123_label_errors("web\n")
    assert dns1123_subdomain_errors("web\n")
    assert dns1035_label_errors("web\n")
    assert port_name_errors("web\n") == ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"]


def test_label_versus_subdomain_versus_dns1035():
    # IsDNS1123Label names the dots when the value would be a valid subdomain.
    assert dns1123_label_errors("web.default") == ["must not contain dots"]
    assert dns1123_subdomain_errors("web.default") == []
    # A DNS-1035 label (Service names) may not start with a digit; an RFC 1123 label may.
    assert dns1123_label_errors("1web") == []
    assert dns1035_label_errors("1web")[0].startswith("a DNS-1035 label must consist of")
    assert dns1123_subdomain_errors("a" * 254)[0] == "must be no more than 253 characters"


def test_wildcard_host():
    assert wildcard_dns1123_subdomain_errors("*.example.com") == []
    assert wildcard_dns1123_subdomain_errors("foo.*.example.com")[0].startswith("a wildcard DNS-1123 subdomain")


def test_qualified_name_prefix_and_name_parts():
    # IsQualifiedName: an empty prefix or name is named, an empty name also fails the regex, and more
    # than one "/" gets the single "a qualified name ..." message.
    assert qualified_name_errors("app.kubernetes.io/name") == []
    assert qualified_name_errors("/web") == ["prefix part must be non-empty"]
    empty_name = qualified_name_errors("example.com/")
    assert empty_name[0] == "name part must be non-empty"
    assert empty_name[1].startswith("name part must consist of alphanumeric characters")
    (too_many,) = qualified_name_errors("a/b/c")
    assert too_many.startswith("a qualified name must consist of")
    assert too_many.endswith("with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")
    assert qualified_name_errors("x/" + "a" * 64)[0] == "name part must be no more than 63 characters"


def test_label_values_may_be_empty():
    assert label_value_errors("") == []
    assert label_value_errors("-web")[0].startswith("a valid label must be an empty string")


def test_port_names_are_iana_service_names():
    assert port_name_errors("http") == []
    assert port_name_errors("8080") == ["must contain at least one letter (a-z)"]
    assert port_name_errors("-http-alt-name--") == [
        "must be no more than 15 characters",
        "must not contain consecutive hyphens",
        "must not begin or end with a hyphen",
    ]


def test_go_strings_quote_each_element_like_a_go_string():
    # Go's %#v of a []string: the type, then each element quoted with its quotes escaped.
    value = GoLiteral.strings(["10.96.0.5", 'a"b'])
    assert str(value) == '[]string{"10.96.0.5", "a\\"b"}'
    assert str(FieldError.invalid("spec.clusterIPs", value, "x")) == (
        'spec.clusterIPs: Invalid value: []string{"10.96.0.5", "a\\"b"}: x'
    )
