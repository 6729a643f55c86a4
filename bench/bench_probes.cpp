// Probe solvers on .npy data, for bench_probes.py (which runs scikit-learn on the same arrays and prints the
// ratios). Modes:
//   bench_probes logistic DIR LAMBDA [TOL]
//       DIR/x.npy [n, d] float32, DIR/y.npy [n] class ids (float32); TOL as resid probe fit --tol (1e-4)
//   bench_probes ridge DIR
//       DIR/x.npy, DIR/t.npy [n] targets: statistics, eigendecomposition, 20-lambda path
//   bench_probes sweep DIR HOOKS JOBS LAMBDA [TOL]
//       DIR/x<h>.npy, DIR/y<h>.npy for h < HOOKS, JOBS hooks at once
// Logistic times cover what scikit-learn's side times: standardising and fitting (not reading the files, not
// the train accuracy reported after). Prints one JSON line; writes DIR/ours_coef.npy (logistic, ridge at
// lambda 1e-2).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "core/openmp_wait.h"
#include "probes/logistic.h"
#include "probes/metrics.h"
#include "probes/npy.h"
#include "probes/ridge.h"
#include "probes/standardiser.h"

using namespace resid;
using namespace resid::probes;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Little-endian float32 C-order .npy (what numpy.save writes for float32 arrays).
RowMatrix read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  char pre[10];
  in.read(pre, 10);
  const size_t len = static_cast<unsigned char>(pre[8]) | static_cast<unsigned char>(pre[9]) << 8;
  std::string header(len, '\0');
  in.read(header.data(), len);
  if (header.find("'<f4'") == std::string::npos) throw std::runtime_error(path + ": not float32");
  const size_t open = header.find('('), close = header.find(')');
  std::string dims = header.substr(open + 1, close - open - 1);
  int64_t rows = std::stoll(dims), cols = 1;
  const size_t comma = dims.find(',');
  if (comma != std::string::npos && dims.find_first_of("0123456789", comma) != std::string::npos)
    cols = std::stoll(dims.substr(comma + 1));
  RowMatrix m(rows, cols);
  // Through a small reused buffer, not straight into m: the anchor's arrays are written by numpy in user
  // space, and on some VMs (this one: an AMD EPYC guest) the first user access to pages the kernel itself
  // faulted in during read() costs about 4.5 us a page, 170 ms for 150 MB, which would land inside resid's
  // clock alone.
  std::vector<char> buffer(size_t{1} << 20);
  char* to = reinterpret_cast<char*>(m.data());
  for (size_t left = size_t(rows * cols) * 4; left > 0;) {
    const size_t take = std::min(left, buffer.size());
    if (!in.read(buffer.data(), take)) throw std::runtime_error(path + ": shorter than its header says");
    std::memcpy(to, buffer.data(), take);
    to += take, left -= take;
  }
  return m;
}

std::vector<int32_t> labels(const RowMatrix& y) {
  std::vector<int32_t> out(y.size());
  for (Eigen::Index i = 0; i < y.size(); ++i) out[i] = static_cast<int32_t>(y.data()[i]);
  return out;
}

struct LogisticRun {
  double seconds = 0, accuracy = 0, standardise_seconds = 0;
  LbfgsReport report;
  LinearModel model;
};

int class_count(const std::vector<int32_t>& y) {
  int k = 0;
  for (int32_t v : y) k = std::max(k, v + 1);
  return k;
}

// Standardises x in place and fits; the timed part (what scikit-learn's side times: scaling and fit).
LogisticRun run_logistic(RowMatrix& x, const std::vector<int32_t>& y, double lambda, double tol) {
  const double t0 = now();
  const Standardiser s = Standardiser::fit(MatrixViewDesign(ConstMatrixMap(x.data(), x.rows(), x.cols())));
  s.apply(MatrixMap(x.data(), x.rows(), x.cols()));
  const double t_std = now();
  LogisticOptions o;
  o.lambda = lambda;
  o.tol = tol;
  LogisticRun r;
  r.model = fit_logistic(MatrixViewDesign(ConstMatrixMap(x.data(), x.rows(), x.cols())), y, class_count(y), o,
                         &r.report);
  r.seconds = now() - t0;
  r.standardise_seconds = t_std - t0;
  return r;
}

// Train accuracy of a fit on the standardised x, after the clock stops.
double train_accuracy(const RowMatrix& x, const std::vector<int32_t>& y, const LinearModel& model) {
  const MatrixViewDesign design(ConstMatrixMap(x.data(), x.rows(), x.cols()));
  return classification_metrics(y, predict_classes(model.scores(design)), class_count(y)).accuracy;
}

}  // namespace

