// The pieces of resid::reports without a browser: escaping of what is inlined into the page, the specs each
// section builds, the statistics they compute, section skipping, and bad input (one-line errors, no file
// left).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "capture/activation_file.h"
#include "capture/activation_reader.h"
#include "capture/capture_mlp.h"
#include "census/neuron_census.h"
#include "core/error.h"
#include "probes/synthetic_capture.h"
#include "reports/activation_stats.h"
#include "reports/build_report.h"
#include "reports/census_section.h"
#include "reports/html_page.h"
#include "reports/png_image.h"
#include "reports/probe_section.h"
#include "reports/weight_tiles.h"
#include "test_support.h"

namespace resid {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t i = 0; (i = text.find(needle, i)) != std::string::npos; i += needle.size()) ++n;
  return n;
}

// Two rows of blocks.0.hook_resid_post [n_pos 3, d 2]; row 0 has 2 real positions, row 1 has 3. The padding
// position holds 1000 so that counting it would show.
void write_known_capture(const std::string& path) {
  ActivationFileInfo info;
  info.model_path = "m.bin", info.model_sha256 = std::string(64, 'a'), info.positions = "all", info.n_pos = 3;
  WriterOptions wo;
  wo.rows = 2;
  auto w =
      ActivationFileWriter::create(path, info, {{"blocks.0.hook_resid_post", 0, "none", {3, 2}}}, {}, wo);
  const std::vector<int32_t> tokens = {1, 2, -1, 1, 2, 3}, lengths = {2, 3};
  const std::vector<float> acts = {1,  3, 1,  3, 1000, 1000,  // row 0: (1,3) (1,3) pad
                                   -1, 1, -1, 1, 3,    5};    // row 1: (-1,1) (-1,1) (3,5)
  w->append(2, tokens.data(), lengths.data(), {}, {}, {acts.data()});
  w->finish({});
}

TEST(ReportPage, InlinedTextCannotEndItsElement) {
  EXPECT_EQ(html_escape("<b a=\"1\">&'"), "&lt;b a=&quot;1&quot;&gt;&amp;&#39;");
  const std::string j = json_for_script(json{{"t", "</script><script>alert(1)</script>"}});
  EXPECT_EQ(j.find("</"), std::string::npos) << j;
  EXPECT_EQ(json::parse(j)["t"], "</script><script>alert(1)</script>");
  // Invalid UTF-8 from a tokenizer's byte piece is replaced, not thrown on.
  EXPECT_NO_THROW(json_for_script(json{{"t", std::string("\xff\xfe")}}));
}

TEST(ReportPage, OnePageWithLibrariesSpecsAndMarkers) {
  Report r;
  r.title = "T </script>";
  Section s;
  s.id = "one";
  s.title = "One";
  s.charts.push_back({"c", json{{"mark", "point"}, {"data", {{"values", {{{"a", "</script>"}}}}}}}, "cap"});
  r.sections.push_back(s);
  r.skipped.push_back({"Other", "no input"});
  const std::string html = render_html(r);
  // error recorder, vega, vega-lite, vega-embed, the specs and the embedding script: each closed exactly
  // once.
  EXPECT_EQ(count(html, "<script"), 6u);
  EXPECT_EQ(count(html, "</script>"), 6u);
  EXPECT_CONTAINS(html, "data-charts=\"1\"");
  EXPECT_CONTAINS(html, "id=\"chart-0\"");
  EXPECT_CONTAINS(html, "data-library=\"vega-embed\"");
  EXPECT_CONTAINS(html, "<li><b>Other</b>: no input</li>");
  EXPECT_CONTAINS(html, "<title>T &lt;/script&gt;</title>");
  EXPECT_GT(html.size(), 500000u) << "the three library builds are inlined";
}

TEST(ReportPage, WriteIsAtomic) {
  testing::TempDir dir;
  const std::string path = dir.file("r.html");
  write_report(path, Report{});
  EXPECT_CONTAINS(testing::slurp(path), "</html>");
  // A directory that does not exist: an error naming the path, and nothing left behind.
  const std::string bad = dir.file("missing/r.html");
  EXPECT_CONTAINS(testing::error_of<Error>([&] { write_report(bad, Report{}); }), bad);
  EXPECT_FALSE(fs::exists(dir.file("missing")));
}

