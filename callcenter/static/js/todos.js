// 待办事务 popup (manual 2.1.8): poll every 30 s (and once on load) for unread to-dos not yet
// popped; each comes back once and shows as a toast in the lower-right corner with a 查看 link.
(function () {
  "use strict";
  var box = document.getElementById("todo-popup");
  if (!box || !window.fetch) return;
  var INTERVAL = 30000;

  function toast(item) {
    var el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "status");
    el.setAttribute("aria-live", "polite");
    el.dataset.todo = item.id;
    var head = document.createElement("div");
    head.className = "toast-header";
    var strong = document.createElement("strong");
    strong.className = "me-auto";
    strong.textContent = box.dataset.title + " · " + item.kind_label;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "toast");
    close.setAttribute("aria-label", box.dataset.closeLabel);
    head.appendChild(strong);
    head.appendChild(close);
    var body = document.createElement("div");
    body.className = "toast-body d-flex justify-content-between gap-2";
    var text = document.createElement("span");
    text.textContent = item.title;
    var link = document.createElement("a");
    link.href = item.url;
    link.className = "todo-view";
    link.textContent = box.dataset.viewLabel;
    body.appendChild(text);
    body.appendChild(link);
    el.appendChild(head);
    el.appendChild(body);
    box.appendChild(el);
    if (window.bootstrap && window.bootstrap.Toast) {
      new window.bootstrap.Toast(el, {autohide: false}).show();
      el.addEventListener("hidden.bs.toast", function () { el.remove(); });
    } else {
      el.classList.add("show");
    }
  }

  function poll() {
    if (document.hidden) return;
    fetch(box.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {items: []}; })
      .then(function (data) { (data.items || []).forEach(toast); })
      .catch(function () {});
  }

  poll();
  window.setInterval(poll, INTERVAL);
})();
