// exprgraph's backprop page: step through the forward and backward pass.
//
// The graph is the node list the tool wrote (#graph-data); the op table is
// exported from exprgraph's own (exprgraphOps: each op's float function and
// its derivative rules). Both passes are loops over the node list with that
// table: no eval, and typed numbers are read with Number(). They follow
// exprgraph/passes/autodiff.py: a node whose adjoint is exactly 0 passes
// nothing back, and a value or partial that is not a finite float is
// "undefined" (outside the function's domain, or too large for a float).
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("graph-data").textContent);
  const OPS = exprgraphOps; // defined by the op table's script, just before this one
  const nodes = data.nodes;
  const edges = data.edges;
  const outName = data.outputName;
  const UNDEFINED = "undefined";

  // --- numbers, as exprgraph/core/numbers.py writes them -------------------------

  function stripZeros(text) {
    return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
  }

  // Python's "%.{digits}g".
  function general(v, digits) {
    if (v === 0) return Object.is(v, -0) ? "-0" : "0";
    const [mantissa, exponentText] = v.toExponential(digits - 1).split("e");
    const exponent = Number(exponentText);
    if (exponent < -4 || exponent >= digits) {
      const sign = exponent < 0 ? "-" : "+";
      return `${stripZeros(mantissa)}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
    }
    return stripZeros(v.toFixed(digits - 1 - exponent));
  }

  function whole(v) {
    return Number.isInteger(v) && Math.abs(v) < 1e15;
  }

  // format_value: integers whole, else 12 significant digits.
  function formatValue(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return UNDEFINED;
    return whole(v) ? String(v) : general(v, 12);
  }

  // short_value: integers whole, else 6 significant digits (the boxes).
  function shortValue(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return UNDEFINED;
    return whole(v) ? String(v) : general(v, 6);
  }

  // factor: a negative number in brackets, so 2·(-3) never reads as a subtraction.
  function factor(v, text) {
    return v < 0 && text !== "0" ? `(${text})` : text;
  }

  // --- the two passes ---------------------------------------------------------------

  const incoming = nodes.map(() => []); // node → its edges (argument order)
  const users = nodes.map(() => []); // node → the nodes that use it
  edges.forEach((edge, k) => {
    incoming[edge.target].push(k);
    users[edge.source].push(edge.target);
  });
  // Whether a node leads to the output (the others' adjoint is 0 from the start).
  const leads = nodes.map(() => false);
  leads[data.output] = true;
  for (let i = nodes.length - 1; i >= 0; i -= 1) {
    if (leads[i]) nodes[i].args.forEach((a) => { leads[a] = true; });
  }

  function whyUndefined(op, args, result) {
    // A pole (log 0, x/0, 0^-1) has a zero argument; an overflow has none.
    const pole = !Number.isNaN(result) && args.some((a) => a === 0);
    if (Number.isNaN(result) || pole) {
      return "outside the function's domain" + (op.domain ? `: ${op.domain}` : "");
    }
    return "the result is too large for a float (beyond about 1.8e308)";
  }

  function forwardPass(inputs) {
    const values = new Array(nodes.length).fill(NaN);
    const why = new Array(nodes.length).fill("");
    nodes.forEach((node, i) => {
      if (node.kind === "const") {
        values[i] = node.value;
      } else if (node.kind === "input") {
        values[i] = inputs.get(i);
      } else {
        const bad = node.args.find((a) => !Number.isFinite(values[a]));
        if (bad !== undefined) {
          why[i] = `it uses ${nodes[bad].name}, which is undefined`;
          return;
        }
        const op = OPS[node.op];
        const args = node.args.map((a) => values[a]);
        const result = op.f(...args);
        if (Number.isFinite(result)) values[i] = result;
        else why[i] = whyUndefined(op, args, result);
      }
    });
    return { values, why };
  }

  function backwardPass(values) {
    const adjoints = nodes.map((node) => (node.varying ? 0 : null));
    const partials = new Array(edges.length).fill(null);
    const contributions = new Array(edges.length).fill(null);
    const why = new Array(nodes.length).fill("");
    if (nodes[data.output].varying) adjoints[data.output] = 1;
    for (let i = nodes.length - 1; i >= 0; i -= 1) {
      const node = nodes[i];
      if (!node.varying || node.args.length === 0) continue;
      let adjoint = adjoints[i];
      if (!Number.isFinite(adjoint)) {
        adjoint = NaN;
        adjoints[i] = NaN;
      }
      const op = OPS[node.op];
      const args = node.args.map((a) => values[a]);
      for (const k of incoming[i]) {
        const edge = edges[k];
        const source = edge.source;
        if (!nodes[source].varying) continue; // nothing is differentiated by a constant
        const partial = op.d[edge.position](args, values[i]);
        partials[k] = partial;
        if (adjoint === 0) {
          contributions[k] = 0; // an adjoint of 0 passes nothing back
          continue;
        }
        let contribution = adjoint * partial;
        if (Number.isNaN(adjoint)) {
          contribution = NaN;
          if (!why[source]) why[source] = `it depends on ${node.name}'s adjoint, which is undefined`;
        } else if (!Number.isFinite(partial)) {
          contribution = NaN;
          if (!why[source]) {
            why[source] = `∂${node.name}/∂${nodes[source].name} is infinite or undefined here`;
          }
        }
        contributions[k] = contribution;
        adjoints[source] += contribution;
        if (!Number.isFinite(adjoints[source]) && !why[source]) {
          why[source] = "the derivative is too large for a float (beyond about 1.8e308)";
        }
      }
    }
    adjoints.forEach((a, i) => {
      if (a !== null && !Number.isFinite(a)) adjoints[i] = NaN;
    });
    return { adjoints, partials, contributions, why };
  }

  // --- the steps ------------------------------------------------------------------

  // Start; the inputs, all in one step (a network's 24 weights are not 24
  // steps); each operation in node order (topological); each operation that
  // leads to the output in reverse order; the gradient.
  const steps = [{ kind: "start" }];
  const forwardAt = new Array(nodes.length).fill(-1); // node → its forward step
  const backwardAt = new Array(nodes.length).fill(-1);
  if (data.inputs.length > 0) {
    data.inputs.forEach((entry) => { forwardAt[entry.node] = steps.length; });
    steps.push({ kind: "inputs" });
  }
  const firstOperation = steps.length;
  nodes.forEach((node, i) => {
    if (node.args.length > 0) {
      forwardAt[i] = steps.length;
      steps.push({ kind: "forward", node: i });
    }
  });
  const firstBackward = steps.length;
  for (let i = nodes.length - 1; i >= 0; i -= 1) {
    if (nodes[i].varying && nodes[i].args.length > 0 && leads[i]) {
      backwardAt[i] = steps.length;
      steps.push({ kind: "backward", node: i });
    }
  }
  const gradientStep = steps.length;
  steps.push({ kind: "gradient" });

  // A leaf drawn again beside a far use (class "ref") is highlighted with it.
  const refs = nodes.map(() => []);
  document.querySelectorAll("#graph [data-ref]").forEach((group) => {
    refs[Number(group.dataset.ref)].push(group);
  });

  // --- state ----------------------------------------------------------------------

  let step = 0;
  let result = null; // {values, why, back} once every input has a number
  const svg = document.getElementById("graph");
  const panel = document.getElementById("panel");
  const counter = document.getElementById("counter");
  const message = document.getElementById("message");
  const fields = Array.from(document.querySelectorAll("input[data-input]"));

  function readInputs() {
    const values = new Map();
    const missing = [];
    const bad = [];
    fields.forEach((field) => {
      const entry = data.inputs[Number(field.dataset.input)];
      const text = field.value.trim().replace(/\u2212/g, "-");
      field.classList.remove("bad");
      if (text === "") {
        missing.push(entry.name);
        return;
      }
      const number = Number(text);
      if (!Number.isFinite(number)) {
        field.classList.add("bad");
        bad.push(entry.name);
        return;
      }
      values.set(entry.node, number);
    });
    return { values, missing, bad };
  }

  function recompute() {
    const { values, missing, bad } = readInputs();
    message.classList.toggle("bad", bad.length > 0);
    if (bad.length > 0) {
      message.textContent = `Not a number: ${bad.join(", ")}. Type a number such as 2, -0.5 or 1e-3.`;
      result = null;
    } else if (missing.length > 0) {
      message.textContent = `Type a value for ${missing.join(", ")} to compute the passes; ` +
        "until then the steps show what is computed, without numbers.";
      result = null;
    } else {
      const forward = forwardPass(values);
      const complete = forward.values.every((v) => Number.isFinite(v));
      result = { values: forward.values, why: forward.why,
                 back: complete ? backwardPass(forward.values) : null };
      const failed = forward.values.findIndex((v) => !Number.isFinite(v));
      message.textContent = failed < 0 ? "Both passes are computed at these values; edit them to recompute." :
        `${nodes[failed].name} is undefined at these values: ${forward.why[failed]}.`;
      message.classList.toggle("bad", failed >= 0);
    }
    render();
  }

  // --- drawing the state ------------------------------------------------------------

  // An element with text, or with a list of parts (text and elements).
  function el(tag, className, content) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (Array.isArray(content)) element.append(...content);
    else if (content !== undefined) element.textContent = content;
    return element;
  }

  // A node's adjoint symbol: its name overlined (x̅), as the terminal writes it.
  function barred(name) {
    const span = el("span", "bar", name);
    span.title = `the adjoint of ${name}, ∂${outName}/∂${name}`;
    return span;
  }

  function numberAttr(v) {
    if (v === null || v === undefined) return "";
    return Number.isFinite(v) ? String(v) : UNDEFINED;
  }

  // Each node's adjoint as far as the backward pass has gone by `upTo` (a step
  // index): the output's seed, plus what every processed node passed back.
  function runningAdjoints(upTo) {
    const running = nodes.map(() => null);
    const back = result && result.back;
    if (!back || upTo < firstBackward) return running;
    nodes.forEach((node, i) => {
      if (node.varying && !leads[i]) running[i] = 0;
    });
    if (nodes[data.output].varying) running[data.output] = 1;
    for (let s = firstBackward; s <= Math.min(upTo, gradientStep - 1); s += 1) {
      const i = steps[s].node;
      for (const k of incoming[i]) {
        const source = edges[k].source;
        if (back.contributions[k] === null) continue;
        running[source] = (running[source] === null ? 0 : running[source]) + back.contributions[k];
      }
    }
    if (upTo >= gradientStep) return back.adjoints.slice();
    return running;
  }

  // An adjoint is complete once every user that leads to the output has passed
  // its share back (the output's, the seed, at once).
  function isFinal(i, upTo) {
    if (upTo >= gradientStep || !leads[i] || i === data.output) return true;
    return users[i].every((u) => !leads[u] || (backwardAt[u] >= 0 && backwardAt[u] <= upTo));
  }

  function render() {
    const current = steps[step];
    const kind = current.kind;
    svg.classList.toggle("backward", kind === "backward" || kind === "gradient");
    const values = result ? result.values : null;
    const running = runningAdjoints(step);
    const at = current.node;
    const related = new Set();
    if (at !== undefined) nodes[at].args.forEach((a) => related.add(a));

    const changed = [];
    nodes.forEach((node, i) => {
      const group = document.getElementById(`node-${i}`);
      const shown = kind === "backward" || kind === "gradient" ||
        ((kind === "forward" || kind === "inputs") && forwardAt[i] >= 0 && forwardAt[i] <= step);
      group.classList.toggle("current", i === at || (kind === "inputs" && node.kind === "input"));
      group.classList.toggle("arg", related.has(i) && i !== at);
      refs[i].forEach((ref) => ref.classList.toggle("arg", related.has(i) && i !== at));
      const valueText = document.getElementById(`value-${i}`);
      const value = values && shown ? values[i] : null;
      group.dataset.value = node.kind === "const" ? String(node.value) : numberAttr(value);
      const adjointShown = node.varying ? running[i] : null;
      group.classList.toggle("undefined", (value !== null && !Number.isFinite(value)) ||
        (adjointShown !== null && !Number.isFinite(adjointShown)));
      if (valueText) {
        const shownValue = value === null ? "" : shortValue(value);
        setText(valueText, value === null ? "" :
          node.kind === "input" ? ` = ${shownValue}` : `value ${shownValue}`, changed);
      }
      const adjointText = document.getElementById(`adjoint-${i}`);
      const adjoint = node.varying ? running[i] : null;
      group.dataset.adjoint = numberAttr(adjoint);
      if (adjointText) {
        adjointText.classList.toggle("hidden", adjoint === null);
        setText(document.getElementById(`adjoint-number-${i}`),
          adjoint === null ? "" : ` ${shortValue(adjoint)}`, changed);
        adjointText.classList.toggle("running", adjoint !== null && !isFinal(i, step));
      }
    });

    edges.forEach((edge, k) => {
      const ident = `${edge.target}-${edge.position}`;
      const path = document.getElementById(`edge-${ident}`);
      const label = document.getElementById(`label-${ident}`);
      const active = edge.target === at && (kind === "forward" || kind === "backward");
      path.classList.toggle("active", active);
      path.classList.toggle("back", active && kind === "backward");
      label.classList.toggle("forward", active && kind === "forward");
      label.classList.toggle("back", active && kind === "backward");
      label.textContent = "";
      if (!active || !result) return;
      if (kind === "forward") {
        label.textContent = shortValue(result.values[edge.source]);
      } else if (result.back && result.back.contributions[k] !== null) {
        label.textContent = shortValue(result.back.contributions[k]);
      }
    });

    fitTexts(changed);
    counter.textContent = `Step ${step} of ${steps.length - 1}`;
    document.getElementById("first").disabled = step === 0;
    document.getElementById("prev").disabled = step === 0;
    document.getElementById("next").disabled = step === steps.length - 1;
    document.getElementById("last").disabled = step === steps.length - 1;
    renderPanel(current, running);
    if (at !== undefined) scrollToNode(at);
  }

  // A number longer than its box has room for is squeezed into the box. All
  // the measuring first, then all the writing: one layout, not one per text.
  function fitTexts(changed) {
    const texts = changed.map((t) => (t.tagName === "tspan" ? t.parentNode : t));
    texts.forEach((t) => {
      t.removeAttribute("textLength");
      t.removeAttribute("lengthAdjust");
    });
    const room = (t) => Number(t.closest("g").dataset.room);
    const long = texts.filter((t) => t.textContent && t.getComputedTextLength() > room(t));
    long.forEach((t) => {
      t.setAttribute("textLength", String(room(t)));
      t.setAttribute("lengthAdjust", "spacingAndGlyphs");
    });
  }

  function setText(element, text, changed) {
    if (element.textContent !== text) {
      element.textContent = text;
      changed.push(element);
    }
  }

  // Scroll the drawing (not the page) so that node i is in view.
  function scrollToNode(i) {
    const scroller = document.getElementById("scroll");
    const view = scroller.getBoundingClientRect();
    const box = document.getElementById(`node-${i}`).getBoundingClientRect();
    const margin = 24;
    if (box.left < view.left + margin || box.right > view.right - margin) {
      scroller.scrollLeft += (box.left + box.right) / 2 - (view.left + view.right) / 2;
    }
    if (box.top < view.top + margin || box.bottom > view.bottom - margin) {
      scroller.scrollTop += (box.top + box.bottom) / 2 - (view.top + view.bottom) / 2;
    }
  }

  function substituted(node, args) {
    // op(args) with the arguments' numbers, as the expression is written.
    const op = OPS[node.op];
    const texts = args.map((v) => formatValue(v));
    if (op.fixity === "infix") {
      const gap = "*/^".includes(op.symbol) ? "" : " ";
      return `${factor(args[0], texts[0])}${gap}${op.symbol}${gap}${factor(args[1], texts[1])}`;
    }
    if (op.fixity === "prefix") return `${op.symbol}${factor(args[0], texts[0])}`;
    if (op.fixity === "postfix") return `${factor(args[0], texts[0])}${op.symbol}`;
    return `${node.op}(${texts.join(", ")})`;
  }

  function renderPanel(current, running) {
    panel.replaceChildren();
    panel.dataset.kind = current.kind;
    panel.dataset.node = current.node === undefined ? "" : String(current.node);
    panel.dataset.value = "";
    panel.dataset.adjoint = "";
    const phase = el("p", `phase ${current.kind}`);
    panel.append(phase);
    if (current.kind === "start") {
      phase.textContent = "Start";
      panel.append(el("p", "", `${nodes.length} nodes. The forward pass computes each ` +
        "operation's value from its arguments, inputs first; the backward pass then computes " +
        `each node's adjoint ∂${outName}/∂node, from the output back to the inputs, ` +
        "by the chain rule."));
      panel.append(el("p", "aside", "Press → (or Next) to take the first step."));
      return;
    }
    if (current.kind === "inputs") renderInputs(phase);
    else if (current.kind === "forward") renderForward(current.node, phase);
    else if (current.kind === "backward") renderBackward(current.node, phase, running);
    else renderGradient(phase);
  }

  function renderInputs(phase) {
    phase.textContent = "Forward pass · the inputs";
    panel.append(el("p", "", "The forward pass starts from the inputs' values (edit them " +
      "above):"));
    const list = el("ul");
    data.inputs.forEach((entry) => {
      const value = result ? result.values[entry.node] : null;
      const item = el("li", "formula",
        `${entry.name} = ${value === null ? "?" : formatValue(value)}`);
      item.dataset.input = entry.name;
      item.dataset.value = numberAttr(value);
      list.append(item);
    });
    panel.append(list);
    if (data.inputs.some((entry) => entry.node === data.output)) {
      panel.append(el("p", "aside", `The output, ${outName}, is an input itself.`));
    }
  }

  function renderForward(i, phase) {
    const node = nodes[i];
    phase.textContent = `Forward pass · operation ${forwardAt[i] - firstOperation + 1} of ` +
      `${firstBackward - firstOperation}`;
    const value = result ? result.values[i] : null;
    panel.dataset.value = numberAttr(value);
    let text = `${node.name} = ${node.expr}`;
    if (result) {
      const args = node.args.map((a) => result.values[a]);
      const known = args.every((v) => Number.isFinite(v));
      if (known) text += ` = ${substituted(node, args)}`;
      text += ` = ${formatValue(value)}`;
    } else {
      text += " = ?";
    }
    panel.append(el("p", "main", text));
    if (result && !Number.isFinite(value)) {
      panel.append(el("p", "why", `Undefined: ${result.why[i]}.`));
    }
    const names = node.args.map((a) => nodes[a].name);
    const computed = names.length === 1 ? `Its argument, ${names[0]}, was computed` :
      `Its arguments, ${names.join(" and ")}, were computed`;
    panel.append(el("p", "aside", `${computed} before it (highlighted).` +
      (i === data.output ? ` ${node.name} is the output.` : "")));
  }

  function renderBackward(i, phase, running) {
    const node = nodes[i];
    const position = backwardAt[i] - firstBackward + 1;
    phase.textContent = `Backward pass · node ${position} of ${gradientStep - firstBackward}`;
    const back = result && result.back;
    const adjoint = back ? back.adjoints[i] : null;
    panel.dataset.adjoint = numberAttr(adjoint);
    panel.dataset.value = numberAttr(result ? result.values[i] : null);
    const name = node.name;
    let head = ` = ∂${outName}/∂${name}`;
    if (back) head += ` = ${formatValue(adjoint)}`;
    else if (result) head += " = ?";
    panel.append(el("p", "main", [barred(name), head]));
    if (i === data.output) {
      panel.append(el("p", "", `${name} is the output: its adjoint is the seed, ` +
        `∂${outName}/∂${outName} = 1.`));
    } else {
      panel.append(el("p", "", `Complete: every node that uses ${name} has passed its ` +
        "share back, and the shares add up."));
    }
    if (back && !Number.isFinite(adjoint)) panel.append(el("p", "why", `Undefined: ${back.why[i]}.`));
    if (!result) {
      panel.append(el("p", "aside", "Type the inputs' values above to see the numbers."));
    }
    panel.append(el("p", "", [`${name} = ${node.expr} passes to each argument its local ` +
      "partial times ", barred(name), ":"]));
    const list = el("ul");
    for (const k of incoming[i]) {
      const edge = edges[k];
      const source = nodes[edge.source];
      const item = el("li");
      item.dataset.source = String(edge.source);
      item.dataset.target = String(edge.target);
      item.dataset.position = String(edge.position);
      if (!source.varying) {
        item.append(el("span", "aside", `${source.name}: a constant, nothing to pass back.`));
        list.append(item);
        continue;
      }
      const chain = `∂${outName}/∂${name}·∂${name}/∂${source.name}`;
      let formula = chain;
      if (back) {
        const partial = back.partials[k];
        const contribution = back.contributions[k];
        item.dataset.partial = numberAttr(partial);
        item.dataset.contribution = numberAttr(contribution);
        const adjointText = factor(adjoint, formatValue(adjoint));
        const partialText = factor(partial, formatValue(partial));
        formula += ` = ${adjointText}·${partialText} = ${formatValue(contribution)}`;
      }
      item.append(el("div", "formula", formula));
      const local = `∂${name}/∂${source.name} = ${edge.partial === null ? "?" : edge.partial}`;
      let aside = `local partial ${local}`;
      if (back && Number.isFinite(back.partials[k]) && edge.partial !== formatValue(back.partials[k])) {
        aside += ` = ${formatValue(back.partials[k])}`;
      }
      if (back && adjoint === 0) aside += "; an adjoint of 0 passes nothing back";
      const parts = [aside];
      if (back && running[edge.source] !== null) {
        const sum = formatValue(running[edge.source]);
        parts.push("; ", barred(source.name), isFinal(edge.source, backwardAt[i]) ?
          ` = ${sum}, complete` : ` so far: ${sum}`);
      }
      item.append(el("div", "aside", parts));
      if (back && adjoint !== 0 && !Number.isFinite(back.partials[k])) {
        item.append(el("div", "why", `∂${name}/∂${source.name} is infinite or undefined ` +
          `at ${source.name} = ${formatValue(result.values[edge.source])}, so ` +
          `∂${outName}/∂${source.name} is undefined too.`));
      }
      list.append(item);
    }
    panel.append(list);
  }

  function renderGradient(phase) {
    phase.textContent = "The gradient";
    const back = result && result.back;
    panel.append(el("p", "", data.inputs.length === 0 ? "The program has no inputs." :
      `Each input's adjoint is ∂${outName}/∂input: the sum of what every path from ` +
      `${outName} brought back.`));
    const list = el("ul");
    data.inputs.forEach((entry) => {
      const item = el("li", "formula");
      const adjoint = back ? back.adjoints[entry.node] : null;
      item.dataset.input = entry.name;
      item.dataset.gradient = numberAttr(adjoint);
      item.textContent = `∂${outName}/∂${entry.name} = ${back ? formatValue(adjoint) : "?"}`;
      if (back && !Number.isFinite(adjoint)) item.textContent += ` (${back.why[entry.node]})`;
      list.append(item);
    });
    panel.append(list);
    if (result && !back) {
      panel.append(el("p", "why", "The backward pass needs every value, and some are undefined."));
    }
  }

  // --- controls ---------------------------------------------------------------------

  function go(to) {
    step = Math.max(0, Math.min(steps.length - 1, to));
    render();
  }

  document.getElementById("first").addEventListener("click", () => go(0));
  document.getElementById("prev").addEventListener("click", () => go(step - 1));
  document.getElementById("next").addEventListener("click", () => go(step + 1));
  document.getElementById("last").addEventListener("click", () => go(steps.length - 1));
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement || event.altKey || event.ctrlKey ||
        event.metaKey) return; // the arrows move the caret in a number box
    const moves = { ArrowRight: step + 1, ArrowLeft: step - 1, Home: 0, End: steps.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      go(moves[event.key]);
    } else if (event.key === "+" || event.key === "=") {
      setZoom(currentZoom() * 1.25);
    } else if (event.key === "-") {
      setZoom(currentZoom() / 1.25);
    }
  });
  fields.forEach((field) => field.addEventListener("input", recompute));

  // Zoom: the drawing's width in pixels (null: its own size, a small one larger).
  const natural = svg.viewBox.baseVal;
  let zoom = null;
  function setZoom(to) {
    zoom = to === null ? null : Math.max(0.1, Math.min(4, to));
    svg.style.width = zoom === null ? "" : `${natural.width * zoom}px`;
    svg.style.minWidth = zoom === null ? `${natural.width}px` : "0";
    svg.style.maxWidth = zoom === null ? "" : "none";
  }
  function currentZoom() {
    return svg.getBoundingClientRect().width / natural.width;
  }
  function fit() {
    const scroller = document.getElementById("scroll");
    setZoom(Math.min(1, (scroller.clientWidth - 4) / natural.width,
                     (window.innerHeight * 0.75) / natural.height));
  }
  document.getElementById("zoom-in").addEventListener("click", () => setZoom(currentZoom() * 1.25));
  document.getElementById("zoom-out").addEventListener("click", () => setZoom(currentZoom() / 1.25));
  document.getElementById("zoom-fit").addEventListener("click", fit);
  document.getElementById("zoom-reset").addEventListener("click", () => setZoom(1));
  document.getElementById("inputs").addEventListener("submit", (event) => event.preventDefault());

  // For tests and the curious: the passes and the number format, on the page's own data.
  window.exprgraphPage = { forwardPass, backwardPass, whyUndefined, formatValue, shortValue,
                           steps, go, state: () => ({ step, result }) };

  if (data.startBackward) step = firstBackward < gradientStep ? firstBackward : gradientStep;
  recompute();
})();
