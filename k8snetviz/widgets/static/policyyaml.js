// The policy editor's YAML box and its Apply button, in one front end. The button sends the box's
// text with the click, so the kernel applies exactly the text on the screen. (With a separate text
// widget the text would travel on blur as a state update, which ipywidgets may hold back while an
// earlier update is unanswered; the click is a message of its own and could overtake it, and the
// kernel would apply the old text.)

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "knv-yamlbox";
  const box = document.createElement("textarea");
  box.rows = model.get("rows");
  box.placeholder = model.get("placeholder");
  box.spellcheck = false;
  box.setAttribute("aria-label", model.get("label"));
  box.value = model.get("value");
  const bar = document.createElement("div");
  bar.className = "knv-yamlbox-bar";
  const apply = document.createElement("button");
  apply.type = "button";
  apply.className = "jupyter-button mod-primary knv-apply";
  const icon = document.createElement("i");
  icon.className = "fa fa-check";
  icon.setAttribute("aria-hidden", "true");
  apply.append(icon, " Apply");
  apply.title = "Apply the YAML on top of the scenario";
  bar.append(apply);
  root.append(box, bar);
  el.append(root);

  // Each message that acts on the text carries it: an edit when the box loses focus (the kernel
  // applies it in live mode), and the click.
  box.addEventListener("change", () => model.send({ event: "edit", text: box.value }));
  apply.addEventListener("click", () => model.send({ event: "apply", text: box.value }));
  // Text set from the kernel shows at once, unless the learner is typing in the box.
  model.on("change:value", () => {
    const text = model.get("value");
    if (box.value !== text && document.activeElement !== box) box.value = text;
  });
}

export default { render };
