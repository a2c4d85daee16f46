// The sandbox page: three people side by side (the client, the freelancer, a mediator), each seeing what Slack
// would show them, drawn from the exact payloads refund-bot sent. Whatever they do goes to the app as Slack's
// own payload (the server signs it); the page only asks and draws.

import { el, formatDate, formProblems, formValues, mrkdwn, renderBlocks } from "./blockkit.js";

const POLL_MS = 700;
const COLUMNS = ["client", "freelancer", "mediator"];
// What a reload keeps (this tab only, as a person's own Slack would): who the third column acts as, each column's
// tab, what each person typed in the composer and in an open form, and the private notes they dismissed.
const KEPT = "refundbot-sandbox";
const kept = { typed: {}, forms: {}, dismissed: {}, ...JSON.parse(sessionStorage.getItem(KEPT) || "{}") };
const keep = () => sessionStorage.setItem(KEPT, JSON.stringify(kept));
const page = {
  snapshot: null,
  fetchedAt: 0,
  drawn: {}, // person id → surface → the JSON last drawn, so a surface is redrawn only when it changed
  tab: { ...kept.tab }, // person id → "messages" | "home"
  mediator: kept.mediator || "U0MEDIATE1", // which mediator the third column acts as
  busy: false,
  columns: {},
  seen: {}, // person id → message key → what it last showed: a message the app changed is marked for a moment
  folded: new Set(), // threads someone folded, kept folded across redraws
};

// --- talking to the server ------------------------------------------------------------------------------------

async function call(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || `the sandbox answered ${response.status}`);
  return answer;
}

async function act(request) {
  page.busy = true;
  document.body.classList.add("acting");
  try {
    const done = await call("/sandbox/api/act", request);
    if (done.status !== 200) notice(`refund-bot answered ${done.status}: Slack would show the person an error.`);
  } catch (error) {
    notice(error.message);
  } finally {
    page.busy = false;
    document.body.classList.remove("acting");
    await refresh(true);
  }
}

async function moveClock(body) {
  try {
    await call("/sandbox/api/clock", body);
  } catch (error) {
    notice(error.message);
  }
  await refresh(true);
}

async function refresh(force = false) {
  try {
    const snapshot = await call("/sandbox/api/state");
    const changed = force || !page.snapshot || snapshot.version !== page.snapshot.version;
    page.snapshot = snapshot;
    page.fetchedAt = performance.now();
    if (changed) draw();
    drawClock();
  } catch (error) {
    notice(`The sandbox is not answering (${error.message}). Is refundbot sandbox still running?`);
  }
}

function now() {
  if (!page.snapshot) return new Date();
  return new Date(Date.parse(page.snapshot.now) + (performance.now() - page.fetchedAt));
}

// --- notices and confirmations ----------------------------------------------------------------------------------

function notice(text) {
  const area = document.getElementById("notices");
  const item = el("div", { class: "notice", role: "alert" }, text,
    el("button", { type: "button", class: "dismiss", "aria-label": "Dismiss", onclick: () => item.remove() }, "×"));
  area.append(item);
  setTimeout(() => item.remove(), 12000);
}

function confirmDialog({ title, text, yes, no, danger }) {
  return new Promise((resolve) => {
    const dialog = el("dialog", { class: "confirm", "aria-label": title });
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.append(
      el("h3", {}, title),
      el("div", { class: "confirm-text" }, text),
      el("div", { class: "confirm-buttons" },
        el("button", { type: "button", class: "bk-button", onclick: () => finish(false) }, no),
        el("button", { type: "button", class: `bk-button ${danger ? "danger" : "primary"}`, onclick: () => finish(true) }, yes)),
    );
    dialog.addEventListener("cancel", () => finish(false));
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector(".primary, .danger")?.focus();
  });
}

// --- one person's Slack ---------------------------------------------------------------------------------------

function personFor(role) {
  const people = page.snapshot.people;
  if (role === "mediator") return people.find((p) => p.id === page.mediator);
  return people.find((p) => p.role === role);
}

function context(person, surface, extra = {}) {
  return {
    viewer: { id: person.id, tz: person.tz },
    names: page.snapshot.names,
    now,
    confirm: confirmDialog,
    onLink: (event, url) => followLink(event, person, url),
    act: (block, element, chosen) => act({ user: person.id, ...surface(block, element, chosen) }),
    ...extra,
  };
}

