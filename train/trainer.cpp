#include "train/trainer.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "train/batches.h"
#include "train/gemm_threads.h"
#include "train/mlp_backprop.h"

namespace resid::train {

namespace {
// What train_mlp_from needs of the options: everything but the model's shape and init.
void validate_schedule(const TrainOptions& o) {
  o.optimizer.validate();
  if (o.batch_size < 1)
    throw ConfigError("batch_size = " + std::to_string(o.batch_size) + " must be at least 1");
  if (o.epochs < 1) throw ConfigError("epochs = " + std::to_string(o.epochs) + " must be at least 1");
  if (o.init_redraws < 0)
    throw ConfigError("init_redraws = " + std::to_string(o.init_redraws) + " must not be negative");
}
}  // namespace

void TrainOptions::validate() const {
  MlpConfig config;
  config.widths = widths;
  config.validate();
  init_scheme(init);
  validate_schedule(*this);
}

std::vector<int> parse_widths(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, '-');) {
    int v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || v < 1)
      throw ConfigError("widths '" + text + "': '" + item +
                        "' is not a positive width (expected e.g. 2-64-64-3)");
    out.push_back(v);
  }
  if (out.size() < 2 || text.back() == '-')
    throw ConfigError("widths '" + text + "' need an input and an output width at least (e.g. 2-64-64-3)");
  return out;
}

std::string widths_string(const std::vector<int>& widths) {
  std::string s;
  for (int w : widths) s += (s.empty() ? "" : "-") + std::to_string(w);
  return s;
}

std::string Divergence::describe() const {
  std::ostringstream s;
  s << "loss became " << loss << " at step " << step << " (epoch " << epoch << ")";
  return s.str();
}

namespace {

void check_data(const std::vector<int>& w, const PointSet& set, const char* role) {
  if (set.n_features() != w.front())
    throw InputError(set.source + ": the " + role + " set has " + std::to_string(set.n_features()) +
                     " features but the model takes " + std::to_string(w.front()) + " inputs (widths " +
                     widths_string(w) + ")");
  for (int32_t label : set.y)
    if (label < 0 || label >= w.back())
      throw InputError(set.source + ": the " + role + " set has class " + std::to_string(label) +
                       " but the model has " + std::to_string(w.back()) + " outputs (widths " +
                       widths_string(w) + ")");
}

// The training set (non-empty) and the test set, if any, against the model's widths.
void check_sets(const std::vector<int>& widths, const PointSet& train, const PointSet* test) {
  if (train.size() == 0) throw InputError(train.source + ": the training set is empty");
  check_data(widths, train, "training");
  if (test) check_data(widths, *test, "test");
}

EpochStats stats_of(const MlpParams<float>& params, const PointSet& train, const PointSet* test,
                    LossKind loss, int epoch, int64_t step) {
  EpochStats s;
  s.epoch = epoch;
  s.step = step;
  s.train = evaluate(params, train, loss);
  if (test && test->size() > 0) s.test = evaluate(params, *test, loss);
  return s;
}

}  // namespace

TrainResult train_mlp(const PointSet& train, const PointSet* test, const TrainOptions& options,
                      const TrainCallbacks& callbacks) {
  options.validate();
  check_sets(options.widths, train, test);
  CoveringInit init = [&] {
    const GemmThreads threads(gemm_threads_for(options.widths, options.batch_size));
    return covering_init(options.widths, options.act_fn, options.init, options.seed, train,
                         options.init_redraws);
  }();
  if (callbacks.on_init) callbacks.on_init(init);
  TrainResult result = train_mlp_from(std::move(init.params), train, test, options, callbacks);
  result.init_draw = init.draw;
  return result;
}

TrainResult train_mlp_from(MlpParams<float> params, const PointSet& train, const PointSet* test,
                           const TrainOptions& options, const TrainCallbacks& callbacks) {
  validate_schedule(options);
  check_sets(params.widths(), train, test);

  const GemmThreads threads(gemm_threads_for(params.widths(), options.batch_size));
  TrainResult result;
  result.params = params;
  result.history.push_back(stats_of(params, train, test, options.loss, 0, 0));
  if (callbacks.on_epoch) callbacks.on_epoch(result.history.back());

  const std::unique_ptr<Optimizer> optimizer = make_optimizer(options.optimizer);
  MlpParams<float> grads = params.zeros_like();
  ForwardCache<float> cache;
  Matrix<float> xb, d_out;
  std::vector<int32_t> yb;
  const int64_t n = train.size(), batches = batch_count(n, options.batch_size);
  int64_t step = 0;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const std::vector<int64_t> order = epoch_order(n, options.seed, epoch);
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t first = b * options.batch_size, rows = std::min<int64_t>(options.batch_size, n - first);
      xb.resize(rows, train.n_features());  // [rows, d_in]
      yb.resize(static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; ++r) {
        xb.row(r) = train.x.row(order[first + r]);
        yb[r] = train.y[order[first + r]];
      }
      const Matrix<float> out = mlp_forward(params, xb, &cache);  // [rows, d_out]
      const double loss = loss_and_grad(options.loss, out, yb.data(), &d_out);
      ++step;
      if (!std::isfinite(loss)) {
        result.diverged = Divergence{step, epoch, loss};
        return result;
      }
      loss_sum += loss * double(rows);
      correct += count_correct(out, yb.data());
      seen += rows;
      mlp_backward(params, cache, d_out, grads);
      optimizer->step(params.tensors(), grads.tensors());
      if (callbacks.on_step)
        callbacks.on_step({epoch, step, batches, loss_sum / double(seen), double(correct) / double(seen)});
    }
    EpochStats stats = stats_of(params, train, test, options.loss, epoch, step);
    if (!std::isfinite(stats.train.loss) || !params.all_finite()) {
      // Finite parameters that give a non-finite loss, or parameters gone non-finite: NaN either way.
      const double loss = std::isfinite(stats.train.loss) ? std::nan("") : stats.train.loss;
      result.diverged = Divergence{step, epoch, loss};
      return result;
    }
    result.params = params;
    result.history.push_back(std::move(stats));
    if (callbacks.on_epoch) callbacks.on_epoch(result.history.back());
  }
  return result;
}

}  // namespace resid::train
