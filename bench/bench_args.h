// Flag parsing for the benchmarks: `--name value` pairs bound to variables, `--help` prints the usage and the
// defaults, and anything unknown is an error (a typo never starts a long run with the defaults).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace resid::bench {

class Args {
 public:
  explicit Args(std::string usage) : usage_(std::move(usage)) {}
  Args& flag(const char* name, int* value) { return add(name, value, nullptr); }
  Args& flag(const char* name, std::string* value) { return add(name, nullptr, value); }

  // Exits 0 after --help, 2 on an unknown flag, a missing value or a value that is not a number.
  void parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        std::printf("%s\n", usage_.c_str());
        for (const Flag& f : flags_)
          std::printf("  %-12s default %s\n", f.name,
                      f.number ? std::to_string(*f.number).c_str() : f.text->c_str());
        std::exit(0);
      }
      const Flag* f = find(a);
      if (f == nullptr) fail("unknown flag " + a);
      if (i + 1 >= argc) fail(a + " needs a value");
      const std::string v = argv[++i];
      if (f->text) {
        *f->text = v;
        continue;
      }
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0') fail(a + " " + v + " is not an integer");
      *f->number = static_cast<int>(n);
    }
  }

 private:
  struct Flag {
    const char* name;
    int* number;
    std::string* text;
  };
  Args& add(const char* name, int* number, std::string* text) {
    flags_.push_back({name, number, text});
    return *this;
  }
  const Flag* find(const std::string& name) const {
    for (const Flag& f : flags_)
      if (name == f.name) return &f;
    return nullptr;
  }
  [[noreturn]] void fail(const std::string& message) const {
    std::fprintf(stderr, "%s (--help lists the flags)\n", message.c_str());
    std::exit(2);
  }
  std::string usage_;
  std::vector<Flag> flags_;
};

}  // namespace resid::bench
