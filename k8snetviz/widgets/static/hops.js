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

// The panel's elements, made once: a step only changes their text.
function build() {
  const box = el("div", "knv-hop");
  const head = el("p");
  const v = { box, stepOf: el("b"), replySeparator: document.createTextNode(""), reply: el("i"), at: el("code"),
    device: el("code"), action: el("b"), detail: el("p"), why: el("details", "knv-why"), decidedBy: el("code"),
    chain: el("ol", "knv-why-chain"), headers: el("table", "knv-headers"), verdict: el("p", "knv-verdict"),
    verdictName: el("b"), verdictReason: document.createTextNode("") };
  head.append(v.stepOf, v.replySeparator, v.reply, " · ", v.at, " · device ", v.device, " · ", v.action);
  // The why-chain's disclosure is one element for the whole walk: the learner's choice to open it holds
  // while stepping.
  const summary = el("summary", "", "Decided by: ");
  summary.append(v.decidedBy);
  v.why.append(summary, v.chain);
  v.verdict.append(v.verdictName, v.verdictReason);
  box.append(head, v.detail, v.why, v.headers, v.verdict);
  return v;
}

function headerRow() {
  const row = el("tr");
  const cell = el("td");
  cell.append(el("code"), el("span"));
  row.append(el("th"), cell);
  return row;
}

// Shows `hop` in the elements of `v`, writing only what differs from what they show.
function fill(v, hop) {
  setText(v.stepOf, `Step ${hop.step} of ${hop.of}`);
  setData(v.replySeparator, hop.reply ? " · " : "");
  setText(v.reply, hop.reply ? "the reply, on its way back" : "");
  setText(v.at, hop.at);
  setText(v.device, hop.device);
  setText(v.action, hop.action);
  setText(v.detail, hop.detail);
  show(v.why, Boolean(hop.decided_by));
  const lines = hop.decided_by ? hop.why.slice(1).map((line) => line.trim()) : [];
  setText(v.decidedBy, hop.decided_by || "");
  children(v.chain, lines.length, () => el("li")).forEach((li, i) => setText(li, lines[i]));
  children(v.headers, hop.headers.length, headerRow).forEach((row, i) => {
    const h = hop.headers[i];
    const [name, cell] = row.children;
    const [value, mark] = cell.children;
    setText(name, h.name);
    setClass(cell, h.changed ? "knv-changed" : "");
    setText(value, h.value);
    setText(mark, h.changed ? " ✱ changed" : "");
  });
  // The verdict's line stays in place, empty and without its bar until the last step: an element shown
  // or hidden makes the page sort its layers again (3-7 ms a step, measured).
  if (hop.verdict) {
    setClass(v.verdict, `knv-verdict ${hop.verdict.delivered ? "knv-delivered" : "knv-failed"}`);
    setText(v.verdictName, hop.verdict.verdict);
    setData(v.verdictReason, `: ${hop.verdict.reason}`);
  } else {
    setClass(v.verdict, "knv-verdict");
    setText(v.verdictName, "");
    setData(v.verdictReason, "");
  }
}

const idle = globalThis.requestIdleCallback || ((f) => setTimeout(f, 50));

function render({ model, el: host }) {
  const root = el("div", "knv-hops");
  root.setAttribute("aria-live", "polite");
  const view = build();
  host.append(root);

  // The panel keeps the height of the walk's tallest hop, so that nothing below it moves as the learner
  // steps: a step that moved the rest of the notebook cost the page a new sorting of its layers (3-4 ms)
  // besides the repaint. The tallest is measured once the walk has arrived and the page is idle, each hop
  // in a hidden copy of the panel; a hop found taller meanwhile (a narrower page) raises it.
  let tallest = 0;
  const keepHeight = new ResizeObserver(() => {
    const height = root.getBoundingClientRect().height;
    if (height > tallest + 0.5) raise(height);
  });
  keepHeight.observe(root);
  function raise(height) {
    tallest = height;
    root.style.minHeight = `${height}px`;
  }
  let measuring = 0;
  function measure() {
    const ticket = ++measuring;
    idle(() => {
      const hops = model.get("hops");
      if (ticket !== measuring || !root.isConnected || !hops.length) return;
      const probe = build();
      probe.why.open = view.why.open;
      const holder = el("div", "knv-hops knv-measure");
      holder.setAttribute("aria-hidden", "true");
      holder.append(probe.box);
      root.append(holder);
      let height = 0;
      for (const hop of hops) {
        fill(probe, hop);
        height = Math.max(height, holder.getBoundingClientRect().height);
      }
      holder.remove();
      if (height > tallest + 0.5) raise(height);
    });
  }
  // A new walk, or the why-chain opened or closed: the height is found again.
  function refit() {
    tallest = 0;
    root.style.minHeight = "";
    measure();
  }
  view.why.addEventListener("toggle", refit);

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
      if (!root.firstChild) root.append(view.box);
      fill(view, hop);
    }
    root.dataset.paintedStep = String(step);
    root.dataset.paintMs = (performance.now() - t0).toFixed(2);
  }

  paint();
  measure();
  model.on("change:hops", () => { paint(); refit(); });
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
  return () => { removed = true; measuring++; unlink(); keepHeight.disconnect(); };
}

export default { render };
