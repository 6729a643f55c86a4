// The training section's charts from hand-written histories.
#include "core/error.h"
#include "reports/training_section.h"
#include "test_support.h"

namespace resid {
namespace {

TrainingHistory run(const std::string& name, double dead_end) {
  TrainingHistory h;
  h.run = name;
  h.source = name + ".json";
  for (int e = 1; e <= 3; ++e) h.epochs.push_back({e, 1.0 / e, 0.5 + 0.1 * e, -1, {dead_end * e / 3, 0.0}});
  return h;
}

TEST(TrainingSection, LossAccuracyAndDeadFractionPerRunAndLayer) {
  const Section s = training_section({run("lr 0.01", 0.0), run("lr 2", 0.6)});
  ASSERT_EQ(s.charts.size(), 3u);  // no test accuracy recorded: no test chart
  EXPECT_EQ(s.charts[0].title, "Training loss");
  EXPECT_EQ(s.charts[0].spec["data"]["values"].size(), 6u);
  const auto& dead = s.charts[2].spec["data"]["values"];
  ASSERT_EQ(dead.size(), 12u);  // 2 runs x 3 epochs x 2 layers
  EXPECT_EQ(dead[9]["run"], "lr 2");
  EXPECT_EQ(dead[10]["layer"], "layer 0");
  EXPECT_DOUBLE_EQ(dead[10]["dead"].get<double>(), 0.6);
  // Layers differ by point shape, not only by dash: the legend draws points, and points hide dashes.
  const auto& encoding = s.charts[2].spec["encoding"];
  EXPECT_EQ(encoding["shape"]["field"], "layer");
  EXPECT_EQ(encoding["strokeDash"]["field"], "layer");
  EXPECT_EQ(encoding["color"]["field"], "run");
  EXPECT_EQ(s.sources.size(), 2u);
}

TEST(TrainingSection, MismatchedRunsAreInputErrors) {
  EXPECT_CONTAINS(testing::error_of<InputError>([] { training_section({}); }), "no training runs");
  TrainingHistory empty;
  empty.run = "x";
  empty.source = "x.json";
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { training_section({empty}); }),
                  "x.json: training run 'x' has no epochs");
  TrainingHistory three = run("deep", 0.1);
  three.epochs[1].dead_fraction.push_back(0);
  EXPECT_CONTAINS(testing::error_of<InputError>([&] {
                    training_section({run("a", 0), three});
                  }),
                  "has 3 hidden layers at epoch 2, the first run 2");
}

}  // namespace
}  // namespace resid
