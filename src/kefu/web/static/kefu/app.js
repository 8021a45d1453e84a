// kefu page behaviour shared by every screen: the live message badge and toasts.
(function () {
  "use strict";

  function setBadge(count) {
    var badge = document.getElementById("inbox-badge");
    if (!badge) return;
    badge.textContent = String(count);
    badge.classList.toggle("d-none", !count);
  }

  function toast(title, body, link) {
    var box = document.getElementById("toasts");
    if (!box || !window.bootstrap) return;
    var el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "status");
    var header = document.createElement("div");
    header.className = "toast-header";
    var strong = document.createElement("strong");
    strong.className = "me-auto";
    strong.textContent = title;
    header.appendChild(strong);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "toast");
    header.appendChild(close);
    var content = document.createElement(link ? "a" : "div");
    content.className = "toast-body d-block";
    if (link) content.href = link;
    content.textContent = body || "";
    el.appendChild(header);
    el.appendChild(content);
    box.appendChild(el);
    new window.bootstrap.Toast(el, { delay: 8000 }).show();
  }

  function connect() {
    if (!document.getElementById("inbox-badge") || !window.EventSource) return;
    var source = new EventSource("/api/v1/notifications/stream");
    source.addEventListener("notification", function (e) {
      var data = JSON.parse(e.data);
      setBadge(data.unread);
      toast(data.title, data.body, data.link);
      document.body.dispatchEvent(new CustomEvent("kefu:notification", { detail: data }));
    });
    source.addEventListener("unread", function (e) {
      setBadge(JSON.parse(e.data).unread);
    });
    // Announcements: handled by announcements.js.
    ["announcements", "announcement", "announcement_withdrawn", "announcements_unread"].forEach(function (name) {
      source.addEventListener(name, function (e) {
        document.body.dispatchEvent(new CustomEvent("kefu:" + name, { detail: JSON.parse(e.data) }));
      });
    });
  }

  window.kefu = { setBadge: setBadge, toast: toast };
  document.addEventListener("DOMContentLoaded", connect);
})();
