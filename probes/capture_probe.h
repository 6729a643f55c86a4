// Fitting probes straight from a capture file: one hook (fit_capture_probe) or every hook matching patterns
// (sweep_capture, in parallel over hooks or inside each fit). The probe carries the capture's provenance.
#pragma once
#include <string>
#include <vector>

#include "probes/capture_examples.h"
#include "probes/fit.h"

namespace resid::probes {

constexpr int64_t kDefaultMemoryBytes = 1ll << 30;  // memory_bytes default: 1 GiB

struct CaptureFitOptions {
  ExampleOptions examples;  // hook, label, reduce
  FitOptions fit;
  int64_t memory_bytes = kDefaultMemoryBytes;
  std::string command_line;  // recorded in the probe's provenance
};

FitResult fit_capture_probe(const std::string& path, const CaptureFitOptions& options);

// Hooks of the capture matching any of the glob patterns (fnmatch), in capture order. InputError naming the
// file and the patterns when none matches.
std::vector<std::string> match_capture_hooks(const std::string& path,
                                             const std::vector<std::string>& patterns);

// One probe per hook. jobs > 1 fits that many hooks at once, each on one thread; jobs = 1 fits them one after
// another with all threads inside each fit.
std::vector<FitResult> sweep_capture(const std::string& path, const std::vector<std::string>& hooks,
                                     const CaptureFitOptions& options, int jobs);

// One probe per hook and position: for a token label, per token position p (the examples at p only); for a
// sequence label on a hook captured with positions indices ([k, d] rows), per entry j (reduce index:j).
// Reports carry "position". A position that cannot make a probe (no examples, a single class, a split without
// examples) gives the report {"hook", "position", "skipped": reason} and no probe. InputError naming the file
// for a hook and label with neither kind of position.
std::vector<FitResult> sweep_capture_positions(const std::string& path, const std::vector<std::string>& hooks,
                                               const CaptureFitOptions& options, int jobs);

}  // namespace resid::probes
