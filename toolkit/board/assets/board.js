/* The board's charts (ECharts, SVG renderer) drawn from the embedded JSON, and sortable tables.
   Every chart records what it drew in its data-drawn attribute (categories and series values). */
(function () {
  var data = JSON.parse(document.getElementById("board-data").textContent);
  var charts = [];
  var font = getComputedStyle(document.body).fontFamily;

  function pct(rate) { return rate === null || rate === undefined ? null : Math.round(rate * 1000) / 10; }
  function rateText(rate) { return rate === null || rate === undefined ? "—" : pct(rate).toFixed(1) + "%"; }
  function plain(v) { return v !== null && typeof v === "object" ? v.value : v; }

  function draw(id, option, height) {
    var el = document.getElementById(id);
    if (!el) return null;
    if (height) el.style.height = height + "px";
    option.animation = false;
    option.textStyle = { fontFamily: font };
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    charts.push(chart);
    var o = chart.getOption();
    var axis = [].concat(o.xAxis || [], o.yAxis || []).filter(function (a) { return a.type === "category"; })[0];
    el.setAttribute("data-drawn", JSON.stringify({
      categories: axis ? axis.data : null,
      series: o.series.map(function (s) {
        return { name: s.name, data: s.data.map(function (d) { return s.type === "pie" ? [d.name, d.value] : plain(d); }) };
      })
    }));
    return chart;
  }

  // 红/黄/蓝 and every other status: a ring, statuses with no measure left out.
  var statuses = data.status.filter(function (s) { return s.count > 0; });
  draw("chart-status", {
    tooltip: { trigger: "item", formatter: "{b}：{c} 项（{d}%）" },
    legend: { orient: "vertical", left: 0, top: "middle" },
    series: [{
      name: "措施状态", type: "pie", radius: ["40%", "70%"], center: ["62%", "50%"],
      label: { formatter: "{b} {c}" },
      data: statuses.map(function (s) { return { name: s.label, value: s.count, itemStyle: { color: s.colour } }; })
    }]
  });

  // Completion by category / unit / county: stacked bars of the measures' states, rate beside the name.
  var PARTS = [["done", "已完成", "#548235"], ["on_track", "按期推进", "#2E75B6"], ["due_soon", "临期", "#E6A700"],
               ["overdue", "逾期", "#C00000"], ["long_term", "长期坚持", "#7030A0"]];
  ["category", "unit", "county"].forEach(function (group) {
    var rows = data.groups[group];
    if (!rows.length) { var el = document.getElementById("chart-" + group); if (el) el.style.display = "none"; return; }
    var rate = {};
    rows.forEach(function (r) { rate[r.name] = rateText(r.rate); });
    draw("chart-" + group, {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 24, top: 30, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return r.name; }),
               axisLabel: { formatter: function (name) { return name + "  " + rate[name]; } } },
      series: PARTS.map(function (p) {
        return { name: p[1], type: "bar", stack: "n", itemStyle: { color: p[2] }, barMaxWidth: 22,
                 data: rows.map(function (r) { return r[p[0]]; }) };
      })
    }, Math.max(160, 26 * rows.length + 60));
  });

  // Month over month: the completion rate (line) and the overdue measures (bars).
  if (data.history.length) {
    draw("chart-trend", {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.history.map(function (h) { return h.period; }) },
      yAxis: [{ type: "value", name: "完成率 %", min: 0, max: 100 }, { type: "value", name: "逾期 项", minInterval: 1 }],
      series: [
        { name: "完成率", type: "line", yAxisIndex: 0, symbolSize: 8, itemStyle: { color: "#548235" },
          label: { show: true, formatter: "{c}%" }, data: data.history.map(function (h) { return pct(h.rate); }) },
        { name: "逾期措施", type: "bar", yAxisIndex: 1, itemStyle: { color: "#C00000" }, barMaxWidth: 28,
          label: { show: true, position: "top" }, data: data.history.map(function (h) { return h.overdue; }) }
      ]
    });
  }

  // County punctuality per month: how many counties were in each submission state.
  var p = data.punctuality;
  if (p.periods.length && p.counties.length) {
    var used = p.series.filter(function (s) { return p.periods.some(function (x) { return p.totals[x][s.state] > 0; }); });
    draw("chart-punctuality", {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: p.periods },
      yAxis: { type: "value", name: "县区数", minInterval: 1 },
      series: used.map(function (s) {
        return { name: s.name, type: "bar", stack: "n", itemStyle: { color: s.colour }, barMaxWidth: 40,
                 data: p.periods.map(function (x) { return p.totals[x][s.state]; }) };
      })
    });
  }

  // Time to complete per unit: median days from the feedback date (or against the deadline without one).
  var c = data.completion;
  var key = c.start ? "median_days" : "median_vs_deadline";
  var crow = c.rows.filter(function (r) { return r[key] !== null; });
  if (crow.length) {
    draw("chart-completion", {
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: 8, top: 30, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: crow.map(function (r) { return r.unit; }), axisLabel: { interval: 0, rotate: crow.length > 8 ? 30 : 0 } },
      yAxis: { type: "value", name: c.start ? "用时中位数（天）" : "较时限（天）" },
      series: [{ name: c.start ? "用时中位数" : "较时限中位数", type: "bar", itemStyle: { color: "#2E75B6" }, barMaxWidth: 36,
                 label: { show: true, position: "top" }, data: crow.map(function (r) { return r[key]; }) }]
    });
  } else {
    var ce = document.getElementById("chart-completion");
    if (ce) ce.style.display = "none";
  }

  // Sortable tables: click a header; numbers by their data-sort value, blanks last.
  function cellValue(td, numeric) {
    var el = td.querySelector("[data-sort]") || td;
    var raw = el.getAttribute("data-sort");
    if (raw === null) raw = td.textContent.trim();
    if (!numeric) return raw;
    return raw === "" ? null : parseFloat(raw);
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var dir = th.getAttribute("data-dir") === "asc" ? "desc" : "asc";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("data-dir"); });
        th.setAttribute("data-dir", dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length > col; });
        rows.sort(function (a, b) {
          var x = cellValue(a.cells[col], numeric), y = cellValue(b.cells[col], numeric);
          if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
          var r = numeric ? x - y : String(x).localeCompare(String(y), "zh-CN");
          return dir === "asc" ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });

  // Charts follow the window, and the paper when printing.
  function resize() { charts.forEach(function (ch) { ch.resize(); }); }
  window.addEventListener("resize", resize);
  window.addEventListener("beforeprint", resize);
  window.addEventListener("afterprint", resize);
  if (window.matchMedia) {
    var mq = window.matchMedia("print");
    if (mq.addEventListener) mq.addEventListener("change", resize); else if (mq.addListener) mq.addListener(resize);
  }
  document.documentElement.setAttribute("data-board-ready", "1");
})();
