/* Runs first: every script error, failed resource load, rejected promise, console.error and console.warn is
   shown on the page in #board-errors (data-count = how many), so staff see it and tests read it
   from the DOM instead of a browser console. */
(function () {
  var pending = [];
  function render() {
    var box = document.getElementById("board-errors");
    if (!box) return;
    box.hidden = false;
    box.setAttribute("data-count", String(pending.length));
    box.textContent = "看板脚本出错，图表可能不完整（表格中的数字不受影响）：" + pending.join("；");
  }
  function show(text) {
    pending.push(String(text));
    render();
  }
  window.__boardError = show;
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) show("资源加载失败：" + (t.src || t.href));
    else show((e.message || "脚本错误") + (e.lineno ? "（第 " + e.lineno + " 行）" : ""));
  }, true);
  window.addEventListener("unhandledrejection", function (e) { show("未处理的异步错误：" + e.reason); });
  var original = console.error;
  console.error = function () {
    show(Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
  var originalWarn = console.warn;
  console.warn = function () {
    show("警告：" + Array.prototype.join.call(arguments, " "));
    return originalWarn.apply(console, arguments);
  };
  document.addEventListener("DOMContentLoaded", function () { if (pending.length) render(); });
})();
