// Checks for the files resid reads, and for the user-controlled text its error messages quote.
// Inputs must be regular files: opening a FIFO blocks until a writer comes, /dev/zero never ends, and a
// directory read as a stream fails deep inside the C++ library. A stat() is cheap and never blocks, so every
// loader calls require_regular_file before it opens anything.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace resid {

// Throws InputError "<path>: <what> is a FIFO (named pipe), not a regular file" (or a directory, a character
// device, ...). A path that does not exist is left to the caller, whose "no such ..." message names the role.
void require_regular_file(const std::string& path, const std::string& what);

// `text` safe to quote inside a one-line message: control bytes (NUL, newline, escape, ...) and DEL become
// \n, \t, \r or \xNN, and text beyond `max_bytes` is cut and marked with "...". Other bytes (UTF-8 included)
// pass.
std::string printable(std::string_view text, size_t max_bytes = 200);

}  // namespace resid
