// The fixed parts of a report page: its style sheet and its two scripts. Internal to resid::reports.
#pragma once
#include <string_view>

namespace resid::detail {

// CSS for the header, sections, charts, notes and the skipped list.
std::string_view page_style();
// Runs first, before the charting library: records console errors/warnings, exceptions and rejected promises
// into <html data-errors> and <pre id="report-errors"> so that a headless browser's --dump-dom shows them.
std::string_view page_error_script();
// Runs last: embeds every spec of <script id="report-specs"> into its <div id>, then sets <body
// data-rendered> and data-status ("ok" or "failed").
std::string_view page_embed_script();

}  // namespace resid::detail
