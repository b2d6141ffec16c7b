// The chat page: asks through /rag/stream (tokens shown as they come), opens each [n] source
// with the cited sentence highlighted, uploads files into a writable collection, and sends
// thumbs up / down and corrections to /feedback. The key lives in sessionStorage; the
// conversation (its thread id and turns) in localStorage, marked with a digest of the key that
// made it: another key (or none) on the same browser starts from an empty conversation, never
// sees it. Server text is only ever set as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const store = {
  get key() { return sessionStorage.getItem("vinarag.key") || ""; },
  set key(value) { sessionStorage.setItem("vinarag.key", value); },
  get thread() {
    let id = localStorage.getItem("vinarag.thread");
    if (!id) { id = newId(); localStorage.setItem("vinarag.thread", id); }
    return id;
  },
  get turns() { return JSON.parse(localStorage.getItem("vinarag.turns") || "[]"); },
  set turns(value) { localStorage.setItem("vinarag.turns", JSON.stringify(value.slice(-50))); },
};
const page = { collections: [], feedback: false, keys: false };

// Whose conversation is stored: a digest of the key (SHA-256 where the page is a secure
// context, else FNV-1a), never the key itself.
async function owner(key) {
  if (!key) return "anonymous";
  if (window.crypto && crypto.subtle) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return `fnv-${hash.toString(16)}`;
}

function forgetConversation() {
  localStorage.removeItem("vinarag.thread");
  localStorage.removeItem("vinarag.turns");
  $("conversation").textContent = "";
  welcome();
}

// The stored conversation kept only when the key now in use made it.
async function claimConversation() {
  const current = await owner(store.key);
  if (localStorage.getItem("vinarag.owner") !== current) {
    forgetConversation();
    localStorage.setItem("vinarag.owner", current);
  }
}

function newId() {
  const random = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
  return random.replace(/[^0-9a-z]/gi, "").slice(0, 32);
}

function headers(extra = {}) {
  return store.key ? { ...extra, "X-API-Key": store.key } : extra;
}

async function detail(response) {
  try {
    const body = await response.json();
    const said = body.detail ?? body.error?.message ?? body;
    return typeof said === "string" ? said : JSON.stringify(said);
  } catch {
    return `HTTP ${response.status}`;
  }
}

function option(value, label) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = label;
  return element;
}

// -- collections, key, upload -------------------------------------------------------------
async function loadCollections() {
  const select = $("collection");
  const response = await fetch("/collections", { headers: headers() });
  select.textContent = "";
  if (!response.ok) {
    select.append(option("", response.status === 401 ? "Cần khóa API hợp lệ" : "Không tải được"));
    page.collections = [];
    if (response.status === 401) {  // keys are configured and this one is missing or wrong
      $("settings-toggle").hidden = false;
      $("settings").hidden = false;
    }
    updateUploadTarget();
    return;
  }
  const body = await response.json();
  page.collections = body.collections;
  page.keys = body.keys;
  $("settings-toggle").hidden = !body.keys;  // no keys configured: nothing to enter
  select.append(option("", "Tất cả bộ sưu tập bạn xem được"));
  for (const c of page.collections) {
    select.append(option(c.name, `${c.name} (${c.documents} tài liệu)`));
  }
  const saved = localStorage.getItem("vinarag.collection") || "";
  select.value = page.collections.some((c) => c.name === saved) ? saved : "";
  updateUploadTarget();
}

function uploadTarget() {
  const picked = page.collections.find((c) => c.name === $("collection").value);
  if (picked) return picked.writable ? picked.name : null;
  return page.collections.find((c) => c.writable)?.name ?? null;
}

function updateUploadTarget() {
  // in plain view wherever this key may add documents; nowhere else
  const target = uploadTarget();
  $("upload-form").hidden = target === null;
  $("upload-target").textContent = target ?? "";
}

