// The packet walk's hop-details panel. Every hop's details arrive once, with the walk (the `hops`
// list); the step is the diagram's (the `diagram` model: its back, play, slider and next step in the
// browser), so a step change only redraws this panel from them: no round trip to the kernel, and no
// message of this panel's own to the kernel either.
//
// The panel's elements are made once and then only their text changes from step to step: new elements
// would each need their style matched against JupyterLab's ~5,000 rules and laid out afresh (5.4 ms a
// step, measured in the page, against 1.2 ms for changing the text of the same elements).

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Writes only what changed: even the same text written again lays the line out again.
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setClass(node, className) {
  if (node.className !== className) node.className = className;
}

// Shown or hidden (the caller empties a hidden part, so that the panel's text is the current hop's alone).
function show(node, shown) {
  if (node.hidden === !shown) return;
  node.hidden = !shown;
}

function setData(textNode, text) {
  if (textNode.data !== text) textNode.data = text;
}

// `count` children of `parent`, made by `make` when there are too few; the rest removed.
function children(parent, count, make) {
  while (parent.children.length < count) parent.append(make());
  while (parent.children.length > count) parent.lastElementChild.remove();
  return Array.from(parent.children);
}

function render({ model, el: host }) {
  const root = el("div", "knv-hops");
  root.setAttribute("aria-live", "polite");
  const box = el("div", "knv-hop");
  const head = el("p");
  const stepOf = el("b");
  const replySeparator = document.createTextNode("");
  const reply = el("i");
  const at = el("code");
  const device = el("code");
  const action = el("b");
  head.append(stepOf, replySeparator, reply, " · ", at, " · device ", device, " · ", action);
  const detail = el("p");
  // The why-chain's disclosure is one element for the whole walk: the learner's choice to open it holds
  // while stepping.
  const why = el("details", "knv-why");
  const summary = el("summary", "", "Decided by: ");
  const decidedBy = el("code");
  summary.append(decidedBy);
  const chain = el("ol", "knv-why-chain");
  why.append(summary, chain);
  const headers = el("table", "knv-headers");
  const verdict = el("p", "knv-verdict");
  const verdictName = el("b");
  const verdictReason = document.createTextNode("");
  verdict.append(verdictName, verdictReason);
  box.append(head, detail, why, headers, verdict);
  host.append(root);

  // While stepping through one walk the panel keeps the height of its tallest hop so far, so that
  // nothing below it moves: a step that moved the rest of the notebook cost the page a new sorting
  // of its layers (3-4 ms) besides the repaint. A new walk, or the why-chain opened or closed, starts
  // again from the panel's own height.
  let tallest = 0;
  const keepHeight = new ResizeObserver(() => {
    const height = root.getBoundingClientRect().height;
    if (height > tallest + 0.5) {
      tallest = height;
      root.style.minHeight = `${height}px`;
    }
  });
  keepHeight.observe(root);
  const fitHeight = () => {
    tallest = 0;
    root.style.minHeight = "";
  };
  why.addEventListener("toggle", fitHeight);

  function headerRow() {
    const row = el("tr");
    const cell = el("td");
    cell.append(el("code"), el("span"));
    row.append(el("th"), cell);
    return row;
  }

  // The step comes from the diagram's model once it is found (its reference is "IPY_MODEL_<id>"); this
  // model's own `step` until then, and when the panel stands alone.
  let steps = model;

  function paint() {
    const t0 = performance.now();
    const hops = model.get("hops");
    const step = steps.get("step");
    const hop = step >= 1 && step <= hops.length ? hops[step - 1] : null;
    if (!hop) {
      if (root.firstChild) root.replaceChildren();
    } else {
      if (!root.firstChild) root.append(box);
      setText(stepOf, `Step ${hop.step} of ${hop.of}`);
      setData(replySeparator, hop.reply ? " · " : "");
      setText(reply, hop.reply ? "the reply, on its way back" : "");
      setText(at, hop.at);
      setText(device, hop.device);
      setText(action, hop.action);
      setText(detail, hop.detail);
      show(why, Boolean(hop.decided_by));
      const lines = hop.decided_by ? hop.why.slice(1).map((line) => line.trim()) : [];
      setText(decidedBy, hop.decided_by || "");
      children(chain, lines.length, () => el("li")).forEach((li, i) => setText(li, lines[i]));
      children(headers, hop.headers.length, headerRow).forEach((row, i) => {
        const h = hop.headers[i];
        const [name, cell] = row.children;
        const [value, mark] = cell.children;
        setText(name, h.name);
        setClass(cell, h.changed ? "knv-changed" : "");
        setText(value, h.value);
        setText(mark, h.changed ? " ✱ changed" : "");
      });
      // The verdict's line stays in place, empty and without its bar until the last step: an element
      // shown or hidden makes the page sort its layers again (3-7 ms a step, measured).
      if (hop.verdict) {
        setClass(verdict, `knv-verdict ${hop.verdict.delivered ? "knv-delivered" : "knv-failed"}`);
        setText(verdictName, hop.verdict.verdict);
        setData(verdictReason, `: ${hop.verdict.reason}`);
      } else {
        setClass(verdict, "knv-verdict");
        setText(verdictName, "");
        setData(verdictReason, "");
      }
    }
    root.dataset.paintedStep = String(step);
    root.dataset.paintMs = (performance.now() - t0).toFixed(2);
  }

  paint();
  model.on("change:hops", () => { fitHeight(); paint(); });
  model.on("change:step", () => { if (steps === model) paint(); });
  let removed = false;
  let unlink = () => {};
  const ref = model.get("diagram") || "";
  if (ref) {
    model.widget_manager.get_model(ref.replace(/^IPY_MODEL_/, "")).then((diagram) => {
      if (removed) return;
      steps = diagram;
      diagram.on("change:step", paint);
      unlink = () => diagram.off("change:step", paint);
      paint();
    });
  }
  return () => { removed = true; unlink(); keepHeight.disconnect(); };
}

export default { render };
