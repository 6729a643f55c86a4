// Library errors speak the library's terms (the option struct's field names); `resid` names its flags instead
// (cli/flag_names.h). The mapping itself, then one failure each from the capture, datasets and probes
// libraries seen both ways: the library call names the field, the same failure through the CLI names the
// flag.
#include <gtest/gtest.h>

#include <fstream>

#include "capture/capture.h"
#include "cli/flag_names.h"
#include "core/formats/gguf.h"
#include "core/formats/model_file.h"
#include "core/init.h"
#include "probes/capture_probe.h"
#include "probes/synthetic_capture.h"
#include "test_support.h"

namespace resid {
namespace {

using cli::flag_names;
using testing::error_of;

TEST(FlagNames, FieldsStandingAsWordsBecomeFlags) {
  EXPECT_EQ(flag_names("n_pos 600 exceeds the model's n_ctx = 512"),
            "--max-tokens 600 exceeds the model's n_ctx = 512");
  EXPECT_EQ(flag_names("a.txt:2: example has 9 tokens, longer than max_tokens = 4 (set truncate to cut it)"),
            "a.txt:2: example has 9 tokens, longer than --max-tokens = 4 (set --truncate to cut it)");
  EXPECT_EQ(
      flag_names("x.h5 is a FIFO; force replaces only regular files (force_any replaces any regular file)"),
      "x.h5 is a FIFO; --force replaces only regular files (--force-overwrite-any replaces any regular "
      "file)");
  EXPECT_EQ(flag_names("hook_patterns: no hooks selected"), "--hooks: no hooks selected");
  // resid train's options (TrainOptions, OptimizerOptions, PointSource, ToyOptions).
  EXPECT_EQ(flag_names("lr = nan must be a positive finite number"),
            "--lr = nan must be a positive finite number");
  EXPECT_EQ(flag_names("widths '2-' need an input and an output width"),
            "--layers '2-' need an input and an output width");
  EXPECT_EQ(flag_names("has class 2 but the model has 2 outputs (widths 2-4-2)"),
            "has class 2 but the model has 2 outputs (--layers 2-4-2)");
}

TEST(FlagNames, PathsQuotedValuesAndDescriptionsAreLeftAlone) {
  // A path component, a file name, a quoted value, a key=value description, a flag already, a longer word.
  for (const std::string& same :
       {std::string("/data/force/x.h5 exists"), std::string("window.txt: no such file"),
        std::string("no hook matches 'positions'"), std::string("windows window=64"),
        std::string("--force and --resume contradict each other"),
        std::string("the file is truncated; windows are cut")})
    EXPECT_EQ(flag_names(same), same);
}

TEST(FlagNames, RethrowsTheSameErrorType) {
  const auto thrown = [](auto error) {
    return [error] { cli::with_flag_names([&]() -> int { throw error; }); };
  };
  EXPECT_EQ(error_of<FormatError>(thrown(FormatError("a.h5", "damaged (start again with force)"))),
            "a.h5: damaged (start again with --force)");
  EXPECT_EQ(error_of<ConfigError>(thrown(ConfigError("batch_size 0 is below 1"))),
            "--batch-size 0 is below 1");
  EXPECT_EQ(error_of<InputError>(thrown(InputError("max_rows -1 is negative"))), "--max-rows -1 is negative");
  EXPECT_EQ(cli::with_flag_names([] { return 7; }), 7);
}

// A tiny model and a token file whose second example is longer than 4 tokens.
struct BothWays : ::testing::Test {
  testing::TempDir dir;
  std::string model = dir.file("tiny.gguf"), data = dir.file("ids.tokens"), out = dir.file("out.h5");

  void SetUp() override {
    const Config c = testing::tiny_config();
    write_gguf(model, c, random_weights(c, 5));
    std::ofstream(data) << "1 2 3\n1 2 3 4 5 6 7\n";
  }

  // What capture_activations throws for the options the CLI derives from `--max-tokens n_pos`.
  std::string library_error(int n_pos, bool truncate) const {
    const LoadedModel m = load_model(model);
    CaptureOptions options;
    options.hook_patterns = {"hook_embed"};
    options.n_pos = n_pos;
    const CapturePlan plan = CapturePlan::resolve(m.transformer->config(), options);
    DatasetOptions d;
    d.path = data;
    d.truncate = truncate;
    plan.limit_dataset(d);
    auto dataset = open_dataset(d, nullptr);
    ActivationFileInfo info;
    info.dataset_path = data;
    return error_of<InputError>(
        [&] { capture_activations(*m.transformer, plan, *dataset, out, info, options); });
  }

  testing::CliRun cli(const std::vector<std::string>& extra) const {
    std::vector<std::string> args = {"capture", model, data, "--hooks", "hook_embed", "-o", out};
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::run_resid(args);
  }
};

TEST_F(BothWays, ExampleLongerThanMaxTokens) {
  const std::string library = library_error(4, false);
  EXPECT_CONTAINS(library,
                  data + ":2: example has 7 tokens, longer than max_tokens = 4 (set truncate to cut it)");
  EXPECT_EQ(library.find("--"), std::string::npos) << library;

  const testing::CliRun r = cli({"--max-tokens", "4"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_CONTAINS(r.err,
                  data + ":2: example has 7 tokens, longer than --max-tokens = 4 (set --truncate to cut it)");
}

TEST_F(BothWays, OutputThatExists) {
  ASSERT_EQ(cli({}).status, 0);
  const std::string library = library_error(0, false);
  EXPECT_CONTAINS(library, out + " exists (set force to replace it)");
  EXPECT_EQ(library.find("--"), std::string::npos) << library;

  const testing::CliRun r = cli({});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_CONTAINS(r.err, out + " exists (set --force to replace it)");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(FlagNamesProbes, MemoryBudgetBelowTheIndex) {
  testing::TempDir dir;
  const std::string acts = dir.file("acts.h5");
  testing::write_synthetic_capture(acts, testing::SyntheticCapture());
  probes::CaptureFitOptions o;
  o.examples.hook = "blocks.0.hook_resid_post";
  o.examples.label = "quote";
  o.memory_bytes = 1024;
  const std::string library = error_of<InputError>([&] { probes::fit_capture_probe(acts, o); });
  EXPECT_CONTAINS(library, "memory_bytes ");
  EXPECT_CONTAINS(library, " is below the example index");
  EXPECT_EQ(library.find("--"), std::string::npos) << library;

  const testing::CliRun r = testing::run_resid(
      {"probe", "fit", acts, "--hook", "blocks.0.hook_resid_post", "--label", "quote", "--memory", "1k"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_CONTAINS(r.err, "--memory ");
  EXPECT_CONTAINS(r.err, " is below the example index");
}

}  // namespace
}  // namespace resid
