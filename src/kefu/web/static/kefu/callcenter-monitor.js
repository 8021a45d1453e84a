// The supervisor's monitor: follows the supervisors' event stream and reloads the panel (htmx) when
// a call or an agent changes — at most about once a second however busy the center is — and shows
// how long each agent has been in their state and how long the longest caller has waited.
(function () {
  "use strict";

  var MIN_GAP = 1000;  // ms between two reloads
  var last = 0, timer = null;

  function reload() {
    timer = null;
    last = Date.now();
    document.body.dispatchEvent(new CustomEvent("kefu:monitor"));
  }

  function changed() {
    if (timer) return;
    timer = window.setTimeout(reload, Math.max(150, MIN_GAP - (Date.now() - last)));
  }

  function elapsed(since) {
    var seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = (m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return h ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }

  function tick() {
    document.querySelectorAll("#monitor [data-since]").forEach(function (el) {
      el.textContent = elapsed(Date.parse(el.dataset.since));
    });
  }

  function connect() {
    if (!window.EventSource) return;
    var source = new EventSource("/api/v1/callcenter/monitor/stream");
    var opened = false;
    source.addEventListener("changed", changed);
    // After a lost connection, catch up with what happened meanwhile.
    source.addEventListener("open", function () {
      document.body.dataset.monitorLive = "1";
      if (opened) changed();
      opened = true;
    });
    source.addEventListener("error", function () { document.body.dataset.monitorLive = "0"; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    connect();
    tick();
    window.setInterval(tick, 1000);
    document.body.addEventListener("htmx:afterSwap", tick);
  });
})();
