#include "reports/probe_section.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "reports/vega_spec.h"

namespace resid {

using nlohmann::json;

namespace {

// Member `key` of `j`, or null when `j` is not an object holding it.
const json& member(const json& j, const char* key) {
  static const json missing;
  if (!j.is_object()) return missing;
  const auto it = j.find(key);
  return it == j.end() ? missing : *it;
}

std::string short_sha(const std::string& sha) {
  return sha.size() > 16 ? sha.substr(0, 16) + "…" : sha;
}

// "blocks.3.hook_resid_post" or "blocks.3.hook_resid_post@5" for per-position sweeps.
std::string probe_name(const json& r) {
  std::string name = member(r, "hook").is_string() ? member(r, "hook").get<std::string>() : "?";
  if (member(r, "position").is_number_integer())
    name += "@" + std::to_string(member(r, "position").get<int>());
  return name;
}

void check_models(const json& probes, const std::string& path, const std::vector<ExpectedModel>& expected) {
  std::string first;
  for (const json& r : probes) {
    const json& sha = member(member(r, "provenance"), "model_sha256");
    if (!sha.is_string()) continue;
    const std::string s = sha.get<std::string>();
    if (first.empty()) first = s;
    if (s != first)
      throw InputError(path + ": mixes probes of two models (sha256 " + short_sha(first) + " and " +
                       short_sha(s) + ")");
  }
  if (first.empty()) return;
  for (const ExpectedModel& e : expected)
    if (!e.sha256.empty() && e.sha256 != first)
      throw InputError(path + ": probes were fitted on a capture of another model (sha256 " +
                       short_sha(first) + ") than the " + e.source + " (sha256 " + short_sha(e.sha256) + ")");
}

void add(json& values, const json& r, int order, const char* series, const json& v) {
  if (!v.is_number()) return;
  values.push_back({{"probe", probe_name(r)},
                    {"order", order},
                    {"layer", member(r, "layer")},
                    {"series", series},
                    {"value", v}});
}

}  // namespace

json read_probe_sweep(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open the probe sweep JSON");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw InputError(path + ": not JSON (" + std::string(e.what()) + ")");
  }
  if (!member(j, "probes").is_array())
    throw InputError(path + ": not the output of resid probe sweep --json (no \"probes\" array)");
  for (const json& r : j["probes"])
    if (!member(r, "hook").is_string() ||
        (!member(r, "skipped").is_string() && !member(r, "metrics").is_object()))
      throw InputError(path +
                       ": a probe entry without \"hook\" and \"metrics\" (not resid probe sweep --json?)");
  return j;
}

Section probe_section(const json& sweep, const std::string& path,
                      const std::vector<ExpectedModel>& expected) {
  const json& probes = sweep.at("probes");
  check_models(probes, path, expected);
  Section sec;
  sec.id = "probes";
  sec.title = "Linear probes by layer";
  json accuracy = json::array(), selectivity = json::array();
  bool regression = false;
  int order = 0;
  for (const json& r : probes) {
    if (member(r, "skipped").is_string()) {
      sec.notes.push_back(probe_name(r) + " skipped: " + r["skipped"].get<std::string>());
      continue;
    }
    const json& test = member(member(r, "metrics"), "test");
    const json& base = member(r, "baselines");
    if (member(r, "label_kind") == "sequence_number") {
      regression = true;
      add(accuracy, r, order, "probe R²", member(test, "r2"));
      add(accuracy, r, order, "mean baseline R²", member(member(base, "mean"), "r2"));
    } else {
      add(accuracy, r, order, "probe accuracy", member(test, "accuracy"));
      add(accuracy, r, order, "balanced accuracy", member(test, "balanced_accuracy"));
      add(accuracy, r, order, "control task", member(member(base, "control"), "accuracy"));
      add(accuracy, r, order, "majority baseline", member(member(base, "majority"), "accuracy"));
      add(selectivity, r, order, "selectivity", member(r, "selectivity"));
    }
    ++order;
  }
  if (accuracy.empty())
    throw InputError(path + ": no probe of the sweep was fitted (every entry was skipped)");
  const json& first =
      *std::find_if(probes.begin(), probes.end(), [](const json& r) { return !r.contains("skipped"); });
  sec.intro =
      "One " + member(first, "kind").get<std::string>() + " probe per hook for label '" +
      member(sweep, "label").get<std::string>() + "', scored on the test split. " +
      (regression ? "R² against the mean baseline."
                  : "The control task gives every token id a fixed random class (Hewitt & Liang 2019); "
                    "selectivity = accuracy − control accuracy. High accuracy with low selectivity means the "
                    "probe may be memorising token identity.");
  const json& prov = member(first, "provenance");
  sec.sources = {
      {"probe sweep", path},
      {"capture", member(sweep, "capture").is_string() ? sweep["capture"].get<std::string>() : "?"},
      {"model", member(prov, "model_path").is_string()
                    ? prov["model_path"].get<std::string>() + "  (sha256 " +
                          short_sha(prov.value("model_sha256", "")) + ")"
                    : "?"},
      {"test examples per probe", member(member(member(first, "metrics"), "test"), "n").dump()}};
  json x = channel("probe", "nominal", "hook");
  x["sort"] = {{"field", "order"}, {"op", "min"}};
  x["axis"] = {{"labelAngle", -30}, {"labelLimit", 220}};
  json spec = vega_lite_spec("probe accuracy by layer", accuracy);
  spec["width"] = std::max(320, 70 * order);
  spec["height"] = 260;
  spec["mark"] = {{"type", "line"}, {"point", true}, {"tooltip", true}};
  json y = channel("value", "quantitative", regression ? "R²" : "test accuracy");
  y["scale"] = {{"zero", false}};
  // The probe solid and first; baselines dashed, in muted colours.
  const json series_order =
      regression ? json{"probe R²", "mean baseline R²"}
                 : json{"probe accuracy", "balanced accuracy", "control task", "majority baseline"};
  json color = channel("series", "nominal", "");
  color["scale"] = {{"domain", series_order}, {"range", {"#0969da", "#54aeff", "#bf8700", "#8c959f"}}};
  json dash = channel("series", "nominal", "");
  dash["scale"] = {{"domain", series_order}, {"range", {{1, 0}, {1, 0}, {6, 3}, {2, 3}}}};
  spec["encoding"] = {{"x", x},
                      {"y", y},
                      {"color", color},
                      {"strokeDash", dash},
                      {"tooltip",
                       {tooltip("probe", "nominal", "hook"), tooltip("series", "nominal", "what"),
                        tooltip("value", "quantitative", "value", ".4f")}}};
  sec.charts.push_back({regression ? "R² by layer" : "Accuracy by layer, with baselines", spec,
                        "Hover a point for its value. The legend names each line."});
  if (!selectivity.empty()) {
    json s = vega_lite_spec("selectivity by layer", selectivity);
    s["width"] = spec["width"];
    s["height"] = 180;
    s["mark"] = {{"type", "bar"}, {"tooltip", true}};
    json color_sign = {{"condition", {{"test", "datum.value >= 0"}, {"value", "#1a7f37"}}},
                       {"value", "#cf222e"}};
    s["encoding"] = {
        {"x", x},
        {"y", channel("value", "quantitative", "selectivity (accuracy − control)")},
        {"color", color_sign},
        {"tooltip",
         {tooltip("probe", "nominal", "hook"), tooltip("value", "quantitative", "selectivity", "+.4f")}}};
    sec.charts.push_back(
        {"Selectivity by layer", s, "Green: the probe beats the control task; red: it does not."});
  }
  return sec;
}

}  // namespace resid
