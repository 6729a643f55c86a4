// Where the rows of an activation file live (format 2 stores every dataset contiguously, allocated when the
// file is created): the writer writes rows at these offsets, and resume reads the committed rows back against
// /row_checksums through them. Internal to resid::capture.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "capture/activation_file.h"

namespace resid::detail {

// Where one dataset of rows lives in the file.
struct RowRegion {
  std::string name;       // path inside the file, for messages and the checksum order
  int64_t row_bytes = 0;  // bytes of one stored row
  int64_t offset = 0;     // file offset of row 0
  int hash_index = -1;    // position in the row checksum (datasets sorted by name), -1 for none
};

// Every place the writer touches: the rows of each dataset, /committed_rows and /complete.
struct FileRegions {
  int64_t rows = 0;  // rows of every dataset
  RowRegion tokens, lengths, checksums;
  std::vector<RowRegion> labels;  // per label column, in the caller's order
  std::vector<RowRegion> acts;    // per hook, in the caller's order
  int64_t committed_offset = 0, complete_offset = 0;

  std::vector<RowRegion*> all() {
    std::vector<RowRegion*> out{&tokens, &lengths};
    for (auto& r : labels) out.push_back(&r);
    for (auto& r : acts) out.push_back(&r);
    out.push_back(&checksums);
    return out;
  }
};

void pwrite_all(int fd, const void* data, int64_t bytes, int64_t offset, const std::string& path,
                const std::string& what);

void pread_all(int fd, void* data, int64_t bytes, int64_t offset, const std::string& path,
               const std::string& what);

// File offset of a dataset stored contiguously and allocated (FormatError otherwise: a compressed, chunked or
// foreign file cannot be written in place).
int64_t contiguous_offset(hid_t ds, const std::string& name, int64_t bytes, const std::string& path);

RowRegion row_region(hid_t file, const std::string& name, int64_t rows, const std::string& path);

// The regions of a file of `rows` rows (labels and hooks in the caller's order), and the order row checksums
// combine the datasets in.
FileRegions file_regions(hid_t file, int64_t rows, const std::vector<HookDatasetSpec>& hooks,
                         const std::vector<LabelColumn>& labels, const std::string& path);

// Row r's checksum from its per-dataset hashes (parts: one per hashed dataset, in name order).
uint64_t combine_row_hashes(const uint64_t* parts, size_t count);

// Reads every committed row back and compares it with /row_checksums (resume): a damaged or truncated file is
// refused before anything is written to it.
void verify_committed(int fd, FileRegions& f, int64_t committed, const std::string& path);

}  // namespace resid::detail
