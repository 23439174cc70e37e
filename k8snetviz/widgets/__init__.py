"""Notebook widgets: thin layers of controls → a question → a view.

>>> from k8snetviz.widgets import PacketWalk, NodeInspector  # doctest: +SKIP
"""

from __future__ import annotations

from k8snetviz.widgets.diagram import Diagram
from k8snetviz.widgets.inspector import NodeInspector
from k8snetviz.widgets.packetwalk import PacketWalk
from k8snetviz.widgets.policyeditor import PolicyEditor
from k8snetviz.widgets.resolver import Resolver
from k8snetviz.widgets.serviceexplorer import ServiceExplorer
from k8snetviz.widgets.terminal import TerminalView
from k8snetviz.widgets.urltester import URLTester

__all__ = ["Diagram", "NodeInspector", "PacketWalk", "PolicyEditor", "Resolver", "ServiceExplorer", "TerminalView",
           "URLTester"]
