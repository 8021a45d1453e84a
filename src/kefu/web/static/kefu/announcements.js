// Announcements on every page: the unread badge in the header, and the pop-up for important and
// urgent ones. The pop-up lives above the page: it never navigates or reloads, so a half-filled form
// (a ticket being registered during a call) keeps its input and focus returns to where it was.
(function () {
  "use strict";

  var queue = [];
  var current = null;
  var lastFocus = null;

  function modalEl() {
    return document.getElementById("announcement-modal");
  }

  function part(role) {
    return modalEl().querySelector("[data-role='" + role + "']");
  }

  function badge() {
    return document.getElementById("announcements-badge");
  }

  function setBadge(count) {
    var b = badge();
    if (!b) return;
    count = Math.max(0, count | 0);
    b.dataset.count = String(count);
    b.textContent = String(count);
    b.classList.toggle("d-none", !count);
  }

  function badgeCount() {
    var b = badge();
    return b ? parseInt(b.dataset.count || "0", 10) || 0 : 0;
  }

  function markRowRead(id) {
    var row = document.querySelector("#announcement-list [data-announcement='" + id + "']");
    if (row) {
      row.classList.remove("notification-unread");
      row.dataset.read = "true";
    }
  }

  function render(a) {
    var el = modalEl();
    var urgent = a.priority === "urgent";
    el.dataset.announcement = String(a.id);
    el.dataset.priority = a.priority;
    var header = part("header");
    header.classList.toggle("text-bg-danger", urgent);
    header.classList.toggle("text-bg-warning", a.priority === "important");
    var label = part("badge");
    label.textContent = a.reminder ? el.dataset.labelReminder : el.dataset["label" + (urgent ? "Urgent" : "Important")];
    part("title").textContent = a.title;
    part("meta").textContent = [a.author, a.starts_at_local].filter(Boolean).join(" · ");
    part("body").innerHTML = a.body; // sanitised by the server when it was written
    var files = part("files");
    files.textContent = "";
    (a.attachments || []).forEach(function (f) {
      var link = document.createElement("a");
      link.href = "/api/v1/announcements/" + a.id + "/attachments/" + f.id;
      link.textContent = f.filename;
      link.className = "me-3";
      files.appendChild(link);
    });
    part("later").classList.toggle("d-none", !!a.must_acknowledge);
    part("error").classList.add("d-none");
    part("ack").disabled = false;
  }

  function showNext() {
    if (current || !queue.length || !window.bootstrap) return;
    current = queue.shift();
    render(current);
    lastFocus = document.activeElement;
    window.bootstrap.Modal.getOrCreateInstance(modalEl()).show();
  }

  function enqueue(a) {
    if ((current && current.id === a.id) || queue.some(function (q) { return q.id === a.id; })) return;
    queue.push(a);
    showNext();
  }

  function forget(id) {
    queue = queue.filter(function (q) { return q.id !== id; });
    if (current && current.id === id) close();
  }

  function close() {
    window.bootstrap.Modal.getOrCreateInstance(modalEl()).hide();
  }

  function acknowledge() {
    var a = current;
    if (!a) return;
    part("ack").disabled = true;
    fetch("/api/v1/announcements/" + a.id + "/read", {
      method: "POST",
      headers: { "X-CSRF-Token": document.body.dataset.csrf || "", Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (r) {
        if (r.status === 404) return { unread: null }; // withdrawn or expired meanwhile
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (data) {
        if (data.unread !== null) setBadge(data.unread);
        markRowRead(a.id);
        close();
      })
      .catch(function () {
        var error = part("error");
        error.textContent = modalEl().dataset.error;
        error.classList.remove("d-none");
        part("ack").disabled = false;
      });
  }

  function setUp() {
    var el = modalEl();
    if (!el) return;
    part("ack").addEventListener("click", acknowledge);
    part("later").addEventListener("click", close);
    el.addEventListener("hidden.bs.modal", function () {
      current = null;
      if (lastFocus && document.body.contains(lastFocus) && lastFocus.focus) lastFocus.focus();
      lastFocus = null;
      showNext();
    });
    var body = document.body;
    body.addEventListener("kefu:announcements", function (e) {
      body.dataset.announcementsLive = "1"; // the stream is open (tests and diagnostics)
      setBadge(e.detail.unread);
      (e.detail.pending || []).forEach(enqueue);
    });
    body.addEventListener("kefu:announcement", function (e) {
      var a = e.detail;
      if (!a.reminder) setBadge(badgeCount() + 1);
      if (a.pops_up) {
        enqueue(a);
      } else if (window.kefu && window.kefu.toast) {
        window.kefu.toast(a.title, a.excerpt, a.url);
      }
    });
    body.addEventListener("kefu:announcement_withdrawn", function (e) {
      setBadge(e.detail.unread);
      forget(e.detail.id);
    });
    body.addEventListener("kefu:announcements_unread", function (e) {
      setBadge(e.detail.unread);
      markRowRead(e.detail.id);
      forget(e.detail.id); // acknowledged in another tab
    });
  }

  document.addEventListener("DOMContentLoaded", setUp);
})();
