#include "test_support.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <random>

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

std::string resid_binary() { return (std::filesystem::path(RESID_BINARY_DIR) / "cli" / "resid").string(); }

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

CliRun run_resid(const std::vector<std::string>& args) {
  TempDir holder;
  const std::string out_path = holder.file("stdout"), err_path = holder.file("stderr");
  // Everything the child needs is prepared before fork: between fork and exec it only calls async-signal-safe
  // functions (the test process may already have OpenMP threads).
  std::vector<std::string> argv{resid_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> c_argv;
  for (std::string& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int in = open("/dev/null", O_RDONLY);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(c_argv[0], c_argv.data());
    _exit(127);
  }
  CliRun r;
  if (pid < 0) return r;
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

}  // namespace resid::testing
