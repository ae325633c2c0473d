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

  // Where a local partial is undefined, said by the operation, not by the
  // derivative it spoils: "the partial of out = atan2(y, x) by y is infinite or
  // undefined at y = 0, x = 0" (∂out/∂y, the gradient, is what it makes undefined).
  function partialUndefined(i, source, values) {
    const node = nodes[i];
    const at = [...new Set(node.args)].filter((a) => nodes[a].kind !== "const")
      .map((a) => `${nodes[a].name} = ${formatValue(values[a])}`).join(", ");
    return `the partial of ${node.name} = ${node.expr} by ${nodes[source].name} is infinite ` +
      `or undefined at ${at}`;
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
            why[source] = partialUndefined(i, source, values);
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
  const inputsBox = document.querySelector("#inputs details");

  // A typed value, read as the command line reads one: a number, or a constant
  // expression of numbers, pi and e with + - * / ^, brackets and the op
  // table's functions (pi/2, 2^-1, sqrt(2)). A small parser, no eval; 0x10,
  // Infinity, 1_000 and names are not numbers. Returns {value, warning} or
  // {error}.
  const CONSTANTS = { pi: Math.PI, e: Math.E };
  const TOKEN = /\s*(?:((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|([A-Za-z_]\w*)|(\S))/y;

  function parseValue(text) {
    const tokens = [];
    TOKEN.lastIndex = 0;
    while (TOKEN.lastIndex < text.length) {
      const found = TOKEN.exec(text);
      if (!found) break; // trailing space
      if (found[1] !== undefined) tokens.push({ number: found[1] });
      else if (found[2] !== undefined) tokens.push({ name: found[2] });
      else tokens.push({ symbol: found[3] });
    }
    let at = 0;
    let warning = "";
    const peek = (symbol) => at < tokens.length && tokens[at].symbol === symbol;
    function fail(why) { throw new SyntaxError(why); }
    function apply(name, args) {
      const op = OPS[name];
      const out = op.f(...args);
      if (!Number.isFinite(out)) {
        const shown = op.fixity === "infix" ? args.join(` ${op.symbol} `) : `${name}(${args.join(", ")})`;
        fail(`${shown} is undefined: ${whyUndefined(op, args, out)}`);
      }
      return out;
    }
    function expression() {
      let value = term();
      while (peek("+") || peek("-")) {
        const op = tokens[at].symbol === "+" ? "add" : "sub";
        at += 1;
        value = apply(op, [value, term()]);
      }
      return value;
    }
    function term() {
      let value = unary();
      while (peek("*") || peek("/")) {
        const op = tokens[at].symbol === "*" ? "mul" : "div";
        at += 1;
        value = apply(op, [value, unary()]);
      }
      return value;
    }
    function unary() { // -2^2 is -(2^2), as in the programs
      if (peek("-")) { at += 1; return -unary(); }
      if (peek("+")) { at += 1; return unary(); }
      return power();
    }
    function power() {
      const base = atom();
      if (peek("^")) { at += 1; return apply("pow", [base, unary()]); }
      return base;
    }
    function atom() {
      const token = tokens[at];
      at += 1;
      if (token === undefined) fail("it ends too soon");
      if (token.number !== undefined) {
        const value = Number(token.number);
        if (!Number.isFinite(value)) fail(`${token.number} is too large for a float (beyond about 1.8e308)`);
        if (value === 0 && /[1-9]/.test(token.number.split(/[eE]/)[0])) {
          warning = `${token.number} is below the smallest float and reads as 0`;
        }
        return value;
      }
      if (token.symbol === "(") {
        const value = expression();
        if (!peek(")")) fail("a bracket is not closed");
        at += 1;
        return value;
      }
      if (token.name !== undefined && token.name in CONSTANTS && !peek("(")) {
        return CONSTANTS[token.name];
      }
      const op = token.name !== undefined && Object.hasOwn(OPS, token.name) ? OPS[token.name] : null;
      if (op && op.fixity === "call" && peek("(")) {
        at += 1;
        const args = [expression()];
        while (peek(",")) { at += 1; args.push(expression()); }
        if (!peek(")")) fail("a bracket is not closed");
        at += 1;
        if (args.length !== op.arity) fail(`${token.name} takes ${op.arity} argument(s)`);
        return apply(token.name, args);
      }
      return fail("");
    }
    try {
      if (tokens.length === 0) fail("");
      const value = expression();
      if (at < tokens.length) fail("");
      return { value, warning };
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      return { error: error.message };
    }
  }

  // The last values read from the boxes (input node → number), filled or not.
  let typed = new Map();

  function readInputs() {
    const values = new Map();
    const missing = [];
    const bad = [];
    const warnings = [];
    fields.forEach((field) => {
      const entry = data.inputs[Number(field.dataset.input)];
      const text = field.value.trim().replace(/\u2212/g, "-");
      field.classList.remove("bad");
      if (text === "") {
        missing.push(entry.name);
        return;
      }
      const read = parseValue(text);
      if (read.error !== undefined) {
        field.classList.add("bad");
        bad.push(read.error ? `${entry.name}: ${read.error}` : `Not a number: ${entry.name} (${text})`);
        return;
      }
      if (read.warning) warnings.push(`${entry.name}: ${read.warning}.`);
      values.set(entry.node, read.value);
    });
    return { values, missing, bad, warnings };
  }

  // Names in a sentence: "x, y and z"; a long list ends "and 35 more".
  function listed(names) {
    const shown = names.length > 6 ? [...names.slice(0, 5), `${names.length - 5} more`] : names;
    return shown.length === 1 ? shown[0] :
      `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]}`;
  }

  function recompute() {
    const { values, missing, bad, warnings } = readInputs();
    typed = values;
    let text;
    if (bad.length > 0) {
      text = `${bad.join(". ")}. A value is a number or a constant expression, such as 2, ` +
        "-0.5, 1e-3, pi/2 or sqrt(2); nothing is computed until it is one.";
      result = null;
    } else if (missing.length > 0) {
      text = `Type a value for ${listed(missing)} in the boxes above to compute the passes; ` +
        "until then the steps show what is computed, without numbers.";
      inputsBox.open = true; // the boxes the message points at
      result = null;
    } else {
      const forward = forwardPass(values);
      const complete = forward.values.every((v) => Number.isFinite(v));
      result = { values: forward.values, why: forward.why,
                 back: complete ? backwardPass(forward.values) : null };
      const failed = forward.values.findIndex((v) => !Number.isFinite(v));
      const undefinedGradient = result.back ?
        data.inputs.filter((entry) => result.back.adjoints[entry.node] !== null &&
                                      !Number.isFinite(result.back.adjoints[entry.node])) : [];
      if (failed >= 0) {
        text = `${nodes[failed].name} is undefined at these values (${forward.why[failed]}). ` +
          "The backward pass needs every value, so it is not computed.";
      } else if (data.inputs.length === 0) {
        text = "The program has no inputs: its values are fixed, and there is nothing to " +
          "differentiate.";
      } else if (undefinedGradient.length > 0) {
        text = "Both passes are computed at these values, but " +
          `${listed(undefinedGradient.map((entry) => `∂${outName}/∂${entry.name}`))} ` +
          `${undefinedGradient.length === 1 ? "is" : "are"} undefined (the last step says ` +
          "why); edit the values to recompute.";
      } else {
        text = "Both passes are computed at these values; edit them to recompute.";
      }
    }
    message.textContent = [...warnings, text].join(" ");
    message.classList.toggle("bad", bad.length > 0 || (result !== null &&
      (result.back === null || text.includes("undefined"))));
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

  // The drawing's elements, looked up once; a step writes only what changes
  // (a 2,000-node page would otherwise restyle every box at every step).
  const groupEl = nodes.map((_, i) => document.getElementById(`node-${i}`));
  const valueEl = nodes.map((_, i) => document.getElementById(`value-${i}`));
  const adjointEl = nodes.map((_, i) => document.getElementById(`adjoint-${i}`));
  const adjointNumberEl = nodes.map((_, i) => document.getElementById(`adjoint-number-${i}`));
  const pathEl = edges.map((e) => document.getElementById(`edge-${e.target}-${e.position}`));
  const labelEl = edges.map((e) => document.getElementById(`label-${e.target}-${e.position}`));
  let lit = []; // the edges the last step drew active
  let marked = new Set(); // the nodes the last step marked current or arg

  function setData(element, key, value) {
    if (element.dataset[key] !== value) element.dataset[key] = value;
  }

  function render() {
    const current = steps[step];
    const kind = current.kind;
    svg.classList.toggle("backward", kind === "backward" || kind === "gradient");
    // The numbers known: every value once computed, else the inputs typed so far.
    const values = result ? result.values : nodes.map((_, i) => (typed.has(i) ? typed.get(i) : null));
    const running = runningAdjoints(step);
    const at = current.node;
    const related = new Set();
    if (at !== undefined) nodes[at].args.forEach((a) => related.add(a));
    const marks = new Set(related);
    if (at !== undefined) marks.add(at);
    if (kind === "inputs") data.inputs.forEach((entry) => marks.add(entry.node));

    const changed = [];
    nodes.forEach((node, i) => {
      const group = groupEl[i];
      if (marks.has(i) || marked.has(i)) {
        group.classList.toggle("current", i === at || (kind === "inputs" && node.kind === "input"));
        group.classList.toggle("arg", related.has(i) && i !== at);
        refs[i].forEach((ref) => ref.classList.toggle("arg", related.has(i) && i !== at));
      }
      const shown = kind === "backward" || kind === "gradient" ||
        ((kind === "forward" || kind === "inputs") && forwardAt[i] >= 0 && forwardAt[i] <= step);
      const value = shown ? values[i] : null;
      setData(group, "value", node.kind === "const" ? String(node.value) : numberAttr(value));
      const adjoint = node.varying ? running[i] : null;
      group.classList.toggle("undefined", (value !== null && !Number.isFinite(value)) ||
        (adjoint !== null && !Number.isFinite(adjoint)));
      if (valueEl[i]) {
        const shownValue = value === null ? "" : shortValue(value);
        setText(valueEl[i], value === null ? "" :
          node.kind === "input" ? ` = ${shownValue}` : `value ${shownValue}`, changed);
      }
      setData(group, "adjoint", numberAttr(adjoint));
      if (adjointEl[i]) {
        adjointEl[i].classList.toggle("hidden", adjoint === null);
        setText(adjointNumberEl[i], adjoint === null ? "" : ` ${shortValue(adjoint)}`, changed);
        adjointEl[i].classList.toggle("running", adjoint !== null && !isFinal(i, step));
      }
    });
    marked = marks;

    const active = at !== undefined && (kind === "forward" || kind === "backward") ?
      incoming[at] : [];
    lit.forEach((k) => {
      if (active.includes(k)) return;
      pathEl[k].classList.remove("active", "back");
      labelEl[k].classList.remove("forward", "back");
      labelEl[k].textContent = "";
    });
    active.forEach((k) => {
      const edge = edges[k];
      const backward = kind === "backward";
      pathEl[k].classList.add("active");
      pathEl[k].classList.toggle("back", backward);
      const label = labelEl[k];
      label.classList.toggle("forward", !backward);
      label.classList.toggle("back", backward);
      // By the source's end, past the arrowhead backward (page.py's _label_places).
      const [x, y, anchor, room] = label.dataset[backward ? "back" : "forward"].split(" ");
      label.setAttribute("x", x);
      label.setAttribute("y", y);
      label.setAttribute("text-anchor", anchor);
      let text = "";
      if (result && !backward) {
        text = shortValue(result.values[edge.source]);
      } else if (result && result.back && result.back.contributions[k] !== null) {
        text = shortValue(result.back.contributions[k]);
      }
      label.textContent = text;
      // A number longer than the room before the next box is squeezed into it.
      label.removeAttribute("textLength");
      if (Number(room) > 0 && text && label.getComputedTextLength() > Number(room)) {
        label.setAttribute("textLength", room);
        label.setAttribute("lengthAdjust", "spacingAndGlyphs");
      }
    });
    lit = active;

    fitTexts(changed);
    counter.textContent = `Step ${step} of ${steps.length - 1}`;
    document.getElementById("first").disabled = step === 0;
    document.getElementById("prev").disabled = step === 0;
    document.getElementById("next").disabled = step === steps.length - 1;
    document.getElementById("last").disabled = step === steps.length - 1;
    renderPanel(current, running);
    // Into view: the step's node; at the start and the inputs, the first
    // operation, where the forward pass begins (a wide drawing opens on it).
    const opening = (kind === "start" || kind === "inputs") && firstOperation < firstBackward;
    const focus = at !== undefined ? at : opening ? steps[firstOperation].node : undefined;
    if (focus !== undefined) scrollToNode(focus);
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

  // Scroll the drawing so that node i is in its box; then, where the box
  // itself is out of the window (a narrow window puts the drawing below the
  // panel), scroll the window the least that brings the node into it.
  function scrollToNode(i) {
    const scroller = document.getElementById("scroll");
    const view = scroller.getBoundingClientRect();
    const group = groupEl[i];
    let box = group.getBoundingClientRect();
    const margin = 24;
    if (box.left < view.left + margin || box.right > view.right - margin) {
      scroller.scrollLeft += (box.left + box.right) / 2 - (view.left + view.right) / 2;
    }
    if (box.top < view.top + margin || box.bottom > view.bottom - margin) {
      scroller.scrollTop += (box.top + box.bottom) / 2 - (view.top + view.bottom) / 2;
    }
    box = group.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) {
      group.scrollIntoView({ block: "nearest", inline: "nearest" });
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
    panel.scrollTop = 0;
    panel.dataset.kind = current.kind;
    panel.dataset.node = current.node === undefined ? "" : String(current.node);
    panel.dataset.value = "";
    panel.dataset.adjoint = "";
    const phase = el("p", `phase ${current.kind}`);
    panel.append(phase);
    if (current.kind === "start") {
      phase.textContent = "Start";
      const differentiated = firstBackward < gradientStep;
      panel.append(el("p", "", `${nodes.length} nodes. The forward pass computes each ` +
        "operation's value from its arguments, inputs first" + (differentiated ?
          `; the backward pass then computes each node's adjoint ∂${outName}/∂node, from ` +
          "the output back to the inputs, by the chain rule." :
          ". The output depends on no input, so there is no backward pass.")));
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
      // Computed, or typed so far (a box still empty is ?).
      const value = result ? result.values[entry.node] :
        typed.has(entry.node) ? typed.get(entry.node) : null;
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

  // The first operation whose value is undefined, and why (the backward pass waits for it).
  function firstUndefined() {
    const i = result.values.findIndex((v) => !Number.isFinite(v));
    return `${nodes[i].name} is undefined at these values (${result.why[i]})`;
  }

  function renderForward(i, phase) {
    const node = nodes[i];
    phase.textContent = `Forward pass · operation ${forwardAt[i] - firstOperation + 1} of ` +
      `${firstBackward - firstOperation}`;
    const value = result ? result.values[i] : null;
    panel.dataset.value = numberAttr(value);
    // name = expression = the numbers put in = the value, each said once (2 + 3 = 5).
    const parts = [node.name, node.expr];
    if (result) {
      const args = node.args.map((a) => result.values[a]);
      if (args.every((v) => Number.isFinite(v))) parts.push(substituted(node, args));
      parts.push(formatValue(value));
    } else {
      parts.push("?");
    }
    panel.append(el("p", "main", parts.filter((part, k) => k === 0 || part !== parts[k - 1])
      .join(" = ")));
    if (result && !Number.isFinite(value)) {
      panel.append(el("p", "why", `Undefined: ${result.why[i]}.`));
    }
    const names = node.args.map((a) => nodes[a].name);
    const before = names.length === 1 ? `Its argument, ${names[0]}, comes` :
      `Its arguments, ${names.join(" and ")}, come`;
    panel.append(el("p", "aside", `${before} before it (highlighted).` +
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
    panel.append(el("p", "main", [barred(name), head]));
    // Each sentence true in each state: computed (a number, or undefined),
    // not computed (a value is undefined), or no numbers yet.
    if (result && !back) {
      panel.append(el("p", "why", "The backward pass is not computed: it needs every " +
        `value, and ${firstUndefined()}.`));
    } else if (i === data.output) {
      panel.append(el("p", "", `${name} is the output: its adjoint is the seed, ` +
        `∂${outName}/∂${outName} = 1.`));
    } else if (back && Number.isFinite(adjoint)) {
      panel.append(el("p", "", [`Complete: every node that uses ${name} has passed its ` +
        "share back, and the shares add up to ",
        el("span", "nowrap", [barred(name), ` = ${formatValue(adjoint)}`]), "."]));
    } else if (back) {
      panel.append(el("p", "", `Every node that uses ${name} has passed its share back, ` +
        "and a share is undefined, so the sum is undefined too."));
    } else {
      panel.append(el("p", "", [`Every node that uses ${name} passes its share back ` +
        "first; ", barred(name), " is their sum."]));
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
      const local = `∂${name}/∂${source.name} = ${edge.partial}`;
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
        const why = partialUndefined(i, edge.source, result.values);
        item.append(el("div", "why", `${why[0].toUpperCase()}${why.slice(1)}, so what it ` +
          `passes back to ${source.name} is undefined, and so is ∂${outName}/∂${source.name}.`));
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
      panel.append(el("p", "why", "Not computed: the backward pass needs every value, and " +
        `${firstUndefined()}.`));
    } else if (!result && data.inputs.length > 0) {
      panel.append(el("p", "aside", "Type the inputs' values above to see the numbers."));
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
      setZoom(currentZoom() * 1.25, Math.min(0.1, currentZoom()));
    } else if (event.key === "-") {
      setZoom(currentZoom() / 1.25, Math.min(0.1, currentZoom()));
    }
  });
  fields.forEach((field) => field.addEventListener("input", recompute));

  // Zoom: the drawing's width in pixels (null: its own size, a small one larger).
  // Fit may go far below the buttons' smallest step: a 2,000-node drawing is
  // many times the box.
  const natural = svg.viewBox.baseVal;
  let zoom = null;
  function setZoom(to, least = 0.1) {
    zoom = to === null ? null : Math.max(least, Math.min(4, to));
    svg.style.width = zoom === null ? "" : `${natural.width * zoom}px`;
    svg.style.minWidth = zoom === null ? `${natural.width}px` : "0";
    svg.style.maxWidth = zoom === null ? "" : "none";
    // Far out, lines keep one pixel (else a fitted 2,000-node drawing is blank).
    svg.classList.toggle("far", zoom !== null && zoom < 0.5);
  }
  function currentZoom() {
    return svg.getBoundingClientRect().width / natural.width;
  }
  function fit() {
    const scroller = document.getElementById("scroll");
    // The room the box may take: its own limit (a share of the window), and no
    // further than the window's bottom, less its border.
    const limit = parseFloat(getComputedStyle(scroller).maxHeight);
    const border = scroller.offsetHeight - scroller.clientHeight;
    const below = window.innerHeight - Math.max(0, scroller.getBoundingClientRect().top) - 8;
    const high = Math.min(Number.isFinite(limit) ? limit : window.innerHeight * 0.75,
                          Math.max(below, 150)) - border - 4;
    setZoom(Math.min(1, (scroller.clientWidth - 4) / natural.width, high / natural.height), 0);
  }
  document.getElementById("zoom-in").addEventListener("click",
    () => setZoom(currentZoom() * 1.25, Math.min(0.1, currentZoom())));
  document.getElementById("zoom-out").addEventListener("click",
    () => setZoom(currentZoom() / 1.25, Math.min(0.1, currentZoom())));
  document.getElementById("zoom-fit").addEventListener("click", fit);
  document.getElementById("zoom-reset").addEventListener("click", () => setZoom(1));
  document.getElementById("inputs").addEventListener("submit", (event) => event.preventDefault());

  // For tests and the curious: the passes and the number format, on the page's own data.
  window.exprgraphPage = { forwardPass, backwardPass, whyUndefined, formatValue, shortValue,
                           parseValue, steps, go, state: () => ({ step, result }) };

  if (data.startBackward) step = firstBackward < gradientStep ? firstBackward : gradientStep;
  recompute();
})();
