// 开放鉴定统计 chart (ECharts, bundled locally): per review year, reviewed and its outcomes.
(function () {
  "use strict";
  var node = document.getElementById("opening-report-data");
  var target = document.getElementById("chart-opening");
  if (!node || !target || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var series = ["open", "defer", "restrict"].map(function (key) {
    return { name: data.labels[key], type: "bar", stack: "outcome", data: data[key] };
  });
  series.push({ name: data.labels.reviewed, type: "line", data: data.reviewed });
  echarts.init(target).setOption({
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 50, right: 20, top: 40, bottom: 40 },
    xAxis: { type: "category", data: data.years },
    yAxis: { type: "value", name: target.dataset.unit },
    color: ["#2e7d32", "#f9a825", "#8c1c13", "#1f4e79"],
    series: series
  });
})();
