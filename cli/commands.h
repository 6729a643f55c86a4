// Subcommands of the `resid` binary. Each lives in its own cmd_*.cpp and receives the arguments after its
// name. A command throws resid::Error for bad input; main() turns that into one line on stderr and exit
// code 2.
#pragma once
#include <string>
#include <vector>

namespace resid::cli {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& commands();

int run_info(const std::vector<std::string>& args);
int run_generate(const std::vector<std::string>& args);
int run_run(const std::vector<std::string>& args);
int run_hooks(const std::vector<std::string>& args);
int run_capture(const std::vector<std::string>& args);
int run_census(const std::vector<std::string>& args);
int run_demo(const std::vector<std::string>& args);
int run_probe(const std::vector<std::string>& args);
int run_report(const std::vector<std::string>& args);
int run_train(const std::vector<std::string>& args);

}  // namespace resid::cli