// Permalinks point into this workspace: they open the message here, as Slack would.
function followLink(event, person, url) {
  const match = /\/archives\/([A-Z0-9]+)\/p(\d+)(\d{6})$/.exec(url);
  if (!match) return;
  event?.preventDefault();
  const target = document.getElementById(`m-${person.id}-${match[1]}-${match[2]}.${match[3]}`);
  showTab(person.id, "messages");
  if (target) {
    target.scrollIntoView({ behavior: "smooth", block: "center" });
    target.classList.add("flash");
    setTimeout(() => target.classList.remove("flash"), 1600);
    target.focus();
  }
}

function messageTime(ts, person) {
  const when = new Date(Number(ts) * 1000);
  return el("time", { datetime: when.toISOString(), title: when.toUTCString() }, formatDate(when, "{date_short_pretty} {time}", { viewer: person, now }));
}

function message(person, shown) {
  const ctx = context(person, (block, element, chosen) => ({
    do: "click", channel: shown.channel, ts: shown.ts, block_id: block.block_id, action_id: element.action_id, ...chosen,
  }));
  const body = shown.blocks?.length ? renderBlocks(shown.blocks, ctx) : el("div", { class: "bk-section-text" }, mrkdwn(shown.text, ctx));
  // Files shared in the message: whoever reads this conversation can open them, and no one else.
  const files = shown.files?.length
    ? el("ul", { class: "files", "aria-label": "Files" }, shown.files.map((file) =>
        el("li", { class: "file" }, `📄 ${file.name}`, el("span", { class: "file-size" }, ` ${fileSize(file.size)}`))))
    : null;
  const key = `${person.id}-${shown.channel}-${shown.ts}`;
  const replies = shown.replies?.length
    ? el("details", { class: "replies", open: !page.folded.has(key),
        ontoggle: (event) => (event.target.open ? page.folded.delete(key) : page.folded.add(key)) },
        el("summary", {}, `${shown.replies.length} repl${shown.replies.length === 1 ? "y" : "ies"}`),
        el("ol", { class: "messages" }, shown.replies.map((reply) => el("li", {}, message(person, reply)))))
    : null;
  const seen = (page.seen[person.id] ??= {});
  const showing = JSON.stringify([shown.text, shown.blocks]);
  const changed = key in seen && seen[key] !== showing;
  seen[key] = showing;
  return el("article", { class: `msg${changed ? " changed" : ""}`, id: `m-${key}`, tabindex: "-1" },
    el("div", { class: "msg-meta" }, el("strong", {}, "refund-bot"), " ", el("span", { class: "app-tag" }, "APP"), " ",
      messageTime(shown.ts, person), shown.edited ? el("span", { class: "edited" }, " (edited)") : null),
    body, files, replies);
}

