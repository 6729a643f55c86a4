// Rendering a Report as one self-contained HTML page: styles, the embedded vega / vega-lite / vega-embed
// builds, every chart's spec and the script that embeds them are all inlined, so the page opens offline in
// any browser. The page marks itself for tests: <body data-charts="N" data-rendered="N" data-status="ok">
// once every vega-embed promise resolved, and <html data-errors="K"> plus <pre id="report-errors"> listing
// every console error, warning, exception and rejected promise. "report.html?section=ID" shows one section
// alone.
#pragma once
#include <string>

#include "reports/report.h"

namespace resid {

std::string render_html(const Report& report);

// render_html written through an atomic temporary file: `path` is the whole page or untouched. FormatError
// naming the path when it cannot be written.
void write_report(const std::string& path, const Report& report);

// Text escaped for HTML element content and attribute values.
std::string html_escape(const std::string& text);
// JSON for a <script type="application/json"> element: "<" written as \u003c so no "</script>" can end it.
std::string json_for_script(const nlohmann::json& value);

}  // namespace resid
