// 接收统计 charts (ECharts, bundled locally). The axis unit comes translated from the page.
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
      yAxis: { type: "value", name: received.dataset.unit },
      series: [{ type: "bar", data: data.category_totals, itemStyle: { color: "#8c1c13" } }]
    });
  }
  var years = document.getElementById("chart-years");
  if (years) {
    echarts.init(years).setOption({
      tooltip: { trigger: "axis" },
      grid: { left: 50, right: 20, top: 20, bottom: 40 },
      xAxis: { type: "category", data: data.years },
      yAxis: { type: "value", name: years.dataset.unit },
      series: [{ type: "line", data: data.year_totals, smooth: true, areaStyle: {} }]
    });
  }
})();
