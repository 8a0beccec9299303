// 接收统计 charts (ECharts, bundled locally).
(function () {
  "use strict";
  var node = document.getElementById("accession-stats-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var received = document.getElementById("chart-received");
  if (received) {
    echarts.init(received).setOption({
      tooltip: { trigger: "axis" },
      grid: { left: 50, right: 20, top: 20, bottom: 60 },
      xAxis: { type: "category", data: data.categories, axisLabel: { rotate: 30 } },
      yAxis: { type: "value", name: "卷(件)" },
      series: [{ type: "bar", data: data.category_totals, itemStyle: { color: "#8c1c13" } }]
    });
  }
  var years = document.getElementById("chart-years");
  if (years) {
    echarts.init(years).setOption({
      tooltip: { trigger: "axis" },
      grid: { left: 50, right: 20, top: 20, bottom: 40 },
      xAxis: { type: "category", data: data.years },
      yAxis: { type: "value", name: "卷(件)" },
      series: [{ type: "line", data: data.year_totals, smooth: true, areaStyle: {} }]
    });
  }
})();