TEST(ReportInputs, EverySectionWithoutItsInputIsSkippedWithAReason) {
  const Report r = build_report(ReportInputs{});
  EXPECT_TRUE(r.sections.empty());
  ASSERT_EQ(r.skipped.size(), 8u);
  for (const SkippedSection& s : r.skipped) EXPECT_FALSE(s.reason.empty()) << s.title;
  EXPECT_EQ(r.skipped[0].title, "Activation statistics by layer");
}

TEST(ActivationStats, CountsRealPositionsOnly) {
  testing::TempDir dir;
  write_known_capture(dir.file("a.h5"));
  const ActivationReader reader(dir.file("a.h5"));
  const std::vector<HookStats> s = activation_stats(reader);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].site, "resid_post");
  EXPECT_EQ(s[0].vectors, 5);
  // values 1,3,1,3,-1,1,-1,1,3,5: mean 1.6, E[x^2] = 5.8 -> std sqrt(5.8 - 2.56) = 1.8
  EXPECT_NEAR(s[0].mean, 1.6, 1e-12);
  EXPECT_NEAR(s[0].std, 1.8, 1e-12);
  // per-vector RMS: sqrt(5) twice, 1 twice, sqrt(17)
  EXPECT_NEAR(s[0].rms, (2 * std::sqrt(5.0) + 2 + std::sqrt(17.0)) / 5, 1e-6);
  EXPECT_EQ(s[0].max_abs, 5.f);
  const Section sec = activation_stats_section(reader);
  ASSERT_EQ(sec.charts.size(), 1u);
  const json& spec = sec.charts[0].spec;
  EXPECT_EQ(spec["$schema"], "https://vega.github.io/schema/vega-lite/v6.json");
  EXPECT_EQ(spec["repeat"], json({"rms", "std", "mean"}));
  EXPECT_EQ(spec["data"]["values"][0]["hook"], "blocks.0.hook_resid_post");
  EXPECT_FALSE(sec.notes.empty()) << "names the hook kinds the capture lacks";
}

// A plain MLP's capture: its input, hidden layers and logits, the logits placed after the last hidden layer,
// the statistics those of the rows the forward wrote.
TEST(ActivationStats, PlainMlpCaptureShowsInputHiddenLayersAndLogits) {
  testing::TempDir dir;
  const Mlp mlp = testing::seeded_mlp({2, 5, 4, 3}, 7);
  ImageSet points;
  points.image_shape = {2};
  points.pixels.resize(6, 2);
  for (int i = 0; i < 12; ++i) points.pixels.data()[i] = 0.25f * float(i) - 1.0f;
  CaptureOptions o;
  o.hook_patterns = {"*"};
  ActivationFileInfo info;
  info.dataset_path = "six points";
  capture_mlp(mlp, points, {}, dir.file("mlp.h5"), info, o);
  const ActivationReader reader(dir.file("mlp.h5"));
  const std::vector<HookStats> s = activation_stats(reader);
  std::vector<std::pair<std::string, int>> sites;
  for (const HookStats& h : s) sites.emplace_back(h.site, h.layer);
  EXPECT_EQ(
      sites,
      (std::vector<std::pair<std::string, int>>{
          {"input", -1}, {"mlp_pre", 0}, {"mlp_post", 0}, {"mlp_pre", 1}, {"mlp_post", 1}, {"logits", 2}}));
  // The input's statistics are the points': 12 values -1, -0.75, ..., 1.75.
  EXPECT_NEAR(s[0].mean, 0.375, 1e-6);
  EXPECT_EQ(s[0].vectors, 6);
  EXPECT_EQ(s[0].max_abs, 1.75f);
  const Section sec = activation_stats_section(reader);
  EXPECT_TRUE(sec.notes.empty()) << "every MLP hook kind is there";
  EXPECT_EQ(sec.charts[0].spec["data"]["values"].back()["layer_label"], "out");
  EXPECT_EQ(sec.charts[0].spec["data"]["values"][0]["layer_label"], "in");
}

