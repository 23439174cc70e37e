// The packet walk's hop-details panel. Every hop's details arrive once, with the walk (the `hops`
// list); a step change, made in the browser (slider, play, back/next), only redraws this panel from
// them: no round trip to the kernel.

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function code(text) {
  return el("code", "", text);
}

function render({ model, el: host }) {
  const root = el("div", "knv-hops");
  root.setAttribute("aria-live", "polite");
  host.append(root);
  // The learner's choice to see the why-chain holds while stepping.
  let whyOpen = false;

  function paint() {
    const t0 = performance.now();
    const hops = model.get("hops");
    const step = model.get("step");
    root.replaceChildren();
    const hop = step >= 1 && step <= hops.length ? hops[step - 1] : null;
    if (hop) {
      const box = el("div", "knv-hop");
      const head = el("p");
      head.append(el("b", "", `Step ${hop.step} of ${hop.of}`));
      if (hop.reply) {
        head.append(" · ");
        head.append(el("i", "", "the reply, on its way back"));
      }
      head.append(" · ", code(hop.at), " · device ", code(hop.device), " · ", el("b", "", hop.action));
      box.append(head, el("p", "", hop.detail));
      if (hop.decided_by) {
        const why = el("details", "knv-why");
        why.open = whyOpen;
        why.addEventListener("toggle", () => { whyOpen = why.open; });
        const summary = el("summary");
        summary.append("Decided by: ", code(hop.decided_by));
        const chain = el("ol", "knv-why-chain");
        for (const line of hop.why.slice(1)) chain.append(el("li", "", line.trim()));
        why.append(summary, chain);
        box.append(why);
      }
      const table = el("table", "knv-headers");
      for (const h of hop.headers) {
        const row = el("tr");
        const cell = el("td", h.changed ? "knv-changed" : "");
        cell.append(code(h.value));
        if (h.changed) cell.append(" ✱ changed");
        row.append(el("th", "", h.name), cell);
        table.append(row);
      }
      box.append(table);
      if (hop.verdict) {
        const v = el("p", `knv-verdict ${hop.verdict.delivered ? "knv-delivered" : "knv-failed"}`);
        v.append(el("b", "", hop.verdict.verdict), `: ${hop.verdict.reason}`);
        box.append(v);
      }
      root.append(box);
    }
    root.dataset.paintedStep = String(step);
    root.dataset.paintMs = (performance.now() - t0).toFixed(2);
  }

  paint();
  model.on("change:hops", paint);
  model.on("change:step", paint);
}

export default { render };