async function upload(event) {
  event.preventDefault();
  const target = uploadTarget();
  const files = $("files").files;
  if (!target || !files.length) return;
  const form = new FormData();
  for (const file of files) form.append("files", file);
  const report = $("upload-report");
  report.textContent = "Đang tải lên…";
  const response = await fetch(`/documents/files?collection=${encodeURIComponent(target)}`, {
    method: "POST", headers: headers(), body: form,
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    report.textContent = `Lỗi: ${typeof body.detail === "string" ? body.detail : response.status}`;
    return;
  }
  $("files").value = "";
  $("files-chosen").textContent = "Chưa chọn tệp";
  await followJob(body, target, report);
}

function jobProgress(job) {
  const rate = job.chunks_per_s ? `, ${job.chunks_per_s} đoạn/giây` : "";
  const eta = job.eta_s != null && job.state !== "done" ? `, còn khoảng ${Math.ceil(job.eta_s)} giây` : "";
  if (job.state === "queued") return "Đang chờ xử lý…";
  if (job.state === "running") {
    const scans = Object.entries(job.ocr_pages || {})
      .map(([name, [done, total]]) => ` · ${name}: nhận dạng chữ (OCR) trang ${Math.min(done + 1, total)}/${total}`)
      .join("");
    return `Đang đọc và xử lý: ${job.files_done}/${job.files.length} tệp, ` +
      `${job.chunks_written}/${job.chunks_total} đoạn${rate}${eta}${scans}`;
  }
  if (job.state === "searchable") {
    return `Đã có thể hỏi (tìm theo từ khóa). Đang chuẩn bị tìm theo nghĩa: ` +
      `${job.chunks_embedded}/${job.chunks_written} đoạn${rate}${eta}`;
  }
  return "";
}

// A job is followed until its documents are searchable, then until they are embedded.
async function followJob(job, target, report) {
  while (job.state !== "done" && job.state !== "failed") {
    report.textContent = jobProgress(job);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const response = await fetch(job.url, { headers: headers() });
    if (!response.ok) {
      report.textContent = `Lỗi: ${response.status}`;
      return;
    }
    const previous = job.state;
    job = await response.json();
    if (previous !== job.state && job.state === "searchable") await loadCollections();
  }
  const result = job.report;
  if (!result) {
    report.textContent = `Lỗi: ${inVietnamese(job.error)}`;
    return;
  }
  const lines = [
    `Bộ sưu tập ${target}: thêm ${result.added.length}, thay thế ${result.replaced.length}, ` +
      `không đổi ${result.unchanged.length}; ${result.chunks} đoạn.`,
    ...result.failed.map((f) => `Lỗi — ${f.source}: ${inVietnamese(f.reason)}`),
    ...result.skipped.map((f) => `Bỏ qua — ${f.source}: ${inVietnamese(f.reason)}`),
  ];
  report.textContent = lines.join("\n");
  await loadCollections();
}

// -- answers --------------------------------------------------------------------------------
function renderClarification(turn, clarification) {
  // The question back (which law?): its options as buttons; a pick is the next message, in
  // the same thread, and the server resumes the question from it.
  turn.querySelector(".answer").textContent = clarification.question;
  const options = turn.querySelector(".options");
  options.textContent = "";
  for (const option of clarification.options) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "option";
    button.textContent = option.label;
    button.addEventListener("click", () => askQuestion(option.label));
    options.append(button);
  }
  options.hidden = false;
}

