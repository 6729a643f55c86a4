// Issue 7 item 4: a damaged activation file never hangs or crashes a reader. HDF5 1.10 keeps variable-length
// string attributes in a global heap; damage there made H5Aread segfault (an object size pointing past the
// collection) or spin forever in H5C_protect (found by fuzz/fuzz_capture_resume.cpp). Every open now runs its
// metadata reads in a child process first (capture/detail/child_check.h). These tests check that mechanism
// directly, then damage every byte of a real capture's global-heap header and first object in turn.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "capture/activation_file.h"
#include "capture/activation_reader.h"
#include "capture/detail/child_check.h"
#include "core/error.h"
#include "core/formats/gguf.h"
#include "core/init.h"
#include "run_resid.h"
#include "test_support.h"

namespace resid {
namespace {

using detail::check_in_child;
using std::chrono::milliseconds;

TEST(ChildCheck, AReadThatFinishesIsReported) {
  const detail::ChildCheckResult r = check_in_child(
      "f.h5", [] {}, milliseconds(5000));
  EXPECT_FALSE(r.threw);
}

TEST(ChildCheck, AReadThatThrowsGivesItsMessage) {
  const detail::ChildCheckResult r = check_in_child(
      "f.h5", [] { throw FormatError("f.h5", "bad attribute"); }, milliseconds(5000));
  EXPECT_TRUE(r.threw);
  EXPECT_EQ(r.message, "f.h5: bad attribute");
}

TEST(ChildCheck, AReadThatHangsIsKilledAndReportedAsDamage) {
  const auto start = std::chrono::steady_clock::now();
  const std::string message = testing::error_of<FormatError>([] {
    check_in_child(
        "f.h5", [] { std::this_thread::sleep_for(std::chrono::hours(1)); }, milliseconds(200));
  });
  EXPECT_EQ(message,
            "f.h5: damaged: reading its metadata did not finish within 0.2 s (HDF5 loops on this file)");
  // Generous: only "not an hour" matters; the limit itself is 0.2 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
}

TEST(ChildCheck, AReadThatCrashesIsReportedAsDamage) {
  const std::string message = testing::error_of<FormatError>([] {
    check_in_child(
        "f.h5", [] { ::raise(SIGSEGV); }, milliseconds(5000));
  });
  EXPECT_CONTAINS(message, "f.h5: damaged: reading its metadata crashed HDF5 (Segmentation fault)");
}

TEST(ChildCheck, TheDefaultLimitIsSecondsNotMinutes) {
  EXPECT_GE(detail::metadata_time_limit(), milliseconds(1000));
  EXPECT_LE(detail::metadata_time_limit(), milliseconds(10000));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
}

class GlobalHeap : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_.file("tiny.gguf");
    data_ = dir_.file("ids.tokens");
    const Config c = testing::tiny_config();
    write_gguf(model_, c, random_weights(c, 3));
    std::ofstream(data_) << "1 2 3 4\n5 6 7\n8 9\n10 11 12 13 14\n";
    original_ = dir_.file("acts.h5");
    std::string err;
    ASSERT_EQ(testing::run(args(original_), &err), 0) << err;
    bytes_ = read_file(original_);
    heap_ = bytes_.find("GCOL");  // the collection's signature; the file's strings follow it
    ASSERT_NE(heap_, std::string::npos) << "no global heap: are string attributes still variable-length?";
  }

  std::vector<std::string> args(const std::string& out) const {
    return {testing::resid_binary(),    "capture", model_, data_,          "--hooks",
            "blocks.*.hook_resid_post", "-o",      out,    "--max-tokens", "8"};
  }

  testing::TempDir dir_;
  std::string model_, data_, original_, bytes_;
  size_t heap_ = 0;
};

// Collection header (signature, version, reserved, size) and the first object's header (index, reference
// count, reserved, size) and its first bytes: each byte set to values that make sizes and indices wrong.
TEST_F(GlobalHeap, EveryDamagedByteIsReadOrRefusedNeverCrashesOrHangs) {
  const std::string damaged = dir_.file("damaged.h5");
  // A hang costs the whole limit; a sound file's check takes milliseconds even under sanitizers.
  detail::set_metadata_time_limit(milliseconds(2000));
  int read_ok = 0, refused = 0, crashed = 0, hung = 0;
  for (size_t at = heap_; at < heap_ + 40 && at < bytes_.size(); ++at) {
    for (const unsigned char value : {0x02, 0x40, 0xff}) {
      if (static_cast<unsigned char>(bytes_[at]) == value) continue;
      std::string bytes = bytes_;
      bytes[at] = static_cast<char>(value);
      write_file(damaged, bytes);
      SCOPED_TRACE("byte " + std::to_string(at - heap_) + " of the heap set to " + std::to_string(value));
      try {
        ActivationReader reader(damaged);
        std::vector<float> row;
        reader.read_rows("blocks.0.hook_resid_post", 0, 1, &row);
        ++read_ok;
      } catch (const Error& e) {
        ++refused;
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).rfind(damaged, 0), 0u) << e.what();
        crashed += std::string(e.what()).find("crashed HDF5") != std::string::npos;
        hung += std::string(e.what()).find("did not finish") != std::string::npos;
      }
    }
  }
  detail::set_metadata_time_limit(milliseconds(5000));
  std::cout << "[          ] " << read_ok << " damaged files read, " << refused
            << " refused (HDF5 crashed on " << crashed << " and hung on " << hung
            << " of them in the check)\n";
  EXPECT_GT(refused, 0);
}

// The same damage through the CLI: --resume of a file whose first string's size field is wrong (HDF5 1.10
// segfaulted on it) ends with one line and exit 2.
TEST_F(GlobalHeap, ResumeOfADamagedHeapIsOneLineAndExitTwo) {
  for (const size_t field : {size_t{8}, size_t{26}}) {  // the collection's size; the first object's size
    std::string bytes = bytes_;
    bytes[heap_ + field] = 0x40;
    const std::string damaged = dir_.file("damaged-" + std::to_string(field) + ".h5");
    write_file(damaged, bytes);
    std::vector<std::string> resume = args(damaged);
    resume.push_back("--resume");
    std::string err;
    testing::RunOptions limit;
    limit.timeout_s = 10;
    const int status = testing::run(resume, &err, limit);
    ASSERT_NE(status, testing::kTimedOut) << "hung for 10 s";
    EXPECT_EQ(status, 2) << err;
    EXPECT_EQ(testing::count_lines(err), 1) << err;
    EXPECT_CONTAINS(err, damaged);
  }
}

}  // namespace
}  // namespace resid
