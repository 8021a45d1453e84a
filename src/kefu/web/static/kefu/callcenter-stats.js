// The call statistics page: draws the report's chart (ECharts) from the JSON the page carries —
// calls offered, answered, abandoned and outbound as bars, the service level as a line.
(function () {
  "use strict";

  function draw() {
    var holder = document.getElementById("stats-chart");
    var source = document.getElementById("stats-data");
    if (!holder || !source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var s = data.series, n = data.names;
    function bars(key, color) {
      return { name: n[key], type: "bar", data: s[key], itemStyle: { color: color } };
    }
    var chart = echarts.init(holder);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 56, top: 36, bottom: 56 },
      xAxis: { type: "category", data: data.labels, axisLabel: { hideOverlap: true } },
      yAxis: [
        { type: "value", minInterval: 1 },
        { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value} %" } },
      ],
      dataZoom: data.labels.length > 48 ? [{ type: "slider", bottom: 8 }] : [],
      series: [
        bars("offered", "#0d6efd"),
        bars("answered", "#198754"),
        bars("abandoned", "#dc3545"),
        bars("outbound", "#6c757d"),
        {
          name: n.service_level, type: "line", yAxisIndex: 1, data: s.service_level,
          connectNulls: false, itemStyle: { color: "#fd7e14" },
        },
      ],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
