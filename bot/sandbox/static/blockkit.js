// Block Kit, drawn as Slack would show it to one person: the blocks, elements and mrkdwn refund-bot sends.
// Everything is built as DOM nodes from text (never innerHTML), so whatever anyone typed stays text. A block or an
// element this renderer does not know is shown as a visible placeholder, never dropped.

const EMOJI = {
  alarm_clock: "⏰", arrows_counterclockwise: "🔄", bust_in_silhouette: "👤", inbox_tray: "📥", busts_in_silhouette: "👥", classical_building: "🏛️",
  handshake: "🤝", hourglass: "⌛", hourglass_flowing_sand: "⏳", information_source: "ℹ️", judge: "🧑‍⚖️",
  leftwards_arrow_with_hook: "↩️", lock: "🔒", memo: "📝", no_entry: "⛔", no_entry_sign: "🚫",
  page_facing_up: "📄", paperclip: "📎", part_alternation_mark: "〽️", question: "❓", receipt: "🧾", rotating_light: "🚨", scales: "⚖️",
  speech_balloon: "💬", triangular_flag_on_post: "🚩", warning: "⚠️", white_check_mark: "✅",
};
const PLACEHOLDER = 0xe000; // private-use characters stand for the <…> tags while formatting is parsed

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function unescape(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function emojify(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] ?? whole);
}

// --- dates: <!date^1795780800^{date_short_pretty} at {time}|fallback> -------------------------------------

function parts(date, tz, options) {
  const found = {};
  for (const part of new Intl.DateTimeFormat("en-US", { timeZone: tz, ...options }).formatToParts(date)) {
    found[part.type] = part.value;
  }
  return found;
}

function ordinal(day) {
  const n = Number(day);
  const tail = n % 10 === 1 && n !== 11 ? "st" : n % 10 === 2 && n !== 12 ? "nd" : n % 10 === 3 && n !== 13 ? "rd" : "th";
  return `${n}${tail}`;
}

function dayNumber(date, tz) {
  const p = parts(date, tz, { year: "numeric", month: "2-digit", day: "2-digit" });
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day)) / 86400000;
}

function relativeDay(date, ctx) {
  const apart = dayNumber(date, ctx.viewer.tz) - dayNumber(ctx.now(), ctx.viewer.tz);
  return { 0: "today", 1: "tomorrow", [-1]: "yesterday" }[apart];
}

function ago(date, ctx) {
  const seconds = Math.round((date - ctx.now()) / 1000);
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) {
      return new Intl.RelativeTimeFormat("en-US", { numeric: "auto" }).format(Math.round(seconds / size), unit);
    }
  }
  return "just now";
}

export function formatDate(date, format, ctx) {
  const tz = ctx.viewer.tz;
  const d = parts(date, tz, { weekday: "long", year: "numeric", month: "long", day: "numeric" });
  const short = parts(date, tz, { year: "numeric", month: "short", day: "numeric" });
  const num = parts(date, tz, { year: "numeric", month: "2-digit", day: "2-digit" });
  const plain = {
    date_num: `${num.year}-${num.month}-${num.day}`,
    date: `${d.month} ${ordinal(d.day)}, ${d.year}`,
    date_short: `${short.month} ${short.day}, ${short.year}`,
    date_long: `${d.weekday}, ${d.month} ${ordinal(d.day)}, ${d.year}`,
  };
  const pretty = (name) => relativeDay(date, ctx) ?? plain[name];
  const tokens = {
    ...plain,
    date_pretty: pretty("date"),
    date_short_pretty: pretty("date_short"),
    date_long_pretty: pretty("date_long"),
    time: new Intl.DateTimeFormat("en-US", { timeZone: tz, hour: "numeric", minute: "2-digit" }).format(date),
    time_secs: new Intl.DateTimeFormat("en-US", { timeZone: tz, hour: "numeric", minute: "2-digit", second: "2-digit" }).format(date),
    ago: ago(date, ctx),
  };
  return format.replace(/\{([a-z_]+)\}/g, (whole, name) => tokens[name] ?? whole);
}

// --- mrkdwn ----------------------------------------------------------------------------------------------

