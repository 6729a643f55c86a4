// `resid report` opened in a real browser: headless Debian Chromium loads each generated page from disk (no
// network), and the page's own markers say whether every chart rendered and whether anything was logged:
// <body data-charts data-rendered data-status> and <html data-errors> with <pre id="report-errors"> (see
// reports/html_page.h). Screenshots of each section go to <build>/tests/reports/screenshots/.
//
//   SyntheticInputs: a synthetic capture, a probe sweep of it, a hand-made census and a tiny MLP (no
//   ../shared); Stories260K:     the full report: capture, census, probe sweep, logit lens and attention of
//   stories260K; MnistPartial:    the MNIST MLP's census and weight tiles only: the other sections are listed
//   as skipped. Demo: the report of `resid demo`.
// Each skips only when Chromium is missing or cannot start here.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "census/census_file.h"
#include "core/formats/mlp_safetensors.h"
#include "core/init.h"
#include "probes/synthetic_capture.h"
#include "reports/build_report.h"
#include "reports/html_page.h"
#include "test_support.h"

namespace resid {
namespace {

namespace fs = std::filesystem;
using testing::CliRun;

// The Chromium binary: $RESID_CHROMIUM, else the first of chromium / chromium-browser / google-chrome on
// PATH.
std::string find_chromium() {
  if (const char* e = std::getenv("RESID_CHROMIUM")) return e;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin";
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    size_t start = 0;
    while (start <= dirs.size()) {
      const size_t end = std::min(dirs.find(':', start), dirs.size());
      const fs::path p = fs::path(dirs.substr(start, end - start)) / name;
      if (::access(p.c_str(), X_OK) == 0) return p.string();
      start = end + 1;
    }
  }
  return "";
}

class Browser {
 public:
  explicit Browser(const testing::TempDir& dir)
      : binary_(find_chromium()), profile_(dir.file("chromium-profile")) {}

  // Why Chromium cannot be used here ("" when it can): missing, or failing to load a blank page.
  std::string unavailable() const {
    if (binary_.empty()) return "Chromium not found (scripts/setup.sh installs Debian's chromium)";
    const CliRun r = run({"--dump-dom", "about:blank"});
    if (r.status != 0 || r.out.find("<html") == std::string::npos)
      return binary_ + " cannot start here (exit " + std::to_string(r.status) + "): " + last_line(r.err);
    return "";
  }

  // The DOM after the page's scripts ran (virtual time lets every timer and promise settle).
  CliRun dump_dom(const std::string& html) const {
    return run({"--virtual-time-budget=30000", "--dump-dom", "file://" + fs::absolute(html).string()});
  }
  // One section alone under the header (report.html?section=ID), as a PNG.
  void screenshot(const std::string& html, const std::string& section, const std::string& png,
                  int height) const {
    fs::create_directories(fs::path(png).parent_path());
    fs::remove(png);
    const CliRun r = run({"--virtual-time-budget=30000", "--hide-scrollbars",
                          "--window-size=1400," + std::to_string(height), "--screenshot=" + png,
                          "file://" + fs::absolute(html).string() + "?section=" + section});
    EXPECT_EQ(r.status, 0) << last_line(r.err);
    EXPECT_GT(fs::exists(png) ? fs::file_size(png) : 0, 10000u) << png << " is missing or blank";
  }

