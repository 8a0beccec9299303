/* 工作台 charts: data comes from the page (json_script), ECharts is served locally. */
(function () {
  "use strict";
  var node = document.getElementById("dashboard-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var accent = "#8c1c13";
  var bar = document.getElementById("chart-category");
  if (bar) {
    echarts.init(bar).setOption({
      tooltip: { trigger: "axis" },
      grid: { left: 60, right: 10, top: 10, bottom: 60 },
      xAxis: { type: "category", data: data.categories, axisLabel: { rotate: 30 } },
      yAxis: { type: "value" },
      series: [{ type: "bar", data: data.totals, itemStyle: { color: accent } }]
    });
  }
  var pie = document.getElementById("chart-openness");
  if (pie) {
    echarts.init(pie).setOption({
      tooltip: { trigger: "item" },
      legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "65%"], data: data.openness,
                 color: ["#bf8700", "#1a7f37", "#cf222e"] }]
    });
  }
  window.addEventListener("resize", function () {
    [bar, pie].forEach(function (el) { var c = el && echarts.getInstanceByDom(el); if (c) { c.resize(); } });
  });
})();
