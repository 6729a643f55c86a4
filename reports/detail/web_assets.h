// The charting library's minified builds, embedded into the binary at build time (reports/CMakeLists.txt
// generates the definition from reports/web/node_modules). Internal to resid::reports.
#pragma once
#include <string_view>
#include <vector>

namespace resid::detail {

struct WebAsset {
  const char* name;       // "vega", "vega-lite", "vega-embed": the order they must load in
  std::string_view text;  // the whole minified file
};

const std::vector<WebAsset>& web_assets();

}  // namespace resid::detail
