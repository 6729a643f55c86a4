#include "test_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "core/formats/gguf.h"
#include "core/init.h"
#include "core/tokenizer/spm_tokenizer.h"
#include "core/weights.h"

namespace resid::testing {

std::string shared_path(const std::string& relative) {
  std::filesystem::path p = std::filesystem::path(RESID_SHARED_DIR) / relative;
  return std::filesystem::exists(p) ? p.string() : std::string();
}

TempDir::TempDir() {
  static int counter = 0;
  std::random_device rd;
  path_ = std::filesystem::path(RESID_BINARY_DIR) / "test-tmp" /
          ("t" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Mlp seeded_mlp(const std::vector<int>& widths, uint64_t seed) {
  Rng rng(seed);
  std::vector<Linear> layers;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    std::vector<float> b(widths[i + 1]);
    for (float& v : b) v = static_cast<float>(rng.next_u64() % 1000) / 1000.f - 0.5f;
    layers.push_back(
        {Tensor::owned({widths[i + 1], widths[i]}, kaiming_normal(widths[i + 1], widths[i], rng)),
         Tensor::owned({widths[i + 1]}, std::move(b))});
  }
  return Mlp(std::move(layers), ActFn::ReLU);
}

namespace {
SpmVocab byte_level_vocab() {
  SpmVocab v = byte_fallback_vocab();
  auto add = [&](std::string piece, float score) {
    v.pieces.push_back(std::move(piece));
    v.scores.push_back(score);
    v.types.push_back(PieceType::Normal);
  };
  const std::string sp = "\u2581";  // "▁", SentencePiece's space
  add(sp, -1);
  for (char ch = '!'; ch <= '~'; ++ch) add(std::string(1, ch), -2);
  float score = -3;
  // Each merge joins two pieces already in the vocabulary, as BPE-style SentencePiece vocabularies do.
  for (const std::string& merge :
       {sp + "t", sp + "a", sp + "u", sp + "O", std::string("he"), std::string("ce"), std::string("nce"),
        sp + "On", sp + "Once", sp + "the", std::string("on"), sp + "up", sp + "upon", std::string("me"),
        sp + "ti", sp + "time"})
    add(merge, score -= 0.1f);
  return v;
}
}  // namespace

std::string write_seeded_llama_gguf(const std::string& path, uint64_t seed) {
  SpmTokenizer tokenizer(byte_level_vocab(), "byte-level test vocabulary");
  Config c;
  c.d_model = 64, c.n_layers = 4, c.n_heads = 4, c.n_kv_heads = 2, c.d_head = 16, c.d_mlp = 172;
  c.d_vocab = tokenizer.vocab_size(), c.n_ctx = 128;
  write_gguf(path, c, random_weights(c, seed), &tokenizer);
  return path;
}

Config tiny_config() {
  Config c;
  c.d_model = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.d_head = 16;
  c.d_mlp = 96;
  c.d_vocab = 128;
  c.n_ctx = 64;
  return c;
}

std::string resid_binary() {
  return (std::filesystem::path(RESID_BINARY_DIR) / "cli" / "resid").string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

CliRun run_process(const std::vector<std::string>& argv_in, const RunOptions& options) {
  TempDir holder;
  const std::string out_path = holder.file("stdout"), err_path = holder.file("stderr");
  // Everything the child needs is prepared before fork: between fork and exec it only calls async-signal-safe
  // functions (the test process may already have OpenMP threads).
  std::vector<std::string> argv = argv_in;
  std::vector<char*> c_argv;
  for (std::string& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    const bool overridden = std::any_of(options.env.begin(), options.env.end(), [&](const std::string& o) {
      return o.substr(0, o.find('=')) == name;
    });
    if (!overridden) envs.push_back(entry);
  }
  envs.insert(envs.end(), options.env.begin(), options.env.end());
  std::vector<char*> c_env;
  for (std::string& e : envs) c_env.push_back(e.data());
  c_env.push_back(nullptr);
  struct rlimit limit {};
  limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(options.file_size_limit);

  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int in = open("/dev/null", O_RDONLY);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (options.file_size_limit >= 0) {
      signal(SIGXFSZ, SIG_IGN);  // kept across exec: the write fails with EFBIG instead of killing
      setrlimit(RLIMIT_FSIZE, &limit);
    }
    execve(c_argv[0], c_argv.data(), c_env.data());
    _exit(127);
  }
  CliRun r;
  if (pid < 0) return r;
  const bool polled = options.timeout_s > 0 || options.kill_after_us >= 0 || options.kill_when;
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  while (true) {
    if (!polled) {
      waitpid(pid, &status, 0);
      break;
    }
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool kill_now = (options.kill_after_us >= 0 && elapsed * 1e6 >= options.kill_after_us) ||
                          (options.kill_when && options.kill_when());
    if (kill_now || (options.timeout_s > 0 && elapsed > options.timeout_s * kSanitizerSlowdown)) {
      r.timed_out = !kill_now;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(options.kill_after_us >= 0 ? 200 : 1000));
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

CliRun run_resid(const std::vector<std::string>& args, const RunOptions& options) {
  std::vector<std::string> argv{resid_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, options);
}

void expect_one_line_error(const std::vector<std::string>& args, const std::vector<std::string>& needles) {
  std::string shown = "resid";
  for (const std::string& a : args) shown += " " + a;
  SCOPED_TRACE(shown);
  RunOptions options;
  options.timeout_s = 300;
  const CliRun r = run_resid(args, options);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(r.out.empty()) << "stdout: " << r.out.substr(0, 300);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.err.ends_with("\n")) << r.err;
  for (const std::string& n : needles)
    EXPECT_NE(r.err.find(n), std::string::npos) << "'" << n << "' not in: " << r.err;
}

}  // namespace resid::testing