TEST(ActivationStats, CaptureWithoutTheHooksIsAnError) {
  testing::TempDir dir;
  ActivationFileInfo info;
  info.positions = "all", info.n_pos = 2;
  WriterOptions wo;
  wo.rows = 1;
  auto w = ActivationFileWriter::create(dir.file("q.h5"), info,
                                        {{"blocks.0.attn.hook_q", 0, "none", {2, 1, 2}}}, {}, wo);
  const std::vector<int32_t> tokens = {1, 2}, lengths = {2};
  const std::vector<float> q(4, 0.f);
  w->append(1, tokens.data(), lengths.data(), {}, {}, {q.data()});
  w->finish({});
  ReportInputs in;
  in.capture = dir.file("q.h5");
  const std::string e = testing::error_of<InputError>([&] { build_report(in); });
  EXPECT_CONTAINS(e, dir.file("q.h5"));
  EXPECT_CONTAINS(e, "holds none of the hooks");
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

json sweep_entry(const std::string& hook, int layer, const std::string& sha) {
  return {{"hook", hook},
          {"layer", layer},
          {"kind", "logistic"},
          {"label_kind", "token_class"},
          {"metrics", {{"test", {{"n", 100}, {"accuracy", 0.9}, {"balanced_accuracy", 0.8}}}}},
          {"baselines", {{"majority", {{"accuracy", 0.7}}}, {"control", {{"accuracy", 0.85}}}}},
          {"selectivity", 0.05},
          {"provenance", {{"model_sha256", sha}, {"model_path", "m.bin"}}}};
}

TEST(ProbeSection, AccuracyBaselinesAndSelectivityByLayer) {
  const json sweep = {{"capture", "a.h5"},
                      {"label", "in_quotes"},
                      {"probes",
                       {sweep_entry("hook_embed", -1, "aa"),
                        sweep_entry("blocks.0.hook_resid_post", 0, "aa"),
                        {{"hook", "blocks.1.hook_resid_post"}, {"skipped", "one class"}}}}};
  const Section s = probe_section(sweep, "s.json", {{"aa", "capture a.h5"}});
  ASSERT_EQ(s.charts.size(), 2u);
  const json& values = s.charts[0].spec["data"]["values"];
  EXPECT_EQ(values.size(), 8u);  // 2 probes x (accuracy, balanced, control, majority)
  EXPECT_EQ(values[2]["series"], "control task");
  EXPECT_EQ(values[2]["value"], 0.85);
  EXPECT_EQ(s.charts[1].spec["data"]["values"][0]["value"], 0.05);
  ASSERT_EQ(s.notes.size(), 1u);
  EXPECT_CONTAINS(s.notes[0], "blocks.1.hook_resid_post skipped: one class");
}

TEST(ProbeSection, SweepOfAnotherModelIsAnError) {
  const json sweep = {{"capture", "a.h5"}, {"label", "x"}, {"probes", {sweep_entry("hook_embed", -1, "aa")}}};
  const std::string e = testing::error_of<InputError>([&] {
    probe_section(sweep, "s.json", {{"bb", "capture b.h5"}});
  });
  EXPECT_CONTAINS(e, "s.json: probes were fitted on a capture of another model");
  EXPECT_CONTAINS(e, "capture b.h5");
  const json mixed = {
      {"capture", "a.h5"},
      {"label", "x"},
      {"probes", {sweep_entry("hook_embed", -1, "aa"), sweep_entry("blocks.0.hook_resid_post", 0, "cc")}}};
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { probe_section(mixed, "s.json", {}); }),
                  "mixes probes of two models");
}

TEST(ProbeSection, FilesThatAreNotASweepAreErrors) {
  testing::TempDir dir;
  std::ofstream(dir.file("bad.json")) << "{\"probes\": 3}";
  std::ofstream(dir.file("text.json")) << "not json";
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { read_probe_sweep(dir.file("bad.json")); }),
                  "not the output of resid probe sweep --json");
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { read_probe_sweep(dir.file("text.json")); }),
                  "not JSON");
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { read_probe_sweep(dir.file("none.json")); }),
                  "cannot open");
}

