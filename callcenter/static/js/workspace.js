// The agent workspace (X1): poll the current call every second, ten times a second while the
// agent's phone rings; load the screen pop while it rings and show it as soon as the poll sees the
// call bridged (once per call), then report when it was shown (bridge-to-pop delay, `make bench`).
// The bridge-to-pop delay is the poll's: a poll costs ~2 ms of server CPU and runs this often only
// for the few seconds a phone rings.
(function () {
  "use strict";
  const root = document.getElementById("workspace");
  if (!root) return;
  const d = root.dataset;
  const pop = document.getElementById("pop");
  const phoneEl = document.getElementById("ws-phone");
  const stateEl = document.getElementById("ws-state");
  const hangupBtn = document.getElementById("btn-hangup");
  const errorEl = document.getElementById("ws-error");
  const IDLE_POLL_MS = 1000;
  const RINGING_POLL_MS = 100;  // the bridge is near: notice it within a tenth of a second
  let shownCall = "";
  let early = null;  // {callId, phone, html: Promise} the pop loaded while the phone rang

  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": d.csrf, "Content-Type": "application/x-www-form-urlencoded"},
      body: new URLSearchParams(body || {})});
  }

  function fetchPop(phone, callId) {
    const url = d.popUrl + "?" + new URLSearchParams({phone: phone, call_id: callId || ""});
    return fetch(url, {credentials: "same-origin"}).then(function (r) { return r.text(); });
  }

  function showPop(html, callId) {
    pop.innerHTML = html;
    if (window.htmx) window.htmx.process(pop);
    if (callId) post(d.shownUrl, {call_id: callId});
  }

  function loadPop(phone, callId) {
    return fetchPop(phone, callId).then(function (html) { showPop(html, callId); });
  }

  function poll() {
    let next = IDLE_POLL_MS;
    fetch(d.currentUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (c) {
      stateEl.textContent = c.state_label || c.state;
      phoneEl.textContent = c.phone || "—";
      hangupBtn.disabled = !c.call_id;
      if (c.state === "ringing" && c.call_id) {
        next = RINGING_POLL_MS;
        if (c.phone && !(early && early.callId === c.call_id)) {
          early = {callId: c.call_id, phone: c.phone,
                   html: fetchPop(c.phone, c.call_id).catch(function () { return null; })};
        }
      }
      if (c.bridged && c.phone && c.call_id !== shownCall) {
        shownCall = c.call_id;
        const ready = early && early.callId === c.call_id && early.phone === c.phone ? early.html : null;
        early = null;
        if (ready) {
          ready.then(function (html) { return html === null ? loadPop(c.phone, c.call_id) : showPop(html, c.call_id); });
        } else {
          loadPop(c.phone, c.call_id);
        }
      }
    }).catch(function () {}).finally(function () { setTimeout(poll, next); });
  }

  hangupBtn.addEventListener("click", function () {
    post(d.hangupUrl).then(function (r) { return r.json(); }).then(function (j) { errorEl.textContent = j.error || ""; });
  });
  document.getElementById("btn-wrapup").addEventListener("click", function () {
    post(d.wrapupUrl).then(function (r) { return r.json(); }).then(function (j) { errorEl.textContent = j.error || ""; });
  });
  document.getElementById("btn-manual-pop").addEventListener("click", function () {
    const v = document.getElementById("manual-phone").value.trim();
    if (v) loadPop(v, "");
  });
  poll();
})();
