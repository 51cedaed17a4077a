// The keystroke loop, in the browser. `demo/ui.py` runs this function once when the page loads, with the
// lineup (`lineup_for_the_page`: the strips' names in order, their first answers, Tab's order, the learning
// strip) and the settings, and it installs `window.nextword`. No model is named here: any lineup works.
//
// - The strips answer the text before the caret. Every edit or caret move that changes that text marks
//   every strip stale (dimmed) and asks each strip again. A strip keeps at most one request in flight; when
//   it returns, one more goes for the latest text if the text moved on meanwhile. So the page sends
//   nothing while the text stays put.
// - A request is a plain `fetch` of the app's keystroke route, `keystroke/suggest_<strip>` (the handlers of
//   `/suggest_<strip>` API, without Gradio's event processing), and the answer
//   is drawn here. Measured on a 2-core machine, Gradio's event machinery cost 35-65 ms per answer in
//   Chromium, and 11 ms of server CPU per request: with a class typing, most of a core.
// - Each request carries a ticket naming the text it asks about. A strip is un-dimmed only when its answer
//   is for the text as it is now.
// - While the user lets the learning strip learn from their writing (`learn`), its requests also carry the page's
//   token and the whole text, whose finished sentences the server counts (`lm.counting.personal`).
// - A chip click or Tab inserts the word here, reading the textbox as it is at that moment: the chip's word
//   completes the letters typed since it was computed only if it still starts with them, so a character
//   the chip did not account for is never deleted or changed. The insertion is an edit of the textbox's own
//   (`insertText`), so Ctrl+Z undoes it.
// - Tab inserts the centre word of the first strip in `lineup.tab` for the text as it is; while that strip is
//   still answering, Tab waits for it (at most TAB_WAIT_MS, and only while the text stays put) instead of
//   taking the next strip's.
//   Tab never moves the focus out of the box, so what is typed next lands in it (Esc, then Tab, leaves).
// - Punctuation typed right after an inserted word replaces the space the insertion added ("day." not
//   "day ."), as phone keyboards do.
(lineup, settings) => {
  const PARTIAL_WORD = /^[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*'?$/u;  // lm.core.tokenize: a word being typed
  const KEPT_TICKETS = 64;
  const CHARTS_PAUSE_MS = 500;  // an open chart panel follows the text once typing pauses this long
  const LONG_WORD = 12;  // letters from which a chip's word is set smaller, so it fits a phone's chip
  const TAB_WAIT_MS = 2000;  // how long a Tab waits for its first strip's answer to the text as it is
  const CLOSES_A_WORD = /^[.,!?;:]$/;  // typed right after an inserted word, these take its space's place
  const box = () => document.querySelector("#keyboard-input textarea");
  const chips = (name) => [0, 1, 2].map((index) => document.getElementById(`${name}-${index}`));
  const row = (name) => document.getElementById(`${name}-0`)?.closest(".strip");
  const endpoint = (name) => new URL(`keystroke/suggest_${name}`, document.baseURI.replace(/[?#].*$/, "")).href;

  const tickets = new Map();  // ticket -> the text before the caret it asked about
  const shown = {};  // strip -> {ticket, context, prefix, chips}: what the strip draws now
  const flight = {};  // strip -> {busy, again}: one request at a time, and whether the text moved on since
  for (const name of lineup.names) {
    const strip = lineup.answers[name];
    shown[name] = {ticket: 0, context: "", prefix: strip?.prefix || "", chips: strip?.chips || []};
    flight[name] = {busy: false, again: false};
  }
  const [tabFirst] = lineup.tab;  // Tab inserts this strip's centre word (the next one's when it has none)
  const CHIP_ID = /^(.+)-(\d)$/;
  let current = settings;  // the last good settings (the server checks every change)
  let learning = null;  // {token, read_chars} while the learning strip (lineup.learns) learns from what is written here
  let asked = null;  // the text the strips were last asked about
  let lastTicket = 0;
  let chartsTimer = null;
  let pendingTab = null;  // {text}: a Tab waiting for tabFirst's answer to this text
  let autoSpace = null;  // {value, caret}: the box right after an insertion that added a space
  let tabLeaves = false;  // Esc was pressed: the next Tab moves the focus on, as usual

  function beforeCaret() {
    const b = box();
    return b ? b.value.slice(0, b.selectionEnd ?? b.value.length) : "";
  }

  function chartsOpen() {
    const button = document.getElementById("refresh-charts");
    return Boolean(button && button.offsetParent !== null);
  }

  // Ask every strip (and an open chart panel) about the text before the caret, if it changed.
  function ask(force = false) {
    const text = beforeCaret();
    if (pendingTab && pendingTab.text !== text) pendingTab = null;  // the text moved on: that Tab is void
    if (text === asked && !force) return;
    asked = text;
    for (const name of Object.keys(shown)) {
      row(name)?.classList.add("stale");
      send(name);
    }
    clearTimeout(chartsTimer);
    if (chartsOpen()) {
      chartsTimer = setTimeout(() => document.getElementById("refresh-charts")?.click(), CHARTS_PAUSE_MS);
    }
  }

  // Learning switched on (the server's token for this page) or off (null): ask again, with or without it.
  function learn(state) {
    learning = state?.token ? state : null;
    ask(true);
  }

  // New settings (checked by the server): ask again with them.
  function use(checked) {
    current = checked;
    ask(true);
  }

  async function send(name) {
    const strip = flight[name];
    if (strip.busy) {
      strip.again = true;
      return;
    }
    strip.busy = true;
    try {
      do {
        strip.again = false;
        await fetchStrip(name);
      } while (strip.again);
    } finally {
      strip.busy = false;
    }
  }

  async function fetchStrip(name) {
    const text = beforeCaret();
    const ticket = ++lastTicket;
    tickets.set(ticket, text);
    if (tickets.size > KEPT_TICKETS) tickets.delete(tickets.keys().next().value);
    const written = learning && name === lineup.learns ? box()?.value.slice(-learning.read_chars) ?? null : null;
    const data = [text, current.mode, current.temperature, current.top_k, current.top_p, current.seed, ticket,
                  learning?.token ?? null, written];
    try {
      const response = await fetch(endpoint(name), {
        method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({data}),
      });
      const answer = await response.json();
      if (!response.ok || !answer.data) throw new Error(answer.error || `HTTP ${response.status}`);
      show(name, answer.data[0], answer.data[1]);
    } catch (error) {
      note(name, `⚠️ no answer from the server (${error.message}); the chips will refresh at the next key`);
    }
  }

  function note(name, text) {
    const element = document.querySelector(`#${name}-message .note`);
    if (element) element.textContent = text || "";
  }

  // Draw a strip's answer, if it is newer than what the strip shows. An answer without chips (the server
  // failed or was busy) only says so in the strip's note.
  function show(name, strip, message) {
    if (strip?.ticket === undefined) return note(name, message);
    const text = tickets.get(strip.ticket);
    if (text === undefined || strip.ticket <= shown[name].ticket) return;
    shown[name] = {ticket: strip.ticket, context: text.slice(0, text.length - strip.prefix.length),
                   prefix: strip.prefix, chips: strip.chips};
    chips(name).forEach((chip, index) => {
      if (!chip) return;
      chip.textContent = strip.labels[index] || " ";
      chip.disabled = !strip.labels[index];
      chip.classList.toggle("long", (strip.chips[index]?.word.length ?? 0) > LONG_WORD);
    });
    const info = document.querySelector(`#${name}-title .info`);
    if (info) info.textContent = strip.info || "";
    note(name, message);
    row(name)?.classList.toggle("stale", text !== beforeCaret());
    if (name === tabFirst && pendingTab && pendingTab.text === text && fresh(tabFirst)) {
      pendingTab = null;
      insertCentre();
    }
  }

  // Whether a strip's chips are for the text before the caret as it is now.
  function fresh(name) {
    return tickets.get(shown[name].ticket) === beforeCaret();
  }

  // Tab: tabFirst's centre word (the next strip's in lineup.tab when it has none for this text).
  function insertCentre() {
    if (lineup.tab.some((name) => accept(name, 0))) return true;
    note(tabFirst, "nothing to insert here: no chip for this text (Esc, then Tab, leaves the box)");
    return false;
  }

  function tab() {
    if (fresh(tabFirst) || !flight[tabFirst].busy) return insertCentre();
    pendingTab = {text: beforeCaret()};  // tabFirst is answering: wait for it
    const waiting = pendingTab;
    setTimeout(() => {
      if (pendingTab !== waiting) return;
      pendingTab = null;
      note(tabFirst, `Tab: the ${tabFirst} took too long for this text; press Tab again`);
    }, TAB_WAIT_MS);
    return false;
  }

  // The textbox after accepting `word` for a chip computed after `context`: null when the text before the
  // caret no longer continues that context with letters of the word (then the click does nothing).
  function completion(value, caret, context, word) {
    const before = value.slice(0, caret), after = value.slice(caret);
    if (!before.startsWith(context)) return null;
    const partial = before.slice(context.length);
    if (partial && !PARTIAL_WORD.test(partial)) return null;
    if (!word.toLowerCase().startsWith(partial.toLowerCase())) return null;
    if (/^\p{Lu}/u.test(partial)) word = word[0].toUpperCase() + word.slice(1);
    const spaced = !partial && context && !/\s$/.test(context) ? context + " " : context;
    const inserted = spaced + word + (/^\s/.test(after) ? "" : " ");
    return {value: inserted + after, caret: inserted.length + (/^\s/.test(after) ? 1 : 0)};
  }

  // Replace the box's characters from `start` to `end` by `text`, leaving the caret at `caret`, as an edit
  // of the box's own (`insertText`: the browser's undo stack keeps it, so Ctrl+Z undoes it).
  function edit(b, start, end, text, caret) {
    b.focus();
    b.setSelectionRange(start, end);
    if (!document.execCommand("insertText", false, text)) {  // no insertText: set the value (no undo)
      b.value = b.value.slice(0, start) + text + b.value.slice(end);
      b.dispatchEvent(new Event("input", {bubbles: true}));
    }
    b.setSelectionRange(caret, caret);
  }

  // Insert chip `index` of strip `name` at the caret; focus returns to the textbox. True if inserted.
  function accept(name, index) {
    const b = box(), chip = shown[name]?.chips[index];
    if (!b || !chip) return false;
    const caret = b.selectionEnd ?? b.value.length, after = b.value.slice(caret);
    const done = completion(b.value, caret, shown[name].context, chip.word);
    if (!done) return false;  // the text has moved on: the strip is already being refreshed
    const start = commonPrefix(b.value.slice(0, caret), done.value);  // only what changes is replaced
    edit(b, start, caret, done.value.slice(start, done.value.length - after.length), done.caret);
    autoSpace = /^\s/.test(after) ? null : {value: b.value, caret: done.caret};  // the space is the insertion's
    return true;
  }

  function commonPrefix(a, b) {
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    return i;
  }

  // Punctuation right after an insertion that added a space takes that space's place. True if it did.
  function closeWord(key) {
    const b = box(), at = autoSpace;
    autoSpace = null;
    if (!b || !at || !CLOSES_A_WORD.test(key) || b.value !== at.value) return false;
    if (b.selectionStart !== at.caret || b.selectionEnd !== at.caret) return false;
    edit(b, at.caret - 1, at.caret, key, at.caret);
    return true;
  }

  const isBox = (target) => target instanceof HTMLTextAreaElement && target.closest("#keyboard-input");
  document.addEventListener("input", (event) => isBox(event.target) && ask());
  document.addEventListener("selectionchange", () => isBox(document.activeElement) && ask());
  document.addEventListener("click", (event) => {
    const chip = event.target.closest?.(".chip");
    const [, name, index] = chip?.id.match(CHIP_ID) || [];
    if (name in shown && !chip.disabled) accept(name, Number(index));
  });
  document.addEventListener("keydown", (event) => {
    if (!isBox(event.target) || event.isComposing) return;
    const plain = !event.ctrlKey && !event.altKey && !event.metaKey, leaving = tabLeaves;
    tabLeaves = event.key === "Escape";
    if (event.key === "Tab" && plain && !event.shiftKey && !leaving) {
      event.preventDefault();  // the focus stays in the box: what is typed next lands there
      tab();
    } else if (plain && event.key.length === 1 && closeWord(event.key)) {
      event.preventDefault();  // typed: the key's character took the automatic space's place
    }
  }, true);
  window.nextword = {ask, use, learn, show, accept, completion, beforeCaret};
}
