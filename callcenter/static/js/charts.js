// Draws every element with a data-chart attribute ({"x": [...], "y": [...]}) as a bar chart.
document.querySelectorAll("[data-chart]").forEach(function (el) {
  var data = JSON.parse(el.dataset.chart);
  var chart = echarts.init(el);
  chart.setOption({
    grid: { left: 36, right: 12, top: 16, bottom: 24 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: data.x },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", data: data.y, itemStyle: { color: "#0d6efd" } }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
