// Charts of the live pages (坐席监控, 任务进度). Each chart is a [data-live-chart="<kind>"] element
// that stays on the page; its data is the JSON of <script id="<data-source>"> inside the region
// htmx refreshes, so after each refresh the charts are updated in place, not rebuilt.
(function () {
  "use strict";

  var COLOURS = {
    success: "#198754", warning: "#ffc107", danger: "#dc3545", info: "#0dcaf0", secondary: "#6c757d",
    dark: "#212529", primary: "#0d6efd", light: "#ced4da"
  };

  var builders = {
    // agents per live state: a doughnut
    states: function (d) {
      return {
        tooltip: { trigger: "item" },
        legend: { bottom: 0, type: "scroll" },
        series: [{
          type: "pie", radius: ["40%", "70%"], center: ["50%", "45%"], avoidLabelOverlap: true,
          label: { formatter: "{b}: {c}" },
          data: d.states.map(function (s) {
            return { name: s.name, value: s.value, itemStyle: { color: COLOURS[s.badge] || undefined } };
          })
        }]
      };
    },
    // today's traffic per agent: calls and answered (bars), talk minutes (line, right axis)
    traffic: function (d) {
      var zoom = d.agents.length > 20 ? [{ type: "slider", height: 14, bottom: 0, startValue: 0, endValue: 19 }] : [];
      return {
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 40, right: 44, top: 28, bottom: zoom.length ? 40 : 24 },
        xAxis: { type: "category", data: d.agents },
        yAxis: [{ type: "value", minInterval: 1 }, { type: "value", name: d.labels.talk_minutes, splitLine: { show: false } }],
        dataZoom: zoom,
        series: [
          { name: d.labels.calls, type: "bar", data: d.calls, itemStyle: { color: COLOURS.primary } },
          { name: d.labels.answered, type: "bar", data: d.answered, itemStyle: { color: COLOURS.success } },
          { name: d.labels.talk_minutes, type: "line", yAxisIndex: 1, data: d.talk_minutes, itemStyle: { color: COLOURS.warning } }
        ]
      };
    },
    // a task's numbers by where they stand: one bar each
    progress: function (d) {
      return {
        tooltip: { trigger: "axis" },
        grid: { left: 48, right: 16, top: 16, bottom: 24 },
        xAxis: { type: "category", data: d.bars.map(function (b) { return b.name; }) },
        yAxis: { type: "value", minInterval: 1 },
        series: [{
          type: "bar", label: { show: true, position: "top" },
          data: d.bars.map(function (b) { return { value: b.value, itemStyle: { color: COLOURS[b.badge] } }; })
        }]
      };
    },
    // a task's attempts and answered calls over time
    timeline: function (d) {
      return {
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 28, bottom: 24 },
        xAxis: { type: "category", data: d.timeline.labels },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: d.labels.attempts, type: "line", smooth: true, data: d.timeline.attempts, itemStyle: { color: COLOURS.primary } },
          { name: d.labels.answered, type: "line", smooth: true, data: d.timeline.answered, itemStyle: { color: COLOURS.success } }
        ]
      };
    }
  };

  function update() {
    if (typeof echarts === "undefined") return;
    document.querySelectorAll("[data-live-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.source);
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var chart = echarts.getInstanceByDom(el) || echarts.init(el);
      chart.setOption(builders[el.dataset.liveChart](data), { notMerge: false, lazyUpdate: true });
      el.dataset.rendered = "1";
    });
  }

  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-live-chart]").forEach(function (el) {
      var chart = typeof echarts !== "undefined" && echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  });
  document.addEventListener("htmx:afterSwap", update);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", update);
  else update();
})();