function tag(inner, ctx) {
  const [target, label] = splitOnce(inner, "|");
  if (target.startsWith("@")) {
    const who = target.slice(1);
    return el("span", { class: "bk-mention", title: who }, `@${label || ctx.names[who] || who}`);
  }
  if (target.startsWith("#")) return el("span", { class: "bk-mention" }, `#${label || target.slice(1)}`);
  if (target.startsWith("!date^")) {
    const [, stamp, format, link] = target.split("^");
    const when = new Date(Number(stamp) * 1000);
    if (Number.isNaN(when.getTime())) return document.createTextNode(unescape(label || ""));
    const shown = el("time", { datetime: when.toISOString(), title: unescape(label || when.toUTCString()), class: "bk-date" },
      formatDate(when, format || "{date_short}", ctx));
    return link ? el("a", { href: unescape(link), target: "_blank", rel: "noopener noreferrer" }, shown) : shown;
  }
  if (target.startsWith("!")) {
    const [special] = target.slice(1).split("^");
    return el("span", { class: "bk-mention" }, `@${label || special}`);
  }
  const url = unescape(target);
  const link = el("a", { href: url, rel: "noopener noreferrer", class: "bk-link" }, emojify(unescape(label || target)));
  if (ctx.onLink) link.addEventListener("click", (event) => ctx.onLink(event, url));
  else link.target = "_blank";
  return link;
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}

const WORDY = /[\p{L}\p{N}]/u;
const MARKS = { "*": "strong", _: "em", "~": "s", "`": "code" };

// Formatting as Slack reads it: a mark opens before a non-space, after a line start or a non-letter, and closes
// after a non-space, before a line end or a non-letter. Code takes no formatting inside.
function formatted(text) {
  const out = [];
  let plain = "";
  let i = 0;
  while (i < text.length) {
    const mark = text[i];
    const tagName = MARKS[mark];
    const before = i === 0 ? "" : text[i - 1];
    if (tagName && !WORDY.test(before) && text[i + 1] && !/\s/.test(text[i + 1])) {
      let end = text.indexOf(mark, i + 2);
      while (end > 0 && (/\s/.test(text[end - 1]) || WORDY.test(text[end + 1] || ""))) {
        end = text.indexOf(mark, end + 1);
      }
      if (end > i + 1 && !text.slice(i + 1, end).includes("\n")) {
        if (plain) out.push(plain);
        plain = "";
        const inner = text.slice(i + 1, end);
        out.push({ tag: tagName, children: tagName === "code" ? [inner] : formatted(inner) });
        i = end + 1;
        continue;
      }
    }
    plain += mark;
    i += 1;
  }
  if (plain) out.push(plain);
  return out;
}

function emit(nodes, tags, ctx) {
  const fragment = document.createDocumentFragment();
  for (const node of nodes) {
    if (typeof node === "string") {
      let text = "";
      for (const char of node) {
        const code = char.codePointAt(0);
        if (code >= PLACEHOLDER && code < PLACEHOLDER + tags.length) {
          if (text) fragment.append(emojify(text));
          text = "";
          fragment.append(tag(tags[code - PLACEHOLDER], ctx));
        } else {
          text += char;
        }
      }
      if (text) fragment.append(emojify(text));
    } else {
      fragment.append(el(node.tag, {}, emit(node.children, tags, ctx)));
    }
  }
  return fragment;
}

export function mrkdwn(source, ctx) {
  const fragment = document.createDocumentFragment();
  const tags = [];
  const text = String(source ?? "").replace(/<([^<>\n]+)>/g, (whole, inner) => {
    tags.push(inner);
    return String.fromCodePoint(PLACEHOLDER + tags.length - 1);
  });
  let quote = null;
  const lines = text.split("\n");
  lines.forEach((line, index) => {
    const quoted = line.startsWith(">");
    const content = emit(formatted(unescape(quoted ? line.replace(/^> ?/, "") : line)), tags, ctx);
    if (quoted) {
      if (!quote) {
        quote = el("blockquote", { class: "bk-quote" });
        fragment.append(quote);
      } else {
        quote.append(el("br"));
      }
      quote.append(content);
      return;
    }
    quote = null;
    fragment.append(content);
    if (index < lines.length - 1 && !(lines[index + 1] || "").startsWith(">")) fragment.append(el("br"));
  });
  return fragment;
}

function textObject(object, ctx) {
  if (!object) return document.createTextNode("");
  if (object.type === "mrkdwn") return mrkdwn(object.text, ctx);
  return document.createTextNode(object.emoji === false ? object.text : emojify(object.text ?? ""));
}

function unsupported(what) {
  return el("div", { class: "bk-unsupported", role: "note" }, `[${what} — not shown by the sandbox]`);
}