int main(int argc, char** argv) {
  use_short_openmp_spin(argv);  // as the resid CLI runs (core/openmp_wait.h)
  if (argc < 3) {
    std::cerr << "usage: bench_probes logistic|ridge|sweep DIR ...\n";
    return 2;
  }
  const std::string mode = argv[1], dir = argv[2];
  nlohmann::json out = {{"mode", mode}, {"threads", omp_get_max_threads()}};
  if (mode == "logistic") {
    const double lambda = std::stod(argv[3]), tol = argc > 4 ? std::stod(argv[4]) : LogisticOptions().tol;
    RowMatrix x = read_npy(dir + "/x.npy");
    const std::vector<int32_t> y = labels(read_npy(dir + "/y.npy"));
    LogisticRun r = run_logistic(x, y, lambda, tol);
    r.accuracy = train_accuracy(x, y, r.model);
    out["tol"] = tol;
    out["seconds"] = r.seconds;
    out["standardise_seconds"] = r.standardise_seconds;
    out["train_accuracy"] = r.accuracy;
    out["iterations"] = r.report.iterations;
    out["evaluations"] = r.report.evaluations;
    out["converged"] = r.report.converged;
    out["float64_iterations"] = r.report.float64_iterations;
    const RowMatrix w = r.model.w.cast<float>();
    write_npy_f32(dir + "/ours_coef.npy", w.data(), {w.rows(), w.cols()});
  } else if (mode == "ridge") {
    RowMatrix x = read_npy(dir + "/x.npy");
    const RowMatrix t = read_npy(dir + "/t.npy");
    const double t0 = now();
    const Standardiser s = Standardiser::fit(MatrixViewDesign(ConstMatrixMap(x.data(), x.rows(), x.cols())));
    s.apply(MatrixMap(x.data(), x.rows(), x.cols()));
    const Eigen::MatrixXd y = Eigen::Map<const Eigen::VectorXf>(t.data(), t.size()).cast<double>();
    const double t1 = now();
    const std::vector<RidgeStats> stats =
        ridge_stats(InMemoryDesign(std::move(x)), y, std::vector<int>(y.rows(), 0), 1);
    const double t2 = now();
    const RidgePath path(stats[0]);
    const double t3 = now();
    LinearModel keep;
    for (int i = 0; i < 20; ++i) {
      const double lambda = std::pow(10.0, -6 + 8.0 * i / 19);
      const LinearModel m = path.solve(lambda);
      if (i == 0) keep = m;
    }
    const double t4 = now();
    out["standardise_seconds"] = t1 - t0;
    out["gram_seconds"] = t2 - t1;
    out["eigen_seconds"] = t3 - t2;
    out["path20_seconds"] = t4 - t3;
    out["total_seconds"] = t4 - t0;
    const RowMatrix w = path.solve(1e-2).w.cast<float>();
    write_npy_f32(dir + "/ours_coef.npy", w.data(), {w.rows(), w.cols()});
  } else if (mode == "sweep") {
    const int hooks = std::stoi(argv[3]), jobs = std::stoi(argv[4]);
    const double lambda = std::stod(argv[5]), tol = argc > 6 ? std::stod(argv[6]) : LogisticOptions().tol;
    out["tol"] = tol;
    std::vector<RowMatrix> xs(hooks);
    std::vector<std::vector<int32_t>> ys(hooks);
    for (int h = 0; h < hooks; ++h) {
      xs[h] = read_npy(dir + "/x" + std::to_string(h) + ".npy");
      ys[h] = labels(read_npy(dir + "/y" + std::to_string(h) + ".npy"));
    }
    const double t0 = now();
    std::vector<double> acc(hooks), standardise(hooks);
    std::vector<int> passes(hooks), float64_passes(hooks);
    std::vector<LinearModel> models(hooks);
#pragma omp parallel for schedule(dynamic) num_threads(jobs) if (jobs > 1)
    for (int h = 0; h < hooks; ++h) {
      const LogisticRun r = run_logistic(xs[h], ys[h], lambda, tol);
      models[h] = r.model, standardise[h] = r.standardise_seconds;
      passes[h] = r.report.evaluations, float64_passes[h] = r.report.float64_iterations;
    }
    out["seconds"] = now() - t0;
    for (int h = 0; h < hooks; ++h) acc[h] = train_accuracy(xs[h], ys[h], models[h]);
    // Summed over hooks: CPU-side seconds, not wall time when hooks run at once.
    out["standardise_seconds_sum"] = std::accumulate(standardise.begin(), standardise.end(), 0.0);
    out["jobs"] = jobs;
    out["train_accuracy"] = acc;
    out["evaluations"] = passes;
    out["float64_iterations"] = float64_passes;
  }
  std::cout << out.dump() << "\n";
  return 0;
}