function render(turn, output) {
  const answer = turn.querySelector(".answer");
  answer.textContent = "";
  const notes = turn.querySelector(".notes");
  notes.textContent = (output.notes || []).join(" ");
  notes.hidden = !notes.textContent;
  if (output.clarification) {
    renderClarification(turn, output.clarification);
    return;
  }
  for (const piece of (output.answer || "").split(/(\[\d+\])/)) {
    const marker = piece.match(/^\[(\d+)\]$/);
    if (marker && output.sources?.[Number(marker[1]) - 1]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "cite";
      button.textContent = piece;
      button.addEventListener("click", () => openSource(output, Number(marker[1])));
      answer.append(button);
    } else {
      answer.append(piece);
    }
  }
  const list = turn.querySelector(".sources");
  list.textContent = "";
  (output.sources || []).forEach((source, index) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    const title = source.title || source.doc_id;
    // the place once: a text known by its title is cited by it
    button.textContent = source.location && source.location !== title ? `${title} — ${source.location}` : title;
    button.addEventListener("click", () => openSource(output, index + 1));
    item.append(button);
    list.append(item);
  });
  if (page.feedback && output.answer_id) wireFeedback(turn, output.answer_id);
}

function sentences(text) {
  // Ends are . ! ? … followed by a space or the end ("3.254" is one number, not two sentences).
  const out = [];
  let start = 0;
  for (const end of text.matchAll(/[.!?…]+(?=\s|$)/g)) {
    out.push(text.slice(start, end.index + end[0].length));
    start = end.index + end[0].length;
  }
  if (text.slice(start).trim()) out.push(text.slice(start));
  return out.length ? out : [text];
}

function words(text) {
  return new Set(text.toLowerCase().replace(/\[\d+\]/g, " ").split(/[^\p{L}\p{N}]+/u).filter(Boolean));
}

function citedSentence(sourceText, cited) {
  // The source's text that backs the answer's: the quoted text itself when the source holds it
  // (an extracted sentence), else the sentence holding most of the cited words (a model's
  // paraphrase; a short heading line that shares a few words does not win over the clause).
  for (const quote of cited) {
    if (quote.trim() && sourceText.includes(quote.trim())) return quote.trim();
  }
  const wanted = words(cited.join(" "));
  let best = null;
  let bestScore = 0;
  for (const sentence of sentences(sourceText)) {
    const mine = words(sentence);
    let shared = 0;
    for (const word of wanted) if (mine.has(word)) shared += 1;
    const score = shared / Math.max(wanted.size, 1);
    if (score > bestScore) { best = sentence.trim(); bestScore = score; }
  }
  return best;
}

function openSource(output, marker) {
  const source = output.sources[marker - 1];
  $("source-title").textContent = `[${marker}] ${source.title || source.doc_id}`;
  const meta = source.metadata || {};
  const citations = (output.citations || []).filter((c) => c.marker === marker);
  // the clause and page the answer quoted, else the source's own place; the page said once
  const located = citations.find((c) => c.location)?.location || source.location;
  const page = meta.page && !(located || "").includes("trang") ? `trang ${meta.page}` : null;
  const also = meta.also_in?.length ? `cũng có trong: ${meta.also_in.join(", ")}` : null;
  const place = located !== (source.title || source.doc_id) ? located : null;  // said in the title
  const where = [place, page, source.collection, also].filter(Boolean);
  $("source-where").textContent = where.length ? where.join(" · ") : source.doc_id;
  const text = $("source-text");
  text.textContent = "";
  const cited = citations.map((c) => c.text);
  const highlight = cited.length ? citedSentence(source.text, cited) : null;
  const at = highlight ? source.text.indexOf(highlight) : -1;
  let mark = null;
  if (at < 0) {
    text.append(source.text);
  } else {
    mark = document.createElement("mark");
    mark.textContent = highlight;
    text.append(source.text.slice(0, at), mark, source.text.slice(at + highlight.length));
  }
  $("source").hidden = false;
  mark?.scrollIntoView?.({ block: "nearest" });
  showPage(source, highlight || source.text);
}

