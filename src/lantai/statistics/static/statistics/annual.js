// 统计年报 charts (ECharts, bundled locally). Labels come translated in the page's data.
(function () {
  "use strict";
  var node = document.getElementById("statistics-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var charts = [];
  var cat = document.getElementById("chart-categories");
  if (cat && data.categories) {
    var c = echarts.init(cat);
    c.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 60, right: 20, top: 40, bottom: 60 },
      xAxis: { type: "category", data: data.categories.labels, axisLabel: { rotate: 30 } },
      yAxis: { type: "value" },
      series: [
        { name: data.categories.holdings_label, type: "bar", data: data.categories.holdings, itemStyle: { color: "#8c1c13" } },
        { name: data.categories.received_label, type: "bar", data: data.categories.received, itemStyle: { color: "#c9a66b" } }
      ]
    });
    charts.push(c);
  }
  var vis = document.getElementById("chart-visitors");
  if (vis && data.visitors) {
    var v = echarts.init(vis);
    v.setOption({
      tooltip: { trigger: "axis" },
      grid: { left: 50, right: 20, top: 20, bottom: 40 },
      xAxis: { type: "category", data: data.visitors.months },
      yAxis: { type: "value", name: data.visitors.label },
      series: [{ name: data.visitors.label, type: "line", data: data.visitors.values, smooth: true, areaStyle: {} }]
    });
    charts.push(v);
  }
  var gr = document.getElementById("chart-grades");
  if (gr && data.grades) {
    var g = echarts.init(gr);
    g.setOption({
      tooltip: { trigger: "item" },
      legend: { bottom: 0 },
      series: [{ name: data.grades.label, type: "pie", radius: ["35%", "65%"], data: data.grades.items }]
    });
    charts.push(g);
  }
  window.addEventListener("resize", function () { charts.forEach(function (x) { x.resize(); }); });
})();
