// The terminal widget's front end: the transcript, a prompt and an input line. Enter sends the line to
// the kernel, which answers by extending the transcript; ↑ and ↓ walk this terminal's history.

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "knv-terminal-widget";
  const title = document.createElement("div");
  title.className = "knv-terminal-title";
  const screen = document.createElement("pre");
  screen.className = "knv-terminal-screen";
  screen.setAttribute("role", "log");
  screen.setAttribute("aria-live", "polite");
  const line = document.createElement("div");
  line.className = "knv-terminal-line";
  const prompt = document.createElement("span");
  prompt.className = "knv-terminal-prompt";
  const input = document.createElement("input");
  input.className = "knv-terminal-input";
  input.type = "text";
  input.spellcheck = false;
  input.autocomplete = "off";
  input.setAttribute("aria-label", "command");
  line.append(prompt, input);
  root.append(title, screen, line);
  el.append(root);

  const history = [];
  let cursor = 0;

  function paint() {
    title.textContent = model.get("title");
    title.hidden = !model.get("title");
    screen.style.maxHeight = model.get("height");
    screen.textContent = "";
    for (const entry of model.get("transcript")) {
      const cmd = document.createElement("span");
      cmd.className = "knv-terminal-command";
      cmd.textContent = `${entry.prompt} ${entry.command}\n`;
      screen.append(cmd);
      if (entry.output) {
        const out = document.createElement("span");
        out.className = "knv-terminal-output";
        out.textContent = entry.output + "\n";
        screen.append(out);
      }
    }
    prompt.textContent = model.get("prompt") + " ";
    screen.scrollTop = screen.scrollHeight;
  }

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      const text = input.value;
      if (text.trim()) history.push(text);
      cursor = history.length;
      input.value = "";
      model.send({ type: "run", line: text });
    } else if (event.key === "ArrowUp") {
      if (cursor > 0) cursor -= 1;
      input.value = history[cursor] ?? "";
      event.preventDefault();
    } else if (event.key === "ArrowDown") {
      if (cursor < history.length) cursor += 1;
      input.value = history[cursor] ?? "";
      event.preventDefault();
    }
    // Keep JupyterLab's notebook shortcuts (a, b, dd, ...) away from what is typed here.
    event.stopPropagation();
  });
  root.addEventListener("click", () => input.focus());
  model.on("change:transcript", paint);
  model.on("change:prompt", paint);
  model.on("change:title", paint);
  paint();
}

export default { render };