function fileSize(bytes) {
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function messages(person) {
  const dms = person.dms.map((shown) => el("li", {}, message(person, shown)));
  const channel = person.channel.messages.map((shown) => el("li", {}, message(person, shown)));
  const where = person.role === "mediator" ? "#mediators, the escalation channel" : "Group DM with the other party: each case's thread";
  return el("div", {},
    el("h3", {}, "Direct messages from refund-bot"),
    dms.length ? el("ol", { class: "messages", dataset: { surface: "dms" } }, dms) : el("p", { class: "empty" }, "Nothing yet."),
    el("h3", {}, where),
    channel.length ? el("ol", { class: "messages", dataset: { surface: "channel" } }, channel)
      : el("p", { class: "empty" }, "Nothing yet."));
}

function home(person) {
  if (!person.home) return el("p", { class: "empty" }, "Opening Home…");
  const view = person.home;
  const ctx = context(person, (block, element, chosen) => ({
    do: "view_action", view_id: view.id, block_id: block.block_id, action_id: element.action_id, values: {}, ...chosen,
  }));
  return renderBlocks(view.blocks, ctx);
}

function privateNotes(person) {
  const dismissed = new Set(kept.dismissed[person.id] ?? []);
  return person.private.filter((said) => !dismissed.has(said.n)).map((said) => {
    const ctx = { ...context(person, () => ({})), act: () => notice("A private answer's buttons are not wired in the sandbox yet.") };
    const body = said.blocks?.length ? renderBlocks(said.blocks, ctx) : mrkdwn(said.text, ctx);
    const dismiss = () => {
      // Slack's ephemeral messages are dismissed by their reader alone, and stay dismissed.
      kept.dismissed[person.id] = [...dismissed, said.n].slice(-50);
      keep();
      page.columns[person.role]?.querySelector(".private").replaceChildren(...privateNotes(person));
    };
    return el("div", { class: "private-note" },
      el("div", { class: "private-tag" }, "Only visible to you",
        el("button", { type: "button", class: "dismiss", "aria-label": "Dismiss this message", title: "Dismiss", onclick: dismiss }, "Dismiss")),
      body);
  });
}

function modal(person, column) {
  const layer = column.querySelector(".modal-layer");
  const shown = person.modal;
  if (!shown) {
    layer.hidden = true;
    layer.replaceChildren();
    delete kept.forms[person.id];
    keep();
    return;
  }
  const view = shown.view;
  const before = layer.querySelector(".modal-body");
  const stored = kept.forms[person.id]?.view === view.id ? kept.forms[person.id].values : null;
  const typed = before && before.dataset.viewId === view.id ? formValues(before) : stored;
  const focused = document.activeElement?.closest?.(".modal-body") === before ? document.activeElement?.id : null;
  const ctx = context(person, (block, element, chosen) => ({
    do: "view_action", view_id: view.id, block_id: block.block_id, action_id: element.action_id,
    values: formValues(layer.querySelector(".modal-body")), ...chosen,
  }), { errors: shown.errors });
  const body = el("div", { class: "modal-body", dataset: { viewId: view.id } }, renderBlocks(view.blocks, ctx));
  if (typed) restore(body, typed);
  // A file input cannot be refilled: the one holding the person's choice is carried into the form drawn anew.
  for (const chosen of before && before.dataset.viewId === view.id ? before.querySelectorAll("input[type=file]") : []) {
    body.querySelector(`input[type=file][data-block-id="${chosen.dataset.blockId}"]`)?.replaceWith(chosen);
  }
  const remember = () => {
    kept.forms[person.id] = { view: view.id, values: formValues(body) };
    keep();
  };
  body.addEventListener("input", remember);
  body.addEventListener("change", remember);
  const submit = async () => {
    const problems = formProblems(body);
    for (const input of body.querySelectorAll(".bk-input")) {
      const problem = problems[input.dataset.blockId];
      input.classList.toggle("invalid", Boolean(problem));
      if (problem) input.querySelector(".bk-error").textContent = problem;
    }
    if (Object.keys(problems).length) {
      body.querySelector(".invalid [data-kind], .invalid input")?.focus();
      return;
    }
    await act({ user: person.id, do: "submit", view_id: view.id, values: await withFiles(body, formValues(body)) });
  };
  const close = () => act({ user: person.id, do: "close" });
  const dialog = el("div", { class: "modal", role: "dialog", "aria-modal": "true", "aria-label": view.title?.text ?? "Form" },
    el("div", { class: "modal-title" }, el("span", {}, view.title?.text ?? "")),
    body,
    el("div", { class: "modal-buttons" },
      el("button", { type: "button", class: "bk-button", onclick: close }, view.close?.text ?? "Cancel"),
      view.submit ? el("button", { type: "button", class: "bk-button primary", onclick: submit }, view.submit.text) : null));
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && view.submit) submit();
  });
  layer.replaceChildren(dialog);
  layer.hidden = false;
  const again = focused && document.getElementById(focused);
  (again || (!before && body.querySelector("input, textarea, select, fieldset input, button")))?.focus?.();
}

// The files chosen in a form's file inputs, read from the person's computer: name, type and content (base64), as the
// sandbox's Slack takes them in.
async function withFiles(body, values) {
  for (const input of body.querySelectorAll("input[type=file]")) {
    const files = await Promise.all([...input.files].map(async (file) => ({
      name: file.name, type: file.type, data: base64(new Uint8Array(await file.arrayBuffer())),
    })));
    (values[input.dataset.blockId] ??= {})[input.dataset.actionId] = files;
  }
  return values;
}

function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function restore(body, values) {
  for (const node of body.querySelectorAll("[data-kind]")) {
    const value = values[node.dataset.blockId]?.[node.dataset.actionId];
    if (value === undefined || value === null) continue;
    if (node.tagName === "FIELDSET") {
      const chosen = new Set(Array.isArray(value) ? value : [value]);
      for (const input of node.querySelectorAll("input")) input.checked = chosen.has(input.value);
    } else if (node.tagName !== "SELECT" || [...node.options].some((o) => o.value === value)) {
      node.value = value;
    }
  }
}

