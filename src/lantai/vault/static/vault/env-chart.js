/* Sensor chart: 24 hours, 30 days (1-minute readings) or 1 year (hourly min/avg/max).
   ECharts is served locally; the data comes from series.json. */
(function () {
  "use strict";
  var el = document.getElementById("sensor-chart");
  if (!el || typeof echarts === "undefined") { return; }
  var chart = echarts.init(el);
  function load(span) {
    chart.showLoading();
    fetch(el.dataset.url + "?span=" + span, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        chart.hideLoading();
        var series = [{ name: d.kind, type: "line", showSymbol: false, sampling: "lttb",
                        data: d.points, lineStyle: { width: 1 }, itemStyle: { color: "#8c1c13" } }];
        if (d.min) {
          series.push({ name: "min", type: "line", showSymbol: false, data: d.min, lineStyle: { width: 0.5, color: "#999" } });
          series.push({ name: "max", type: "line", showSymbol: false, data: d.max, lineStyle: { width: 0.5, color: "#999" } });
        }
        var marks = [];
        if (d.limits.low !== null) { marks.push({ yAxis: d.limits.low }); }
        if (d.limits.high !== null) { marks.push({ yAxis: d.limits.high }); }
        series[0].markLine = { symbol: "none", silent: true, data: marks, lineStyle: { color: "#cf222e", type: "dashed" } };
        chart.setOption({
          tooltip: { trigger: "axis" },
          grid: { left: 50, right: 20, top: 20, bottom: 60 },
          xAxis: { type: "time" },
          yAxis: { type: "value", scale: true, name: d.unit },
          dataZoom: [{ type: "inside" }, { type: "slider" }],
          series: series
        }, true);
      });
  }
  document.querySelectorAll("#chart-spans button").forEach(function (b) {
    b.addEventListener("click", function () { load(b.dataset.span); });
  });
  load("24h");
  window.addEventListener("resize", function () { chart.resize(); });
})();
