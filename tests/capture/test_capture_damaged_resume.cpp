// Issue 7 items 4/5: --resume on damaged partial files. A capture is SIGKILLed mid-run; seeded mutations
// (random bytes overwritten, or the file cut at a random length) of that file are each resumed by the real
// binary in a subprocess with a 10 s limit. Every case must either fail with a clear one-line error (exit 2)
// or resume to exactly the datasets of an uninterrupted run. Before the fix, cases hung in HDF5's metadata
// retry loop, one segfaulted, and a truncated file resumed with zeros in committed rows.
#include <filesystem>
#include <fstream>
#include <random>

#include "capture/activation_file.h"
#include "core/formats/gguf.h"
#include "core/init.h"
#include "run_resid.h"
#include "test_support.h"

namespace resid {
namespace {

namespace fs = std::filesystem;

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Every dataset of `a` and `b` has the same shape, type and bytes (attributes, e.g. `created`, may differ).
bool same_datasets(const std::string& a, const std::string& b, std::string* why) {
  const std::vector<std::string> names = list_stored_datasets(a);
  if (names != list_stored_datasets(b)) return *why = "different dataset lists", false;
  for (const std::string& name : names) {
    std::vector<int64_t> sa, sb;
    std::string ta, tb;
    if (read_stored_dataset(a, name, &sa, &ta) != read_stored_dataset(b, name, &sb, &tb) || sa != sb ||
        ta != tb)
      return *why = name + " differs", false;
  }
  return true;
}

// How the killed capture stores its rows, and how many mutated copies of it are resumed.
struct Storage {
  std::vector<std::string> flags;
  int cases;
};

void PrintTo(const Storage& s, std::ostream* os) {
  for (const std::string& f : s.flags) *os << f << " ";
  *os << s.cases << " cases";
}

class DamagedResume : public ::testing::TestWithParam<Storage> {};

TEST_P(DamagedResume, SeededMutationsFailClearlyOrResumeIdentically) {
  testing::TempDir dir;
  const std::string model = dir.file("tiny.gguf"), data = dir.file("ids.tokens");
  const Config c = testing::tiny_config();
  write_gguf(model, c, random_weights(c, 3));
  {
    std::ofstream out(data);
    Rng rng(11);
    for (int line = 0; line < 1500; ++line) {
      const int n = 1 + static_cast<int>(rng.next_u64() % 12);
      for (int i = 0; i < n; ++i) out << (i ? " " : "") << rng.next_u64() % c.d_vocab;
      out << "\n";
    }
  }
  auto plain_args = [&](const std::string& out) {
    std::vector<std::string> a{testing::resid_binary(),
                               "capture",
                               model,
                               data,
                               "--hooks",
                               "blocks.*.hook_resid_post",
                               "-o",
                               out,
                               "--max-tokens",
                               "12",
                               "--batch-size",
                               "2"};
    a.insert(a.end(), GetParam().flags.begin(), GetParam().flags.end());
    return a;
  };
  const std::string reference = dir.file("reference.h5");
  std::string err;
  ASSERT_EQ(testing::run(plain_args(reference), &err), 0) << err;

  // A killed capture: SIGKILL once a few hundred rows are committed.
  const std::string killed = dir.file("killed.h5");
  bool have_partial = false;
  for (int attempt = 0; attempt < 5 && !have_partial; ++attempt) {
    fs::remove(killed);
    testing::RunOptions kill;
    kill.kill_when = [&] {
      try {
        return read_activation_summary(killed).committed_rows >= 200;
      } catch (const std::exception&) {
        return false;
      }
    };
    const int status = testing::run(plain_args(killed), &err, kill);
    have_partial = status == -SIGKILL && !read_activation_summary(killed).complete;
  }
  ASSERT_TRUE(have_partial) << "could not kill the capture mid-run";
  const std::vector<char> original = read_bytes(killed);

  std::mt19937_64 rng(7);  // fixed seed: the same 60 cases every run
  int resumed = 0, refused = 0;
  const std::string damaged = dir.file("damaged.h5");
  for (int k = 0; k < GetParam().cases; ++k) {
    std::vector<char> bytes = original;
    std::string what;
    if (k % 3 == 2) {
      const size_t length = std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng);
      bytes.resize(length);
      what = "truncated to " + std::to_string(length) + " of " + std::to_string(original.size()) + " bytes";
    } else {
      const int n = std::uniform_int_distribution<int>(1, 16)(rng);
      what = "bytes changed at";
      for (int i = 0; i < n; ++i) {
        const size_t at = std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng);
        bytes[at] = static_cast<char>(bytes[at] ^ std::uniform_int_distribution<int>(1, 255)(rng));
        what += " " + std::to_string(at);
      }
    }
    SCOPED_TRACE("case " + std::to_string(k) + ": " + what);
    write_bytes(damaged, bytes);
    std::vector<std::string> resume = plain_args(damaged);
    resume.push_back("--resume");
    testing::RunOptions limit;
    limit.timeout_s = 10;
    const int status = testing::run(resume, &err, limit);
    ASSERT_NE(status, testing::kTimedOut) << "hung for 10 s";
    if (status == 0) {
      std::string why;
      EXPECT_TRUE(same_datasets(reference, damaged, &why)) << "resumed to a different file: " << why;
      ++resumed;
    } else {
      EXPECT_EQ(status, 2) << err;
      EXPECT_EQ(testing::count_lines(err), 1) << err;
      EXPECT_NE(err.find(damaged), std::string::npos) << err;
      ++refused;
    }
  }
  std::cout << "[          ] " << resumed << " damaged files resumed identically, " << refused
            << " refused with one line\n";
}

// 60 cases of a float16 file; 30 of a compressed bfloat16 one (compressed chunks are held until full, so its
// committed rows end at a chunk boundary).
INSTANTIATE_TEST_SUITE_P(Files, DamagedResume,
                         ::testing::Values(Storage{{"--dtype", "float16"}, 60},
                                           Storage{{"--dtype", "bfloat16", "--compress"}, 30}),
                         [](const ::testing::TestParamInfo<Storage>& info) {
                           return info.index == 0 ? std::string("float16") : std::string("bfloat16_deflate");
                         });

}  // namespace
}  // namespace resid
