#include "datasets/line_dataset.h"

#include "datasets/encoding.h"

namespace resid {

LineDataset::LineDataset(const DatasetOptions& options)
    : options_(options), reader_(options.path, options.max_line_bytes) {}

bool LineDataset::next(Example& out) {
  while (reader_.next(line_)) {
    if (is_blank(line_)) continue;
    reset_example(out, columns_.size());
    out.source_line = reader_.line_number();
    parse(line_, where(reader_.path(), reader_.line_number()), out);
    return true;
  }
  return false;
}

std::optional<size_t> LineDataset::count_examples() const {
  if (!count_) count_ = count_nonblank_lines(options_.path, options_.max_line_bytes);
  return count_;
}

}  // namespace resid
