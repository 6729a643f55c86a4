// Library errors name an option by its field (n_pos, force, memory_bytes, ...); a user of the CLI typed a
// flag (--max-tokens, --force, --memory). This is the one table where both names meet: the CLI runs library
// calls through with_flag_names, which rewrites their messages in flag names and rethrows the same error
// type.
#pragma once
#include <string>

#include "core/error.h"

namespace resid::cli {

// `message` with every option field replaced by its flag. A field is replaced where it stands as a word of
// the sentence: after the start, a space or "(", and before the end, a space or one of ")", ",", ":", ";".
// Paths ("/data/window.txt"), quoted values ('force') and key=value descriptions ("window=64") are left
// alone. A field that is also an English word (window, positions, force) is therefore never used in another
// sense in a library message.
std::string flag_names(const std::string& message);

// Rethrows the resid::Error being handled, its message passed through flag_names, as the same type.
[[noreturn]] void rethrow_with_flag_names();

// Runs `f`; a resid::Error it throws comes out in flag names.
template <typename F>
auto with_flag_names(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error&) {
    rethrow_with_flag_names();
  }
}

}  // namespace resid::cli
