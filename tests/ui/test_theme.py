"""The course's outputs read in JupyterLab's light and dark themes: measured in the browser, not assumed.

A notebook written here shows what the course shows most: a cluster, a walk (verdict, diagram, steps, the
details), a command's output, a prediction, a task's check and an error. In each theme the test reads the
computed colours in Chromium and asks for the contrast a reader needs (WCAG 2: 4.5:1 for text, 3:1 for the
large diagram labels), and that the diagram's page is as dark or as light as the theme's.
"""

from __future__ import annotations

import pytest

from .jupyterlab import open_notebook, run_all_cells, write_notebook

pytestmark = pytest.mark.ui

CELLS = [
    'import k8snetviz\nfrom k8snetviz.course import pod_networking as pn\nfrom k8snetviz.course import run\n'
    'c = k8snetviz.load("two-node-bridge")\nc',
    'c.trace("default/client", "default/web:80")',
    'run(c, "ip route", on="node-a")',
    'pn.task_warm_up().check("node-a")',
    'from k8snetviz.course.quiz import show_in_place\nshow_in_place(lambda: c.trace("default/nope", "x:1"))',
    # the packet walk on its first reply hop, whose headers changed (the walk's own step controls too)
    'from k8snetviz.widgets import PacketWalk\nwalk = PacketWalk(c, src="default/client", dst="default/web:80")\n'
    'walk.step.value = 10\nwalk',
]

# The contrast of two CSS colours, computed in the page (WCAG 2 relative luminance).
CONTRAST_JS = """
([fg, bg]) => {
  const parse = (c) => c.match(/[\\d.]+/g).map(Number);
  // a translucent text colour (the theme's muted greys are) is seen blended over its background
  const [br, bgg, bb] = parse(bg);
  const f = parse(fg);
  const alpha = f.length > 3 ? f[3] : 1;
  const seen = [f[0] * alpha + br * (1 - alpha), f[1] * alpha + bgg * (1 - alpha), f[2] * alpha + bb * (1 - alpha)];
  const lum = (rgb) => {
    const [r, g, b] = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(seen), lum(parse(bg).slice(0, 3))].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}
"""

# The colour a reader sees behind an element: the first non-transparent background among its ancestors.
BACKGROUND_JS = """
(el) => {
  for (let e = el; e; e = e.parentElement) {
    const bg = getComputedStyle(e).backgroundColor;
    if (bg && !bg.startsWith('rgba(0, 0, 0, 0)') && bg !== 'transparent') return bg;
  }
  return 'rgb(255, 255, 255)';
}
"""


def _contrast(page, locator) -> float:
    handle = locator.element_handle()
    fg = page.evaluate("(el) => getComputedStyle(el).color", handle)
    bg = page.evaluate(BACKGROUND_JS, handle)
    return page.evaluate(CONTRAST_JS, [fg, bg])


def _svg_contrast(page, panel) -> tuple[float, float]:
    """(label text against the diagram's page, the diagram's page luminance) of the walk's diagram."""
    svg = panel.locator(".knv-trace .knv-svg svg").first
    values = page.evaluate(
        """(svg) => {
          const page = getComputedStyle(svg.querySelector('g.graph > polygon')).fill;
          const text = [...svg.querySelectorAll('text')].find((t) => !t.getAttribute('fill'));
          return [getComputedStyle(text).fill, page];
        }""",
        svg.element_handle(),
    )
    ratio = page.evaluate(CONTRAST_JS, values)
    luminance = page.evaluate(CONTRAST_JS, [values[1], "rgb(0, 0, 0)"])  # 1 = black page, 21 = white page
    return ratio, luminance


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_outputs_read_in_the_theme(lab, lab_page, lab_tmp_dir, theme):
    notebook = write_notebook(lab_tmp_dir / f"theme-{theme.split()[-1].lower()}.ipynb", CELLS)
    rel = notebook.relative_to(lab.root_dir).as_posix()
    panel = open_notebook(lab_page, lab, rel)
    lab_page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme)
    dark = theme.endswith("Dark")
    lab_page.wait_for_function("(d) => document.body.dataset.jpThemeLight === String(!d)", arg=dark)
    try:
        run_all_cells(lab_page, rel, timeout=180)
        checks = {
            "walk verdict": panel.locator(".knv-trace .knv-verdict").first,
            "walk step row": panel.locator(".knv-trace table.knv-steps td").first,
            "walk details": panel.locator(".knv-trace details.knv-details > summary").first,
            # the live kernel's diagram widget captions it in a p.knv-caption; the static figure, a figcaption
            "diagram caption": panel.locator(".knv-trace figcaption, .knv-trace .knv-caption").first,
            "command output": panel.locator("pre.knv-terminal").first,
            "task check": panel.locator(".knv-task-result .knv-verdict").first,
            "error": panel.locator(".knv-error .knv-verdict").first,
            "walk step counter": panel.locator(".knv-packetwalk .knv-counter").first,
            "hop header value": panel.locator(".knv-packetwalk .knv-headers th").first,
            "changed hop header value": panel.locator(".knv-packetwalk .knv-headers td.knv-changed code").first,
        }
        for name, locator in checks.items():
            locator.wait_for(state="visible")
            assert _contrast(lab_page, locator) >= 4.5, f"{name} is hard to read in {theme}"
        ratio, page_luminance = _svg_contrast(lab_page, panel)
        assert ratio >= 4.5, f"the diagram's labels are hard to read in {theme} ({ratio:.1f}:1)"
        assert (page_luminance < 3) if dark else (page_luminance > 15), \
            f"the diagram's page does not follow {theme}"
        # every output the notebook made has a text form too (a plain-text front end reads it)
        assert "<IPython.core.display.HTML object>" not in panel.inner_text()
    finally:
        lab_page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                          "{theme: 'JupyterLab Light'})")