 private:
  static std::string last_line(const std::string& s) {
    const size_t end = s.find_last_not_of('\n');
    if (end == std::string::npos) return "";
    const size_t start = s.rfind('\n', end);
    return s.substr(start == std::string::npos ? 0 : start + 1,
                    end - (start == std::string::npos ? 0 : start + 1) + 1);
  }
  CliRun run(std::vector<std::string> args) const {
    std::vector<std::string> argv = {binary_,
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-background-networking",
                                     "--no-first-run",
                                     "--no-default-browser-check",
                                     "--user-data-dir=" + profile_};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::RunOptions o;
    o.timeout_s = 240;
    return testing::run_process(argv, o);
  }
  std::string binary_, profile_;
};

std::string attribute(const std::string& dom, const std::string& tag, const std::string& name) {
  std::smatch m;
  const std::regex tag_re("<" + tag + "[^>]*\\s" + name + "=\"([^\"]*)\"");
  return std::regex_search(dom, m, tag_re) ? m[1].str() : "";
}

// Every chart rendered, nothing logged; returns the DOM.
std::string expect_rendered(const Browser& browser, const std::string& html, int charts) {
  const CliRun r = browser.dump_dom(html);
  EXPECT_EQ(r.status, 0);
  const std::string& dom = r.out;
  EXPECT_EQ(attribute(dom, "body", "data-charts"), std::to_string(charts));
  EXPECT_EQ(attribute(dom, "body", "data-rendered"), std::to_string(charts)) << "charts that rendered";
  EXPECT_EQ(attribute(dom, "body", "data-status"), "ok");
  EXPECT_EQ(attribute(dom, "html", "data-errors"), "0");
  std::smatch m;
  if (std::regex_search(dom, m, std::regex("<pre id=\"report-errors\">([^<]*)</pre>"))) {
    EXPECT_EQ(m[1].str(), "") << "the page logged errors";
  }
  EXPECT_EQ(std::count(dom.begin(), dom.end(), '\0'), 0);
  return dom;
}

std::string screenshot_path(const std::string& report, const std::string& section) {
  return (fs::path(RESID_BINARY_DIR) / "tests" / "reports" / "screenshots" /
          (report + "-" + section + ".png"))
      .string();
}

CliRun resid_ok(const std::vector<std::string>& args) {
  const CliRun r = testing::run_resid(args);
  EXPECT_EQ(r.status, 0) << args[0] << ": " << r.err;
  return r;
}

struct ReportInBrowser : ::testing::Test {
  testing::TempDir dir;
  Browser browser{dir};
  void SetUp() override {
    const std::string why = browser.unavailable();
    if (!why.empty()) GTEST_SKIP() << why;
  }
};

TEST_F(ReportInBrowser, SyntheticInputs) {
  testing::write_synthetic_capture(dir.file("acts.h5"), testing::SyntheticCapture{});
  const CliRun sweep = resid_ok({"probe", "sweep", dir.file("acts.h5"), "--hooks", "blocks.*.hook_resid_post",
                                 "--label", "quote", "--json", "--jobs", "1"});
  std::ofstream(dir.file("sweep.json")) << sweep.out;
  // A census of two layers of 16 neurons over 10 tokens: neuron j fires on j tokens (0 = dead, 1 = rare), and
  // a plain MLP of 16 inputs (4x4 tiles) whose first layer those neurons are.
  CensusResult c;
  c.ffn = "ReLU MLP";
  c.source = "synthetic", c.data = "synthetic tokens";
  c.n_examples = 10;
  c.options.rare_densities = {0.15};
  for (int l = 0; l < 2; ++l) {
    c.layers.emplace_back(l, "blocks." + std::to_string(l) + ".mlp.hook_post", 16);
    std::vector<float> rows(10 * 16);  // [tokens, neurons]
    for (int t = 0; t < 10; ++t)
      for (int j = 0; j < 16; ++j) rows[t * 16 + j] = t < j ? 1.f : 0.f;
    c.layers.back().add_rows(rows.data(), 10, 0.0);
  }
  write_census_file(dir.file("census.h5"), c);
  std::vector<float> w(16 * 16);
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.37f * float(i));
  std::vector<Linear> layers;
  layers.push_back({Tensor::owned({16, 16}, w), Tensor::owned({16}, std::vector<float>(16, 0.f))});
  layers.push_back({Tensor::owned({2, 16}, std::vector<float>(32, 0.1f)), Tensor::owned({2}, {0, 0})});
  save_mlp_safetensors(dir.file("mlp.safetensors"), Mlp(std::move(layers), ActFn::ReLU));

  const std::string html = dir.file("synthetic.html");
  const CliRun r = resid_ok({"report", "-o", html, "--title", "synthetic </script> report", "--capture",
                             dir.file("acts.h5"), "--census", dir.file("census.h5"), "--probe-sweep",
                             dir.file("sweep.json"), "--mlp-weights", dir.file("mlp.safetensors")});
  EXPECT_CONTAINS(r.out, "4 sections, 7 charts; skipped: Logit lens (no model and prompt given)");
  const std::string dom = expect_rendered(browser, html, 7);
  EXPECT_CONTAINS(dom, "<b>Attention patterns</b>: no model and prompt given");
  browser.screenshot(html, "census", screenshot_path("synthetic", "census"), 1500);
}

TEST_F(ReportInBrowser, Stories260K) {
  RESID_REQUIRE_SHARED(model, "models/stories260K/stories260K.bin");
  RESID_REQUIRE_SHARED(data, "data/tinystories/tinystories_sample.txt");
  const std::string acts = dir.file("acts.h5"), census = dir.file("census.h5");
  resid_ok({"capture",
            model,
            data,
            "--rule",
            "in_quotes",
            "--hooks",
            "hook_embed",
            "blocks.*.hook_resid_pre",
            "blocks.*.hook_resid_mid",
            "blocks.*.hook_resid_post",
            "blocks.*.hook_attn_out",
            "blocks.*.hook_mlp_out",
            "blocks.*.mlp.hook_pre",
            "--max-tokens",
            "96",
            "--truncate",
            "--max-rows",
            "200",
            "-o",
            acts});
  resid_ok({"census", "--capture", acts, "-o", census});
  const CliRun sweep = resid_ok({"probe", "sweep", acts, "--hooks", "hook_embed", "blocks.*.hook_resid_post",
                                 "--label", "in_quotes", "--json"});
  std::ofstream(dir.file("sweep.json")) << sweep.out;
  const std::string html = dir.file("stories260K.html");
  resid_ok({"report", "-o", html, "--title",
            "stories260K: activations, census, probes, logit lens, attention", "--capture", acts, "--census",
            census, "--probe-sweep", dir.file("sweep.json"), "--model", model, "--prompt",
            "Once upon a time, Lily said \"hello\" to the cat."});
  // activation stats 1, census 2 (no dead or rare neuron: no map), probes 2, logit lens 1, attention 5
  // layers.
  const std::string dom = expect_rendered(browser, html, 11);
  for (const char* id : {"activation-stats", "census", "probes", "logit-lens", "attention"})
    EXPECT_CONTAINS(dom, std::string("<section id=\"") + id + "\">");
  browser.screenshot(html, "activation-stats", screenshot_path("stories260K", "activation-stats"), 1000);
  browser.screenshot(html, "probes", screenshot_path("stories260K", "probes"), 1300);
  browser.screenshot(html, "logit-lens", screenshot_path("stories260K", "logit-lens"), 900);
  browser.screenshot(html, "attention", screenshot_path("stories260K", "attention"), 2000);
}