// The cited page of the original (PDFs and scans), the quote highlighted on it, beside the
// text; files without pages (.docx, .html) keep the text in its section alone.
const PAGED = /\.(pdf|png|jpe?g|tiff?)$/i;
let shownPage = 0;
async function showPage(source, quote) {
  const turn = ++shownPage;
  const panel = $("source");
  const figure = $("source-page");
  const image = $("source-image");
  panel.classList.remove("with-page");
  figure.hidden = true;
  if (image.src) URL.revokeObjectURL(image.src);
  image.removeAttribute("src");
  const meta = source.metadata || {};
  if (!meta.page || !PAGED.test(meta.original || "")) return;
  const base = `/documents/${encodeURIComponent(source.doc_id)}`;
  const collection = source.collection || "default";
  const asked = new URLSearchParams({
    collection, quote, page: meta.page, page_end: meta.page_end || meta.page,
  });
  try {
    const found = await fetch(`${base}/highlight?${asked}`, { headers: headers() });
    if (!found.ok || turn !== shownPage) return;
    const where = await found.json();
    const first = where.pages[0];
    const number = first?.page || meta.page;
    const drawn = new URLSearchParams({ collection, quote, width: 1000 });
    const png = await fetch(`${base}/pages/${number}?${drawn}`, { headers: headers() });
    if (!png.ok || turn !== shownPage) return;
    image.src = URL.createObjectURL(await png.blob());
    $("source-open").href = image.src;  // the page at its own size, to zoom on a phone
    image.alt = `Trang ${number} của bản gốc`;
    const across = where.pages.length > 1 ? ` (đoạn trích còn tiếp ở trang ${where.pages[1].page})` : "";
    $("source-caption").textContent = `Bản gốc, trang ${number}/${where.page_count}${across}`;
    panel.classList.add("with-page");
    figure.hidden = false;
    await image.decode?.();
    const top = first?.boxes[0]?.top;
    if (top !== undefined) $("source-scroll").scrollTop = Math.max(0, top * image.clientHeight - 48);
  } catch (error) {
    figure.hidden = true;  // the text alone is still shown
  }
}

function wireFeedback(turn, answerId) {
  const box = turn.querySelector(".feedback");
  const thanks = box.querySelector(".thanks");
  const correction = box.querySelector(".correction");
  box.hidden = false;
  const send = async (score, corrected) => {
    const response = await fetch("/feedback", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ answer_id: answerId, score, correction: corrected || null }),
    });
    thanks.textContent = response.ok ? "Cảm ơn góp ý của bạn!" : `Không gửi được: ${await detail(response)}`;
  };
  box.querySelector(".up").onclick = () => send("up");
  box.querySelector(".down").onclick = () => { correction.hidden = false; };
  correction.onsubmit = (event) => {
    event.preventDefault();
    correction.hidden = true;
    send("down", correction.querySelector("textarea").value.trim());
  };
}

function newTurn(question) {
  const turn = $("turn-template").content.firstElementChild.cloneNode(true);
  turn.querySelector(".question").textContent = question;
  $("conversation").append(turn);
  $("welcome").hidden = true;
  turn.scrollIntoView?.({ block: "end" });
  return turn;
}

// An empty conversation says what is loaded and offers three questions about it.
async function welcome() {
  const documents = page.collections.reduce((sum, c) => sum + c.documents, 0);
  if (store.turns.length || !page.collections.length) {
    $("welcome").hidden = true;
    return;
  }
  const names = page.collections.map((c) => c.name).join(", ");
  $("welcome-loaded").textContent = documents
    ? `Kho đang có ${documents} tài liệu (bộ sưu tập: ${names}).`
    : "Kho chưa có tài liệu nào: hãy tải tài liệu lên trước.";
  const list = $("examples");
  list.textContent = "";
  const first = page.collections.find((c) => c.documents);
  if (first) {
    const response = await fetch(`/documents?collection=${encodeURIComponent(first.name)}`, { headers: headers() });
    const listed = response.ok ? (await response.json()).documents : [];
    for (const d of listed.slice(0, 3)) {
      const question = `${d.title} nói về điều gì?`;
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "example";
      button.textContent = question;
      button.addEventListener("click", () => askQuestion(question));
      item.append(button);
      list.append(item);
    }
  }
  $("welcome").hidden = false;
}

