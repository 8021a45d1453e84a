// The agent desk: follows the agent's call-center event stream and reloads the panel (htmx) when a
// call rings, the agent's state changes or a call of theirs changes; shows how long the state lasts.
(function () {
  "use strict";

  function reload() {
    document.body.dispatchEvent(new CustomEvent("kefu:desk"));
  }

  function elapsed(since) {
    var seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }

  function tick() {
    var timer = document.getElementById("state-timer");
    if (timer && timer.dataset.since) timer.textContent = elapsed(Date.parse(timer.dataset.since));
    var until = document.querySelector("[data-until]");
    if (until && Date.parse(until.dataset.until) <= Date.now() && !until.dataset.reloaded) {
      until.dataset.reloaded = "1";  // the wrap-up is over: the server makes the agent ready
      reload();
    }
  }

  var originalTitle = document.title;

  function connect() {
    if (!window.EventSource) return;
    var source = new EventSource("/api/v1/callcenter/stream");
    source.addEventListener("ringing", function (e) {
      var data = JSON.parse(e.data);
      document.title = "☎ " + (data.from || "") + " · " + originalTitle;
      reload();
    });
    source.addEventListener("state", function (e) {
      var data = JSON.parse(e.data);
      if (data.state !== "ringing") document.title = originalTitle;
      reload();
    });
    source.addEventListener("call", reload);
    // After a lost connection, catch up with what happened meanwhile.
    source.addEventListener("open", function () {
      if (source.dataset_opened) reload();
      source.dataset_opened = true;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    connect();
    tick();
    window.setInterval(tick, 1000);
  });
})();