// --- interactive elements ----------------------------------------------------------------------------------

async function confirmed(confirm, ctx) {
  if (!confirm) return true;
  return ctx.confirm({
    title: confirm.title?.text ?? "Are you sure?",
    text: textObject(confirm.text, ctx),
    yes: confirm.confirm?.text ?? "Yes",
    no: confirm.deny?.text ?? "Cancel",
    danger: confirm.style === "danger",
  });
}

function button(element, block, ctx) {
  const style = element.style ? ` ${element.style}` : "";
  const node = el("button", { type: "button", class: `bk-button${style}`, dataset: { actionId: element.action_id } },
    textObject(element.text, ctx));
  node.addEventListener("click", async () => {
    if (!(await confirmed(element.confirm, ctx))) return;
    if (element.url && ctx.onLink) ctx.onLink(null, element.url);
    ctx.act(block, element, {});
  });
  return node;
}

function option(choice, ctx) {
  return el("option", { value: choice.value }, textObject(choice.text, ctx).textContent);
}

function staticSelect(element, block, ctx, { inInput = false } = {}) {
  const initial = element.initial_option?.value;
  // In a form its label names it; elsewhere (a Home tab's filters) its placeholder does.
  const select = el("select", { class: "bk-select", dataset: { actionId: element.action_id, blockId: block.block_id },
    "aria-label": inInput ? null : element.placeholder?.text ?? "Choose" });
  select.append(el("option", { value: "", disabled: true, selected: initial === undefined }, element.placeholder?.text ?? "Choose…"));
  for (const choice of element.options ?? []) {
    const node = option(choice, ctx);
    node.selected = choice.value === initial;
    select.append(node);
  }
  if (!inInput || block.dispatch_action) {
    select.addEventListener("change", () => ctx.act(block, element, { selected: select.value }));
  }
  return select;
}

function accessory(element, block, ctx) {
  switch (element.type) {
    case "button": return button(element, block, ctx);
    case "static_select": return staticSelect(element, block, ctx);
    default: return unsupported(`${element.type} element`);
  }
}

// --- inputs (modals) ---------------------------------------------------------------------------------------

function field(element, block, ctx) {
  const data = { actionId: element.action_id, blockId: block.block_id, kind: element.type };
  const id = `in-${ctx.viewer.id}-${block.block_id}`;
  switch (element.type) {
    case "plain_text_input": {
      const attrs = { id, dataset: data, class: "bk-text", maxlength: element.max_length, minlength: element.min_length,
        placeholder: element.placeholder?.text };
      const node = element.multiline ? el("textarea", { ...attrs, rows: 4 }) : el("input", { ...attrs, type: "text" });
      node.value = element.initial_value ?? "";
      return node;
    }
    case "number_input": {
      const node = el("input", { id, dataset: { ...data, min: element.min_value, max: element.max_value,
        decimal: element.is_decimal_allowed ? "yes" : "no" }, type: "text", inputmode: element.is_decimal_allowed ? "decimal" : "numeric",
        class: "bk-text", placeholder: element.placeholder?.text });
      node.value = element.initial_value ?? "";
      return node;
    }
    case "static_select": {
      const node = staticSelect(element, block, ctx, { inInput: true });
      node.id = id;
      node.dataset.kind = "static_select";
      return node;
    }
    case "users_select": {
      const node = el("select", { id, dataset: data, class: "bk-select" },
        el("option", { value: "", selected: !element.initial_user }, element.placeholder?.text ?? "Choose someone"));
      for (const [user, name] of Object.entries(ctx.names)) {
        if (user === "U0BOT") continue;
        node.append(el("option", { value: user, selected: user === element.initial_user }, name));
      }
      return node;
    }
    case "file_input": {
      const accept = (element.filetypes ?? []).map((type) => `.${type}`).join(",") || undefined;
      return el("input", { id, dataset: data, type: "file", class: "bk-file", accept, multiple: (element.max_files ?? 10) > 1 });
    }
    case "multi_static_select":
    case "checkboxes":
    case "radio_buttons": {
      const kind = element.type === "radio_buttons" ? "radio" : "checkbox";
      const initial = new Set([
        ...(element.initial_options ?? []).map((o) => o.value),
        ...(element.initial_option ? [element.initial_option.value] : []),
      ]);
      const set = el("fieldset", { id, class: "bk-choices", dataset: data });
      for (const choice of element.options ?? []) {
        const input = el("input", { type: kind, name: id, value: choice.value, checked: initial.has(choice.value) });
        set.append(el("label", { class: "bk-choice" }, input, " ", textObject(choice.text, ctx)));
      }
      return set;
    }
    default:
      return unsupported(`${element.type} input`);
  }
}

