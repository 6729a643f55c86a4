#include "reports/detail/page_template.h"

namespace resid::detail {

std::string_view page_style() {
  return R"css(
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --card: #ffffff; --bg: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.5 -apple-system, "Segoe UI", "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
header { background: #24292f; color: #f6f8fa; padding: 24px 32px 16px; }
header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 600; }
header .sub { color: #afb8c1; margin: 0 0 12px; }
header table { border-collapse: collapse; font-size: 13px; }
header td { padding: 2px 16px 2px 0; vertical-align: top; }
header td:first-child { color: #afb8c1; white-space: nowrap; }
header td:last-child { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; word-break: break-all; }
nav { padding: 10px 32px; background: #eaeef2; border-bottom: 1px solid var(--line); font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 18px; }
nav a.skipped { color: var(--muted); text-decoration: line-through; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 48px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin: 20px 0;
          padding: 18px 24px; }
section h2 { margin: 0 0 6px; font-size: 20px; }
section > p.intro { color: var(--muted); margin: 0 0 10px; max-width: 980px; }
table.sources { border-collapse: collapse; font-size: 12.5px; margin-bottom: 8px; }
table.sources td { padding: 1px 14px 1px 0; vertical-align: top; }
table.sources td:first-child { color: var(--muted); white-space: nowrap; }
table.sources td:last-child { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; word-break: break-all; }
figure { margin: 16px 0 8px; }
figure h3 { font-size: 15px; margin: 0 0 4px; }
.chart { overflow-x: auto; }
figcaption { color: var(--muted); font-size: 13px; max-width: 980px; }
ul.notes { color: #9a6700; font-size: 13.5px; padding-left: 20px; }
details.ids { font-size: 13px; margin: 6px 0; }
details.ids pre { white-space: pre-wrap; font-size: 12px; background: var(--bg); padding: 6px 10px; border-radius: 6px; }
section.skipped { border-style: dashed; }
section.skipped li { margin: 4px 0; }
#report-errors:empty { display: none; }
#report-errors { color: #cf222e; background: #ffebe9; padding: 8px 12px; border-radius: 6px; white-space: pre-wrap; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding-bottom: 24px; }
)css";
}

std::string_view page_error_script() {
  return R"js(
(function () {
  var pending = [];
  function record(kind, parts) {
    var text = kind + ": " + Array.prototype.map.call(parts, function (p) {
      if (p && p.stack) return p.stack;
      try { return typeof p === "string" ? p : JSON.stringify(p); } catch (e) { return String(p); }
    }).join(" ");
    pending.push(text);
    document.documentElement.dataset.errors = String(pending.length);
    var box = document.getElementById("report-errors");
    if (box) box.textContent = pending.join("\n");
  }
  window.residRecordError = record;
  document.documentElement.dataset.errors = "0";
  var error = console.error, warn = console.warn;
  console.error = function () { record("console.error", arguments); error.apply(console, arguments); };
  console.warn = function () { record("console.warn", arguments); warn.apply(console, arguments); };
  window.addEventListener("error", function (e) {
    record("exception", [e.message + " (" + (e.filename || "page") + ":" + e.lineno + ")"]);
  });
  window.addEventListener("unhandledrejection", function (e) { record("unhandled rejection", [e.reason]); });
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("report-errors");
    if (box) box.textContent = pending.join("\n");
  });
})();
)js";
}

std::string_view page_embed_script() {
  return R"js(
(function () {
  // report.html?section=ID shows that section alone under the header (to share or screenshot one chart group).
  var only = new URLSearchParams(location.search).get("section");
  if (only) document.querySelectorAll("main > section").forEach(function (s) {
    if (s.id !== only) s.style.display = "none";
  });
  var specs = JSON.parse(document.getElementById("report-specs").textContent);
  var ids = Object.keys(specs);
  var body = document.body;
  var rendered = 0;
  body.dataset.rendered = "0";
  var options = {
    renderer: "canvas",
    actions: { export: true, source: true, compiled: false, editor: false },
    tooltip: { theme: "light" }
  };
  var runs = ids.map(function (id) {
    return vegaEmbed("#" + id, specs[id], options).then(function (result) {
      var drawn = document.querySelector("#" + id + " canvas, #" + id + " svg");
      if (!drawn) throw new Error("chart " + id + " produced no canvas or svg");
      rendered += 1;
      body.dataset.rendered = String(rendered);
      return result;
    }).catch(function (e) {
      window.residRecordError("chart " + id, [e]);
      throw e;
    });
  });
  // Charts change the layout as they render: go back to the section the address names once they are done.
  function settle(status) {
    body.dataset.status = status;
    var target = location.hash && document.getElementById(location.hash.slice(1));
    if (target) target.scrollIntoView();
  }
  Promise.all(runs).then(function () { settle("ok"); }, function () { settle("failed"); });
})();
)js";
}

}  // namespace resid::detail
