// Chat page behaviour: send as the open friend through the control API, poll the server-rendered panel.
(function () {
  "use strict";
  const header = document.querySelector(".chat-header");
  if (!header) return;
  const userId = header.dataset.userId;
  const base = "/_sim/users/" + encodeURIComponent(userId);
  const panel = document.getElementById("panel");
  const statusLine = document.getElementById("status-line");
  let lastHtml = panel.innerHTML;
  let menuOpen = true;

  function showStatus(result) {
    if (result.uri) { statusLine.textContent = "リンクを開きました Opened " + result.uri; return; }
    if (result.error && result.status == null) { statusLine.textContent = "Webhook error: " + result.error; return; }
    statusLine.textContent = "Webhook → " + result.status + " (" + result.elapsedMs + " ms)";
  }

  async function post(path, body) {
    const response = await fetch(base + path, {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body || {})
    });
    const result = await response.json();
    if (!response.ok) { statusLine.textContent = "Error: " + (result.error || response.status); return result; }
    showStatus(result);
    await refresh();
    return result;
  }

  async function refresh() {
    const response = await fetch("/chat/" + encodeURIComponent(userId) + "/panel");
    if (!response.ok) return;
    const html = await response.text();
    if (html === lastHtml) return;
    panel.innerHTML = html;
    lastHtml = html;
    applyMenuState();
    const messages = document.getElementById("messages");
    if (messages) messages.scrollTop = messages.scrollHeight;
  }

  function applyMenuState() {
    const menu = panel.querySelector(".richmenu-image");
    if (menu) menu.hidden = !menuOpen;
  }

  function pickerParams(action) {
    const mode = action.mode || "datetime";
    const value = window.prompt("日時を入力 Enter " + mode, action.initial || "");
    if (value === null) return null;
    const params = {};
    params[mode] = value;
    return params;
  }

  async function tap(action) {
    if (action.type === "uri") {
      window.open(action.uri, "_blank", "noopener");
      statusLine.textContent = "リンクを開きました Opened " + action.uri;
      return;
    }
    if (action.type === "clipboard" && navigator.clipboard) {
      await navigator.clipboard.writeText(action.clipboardText || "");
      statusLine.textContent = "コピーしました Copied";
      return;
    }
    let params = null;
    if (action.type === "datetimepicker") {
      params = pickerParams(action);
      if (params === null) return;
    }
    await post("/actions", {action: action, params: params});
  }

  const SAMPLE_MEDIA = {
    video: {type: "video", duration: 42000},
    audio: {type: "audio", duration: 8000},
    file: {type: "file", fileName: "見積書.txt"},
  };

  document.addEventListener("click", async function (event) {
    const actionButton = event.target.closest("[data-action]");
    if (actionButton) { await tap(JSON.parse(actionButton.dataset.action)); return; }
    const area = event.target.closest("[data-area]");
    if (area) {
      const result = await post("/richmenu/tap", {area: Number(area.dataset.area)});
      if (result && result.uri) window.open(result.uri, "_blank", "noopener");
      return;
    }
    if (event.target.closest(".chatbar")) { menuOpen = !menuOpen; applyMenuState(); return; }
    const control = event.target.closest("[data-control]");
    if (!control) return;
    if (control.dataset.control === "sticker") {
      await post("/messages", {type: "sticker", packageId: "446", stickerId: "1988", stickerResourceType: "STATIC"});
    } else if (control.dataset.control === "photo") {
      await post("/messages", {type: "image"});  // the simulator's sample photo
    } else if (control.dataset.control in SAMPLE_MEDIA) {
      await post("/messages", SAMPLE_MEDIA[control.dataset.control]);  // the simulator's sample of the kind
    } else {
      await post("/" + control.dataset.control, {});
      window.location.reload();
    }
  });

  document.getElementById("composer").addEventListener("submit", async function (event) {
    event.preventDefault();
    const input = event.target.elements.text;
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    await post("/messages", {text: text});
  });

  const messages = document.getElementById("messages");
  if (messages) messages.scrollTop = messages.scrollHeight;
  window.setInterval(refresh, 1500);
})();