function inputBlock(block, ctx) {
  const control = field(block.element, block, ctx);
  const optional = block.optional ? el("span", { class: "bk-optional" }, " (optional)") : null;
  const label = el("label", { class: "bk-label", for: control.id }, textObject(block.label, ctx), optional);
  const error = ctx.errors?.[block.block_id];
  return el("div", { class: `bk-input${error ? " invalid" : ""}`, dataset: { blockId: block.block_id, required: block.optional ? "no" : "yes" } },
    label,
    control,
    block.hint ? el("div", { class: "bk-hint" }, textObject(block.hint, ctx)) : null,
    el("div", { class: "bk-error", role: "alert" }, error ?? ""));
}

// The values of a form's inputs, as the sandbox sends them: block id → action id → a string or option values.
export function formValues(root) {
  const values = {};
  for (const node of root.querySelectorAll("[data-kind]")) {
    const { blockId, actionId, kind } = node.dataset;
    let value;
    if (node.tagName === "FIELDSET") {
      const chosen = [...node.querySelectorAll("input:checked")].map((input) => input.value);
      value = kind === "radio_buttons" ? chosen[0] ?? null : chosen;
    } else if (kind === "file_input") {
      value = null; // read from the person's computer when the form is sent (sandbox.js)
    } else {
      value = node.value === "" ? null : node.value;
    }
    (values[blockId] ??= {})[actionId] = value;
  }
  return values;
}

// What Slack checks before it sends a form: required inputs filled, numbers numbers within their range.
export function formProblems(root) {
  const problems = {};
  for (const input of root.querySelectorAll(".bk-input")) {
    const control = input.querySelector("[data-kind]");
    if (!control) continue;
    const value = formValues(input)[control.dataset.blockId]?.[control.dataset.actionId];
    const empty = value === null || (Array.isArray(value) && value.length === 0) || String(value).trim() === "";
    if (empty) {
      if (input.dataset.required === "yes") problems[control.dataset.blockId] = "Please fill out this field.";
      continue;
    }
    if (control.dataset.kind === "number_input") {
      const number = Number(value);
      const { min, max, decimal } = control.dataset;
      if (!/^-?\d+(\.\d+)?$/.test(String(value).trim()) || (decimal === "no" && !Number.isInteger(number))) {
        problems[control.dataset.blockId] = decimal === "no" ? "Enter a whole number." : "Enter a number.";
      } else if ((min !== undefined && number < Number(min)) || (max !== undefined && number > Number(max))) {
        problems[control.dataset.blockId] = `Enter a number between ${min} and ${max}.`;
      }
    }
  }
  return problems;
}

// --- blocks ------------------------------------------------------------------------------------------------

function section(block, ctx) {
  const body = el("div", { class: "bk-section-text" });
  if (block.text) body.append(textObject(block.text, ctx));
  if (block.fields) {
    body.append(el("div", { class: "bk-fields" }, block.fields.map((f) => el("div", { class: "bk-field" }, textObject(f, ctx)))));
  }
  const side = block.accessory ? el("div", { class: "bk-accessory" }, accessory(block.accessory, block, ctx)) : null;
  return el("div", { class: "bk-section" }, body, side);
}

function actions(block, ctx) {
  return el("div", { class: "bk-actions" }, (block.elements ?? []).map((element) => accessory(element, block, ctx)));
}

function context(block, ctx) {
  return el("div", { class: "bk-context" }, (block.elements ?? []).map((element) =>
    element.type === "image" ? unsupported("image") : el("span", {}, textObject(element, ctx))));
}

export function renderBlock(block, ctx) {
  switch (block.type) {
    case "section": return section(block, ctx);
    case "actions": return actions(block, ctx);
    case "context": return context(block, ctx);
    case "divider": return el("hr", { class: "bk-divider" });
    case "header": return el("div", { class: "bk-header", role: "heading", "aria-level": "4" }, textObject(block.text, ctx));
    case "input": return inputBlock(block, ctx);
    default: return unsupported(`${block.type} block`);
  }
}

export function renderBlocks(blocks, ctx) {
  return el("div", { class: "bk-blocks" }, (blocks ?? []).map((block) => renderBlock(block, ctx)));
}
