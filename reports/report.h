// What a report holds before it becomes HTML: a title, provenance lines, sections of Vega-Lite charts (with
// optional notes and id lists), and the sections that were skipped with the reason. The section builders fill
// it (build_report.h); html_page.h renders it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace resid {

struct Chart {
  std::string title;
  nlohmann::json spec;  // a complete Vega-Lite spec, data inlined
  std::string caption;  // one or two sentences under the chart (plain text)
};

// A titled list under a section's charts, e.g. the dead neuron ids of one layer.
struct IdList {
  std::string title;
  std::string text;
};

struct Section {
  std::string id;  // the anchor: "census", "logit-lens", ...
  std::string title;
  std::string intro;  // what the section shows and where its data came from (plain text)
  std::vector<std::pair<std::string, std::string>> sources;  // provenance rows: ("capture", "acts.h5"), ...
  std::vector<Chart> charts;
  std::vector<std::string> notes;  // caveats: hooks the capture lacks, positions dropped, ...
  std::vector<IdList> lists;
};

struct SkippedSection {
  std::string title;
  std::string reason;  // "no census file given"
};

struct Report {
  std::string title = "resid report";
  std::vector<std::pair<std::string, std::string>> provenance;  // the page's header table
  std::vector<Section> sections;
  std::vector<SkippedSection> skipped;

  size_t chart_count() const;
};

}  // namespace resid