async function* events(response) {
  // Server-sent events from a fetch body: (event name, data) pairs.
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trim());
      }
      if (data.length) yield [name, data.join("\n")];
    }
    if (done) return;
  }
}

async function ask() {
  const field = $("question");
  const question = field.value.trim();
  if (!question) return;
  field.value = "";
  await askQuestion(question);
}

function closeOptions() {
  // A new message answers or leaves behind every earlier question back.
  for (const button of document.querySelectorAll(".options button")) button.disabled = true;
}

async function askQuestion(question) {
  const field = $("question");
  closeOptions();
  $("ask").disabled = true;
  const turn = newTurn(question);
  const answer = turn.querySelector(".answer");
  answer.textContent = "…";
  const body = { input: { question } };
  const picked = $("collection").value;
  if (picked) body.config = { configurable: { collections: [picked] } };
  try {
    const response = await fetch("/rag/stream", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", "X-Thread-Id": store.thread }),
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(await detail(response));
    let output = null;
    let streamed = "";
    for await (const [name, data] of events(response)) {
      if (name === "error") throw new Error(JSON.parse(data).message || "lỗi máy chủ");
      if (name !== "data") continue;
      const chunk = JSON.parse(data);
      if (typeof chunk.token === "string" && Object.keys(chunk).length === 1) {
        streamed += chunk.token;
        answer.textContent = streamed;
      } else {
        output = chunk;
      }
    }
    if (!output) throw new Error("không nhận được câu trả lời");
    render(turn, output);
    turn.scrollIntoView?.({ block: "end" });  // the new answer in view, not below the fold
    store.turns = [...store.turns, { question, output }];
  } catch (error) {
    answer.textContent = `Không trả lời được: ${error.message}`;
    answer.classList.add("error");
  } finally {
    $("ask").disabled = false;
    field.focus();
  }
}

// -- start ------------------------------------------------------------------------------------
// What the page loads before it asks: a question sent sooner waits for it.
let loaded = Promise.resolve();

async function load() {
  await claimConversation();
  const ready = await fetch("/readyz").then((r) => r.json()).catch(() => ({}));
  page.feedback = Boolean(ready.feedback) && !String(ready.feedback).startsWith("off");
  await loadCollections();
  for (const { question, output } of store.turns) {
    closeOptions();
    render(newTurn(question), output);
  }
  await welcome();
  if (page.keys && !store.key) $("settings").hidden = false;  // keys configured, none stored
}

// Handlers first, then the loading: a click on "Hỏi" before the page has loaded must not
// submit the form natively (a reload that loses the question).
function start() {
  $("api-key").value = store.key;
  $("ask-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await loaded;
    await ask();
  });
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) $("ask-form").requestSubmit();
  });
  $("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    store.key = $("api-key").value.trim();
    await claimConversation();
    await loadCollections();
    if (page.collections.length) $("settings").hidden = true;
    await welcome();
  });
  $("upload-form").addEventListener("submit", upload);
  $("collection").addEventListener("change", () => {
    localStorage.setItem("vinarag.collection", $("collection").value);
    updateUploadTarget();
  });
  $("settings-toggle").addEventListener("click", () => {
    const panel = $("settings");
    panel.hidden = !panel.hidden;
    $("settings-toggle").setAttribute("aria-expanded", String(!panel.hidden));
  });
  $("source-close").addEventListener("click", () => { $("source").hidden = true; });
  $("new-chat").addEventListener("click", forgetConversation);
  loaded = load();
}

// the chosen files named beside the picker (the browser's own control is hidden)
$("files").addEventListener("change", () => {
  const names = [...$("files").files].map((f) => f.name);
  $("files-chosen").textContent = names.length ? names.join(", ") : "Chưa chọn tệp";
});

start();
