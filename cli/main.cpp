// resid: one binary, one subcommand per job.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/allocator.h"
#include "core/error.h"
#include "core/input_file.h"
#include "core/openmp_wait.h"

namespace resid::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"demo", "the embedded default: build a seeded model, save, load, run, inspect and generate", run_demo},
      {"info", "show a model's config, parameter count and tensor table", run_info},
      {"run", "run a prompt or token ids; print each position's top next tokens (--json for all logits)",
       run_run},
      {"generate", "generate text from a prompt (greedy or sampled)", run_generate},
      {"hooks", "list every hook point of a model with its shape", run_hooks},
      {"capture", "stream hook activations over a dataset into an HDF5 file", run_capture},
      {"probe", "linear probes on a capture: fit, sweep layers, apply, direction for --steer", run_probe},
      {"census", "dead-neuron census: how often each MLP neuron fires over a dataset, images or a capture",
       run_census},
      {"train", "train a plain MLP on 2-D point sets, a CSV or MNIST IDX files; a .safetensors checkpoint",
       run_train},
      {"report",
       "one self-contained HTML report: activations, census, probes, logit lens, attention, weights",
       run_report},
  };
  return list;
}

namespace {
constexpr size_t kMaxMessageBytes = 4096;

void print_help() {
  std::cout << "resid " RESID_VERSION
               " - a workbench for mechanistic interpretability\n\n"
               "usage: resid <command> [options]   (resid <command> --help for its options)\n\ncommands:\n";
  for (const Command& c : commands())
    std::cout << "  " << c.name << std::string(12 - std::string(c.name).size(), ' ') << c.summary << "\n";
  std::cout
      << "\nmodels are given by path: llama2.c .bin, GGUF, a .safetensors file or a Hugging Face directory;\n"
         "the format is read from the file's content. Errors print one line and exit with code 2.\n";
}
}  // namespace

}  // namespace resid::cli

int main(int argc, char** argv) {
  using namespace resid::cli;
  resid::use_short_openmp_spin(argv);  // why: core/openmp_wait.h
  resid::tune_allocator_for_large_buffers();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "resid " RESID_VERSION "\n";
    return 0;
  }
  for (const Command& c : commands()) {
    if (args[0] != c.name) continue;
    try {
      return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
    } catch (const resid::Error& e) {
      // Messages quote user input (paths, config strings, file bytes): escaped here, they stay on one line.
      std::cerr << "resid " << c.name << ": error: " << resid::printable(e.what(), kMaxMessageBytes) << "\n";
      return 2;
    } catch (const std::bad_alloc&) {
      std::cerr << "resid " << c.name << ": error: out of memory\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "resid " << c.name << ": internal error: " << resid::printable(e.what(), kMaxMessageBytes)
                << "\n";
      return 3;
    }
  }
  std::cerr << "resid: error: unknown command '" << args[0] << "' (see resid --help)\n";
  return 2;
}
