"""Everything that prints: text as the real tools print it, DOT diagrams, HTML for notebooks.

Importing this package registers each result type's text and notebook display
(:mod:`k8snetviz.questions.display`).
"""

from k8snetviz.views import (  # noqa: F401
    dnstext,
    ingresstext,
    inspecttext,
    labreport,
    notebook,
    policygrid,
    policytext,
    sidebyside,
    walktext,
)