// --- the page ----------------------------------------------------------------------------------------------------

function showTab(userId, tab) {
  page.tab[userId] = tab;
  kept.tab = page.tab;
  keep();
  const column = document.querySelector(`.person[data-user="${userId}"]`);
  if (!column) return;
  for (const button of column.querySelectorAll("[role=tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
    button.tabIndex = button.dataset.tab === tab ? 0 : -1;
  }
  for (const pane of column.querySelectorAll("[role=tabpanel]")) pane.hidden = pane.dataset.tab !== tab;
  if (tab === "home") act({ user: userId, do: "home" }); // Slack tells the app each time the tab is opened
}

function column(role) {
  const person = personFor(role);
  const existing = page.columns[role];
  if (existing && existing.dataset.user === person.id) return existing;
  const id = person.id;
  page.tab[id] ??= "messages";
  const input = el("input", { type: "text", class: "composer-input", value: kept.typed[id] ?? "/refund ",
    "aria-label": `Type a command as ${person.name}`,
    oninput: () => { kept.typed[id] = input.value; keep(); } });
  const composer = el("form", { class: "composer", onsubmit: (event) => {
    event.preventDefault();
    const typed = input.value.trim();
    if (!typed.startsWith("/refund")) {
      notice("Only the /refund command reaches refund-bot here (try /refund help).");
      return;
    }
    act({ user: id, do: "command", text: typed.slice("/refund".length).trim() });
  } }, input, el("button", { type: "submit", class: "bk-button" }, "Send"),
  el("button", { type: "button", class: "bk-button", title: "The global shortcut “Request a refund”",
    onclick: () => act({ user: id, do: "shortcut" }) }, "⚡ Request a refund"));
  const tab = (name, label) => el("button", { type: "button", role: "tab", class: "tab", dataset: { tab: name },
    "aria-selected": String(page.tab[id] === name), onclick: () => showTab(id, name),
    onkeydown: (event) => {
      if (event.key === "ArrowRight" || event.key === "ArrowLeft") showTab(id, name === "messages" ? "home" : "messages");
    } }, label);
  const chooser = role === "mediator"
    ? el("label", { class: "acting" }, "Acting as ",
        el("select", { onchange: (event) => { page.mediator = kept.mediator = event.target.value; keep(); draw(); } },
          page.snapshot.people.filter((p) => p.role === "mediator").map((p) =>
            el("option", { value: p.id, selected: p.id === page.mediator }, p.name))))
    : null;
  const node = el("section", { class: `person ${role}`, dataset: { user: id }, "aria-label": `${person.name}, the ${role}` },
    el("header", { class: "person-head" },
      el("h2", {}, person.name, " ", el("span", { class: "role" }, role)),
      el("div", { class: "their-time" },
        el("span", { class: "zone", title: `${person.tz}; Slack in ${person.locale}` }, `${zoneName(person.tz)} · ${person.locale}`), " · ",
        el("span", { class: "their-now" }), el("div", { class: "their-next" })), chooser),
    composer,
    el("div", { class: "private", "aria-live": "polite" }),
    el("div", { role: "tablist", class: "tabs", "aria-label": `${person.name}'s Slack` }, tab("messages", "Messages"), tab("home", "Home")),
    el("div", { role: "tabpanel", class: "pane", dataset: { tab: "messages" }, hidden: page.tab[id] !== "messages" }),
    el("div", { role: "tabpanel", class: "pane", dataset: { tab: "home" }, hidden: page.tab[id] !== "home" }),
    el("div", { class: "modal-layer", hidden: true }));
  page.columns[role] = node;
  page.drawn[id] = {};
  return node;
}

function drawPerson(role) {
  const person = personFor(role);
  const node = column(role);
  const drawn = page.drawn[person.id];
  const surfaces = {
    messages: [person.dms, person.channel],
    home: person.home,
    private: person.private,
    modal: person.modal,
  };
  for (const [surface, data] of Object.entries(surfaces)) {
    const json = JSON.stringify(data);
    if (drawn[surface] === json) continue;
    drawn[surface] = json;
    if (surface === "messages") node.querySelector('[data-tab="messages"][role=tabpanel]').replaceChildren(messages(person));
    if (surface === "home") node.querySelector('[data-tab="home"][role=tabpanel]').replaceChildren(home(person));
    if (surface === "private") node.querySelector(".private").replaceChildren(...privateNotes(person));
    if (surface === "modal") modal(person, node);
  }
  return node;
}

function draw() {
  const main = document.getElementById("people");
  const nodes = COLUMNS.map(drawPerson);
  if (nodes.some((node, i) => main.children[i] !== node)) main.replaceChildren(...nodes);
  drawLedger();
}

// A time zone as people say it: the city, and the zone's familiar short name ("New York, EST"), which English
// speakers of the zone's own region use where the American one is only an offset (CET, SGT).
const ZONE_LOCALES = ["en-US", "en-GB", "en-SG", "en-IN", "en-AU", "en-CA", "en-NZ"];
function zoneName(tz) {
  if (tz === "UTC") return "UTC";
  const city = tz.split("/").pop().replaceAll("_", " ");
  const named = (locale, style) => new Intl.DateTimeFormat(locale, { timeZone: tz, timeZoneName: style })
    .formatToParts(now()).find((part) => part.type === "timeZoneName")?.value;
  const short = ZONE_LOCALES.map((locale) => named(locale, "short")).find((name) => name && !/^(GMT|UTC)[+-]/.test(name));
  return `${city}, ${short ?? named("en-US", "long")}`;
}

const UTC = { viewer: { id: "", tz: "UTC" } };
const inUtc = (when) => `${formatDate(when, "{time}", { ...UTC, now })} UTC`;

function drawClock() {
  const snapshot = page.snapshot;
  document.getElementById("now").textContent = `${formatDate(now(), "{date_long} {time}", { ...UTC, now })} UTC`;
  const next = snapshot.next;
  const what = next && `${next.reminder ? "a reminder" : "a deadline"} of case ${next.case_id} (${next.kind.replaceAll("_", " ")})`;
  document.getElementById("next").textContent = next
    ? `Next: ${what}, ${formatDate(new Date(next.at), "{date_short_pretty} {time}", { ...UTC, now })} UTC`
    : "No deadline is waiting.";
  document.getElementById("to-next").disabled = !next;
  document.getElementById("policy").textContent = `policy ${snapshot.policy}`;
  // Each column in its person's own time, UTC beside it, as the messages in it are.
  for (const role of COLUMNS) {
    const column = page.columns[role];
    const person = column && snapshot.people.find((p) => p.id === column.dataset.user);
    if (!person) continue;
    const theirs = { viewer: { id: person.id, tz: person.tz }, now };
    column.querySelector(".their-now").textContent = `${formatDate(now(), "{date_short_pretty} {time}", theirs)} (${inUtc(now())})`;
    const at = next && new Date(next.at);
    column.querySelector(".their-next").textContent = next
      ? `Next: ${what}, ${formatDate(at, "{date_short_pretty} {time}", theirs)} their time (${inUtc(at)})`
      : "No deadline is waiting.";
  }
}

function drawLedger() {
  const entries = page.snapshot.ledger;
  document.getElementById("ledger-count").textContent = String(entries.length);
  const rows = entries.map((entry) => el("tr", {},
    el("td", {}, `#${entry.id}`), el("td", {}, entry.case_id), el("td", {}, entry.kind.replaceAll("_", " ")),
    el("td", { class: "amount" }, `${entry.amount} ${entry.currency}`),
    el("td", {}, page.snapshot.names[entry.actor] ?? entry.actor),
    el("td", {}, `${formatDate(new Date(entry.at), "{date_short} {time}", { viewer: { tz: "UTC" }, now })} UTC`)));
  document.getElementById("ledger-rows").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "6" }, "No refund or release yet."))]));
}

function start() {
  document.getElementById("plus-hour").addEventListener("click", () => moveClock({ hours: 1 }));
  document.getElementById("plus-day").addEventListener("click", () => moveClock({ hours: 24 }));
  document.getElementById("to-next").addEventListener("click", () => moveClock({ next: true }));
  refresh(true).then(() => {
    for (const [id, tab] of Object.entries(page.tab)) if (tab === "home") showTab(id, "home");
  });
  setInterval(() => { if (!page.busy) refresh(); }, POLL_MS);
  setInterval(() => { if (page.snapshot) drawClock(); }, 1000);
}

start();
