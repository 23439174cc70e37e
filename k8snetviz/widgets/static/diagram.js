// The diagram widget's front end: the DOT from the kernel is laid out here, once per drawing, by Graphviz
// compiled to WebAssembly; a step change only moves CSS classes between elements that carry the ids the
// DOT view gave them. A non-empty `svg` (a layout made elsewhere, with the same ids) is shown as it is.

function byId(root, id) {
  return root.querySelector(`[id="${CSS.escape(id)}"]`);
}

// One Graphviz per page, shared by every diagram of every notebook on it: the engine's source (1.35 MB)
// is the `source` of one model the kernel sends once; it is imported and started here only once.
function graphviz(model) {
  if (!globalThis.__k8snetvizGraphviz) {
    const started = (async () => {
      const ref = model.get("engine") || "";
      const engine = await model.widget_manager.get_model(ref.replace(/^IPY_MODEL_/, ""));
      const url = URL.createObjectURL(new Blob([engine.get("source")], { type: "text/javascript" }));
      try {
        return await (await import(url)).instance();
      } finally {
        URL.revokeObjectURL(url);
      }
    })();
    globalThis.__k8snetvizGraphviz = started;
    started.catch(() => { if (globalThis.__k8snetvizGraphviz === started) delete globalThis.__k8snetvizGraphviz; });
  }
  return globalThis.__k8snetvizGraphviz;
}

// How long the learner pauses on a step before the kernel is told of it.
const SEND_AFTER_MS = 250;

