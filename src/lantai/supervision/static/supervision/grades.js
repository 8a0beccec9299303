// 测评等次占比 by year (stacked bars, %) against the excellent-share target (line).
(function () {
  "use strict";
  var node = document.getElementById("grade-data");
  var el = document.getElementById("chart-grade-history");
  if (!node || !el || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var colors = ["#2e7d32", "#1565c0", "#f9a825", "#c62828"];
  var series = data.series.map(function (s, i) {
    return { name: s.name, type: "bar", stack: "share", data: s.values, itemStyle: { color: colors[i] } };
  });
  series.push({ name: data.target_label, type: "line", data: data.target, lineStyle: { type: "dashed" }, itemStyle: { color: "#000" } });
  echarts.init(el).setOption({
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
    legend: { top: 0 },
    grid: { left: 50, right: 20, top: 40, bottom: 30 },
    xAxis: { type: "category", data: data.years },
    yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    series: series
  });
})();
