"""Layer 3: a real JupyterLab driven in Debian's Chromium.

A package, so that its helper module ``jupyterlab.py`` is ``ui.jupyterlab`` and never shadows the
real ``jupyterlab``.
"""
