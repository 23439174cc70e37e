// The diagram widget's front end: the SVG is laid out once by Graphviz (in Python); a step change
// only moves CSS classes between elements that carry the ids the DOT view gave them. The model also
// holds the DOT source (`dot`) with the same ids, so a layout made here in the browser can replace
// the `svg` one without changing anything else.

function byId(root, id) {
  return root.querySelector(`[id="${CSS.escape(id)}"]`);
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "knv-diagram";
  // Stepping happens here, in the browser: the new step paints at once and syncs to the kernel after.
  const nav = document.createElement("div");
  nav.className = "knv-nav";
  const prev = document.createElement("button");
  prev.className = "knv-prev jupyter-button";
  prev.textContent = "◀ back";
  const next = document.createElement("button");
  next.className = "knv-next jupyter-button";
  next.textContent = "next ▶";
  nav.append(prev, next);
  const move = (delta) => {
    const n = model.get("steps").length;
    const step = Math.max(n ? 1 : 0, Math.min(n, model.get("step") + delta));
    if (step === model.get("step")) return;
    model.set("step", step);
    model.save_changes();
  };
  prev.addEventListener("click", () => move(-1));
  next.addEventListener("click", () => move(+1));
  const figure = document.createElement("div");
  figure.className = "knv-svg";
  figure.setAttribute("role", "img");
  const caption = document.createElement("p");
  caption.className = "knv-caption";
  const live = document.createElement("p");
  live.className = "knv-live";
  live.setAttribute("aria-live", "polite");
  root.append(nav, figure, caption, live);
  // Route rows are links only so that Graphviz keeps their ids (and tooltips); they go nowhere.
  // A folded element (`fold--…`, "27 more pods") asks the kernel to draw its node in full.
  figure.addEventListener("click", (event) => {
    if (event.target.closest("a")) event.preventDefault();
    const folded = event.target.closest('[id^="fold--"]');
    if (folded) model.send({ event: "unfold", id: folded.id });
  });
  el.append(root);

  let lit = [];

  function paintSvg() {
    figure.innerHTML = model.get("svg");
    figure.setAttribute("aria-label", model.get("description"));
    caption.textContent = model.get("description");
    lit = [];
  }

  // Elements by id, found once per SVG: stepping looks them up again and again.
  let found = new Map();
  function element(id) {
    if (!found.has(id)) found.set(id, byId(figure, id));
    return found.get(id);
  }

  function paintStep() {
    const t0 = performance.now();
    for (const node of lit) node.classList.remove("knv-lit", "knv-current", "knv-dropped");
    lit = [];
    const steps = model.get("steps");
    const step = model.get("step");
    const dropped = model.get("dropped");
    for (let i = 0; i < Math.min(step, steps.length); i++) {
      const current = i === step - 1;
      for (const id of steps[i]) {
        const node = element(id);
        if (!node) continue;
        node.classList.add(current ? "knv-current" : "knv-lit");
        if (current && dropped && step === steps.length) node.classList.add("knv-dropped");
        lit.push(node);
      }
    }
    prev.disabled = step <= 1;
    next.disabled = step >= steps.length;
    nav.style.display = model.get("navigation") ? "" : "none";
    const texts = model.get("step_texts");
    live.textContent = step > 0 && step <= texts.length ? texts[step - 1] : "";
    root.dataset.paintedStep = String(step);
    root.dataset.walk = String(model.get("walk"));
    root.dataset.paintMs = (performance.now() - t0).toFixed(2);
  }

  paintSvg();
  paintStep();
  model.on("change:svg", () => { found = new Map(); paintSvg(); paintStep(); });
  model.on("change:description", () => { caption.textContent = model.get("description"); });
  model.on("change:steps", paintStep);
  model.on("change:step", paintStep);
  model.on("change:dropped", paintStep);
  model.on("change:walk", paintStep);
  model.on("change:navigation", paintStep);
}

export default { render };
