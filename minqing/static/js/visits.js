// 记录走访 offline: the form keeps its draft on the phone (localStorage), each draft carries its own
// idempotency key, and a submitted visit waits in a queue until the server has answered. The queue is
// re-sent when the connection returns (the "online" event, and a timer in case the event never
// comes); the key makes a visit that reached the server before the connection dropped count once.
// Photos wait with their visit: localStorage holds only text, so they are kept in IndexedDB (which
// stores the files themselves) under the visit's key, and survive a reload or a closed browser.
(() => {
  const QUEUE = "minqing.visits.queue";
  const DRAFT = "minqing.visits.draft.";
  const RETRY_MS = 5000;
  let sending = false;

  // IndexedDB: key → [File]. Where it is unavailable the photos wait in this page's memory only.
  const inMemory = new Map();
  const openPhotos = () =>
    new Promise((resolve, reject) => {
      const request = indexedDB.open("minqing-visits", 1);
      request.onupgradeneeded = () => request.result.createObjectStore("photos");
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  async function photosDo(mode, action) {
    const db = await openPhotos();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction("photos", mode);
        const request = action(tx.objectStore("photos"));
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = tx.onabort = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }
  async function keepPhotos(key, files) {
    inMemory.set(key, files);
    try {
      await photosDo("readwrite", (store) => store.put(files, key));
      inMemory.delete(key);
      return true;
    } catch {
      return false;
    }
  }
  async function photosOf(key) {
    if (inMemory.has(key)) return inMemory.get(key);
    try {
      return (await photosDo("readonly", (store) => store.get(key))) || [];
    } catch {
      return [];
    }
  }
  function forgetPhotos(key) {
    inMemory.delete(key);
    photosDo("readwrite", (store) => store.delete(key)).catch(() => {});
  }

  const load = (key, fallback) => {
    try {
      return JSON.parse(localStorage.getItem(key)) ?? fallback;
    } catch {
      return fallback;
    }
  };
  const store = (key, value) => localStorage.setItem(key, JSON.stringify(value));
  const newKey = () =>
    globalThis.crypto?.randomUUID
      ? crypto.randomUUID()
      : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;

  const csrfToken = () => {
    const input = document.querySelector("[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch {
      return "";
    }
  };

  const form = document.querySelector("form[data-visit-form]");
  const status = document.querySelector("[data-visit-status]");

  const say = (text) => {
    if (!status) return;
    status.textContent = text;
    status.hidden = !text;
  };

  function renderQueue() {
    const section = document.getElementById("pending-visits");
    if (!section) return;
    const list = section.querySelector("[data-pending-list]");
    const queue = load(QUEUE, []);
    list.replaceChildren(
      ...queue.map((item) => {
        const li = document.createElement("li");
        li.dataset.key = item.key;
        const when = new Date(item.at).toLocaleString("zh-CN", { hour12: false });
        li.textContent = `${item.label} · ${when}${item.error ? ` · ${item.error}` : ""}`;
        return li;
      }),
    );
    section.hidden = queue.length === 0;
  }

  function dropFromQueue(key) {
    store(
      QUEUE,
      load(QUEUE, []).filter((item) => item.key !== key),
    );
    forgetPhotos(key);
  }

  // Send every waiting visit once; stop at the first network failure (still offline).
  async function flush() {
    if (sending) return;
    sending = true;
    const results = {};
    try {
      for (const item of load(QUEUE, [])) {
        const body = new FormData();
        for (const [name, value] of item.fields) body.append(name, value);
        const photos = item.photos ? await photosOf(item.key) : [];
        for (const file of photos) body.append("photos", file, file.name);
        body.set("csrfmiddlewaretoken", csrfToken());
        let response;
        try {
          response = await fetch(item.action, {
            method: "POST",
            body,
            headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
            credentials: "same-origin",
          });
        } catch {
          break; // no connection: try again later
        }
        if (response.ok) {
          dropFromQueue(item.key);
          results[item.key] = { ok: true, data: await response.json() };
        } else if (response.status >= 400 && response.status < 500 && response.status !== 403) {
          // Refused (a reading out of range…): sending it again would be refused again.
          let message = "未能保存";
          try {
            message = (await response.json()).message || message;
          } catch {}
          dropFromQueue(item.key);
          results[item.key] = { ok: false, message, item, photos };
        } else {
          break; // server trouble or an expired session: keep it and retry
        }
      }
    } finally {
      sending = false;
      renderQueue();
    }
    return results;
  }

  // The form: a draft per household, restored on return, with its own key and the time it began.
  function draftKey() {
    return DRAFT + form.dataset.household;
  }

  function freshDraft() {
    return { key: newKey(), at: new Date().toISOString(), fields: {} };
  }

  function fillForm(draft) {
    form.querySelector("[name=idempotency_key]").value = draft.key;
    form.querySelector("[name=visited_at]").value = draft.at;
    for (const [name, value] of Object.entries(draft.fields)) {
      for (const input of form.querySelectorAll(`[name="${name}"]`)) {
        if (input.type === "checkbox" || input.type === "radio") {
          input.checked = Array.isArray(value) ? value.includes(input.value) : input.value === value;
        } else {
          input.value = value;
        }
      }
    }
  }

  function saveDraft() {
    const draft = load(draftKey(), null) || freshDraft();
    const fields = {};
    for (const input of form.elements) {
      if (!input.name || ["csrfmiddlewaretoken", "idempotency_key", "visited_at", "household"].includes(input.name)) continue;
      if (input.type === "file") continue; // files are kept with the queued visit, not the draft
      if (input.type === "checkbox") {
        if (input.name === "to_demand") fields[input.name] = input.checked ? input.value : "";
        else fields[input.name] = [...(fields[input.name] || []), ...(input.checked ? [input.value] : [])];
      } else if (input.type === "radio") {
        if (input.checked) fields[input.name] = input.value;
      } else {
        fields[input.name] = input.value;
      }
    }
    draft.fields = fields;
    store(draftKey(), draft);
    return draft;
  }

  if (form) {
    const draft = load(draftKey(), null) || freshDraft();
    if (form.querySelector(".errorlist")) draft.fields = {}; // the server's answer shows what was typed
    store(draftKey(), draft);
    fillForm(draft);
    form.addEventListener("input", saveDraft);
    form.addEventListener("change", saveDraft);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const draft = saveDraft();
      const entries = [...new FormData(form).entries()].filter(([name]) => name !== "csrfmiddlewaretoken");
      const fields = entries.filter(([, value]) => !(value instanceof File));
      const files = entries.map(([, value]) => value).filter((value) => value instanceof File && value.size);
      const kept = files.length === 0 || (await keepPhotos(draft.key, files));
      const queue = load(QUEUE, []);
      if (!queue.some((item) => item.key === draft.key)) {
        queue.push({
          key: draft.key,
          at: draft.at,
          action: form.action,
          label: form.dataset.householdLabel + (files.length ? ` · ${files.length} 张照片` : ""),
          fields,
          photos: files.length,
        });
        store(QUEUE, queue);
      }
      // The draft is now in the queue; the form starts a new one (a new key) for the next visit.
      localStorage.removeItem(draftKey());
      say("正在保存…");
      const results = (await flush()) || {};
      const mine = results[draft.key];
      if (mine?.ok) {
        say("走访已保存。");
        window.location.assign(mine.data.household_url);
      } else if (mine) {
        // Refused: back into the form, with the reason.
        store(draftKey(), draft);
        fillForm(draft);
        const input = form.querySelector("input[type=file][name=photos]");
        if (input && mine.photos.length) {
          const back = new DataTransfer(); // the chosen photos back in the picker, to send again
          for (const file of mine.photos) back.items.add(file);
          input.files = back.files;
        }
        say(mine.message);
      } else {
        say(
          kept
            ? "暂无网络，走访已存入待发送，网络恢复后自动发送。"
            : "暂无网络，走访已存入待发送；此浏览器无法在手机上保存照片，请勿关闭本页，网络恢复后随走访发送。",
        );
        form.reset();
        store(draftKey(), freshDraft());
        fillForm(load(draftKey(), freshDraft()));
      }
    });
  }

  renderQueue();
  window.addEventListener("online", flush);
  setInterval(() => {
    if (load(QUEUE, []).length) flush();
  }, RETRY_MS);
  if (load(QUEUE, []).length) flush();
})();
