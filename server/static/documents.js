// The documents page: what a collection holds (title, source, chunks, size, last written, the
// state of its dense vectors and of the job that wrote it), searched by title; a document's
// chunks as the retriever sees them; delete and upload again for keys that may write; the
// synced folders with their last and next run and "sync now". The key is the chat page's
// (sessionStorage). Server text is only ever set as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { collections: [], documents: [], replacing: null };

function key() { return sessionStorage.getItem("vinarag.key") || ""; }
function headers(extra = {}) { return key() ? { ...extra, "X-API-Key": key() } : extra; }

async function detail(response) {
  try {
    const body = await response.json();
    return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
  } catch {
    return `HTTP ${response.status}`;
  }
}

function el(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString("vi-VN") : "—";
}

function size(bytes) {
  if (bytes === null || bytes === undefined) return null;
  if (bytes < 1024) return `${bytes} B`;
  return bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
}

function say(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

function current() {
  return state.collections.find((c) => c.name === $("collection").value);
}

// -- collections and sources --------------------------------------------------------------
async function loadCollections() {
  const response = await fetch("/collections", { headers: headers() });
  if (!response.ok) {
    if (response.status === 401) {  // keys are configured and this one is missing or wrong
      $("settings-toggle").hidden = false;
      $("settings").hidden = false;
    }
    say(`Không đọc được bộ sưu tập: ${await detail(response)}`, true);
    return;
  }
  const body = await response.json();
  state.collections = body.collections;
  $("settings-toggle").hidden = !body.keys;  // no keys configured: nothing to enter
  if (body.keys && !key()) $("settings").hidden = false;
  const select = $("collection");
  const chosen = select.value || localStorage.getItem("vinarag.library") || "";
  select.textContent = "";
  for (const c of state.collections) {
    select.append(new Option(`${c.name} (${c.documents} tài liệu)`, c.name));
  }
  if (state.collections.some((c) => c.name === chosen)) select.value = chosen;
  await loadCollection();
}

async function loadCollection() {
  const collection = current();
  if (!collection) {
    say("Khóa này không đọc được bộ sưu tập nào.");
    return;
  }
  localStorage.setItem("vinarag.library", collection.name);
  $("upload-form").hidden = !collection.writable;
  $("upload-target").textContent = collection.name;
  await Promise.all([loadSources(), loadDocuments()]);
}

async function loadSources() {
  const response = await fetch("/sources", { headers: headers() });
  const list = $("source-list");
  list.textContent = "";
  const sources = response.ok ? (await response.json()).sources : [];
  const mine = sources.filter((s) => s.collection === current().name);
  $("sources").hidden = mine.length === 0;
  for (const source of mine) {
    const item = el("li", "source-item");
    item.append(el("strong", "", shortName(source.path)));
    const last = source.last;
    let text = source.running ? ` — đang đồng bộ (${source.step || "…"})` : "";
    if (last) {
      text += ` — lần trước ${when(source.last_ended)}: thêm ${last.added.length}, sửa ${last.changed.length}, đổi tên ${last.renamed.length}, xóa ${last.deleted.length}, giữ nguyên ${last.unchanged}`;
      if (last.failed.length) text += `, lỗi ${last.failed.length}`;
      if (last.refused) text += `; không xóa: ${last.refused}`;
      if (last.error) text += `; không đồng bộ được: ${last.error}`;
    }
    text += ` — lần tới ${when(source.next_run)}`;
    item.append(el("span", "facts", text));
    if (current().writable) {
      const button = el("button", "sync-now", "Đồng bộ ngay");
      button.type = "button";
      button.addEventListener("click", () => syncNow(source.index, button));
      item.append(" ", button);
    }
    list.append(item);
  }
}

async function syncNow(index, button) {
  button.disabled = true;
  say("Đang đồng bộ…");
  const response = await fetch(`/sources/${index}/sync?wait=true`, { method: "POST", headers: headers() });
  say(response.ok ? "Đã đồng bộ." : `Không đồng bộ được: ${await detail(response)}`, !response.ok);
  await loadCollections();
}

// -- documents ----------------------------------------------------------------------------
async function loadDocuments() {
  const collection = current().name;
  const query = $("search").value.trim();
  const url = `/documents?collection=${encodeURIComponent(collection)}${query ? `&q=${encodeURIComponent(query)}` : ""}`;
  const response = await fetch(url, { headers: headers() });
  if (!response.ok) {
    say(`Không đọc được tài liệu: ${await detail(response)}`, true);
    return;
  }
  state.documents = (await response.json()).documents;
  render();
}

// A file or folder by its own name: the server's paths are not the reader's business.
function shortName(path) {
  return String(path || "").replace(/:\d+$/, "").split(/[\\/]/).filter(Boolean).pop() || "";
}

const JOB_STATES = {
  queued: "đang chờ xử lý", running: "đang đọc", searchable: "đang chuẩn bị tìm theo nghĩa",
  done: "xong", failed: "lỗi",
};

function facts(d) {
  const parts = [shortName(d.source_path || d.source), `${d.chunks} đoạn`];
  if (size(d.size_bytes)) parts.push(size(d.size_bytes));
  parts.push(`cập nhật ${when(d.updated_at)}`);
  if (d.dense) {
    parts.push(d.dense_waiting
      ? `tìm theo nghĩa: còn ${d.dense_waiting} đoạn đang chuẩn bị`
      : "tìm theo nghĩa: sẵn sàng");
  }
  if (d.job && d.job.state !== "done") parts.push(`tải lên: ${JOB_STATES[d.job.state] || d.job.state}`);
  return parts.join(" · ");
}

function render() {
  const list = $("documents");
  list.textContent = "";
  const writable = current().writable;
  say(`${state.documents.length} tài liệu`);
  for (const d of state.documents) {
    const item = el("li", "document");
    item.dataset.id = d.doc_id;
    item.append(el("h3", "", d.title), el("p", "facts", facts(d)));
    const actions = el("div", "actions");
    const view = el("button", "view", "Xem các đoạn");
    view.type = "button";
    view.addEventListener("click", () => openChunks(d));
    actions.append(view);
    if (writable) {
      if (!d.source_path) {  // a synced file is replaced in its folder, not here
        const again = el("button", "reupload", "Thay bằng tệp mới");
        again.type = "button";
        again.addEventListener("click", () => { state.replacing = d; $("reupload").click(); });
        actions.append(again);
      }
      const remove = el("button", "delete danger", "Xóa");
      remove.type = "button";
      remove.addEventListener("click", () => removeDocument(d));
      actions.append(remove);
    }
    item.append(actions);
    list.append(item);
  }
}

async function openChunks(d) {
  const url = `/documents/${encodeURIComponent(d.doc_id)}/chunks?collection=${encodeURIComponent(d.collection)}`;
  const response = await fetch(url, { headers: headers() });
  if (!response.ok) {
    say(`Không đọc được tài liệu: ${await detail(response)}`, true);
    return;
  }
  const body = await response.json();
  $("chunks-title").textContent = body.title;
  const list = $("chunk-list");
  list.textContent = "";
  for (const chunk of body.chunks) {
    const item = el("li");
    item.append(el("p", "where", chunk.location + (chunk.dense_waiting ? " (đang chuẩn bị tìm theo nghĩa)" : "")));
    item.append(el("p", "", chunk.text));
    list.append(item);
  }
  $("chunks").hidden = false;
}

async function removeDocument(d) {
  if (!window.confirm(`Xóa "${d.title}" khỏi ${d.collection}?`)) return;
  const url = `/documents/${encodeURIComponent(d.doc_id)}?collection=${encodeURIComponent(d.collection)}`;
  const response = await fetch(url, { method: "DELETE", headers: headers() });
  say(response.ok ? `Đã xóa ${d.title}.` : `Không xóa được: ${await detail(response)}`, !response.ok);
  await loadCollections();
}

// A scan being read: "nhận dạng chữ (OCR) trang 3/40" for each file OCR is reading.
function ocrPages(job) {
  return Object.entries(job.ocr_pages || {})
    .map(([name, [done, total]]) => ` · ${shortName(name)}: nhận dạng chữ (OCR) trang ${Math.min(done + 1, total)}/${total}`)
    .join("");
}

// Each file's phase as its job reports it, until it ends: reading, searchable, embedding x of
// y, done or failed with the reason. The document is listed as soon as it is searchable.
function phase(job) {
  const files = job.files.length;
  if (job.state === "queued") return "đang chờ đến lượt…";
  if (job.state === "running") {
    return `đang đọc tệp ${Math.min(job.files_done + 1, files)}/${files}` + ocrPages(job) +
      (job.chunks_written ? ` · đã ghi ${job.chunks_written} đoạn` : "");
  }
  if (job.state === "searchable") {
    return `đã tìm được bằng từ khóa · đang chuẩn bị tìm theo nghĩa ${job.chunks_embedded}/${job.chunks_written} đoạn`;
  }
  const r = job.report;
  const problems = r ? [...r.failed, ...r.skipped].map((f) => `${shortName(f.source)}: ${inVietnamese(f.reason)}`) : [];
  const outcome = job.state === "done"
    ? `xong: thêm ${r.added.length}, thay ${r.replaced.length}, giữ nguyên ${r.unchanged.length}`
    : `không thêm được: ${inVietnamese(job.error)}`;
  return [outcome, ...problems].join(" · ");
}

async function follow(job, line, replacing) {
  let listed = false;
  for (;;) {
    line.textContent = `${job.files.map(shortName).join(", ")} — ${phase(job)}`;
    line.classList.toggle("error", job.state === "failed");
    if (!listed && (job.state === "searchable" || job.state === "done")) {
      listed = true;
      await loadDocuments();
    }
    if (job.state === "done" || job.state === "failed") break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const response = await fetch(`/jobs/${encodeURIComponent(job.id)}`, { headers: headers() });
    if (!response.ok) {
      line.textContent = `${job.files.map(shortName).join(", ")} — không theo dõi được: ${await detail(response)}`;
      return;
    }
    job = await response.json();
  }
  const r = job.report;
  if (replacing && r && r.added.length && !r.replaced.includes(replacing.doc_id)) {
    // uploaded under another file name: the new document replaces the old one
    const url = `/documents/${encodeURIComponent(replacing.doc_id)}?collection=${encodeURIComponent(replacing.collection)}`;
    await fetch(url, { method: "DELETE", headers: headers() });
  }
  await loadCollections();
}

async function upload(files, replacing = null) {
  const collection = current().name;
  const body = new FormData();
  for (const file of files) body.append("files", file);
  const line = el("li", "upload-job", `${[...files].map((f) => f.name).join(", ")} — đang gửi…`);
  $("upload-jobs").prepend(line);
  const response = await fetch(`/documents/files?collection=${encodeURIComponent(collection)}`, {
    method: "POST", headers: headers(), body,
  });
  if (!response.ok) {
    line.textContent = `${[...files].map((f) => f.name).join(", ")} — không tải lên được: ${await detail(response)}`;
    line.classList.add("error");
    return;
  }
  $("files").value = "";
  $("files-chosen").textContent = "Chưa chọn tệp";
  await follow(await response.json(), line, replacing);
}

// -- start --------------------------------------------------------------------------------
function start() {
  $("api-key").value = key();
  $("settings-toggle").addEventListener("click", () => {
    const open = $("settings").hidden;
    $("settings").hidden = !open;
    $("settings-toggle").setAttribute("aria-expanded", String(open));
  });
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("vinarag.key", $("api-key").value.trim());
    $("settings").hidden = true;
    loadCollections();
  });
  $("collection").addEventListener("change", loadCollection);
  let typing = null;
  $("search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(loadDocuments, 200);
  });
  $("chunks-close").addEventListener("click", () => { $("chunks").hidden = true; });
  $("upload-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if ($("files").files.length) upload($("files").files);
  });
  $("reupload").addEventListener("change", () => {
    if ($("reupload").files.length) upload($("reupload").files, state.replacing);
    $("reupload").value = "";
  });
  loadCollections();
}

// the chosen files named beside the picker (the browser's own control is hidden)
$("files").addEventListener("change", () => {
  const names = [...$("files").files].map((f) => f.name);
  $("files-chosen").textContent = names.length ? names.join(", ") : "Chưa chọn tệp";
});

start();
