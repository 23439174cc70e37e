// The policy matrix's front end: the HTML comes from views.policygrid; a click (or Enter/Space on a
// focused cell) sends the pair to the kernel. Cells become focusable buttons so the grid works from
// the keyboard.

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "knv-grid";
  const banner = document.createElement("p");
  banner.className = "knv-stale-banner";
  banner.setAttribute("role", "status");
  const table = document.createElement("div");
  table.className = "knv-grid-table";
  root.append(banner, table);
  el.append(root);

  function mark() {
    const [from, to] = model.get("selected");
    for (const td of table.querySelectorAll("td.knv-cell")) {
      const on = td.dataset.from === from && td.dataset.to === to;
      td.classList.toggle("knv-selected", on);
      td.setAttribute("aria-pressed", on ? "true" : "false");
    }
  }
  function paint() {
    table.innerHTML = model.get("html");
    for (const td of table.querySelectorAll("td.knv-cell")) {
      td.tabIndex = 0;
      td.setAttribute("role", "button");
      td.setAttribute("aria-label", td.title + ": show the walk");
    }
    mark();
  }
  function paintStale() {
    const stale = model.get("stale");
    root.classList.toggle("knv-stale", stale);
    banner.textContent = stale ? "Stale: this matrix shows the last policies that applied, not the text above." : "";
  }
  function pick(target) {
    const td = target.closest("td.knv-cell");
    if (!td || !table.contains(td)) return;
    model.set("selected", [td.dataset.from, td.dataset.to]);
    model.save_changes();
  }
  table.addEventListener("click", (e) => pick(e.target));
  table.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(e.target); }
  });
  paint();
  paintStale();
  model.on("change:html", paint);
  model.on("change:selected", mark);
  model.on("change:stale", paintStale);
}
export default { render };