function render({ model, el }) {
  const root = document.createElement("div");
  // knv: the theme's colours (views/static/theme.css). A static figure (a result's display) has no steps;
  // like every diagram it is fitted to the cell's width, with the "fit to width" switch beside it.
  root.className = model.get("figure") ? "knv knv-diagram knv-figure" : "knv knv-diagram";
  // Stepping happens here, in the browser: back, play, the slider and next paint the new step at once; the
  // kernel hears of it once the learner pauses, as this one model's change (the hop panel follows this
  // model in the browser too). Each message to the kernel makes JupyterLab redraw its busy and idle
  // indicators, work that would otherwise land in the frames of the steps that follow.
  const nav = document.createElement("div");
  nav.className = "knv-nav";
  const button = (className, text) => {
    const b = document.createElement("button");
    b.className = `${className} jupyter-button`;
    b.textContent = text;
    return b;
  };
  const prev = button("knv-prev", "◀ back");
  const play = button("knv-play", "▶ play");
  const slider = document.createElement("input");
  slider.type = "range";
  slider.className = "knv-slider";
  slider.setAttribute("aria-label", "step");
  const next = button("knv-next", "next ▶");
  const counter = document.createElement("span");
  counter.className = "knv-counter";
  // "fit to width" scales the drawing to the cell; unticked, it keeps its own size and scrolls.
  const zoom = document.createElement("label");
  zoom.className = "knv-zoom";
  const fit = document.createElement("input");
  fit.type = "checkbox";
  fit.className = "knv-fit";
  fit.checked = true;
  zoom.append(fit, " fit to width");
  fit.addEventListener("change", () => root.classList.toggle("knv-actual-size", !fit.checked));
  const stepping = [prev, play, slider, next, counter];
  nav.append(...stepping, zoom);
  let unsent = null;
  const send = (step, walk) => {
    clearTimeout(unsent);
    unsent = setTimeout(() => {
      unsent = null;
      // Not if the kernel has changed the step or the walk since: its value stands.
      if (model.get("step") === step && model.get("walk") === walk) model.save_changes();
    }, SEND_AFTER_MS);
  };
  const go = (wanted) => {
    const n = model.get("steps").length;
    const step = Math.max(n ? 1 : 0, Math.min(n, wanted));
    if (step === model.get("step")) return;
    model.set("step", step);
    send(step, model.get("walk"));
  };
  const move = (delta) => go(model.get("step") + delta);
  prev.addEventListener("click", () => move(-1));
  next.addEventListener("click", () => move(+1));
  slider.addEventListener("input", () => go(parseInt(slider.value, 10)));
  // Play: one hop every 0.9 s until the last; from the last, it starts again at the first.
  let playing = null;
  const stop = () => {
    if (playing !== null) clearInterval(playing);
    playing = null;
    play.textContent = "▶ play";
  };
  play.addEventListener("click", () => {
    if (playing !== null) { stop(); return; }
    if (model.get("step") >= model.get("steps").length) go(1);
    play.textContent = "❚❚ pause";
    playing = setInterval(() => {
      if (!root.isConnected || model.get("step") >= model.get("steps").length) stop();
      else move(+1);
    }, 900);
  });
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
  // Elements by id, found once per SVG: stepping looks them up again and again.
  let found = new Map();
  function element(id) {
    if (!found.has(id)) found.set(id, byId(figure, id));
    return found.get(id);
  }

  // Lays the DOT out (or shows a ready SVG); only the newest request paints, if several are under way.
  let drawn = 0;
  let ready = false; // the figure shows the current drawing
  async function paintSvg() {
    const ticket = ++drawn;
    ready = false;
    figure.setAttribute("aria-label", model.get("description"));
    caption.textContent = model.get("description");
    let svg = model.get("svg");
    if (!svg && model.get("dot")) {
      const t0 = performance.now();
      try {
        const viz = await graphviz(model);
        if (ticket !== drawn) return;
        svg = viz.renderSVGElement(model.get("dot"));
      } catch (error) {
        if (ticket !== drawn) return;
        figure.textContent = `The diagram could not be drawn: ${error.message || error}`;
        return;
      }
      root.dataset.layoutMs = (performance.now() - t0).toFixed(1);
    }
    if (ticket !== drawn) return;
    if (typeof svg === "string") figure.innerHTML = svg;
    else figure.replaceChildren(svg);
    found = new Map();
    lit = [];
    ready = true;
    paintStep();
  }

  function paintStep() {
    const t0 = performance.now();
    for (const node of lit) node.classList.remove("knv-lit", "knv-current", "knv-dropped");
    lit = [];
    const steps = model.get("steps");
    const step = model.get("step");
    const dropped = model.get("dropped");
    for (let i = 0; ready && i < Math.min(step, steps.length); i++) {
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
    play.disabled = steps.length < 2;
    if (playing !== null && step >= steps.length) stop();
    // Written only when changed: the same value written again still costs the page a layout.
    const max = String(Math.max(steps.length, 1)), value = String(Math.max(step, 1));
    if (slider.max !== max) slider.max = max;
    if (slider.min !== "1") slider.min = "1";
    if (slider.value !== value) slider.value = value;
    slider.disabled = steps.length < 2;
    const count = steps.length ? `step ${step} of ${steps.length}` : "";
    if (counter.textContent !== count) counter.textContent = count;
    const shown = model.get("navigation") ? "" : "none";
    for (const part of stepping) if (part.style.display !== shown) part.style.display = shown;
    const texts = model.get("step_texts");
    live.textContent = step > 0 && step <= texts.length ? texts[step - 1] : "";
    // What the page shows now: marked only once the drawing it lights is laid out.
    if (ready) {
      root.dataset.paintedStep = String(step);
      root.dataset.walk = String(model.get("walk"));
    }
    root.dataset.paintMs = (performance.now() - t0).toFixed(2);
  }

  paintStep();
  paintSvg();
  model.on("change:dot", paintSvg);
  model.on("change:svg", paintSvg);
  model.on("change:description", () => { caption.textContent = model.get("description"); });
  model.on("change:steps", paintStep);
  model.on("change:step", paintStep);
  model.on("change:dropped", paintStep);
  model.on("change:walk", paintStep);
  model.on("change:navigation", paintStep);
  model.on("change:walk", stop);
  return () => { stop(); clearTimeout(unsent); };
}

export default { render };