// A 2-D-input MLP's folds over points of three spiral arms, and two training histories side by side, built in
// process (the folds and training sections).
TEST_F(ReportInBrowser, PlaneFoldsAndTraining) {
  save_mlp_safetensors(dir.file("plane.safetensors"), testing::seeded_mlp({2, 16, 16, 3}, 4));
  ReportInputs in;
  in.title = "folds of a seeded 2-16-16-3 MLP";
  in.mlp_weights = dir.file("plane.safetensors");
  for (int arm = 0; arm < 3; ++arm)
    for (int i = 0; i < 60; ++i) {
      const float r = 0.1f + i / 60.f, t = 4.f * r + arm * 2.0944f;
      in.plane_points.xy.push_back(r * std::cos(t));
      in.plane_points.xy.push_back(r * std::sin(t));
      in.plane_points.label.push_back(arm);
    }
  in.plane_points_source = "3 spiral arms";
  for (const double lr : {0.05, 2.0}) {
    TrainingHistory h;
    h.run = "lr " + std::to_string(lr).substr(0, 4);
    h.source = "hand-written history";
    for (int e = 1; e <= 20; ++e)
      h.epochs.push_back({e,
                          (lr > 1 ? 0.9 : 1.1) / std::sqrt(double(e)),
                          lr > 1 ? 0.55 : 0.6 + 0.02 * e,
                          -1,
                          {lr > 1 ? std::min(0.7, 0.3 + 0.05 * e) : 0.02, lr > 1 ? 0.5 : 0.0}});
    in.training_runs.push_back(h);
  }
  const std::string html = dir.file("plane.html");
  write_report(html, build_report(in));
  const std::string dom = expect_rendered(browser, html, 6);  // folds: classes + 2 layers; training: 3
  EXPECT_CONTAINS(dom, "linear regions");
  browser.screenshot(html, "folds", screenshot_path("plane", "folds"), 1800);
  browser.screenshot(html, "training", screenshot_path("plane", "training"), 1500);
}

// The report `resid demo` writes, the one the README shows: every chart renders, nothing is logged.
TEST_F(ReportInBrowser, Demo) {
  const CliRun r = resid_ok({"demo", "--out", dir.file("demo"), "--threads", "2"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"((\d+) sections, (\d+) charts)"))) << r.out;
  const std::string html = dir.file("demo/report.html");
  const std::string dom = expect_rendered(browser, html, std::stoi(m[2]));
  EXPECT_CONTAINS(dom, "linear regions");
  for (const char* section : {"folds", "training", "probes"})
    browser.screenshot(html, section, screenshot_path("demo", section), 1800);
}

TEST_F(ReportInBrowser, MnistPartial) {
  RESID_REQUIRE_SHARED(mlp, "models/mnist-mlp/mnist_mlp.safetensors");
  RESID_REQUIRE_SHARED(images, "data/mnist/t10k-images-idx3-ubyte.gz");
  RESID_REQUIRE_SHARED(labels, "data/mnist/t10k-labels-idx1-ubyte.gz");
  const std::string census = dir.file("mnist-census.h5");
  resid_ok({"census", mlp, "--images", images, "--labels", labels, "-o", census});
  const std::string html = dir.file("mnist.html");
  const CliRun r = resid_ok({"report", "-o", html, "--title", "MNIST MLP: census and first-layer weights",
                             "--census", census, "--mlp-weights", mlp});
  EXPECT_CONTAINS(r.out, "2 sections, 4 charts");
  const std::string dom = expect_rendered(browser, html, 4);
  EXPECT_CONTAINS(dom, "<b>Activation statistics by layer</b>: no capture given");
  EXPECT_CONTAINS(dom, "<b>Linear probes by layer</b>: no probe sweep given");
  EXPECT_CONTAINS(dom, "accuracy");
  browser.screenshot(html, "census", screenshot_path("mnist", "census"), 1500);
  browser.screenshot(html, "weights", screenshot_path("mnist", "weights"), 1500);
  browser.screenshot(html, "skipped", screenshot_path("mnist", "skipped"), 800);
}

}  // namespace
}  // namespace resid
