// The round trip of issue 9 on a real model: capture stories260K over TinyStories with the in_quotes rule,
// fit a probe, write its "yes" direction with `resid probe direction`, and steer `resid run --steer` along
// it. The probed property must move the way the probe says: steering towards "inside a quotation" raises the
// log-probability of the closing-quote token, steering away lowers it. (bench/probe_steer_check.py prints the
// same numbers for any alpha.) Seeded random unit directions at the same alpha are the control: the probe's
// direction must move the token more than any of them. Skips when ../shared is absent.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "probes/npy.h"
#include "test_support.h"

namespace resid {
namespace {

constexpr int kQuoteToken = 436;  // '"' in stories260K's tok512 (313 is ' "', an opening quote after a space)
const char* const kHook = "blocks.3.hook_resid_post";

// log p(kQuoteToken) at the last position of `prompt`, steered along `dir` by alpha (none when alpha is 0).
double quote_logprob(const std::string& model, const std::string& prompt, const std::string& dir,
                     double alpha) {
  std::vector<std::string> args = {"run",    model,          "--prompt", prompt,
                                   "--json", "--all-logits", "--top-k",  "1"};
  if (alpha != 0) {
    char steer[512];
    std::snprintf(steer, sizeof steer, "%s=%s*%g", kHook, dir.c_str(), alpha);
    args.insert(args.end(), {"--steer", steer});
  }
  const testing::CliRun r = testing::run_resid(args);
  EXPECT_EQ(r.status, 0) << r.err;
  if (r.status != 0) return NAN;
  const std::vector<float> logits = nlohmann::json::parse(r.out)["positions"].back()["logits"];
  double max = logits[0], sum = 0;
  for (float v : logits) max = std::max<double>(max, v);
  for (float v : logits) sum += std::exp(v - max);
  return logits[kQuoteToken] - max - std::log(sum);
}

TEST(ProbeSteer, ProbeDirectionMovesTheQuoteLogitTheWayTheProbeSays) {
  RESID_REQUIRE_SHARED(model, "models/stories260K/stories260K.bin");
  RESID_REQUIRE_SHARED(data, "data/tinystories/tinystories_sample.txt");
  testing::TempDir dir;
  const std::string acts = dir.file("quotes.h5"), probe = dir.file("quotes.safetensors"),
                    direction = dir.file("yes.npy");
  testing::CliRun r = testing::run_resid(
      {"capture", model, data, "--rule", "in_quotes", "--hooks", kHook, "--max-rows", "250", "-o", acts});
  ASSERT_EQ(r.status, 0) << r.err;
  r = testing::run_resid({"probe", "fit", acts, "--hook", kHook, "--label", "in_quotes", "--lambda", "1e-3",
                          "--no-control", "--json", "-o", probe});
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json fit = nlohmann::json::parse(r.out);
  // The probe is worth steering with: better than always answering "not in quotes".
  ASSERT_GT(fit["metrics"]["test"]["accuracy"].get<double>(),
            fit["baselines"]["majority"]["accuracy"].get<double>());
  r = testing::run_resid({"probe", "direction", probe, "--class", "yes", "-o", direction});
  ASSERT_EQ(r.status, 0) << r.err;

  // A prompt with no quotation in it: the closing quote is unlikely until the model is pushed inside one.
  const std::string prompt = "Once upon a time, there was a little girl named Lily. She liked to play";
  const double away = quote_logprob(model, prompt, direction, -6),
               none = quote_logprob(model, prompt, direction, 0),
               towards = quote_logprob(model, prompt, direction, 6);
  // Control: seeded random unit directions at the same alpha move it less.
  std::mt19937_64 rng(0);
  std::normal_distribution<float> normal;
  double best_random = -INFINITY;
  for (int i = 0; i < 3; ++i) {
    Eigen::VectorXf v(64);
    for (Eigen::Index j = 0; j < v.size(); ++j) v[j] = normal(rng);
    v.normalize();
    const std::string random = dir.file("random" + std::to_string(i) + ".npy");
    probes::write_npy_f32(random, v.data(), {v.size()});
    best_random = std::max(best_random, quote_logprob(model, prompt, random, 6));
  }
  std::printf(
      "log p('\"') at the last position: alpha -6 %.2f, 0 %.2f, +6 %.2f; best of 3 random directions at +6 "
      "%.2f\n",
      away, none, towards, best_random);
  // bench/probe_steer_check.py measured moves of several nats each way; 1 nat keeps clear of float noise.
  EXPECT_GT(towards, none + 1.0);
  EXPECT_LT(away, none - 1.0);
  EXPECT_GT(towards, best_random + 1.0);
}

}  // namespace
}  // namespace resid
