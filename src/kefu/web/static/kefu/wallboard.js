// The wallboard (大屏): today's figures of the call center on a dark big screen. The figures come
// from GET /api/v1/callcenter/wallboard; they are fetched again whenever the supervisors' event
// stream says a call or an agent changed (at most about once a second), and every half minute.
(function () {
  "use strict";

  var STATE_COLORS = {
    ready: "#198754", not_ready: "#fd7e14", ringing: "#0dcaf0", talking: "#0d6efd", wrap_up: "#6f42c1",
  };
  var MIN_GAP = 1000, REFRESH = 30000;
  var board = document.getElementById("wallboard");
  var labels = JSON.parse(document.getElementById("wallboard-labels").textContent);
  var queueId = board.dataset.queueId;
  var url = "/api/v1/callcenter/wallboard" + (queueId ? "?queue_id=" + encodeURIComponent(queueId) : "");
  var agentsChart, slotsChart, oldestWaiting = null, last = 0, timer = null, loading = false, again = false;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    seconds = Math.round(seconds);
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + pad(m) : m) + ":" + pad(s);
  }

  function percent(share) {
    return share === null || share === undefined ? "–" : (share * 100).toFixed(1) + "%";
  }

  function set(id, text) { document.getElementById(id).textContent = text; }

  // The business time zone's wall clock, whatever the screen's computer is set to.
  var clock = new Intl.DateTimeFormat("en-GB", {
    timeZone: board.dataset.timeZone || undefined, hour: "2-digit", minute: "2-digit", second: "2-digit",
    hourCycle: "h23",
  });

  function tick() {
    set("wb-clock", clock.format(new Date()));
    var longest = document.getElementById("kpi-longest");
    if (oldestWaiting) {
      longest.textContent = duration(Math.max(0, (Date.now() - oldestWaiting) / 1000));
      longest.classList.toggle("wb-alert", Date.now() - oldestWaiting > 60000);
    } else {
      longest.textContent = "0:00";
      longest.classList.remove("wb-alert");
    }
  }

  function render(data) {
    var today = data.today;
    var waiting = document.getElementById("kpi-waiting");
    waiting.textContent = data.waiting;
    waiting.classList.toggle("wb-alert", data.waiting > 0);
    oldestWaiting = data.oldest_waiting_since ? Date.parse(data.oldest_waiting_since) : null;
    var sl = document.getElementById("kpi-service-level");
    sl.textContent = percent(today.service_level);
    sl.classList.toggle(
      "wb-alert",
      today.service_level !== null && data.service_level_target !== null &&
        today.service_level < data.service_level_target
    );
    set("kpi-abandon-rate", percent(today.abandon_rate));
    set("kpi-avg-wait", duration(today.avg_wait));
    set("kpi-avg-talk", duration(today.avg_talk));
    set("kpi-avg-handle", duration(today.avg_handle));
    set("kpi-today", today.offered + " / " + today.answered + " / " + today.abandoned);
    board.dataset.updated = data.at;
    tick();

    var states = Object.keys(data.agent_states).map(function (state) {
      return { name: labels.states[state], value: data.agent_states[state], itemStyle: { color: STATE_COLORS[state] } };
    });
    var loggedIn = states.reduce(function (sum, s) { return sum + s.value; }, 0);
    agentsChart.setOption({
      title: { show: loggedIn === 0, text: labels.none, left: "center", top: "middle", textStyle: { color: "#8da2c4" } },
      series: [{ data: states.filter(function (s) { return s.value > 0; }) }],
    });
    slotsChart.setOption({
      xAxis: { data: data.slots.map(function (s) { return s.label; }) },
      series: [
        { data: data.slots.map(function (s) { return s.figures.offered; }) },
        { data: data.slots.map(function (s) { return s.figures.answered; }) },
        { data: data.slots.map(function (s) { return s.figures.abandoned; }) },
      ],
    });
  }

  function load() {
    if (loading) { again = true; return; }
    loading = true;
    last = Date.now();
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) { window.location.reload(); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (data) { if (data) render(data); })
      .catch(function () { /* the next change or refresh tries again */ })
      .finally(function () {
        loading = false;
        if (again) { again = false; changed(); }
      });
  }

  function changed() {
    if (timer) return;
    timer = window.setTimeout(function () { timer = null; load(); }, Math.max(150, MIN_GAP - (Date.now() - last)));
  }

  function connect() {
    var live = document.getElementById("wb-live");
    if (!window.EventSource) return;
    var source = new EventSource("/api/v1/callcenter/monitor/stream");
    var opened = false;
    source.addEventListener("changed", changed);
    source.addEventListener("open", function () {
      live.classList.add("on");
      document.body.dataset.monitorLive = "1";
      if (opened) changed();  // catch up after a lost connection
      opened = true;
    });
    source.addEventListener("error", function () {
      live.classList.remove("on");
      document.body.dataset.monitorLive = "0";
    });
  }

  function charts() {
    agentsChart = echarts.init(document.getElementById("chart-agents"), "dark", { renderer: "canvas" });
    agentsChart.setOption({
      backgroundColor: "transparent",
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { bottom: 0, textStyle: { fontSize: 14 } },
      series: [{
        type: "pie", radius: ["40%", "70%"], center: ["50%", "45%"],
        emptyCircleStyle: { color: "#24324f" },
        label: { formatter: "{b}\n{c}", fontSize: 16 }, data: [],
      }],
    });
    slotsChart = echarts.init(document.getElementById("chart-slots"), "dark", { renderer: "canvas" });
    slotsChart.setOption({
      backgroundColor: "transparent",
      tooltip: { trigger: "axis" },
      legend: { top: 0, textStyle: { fontSize: 14 } },
      grid: { left: 40, right: 16, top: 40, bottom: 32 },
      xAxis: { type: "category", data: [], axisLabel: { interval: 3 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: labels.offered, type: "bar", data: [], itemStyle: { color: "#4dabf7" } },
        { name: labels.answered, type: "bar", data: [], itemStyle: { color: "#51cf66" } },
        { name: labels.abandoned, type: "bar", data: [], itemStyle: { color: "#ff6b6b" } },
      ],
    });
    window.addEventListener("resize", function () { agentsChart.resize(); slotsChart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    charts();
    load();
    connect();
    tick();
    window.setInterval(tick, 1000);
    window.setInterval(load, REFRESH);
  });
})();
