// The agent workspace (X1): poll the current call every second; on a bridged call, load the
// screen pop once per call and report when it was shown (bridge-to-pop delay).
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
  let shownCall = "";

  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": d.csrf, "Content-Type": "application/x-www-form-urlencoded"},
      body: new URLSearchParams(body || {})});
  }

  function loadPop(phone, callId) {
    const url = d.popUrl + "?" + new URLSearchParams({phone: phone, call_id: callId || ""});
    return fetch(url, {credentials: "same-origin"}).then(function (r) { return r.text(); }).then(function (html) {
      pop.innerHTML = html;
      if (window.htmx) window.htmx.process(pop);
      if (callId) post(d.shownUrl, {call_id: callId});
    });
  }

  function poll() {
    fetch(d.currentUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (c) {
      stateEl.textContent = c.state_label || c.state;
      phoneEl.textContent = c.phone || "—";
      hangupBtn.disabled = !c.call_id;
      if (c.bridged && c.phone && c.call_id !== shownCall) {
        shownCall = c.call_id;
        loadPop(c.phone, c.call_id);
      }
    }).catch(function () {}).finally(function () { setTimeout(poll, 1000); });
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