TEST(CensusSection, DeadAndRareNeuronsAreMappedAndListed) {
  CensusResult c;
  c.options.rare_densities = {0.3};
  c.layers.emplace_back(0, "blocks.0.mlp.hook_post", 3);
  // 4 tokens: neuron 0 fires on all, neuron 1 never, neuron 2 on one (density 0.25 < 0.3: rare).
  const std::vector<float> rows = {1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0};
  c.layers[0].add_rows(rows.data(), 4, 0.0);
  const Section s = census_section(c, "c.h5");
  ASSERT_EQ(s.charts.size(), 3u);
  EXPECT_EQ(s.charts[0].spec["data"]["values"][0]["dead"], 1);
  const json& map = s.charts[2].spec["data"]["values"];
  ASSERT_EQ(map.size(), 2u);
  EXPECT_EQ(map[0]["neuron"], 1);
  EXPECT_EQ(map[0]["status"], "dead");
  EXPECT_EQ(map[1]["status"], "rare");
  ASSERT_EQ(s.lists.size(), 1u);
  EXPECT_EQ(s.lists[0].text, "dead: 1\nrare: 2");
}

TEST(WeightTiles, PngAndTiles) {
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64("fo"), "Zm8=");
  const std::string png = encode_png_rgb(2, 1, {255, 0, 0, 0, 0, 255});
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(square_tile_side(784), 28);
  EXPECT_EQ(square_tile_side(100), 10);
  EXPECT_EQ(square_tile_side(10), 0);
  uint8_t rgb[3];
  diverging_rgb(0.f, rgb);
  EXPECT_EQ(rgb[0], 255);
  EXPECT_EQ(rgb[2], 255);

  std::vector<Linear> layers;
  layers.push_back({Tensor::owned({2, 4}, {1, -1, 0, 0.5f, 0, 0, 0, 0}), Tensor::owned({2}, {0, 1})});
  layers.push_back({Tensor::owned({1, 2}, {1, 1}), Tensor::owned({1}, {0})});
  const Mlp mlp(std::move(layers), ActFn::ReLU);
  CensusResult c;
  c.layers.emplace_back(0, "blocks.0.mlp.hook_post", 2);
  const std::vector<float> rows = {1, 0};
  c.layers[0].add_rows(rows.data(), 1, 0.0);
  const Section s = weight_tiles_section(mlp, "mlp.safetensors", &c);
  const json& values = s.charts[0].spec["data"]["values"];
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0]["url"].get<std::string>().rfind("data:image/png;base64,", 0), 0u);
  EXPECT_EQ(values[1]["dead"], true);
  EXPECT_EQ(s.charts[0].spec["layer"].size(), 2u) << "dead tiles are outlined";

  std::vector<Linear> odd;
  odd.push_back({Tensor::owned({1, 3}, {1, 2, 3}), Tensor::owned({1}, {0})});
  const Mlp mlp3(std::move(odd), ActFn::ReLU);
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { weight_tiles_section(mlp3, "m3", nullptr); }),
                  "3 inputs are not a square image");
}

TEST(ReportCli, BadInputIsOneLineExitTwoAndNoFile) {
  testing::TempDir dir;
  testing::SyntheticCapture sc;
  testing::write_synthetic_capture(dir.file("a.h5"), sc);
  std::ofstream(dir.file("other.json"))
      << json{{"capture", "x.h5"},
              {"label", "quote"},
              {"probes", {sweep_entry("hook_embed", -1, std::string(64, 'f'))}}}
             .dump();
  const std::string out = dir.file("r.html");
  const testing::CliRun r = testing::run_resid(
      {"report", "-o", out, "--capture", dir.file("a.h5"), "--probe-sweep", dir.file("other.json")});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_CONTAINS(r.err, "resid report: error: " + dir.file("other.json") +
                             ": probes were fitted on a capture of another model");
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find("r.html"), std::string::npos) << "left behind: " << e.path();

  const testing::CliRun ok = testing::run_resid({"report", "-o", out, "--capture", dir.file("a.h5")});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_CONTAINS(ok.out, "1 sections, 1 charts; skipped:");
  EXPECT_TRUE(fs::exists(out));
}

}  // namespace
}  // namespace resid
