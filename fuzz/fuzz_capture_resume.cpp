// The capture file opened for --resume: a damaged or hostile partial file must be refused with a resid error
// (or resumed), never crash, hang or read out of bounds. The bytes are written to a scratch file and go
// through the same summary read and resume() the CLI runs.
#include <string>

#include "capture/activation_file.h"
#include "capture/detail/child_check.h"
#include "fuzz/fuzz_capture_layout.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const resid::fuzz::CaptureLayout layout = resid::fuzz::capture_layout();
  // A sound file's metadata reads in milliseconds; a second keeps hangs (caught in the child) cheap.
  resid::detail::set_metadata_time_limit(std::chrono::milliseconds(1000));
  // libFuzzer's only other thread watches the RSS and never allocates, so forking stays safe under ASan.
  resid::detail::allow_child_check_with_threads(true);
  const std::string path = resid::fuzz::write_input(data, size, "resume.h5");
  resid::fuzz::expect_resid_errors_only([&] {
    resid::read_activation_summary(path);
    resid::WriterOptions options;
    options.rows = layout.rows;
    // Dropped without a commit: the file keeps what it had; what matters is that opening and checking it is
    // safe.
    resid::ActivationFileWriter::resume(path, layout.info, layout.hooks, layout.labels, options);
  });
  return 0;
}
