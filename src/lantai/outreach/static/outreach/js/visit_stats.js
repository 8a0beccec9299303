// 参观接待 monthly chart (ECharts, bundled locally); labels come translated from the page.
(function () {
  "use strict";
  var node = document.getElementById("visit-stats-data");
  var box = document.getElementById("chart-visits");
  if (!node || !box || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  echarts.init(box).setOption({
    tooltip: { trigger: "axis" },
    legend: { data: [data.labels.visitors, data.labels.previous, data.labels.groups] },
    grid: { left: 50, right: 50, top: 40, bottom: 30 },
    xAxis: { type: "category", data: data.months },
    yAxis: [{ type: "value" }, { type: "value", position: "right" }],
    series: [
      { name: data.labels.visitors, type: "bar", data: data.visitors, itemStyle: { color: "#8c1c13" } },
      { name: data.labels.previous, type: "bar", data: data.previous_visitors, itemStyle: { color: "#c9a9a6" } },
      { name: data.labels.groups, type: "line", yAxisIndex: 1, data: data.groups, smooth: true }
    ]
  });
})();
