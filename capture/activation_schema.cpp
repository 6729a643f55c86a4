// The activation file's schema (capture/detail/activation_schema.h).
#include "capture/detail/activation_schema.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "capture/detail/child_check.h"

namespace resid::detail {

std::string join_shape(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s.empty() ? "none" : s;
}

const char* kind_name(LabelColumn::Kind k) {
  switch (k) {
    case LabelColumn::Kind::SequenceNumber: return "sequence_number";
    case LabelColumn::Kind::SequenceClass: return "sequence_class";
    case LabelColumn::Kind::TokenClass: return "token_class";
  }
  return "?";
}

bool kind_from_name(const std::string& name, LabelColumn::Kind* kind) {
  for (auto k :
       {LabelColumn::Kind::SequenceNumber, LabelColumn::Kind::SequenceClass, LabelColumn::Kind::TokenClass}) {
    if (name == kind_name(k)) {
      *kind = k;
      return true;
    }
  }
  return false;
}

bool is_class_kind(LabelColumn::Kind k) {
  return k != LabelColumn::Kind::SequenceNumber;
}

void require_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) throw InputError(path + " does not exist");
    throw InputError(path + ": cannot stat (" + std::strerror(errno) + ")");
  }
  if (S_ISDIR(st.st_mode)) throw InputError(path + " is a directory, not an activation file");
  if (!S_ISREG(st.st_mode)) throw InputError(path + " is not a regular file (a device, FIFO or socket)");
}

namespace {

h5::Handle open_unchecked(const std::string& path) {
  h5::Handle fapl =
      h5::plist_handle(check(H5Pcreate(H5P_FILE_ACCESS), path, "cannot create a property list"));
  check(H5Pset_metadata_read_attempts(fapl.get(), kMetadataReadAttempts), path, "cannot set read attempts");
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl.get());
  if (id < 0) id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  h5::Handle file = h5::file_handle(check(id, path, "cannot open as an HDF5 file"));
  if (!has_attr(file.get(), "format") || read_string_attr(file.get(), "format", path) != kFormatName)
    throw FormatError(
        path, std::string("not a resid activation file (no attribute format = \"") + kFormatName + "\")");
  return file;
}

// One element of `dataset` at `row` (all other coordinates 0), read as stored: walks the chunk index (of a
// compressed file) down to that row, which a damaged index could make HDF5 loop on.
void read_one_element(hid_t dataset, int64_t row, const std::string& path, const std::string& name) {
  const std::vector<hsize_t> dims = dataset_dims(dataset, path, name);
  if (dims.empty() || row < 0 || static_cast<hsize_t>(row) >= dims[0]) return;
  for (hsize_t d : dims)
    if (d == 0) return;
  h5::Handle type = h5::type_handle(check(H5Dget_type(dataset), path, "cannot read the type of " + name));
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    return;  // row datasets are numbers; anything else is refused later
  const size_t bytes = H5Tget_size(type.get());
  if (bytes == 0 || bytes > 16) return;
  std::vector<hsize_t> start(dims.size(), 0), count(dims.size(), 1);
  start[0] = static_cast<hsize_t>(row);
  h5::Handle file_space =
      h5::space_handle(check(H5Dget_space(dataset), path, "cannot read the shape of " + name));
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        path, "cannot select in " + name);
  const hsize_t one = 1;
  h5::Handle mem_space =
      h5::space_handle(check(H5Screate_simple(1, &one, nullptr), path, "cannot read " + name));
  unsigned char value[16];
  check(H5Dread(dataset, type.get(), mem_space.get(), file_space.get(), H5P_DEFAULT, value), path,
        "cannot read " + name);
}

// Everything open_for_read's callers read of the file's structure: the summary (every attribute they use),
// and the first and last committed row of every row dataset.
void read_structure(const std::string& path) {
  h5::Handle file = open_unchecked(path);
  const ActivationFileSummary s = summarize(file.get(), path, false);
  std::vector<std::string> names = {"/lengths", "/tokens"};
  for (const auto& hook : s.hooks) names.push_back("/acts/" + hook);
  for (const auto& label : s.labels) names.push_back("/labels/" + label.name);
  for (const auto& name : names) {
    if (H5Lexists(file.get(), name.c_str(), H5P_DEFAULT) <= 0) continue;
    h5::Handle ds = open_dataset(file.get(), name, path);
    read_one_element(ds.get(), 0, path, name);
    read_one_element(ds.get(), s.committed_rows - 1, path, name);
  }
}

}  // namespace

h5::Handle open_for_read(const std::string& path) {
  require_regular_file(path);
  // Only a read that finished in the child is repeated here. One that threw there throws here too: the
  // callers read the same metadata (the summary's attributes and datasets) in the same order.
  check_in_child(
      path, [&] { read_structure(path); }, metadata_time_limit());
  return open_unchecked(path);
}

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

void create_row_dataset(hid_t loc, const std::string& name, hid_t type, const std::vector<int64_t>& row_shape,
                        int64_t rows, RowStorage storage, int64_t chunk_rows, const std::string& path,
                        h5::Handle* out) {
  std::vector<hsize_t> dims{static_cast<hsize_t>(rows)};
  for (int64_t d : row_shape) dims.push_back(static_cast<hsize_t>(d));
  h5::Handle space =
      h5::space_handle(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), path,
                             "cannot create the dataspace of " + name));
  h5::Handle dcpl =
      h5::plist_handle(check(H5Pcreate(H5P_DATASET_CREATE), path, "cannot create a property list"));
  if (storage == RowStorage::Compressed && rows > 0) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = static_cast<hsize_t>(std::min(chunk_rows, rows));
    check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), path,
          "cannot chunk " + name);
    check(H5Pset_shuffle(dcpl.get()), path, "cannot set the shuffle filter on " + name);
    check(H5Pset_deflate(dcpl.get(), 1), path, "cannot set the deflate filter on " + name);
  } else {
    check(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), path, "cannot set the layout of " + name);
    check(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), path,
          "cannot set the allocation time of " + name);
    // Every row gets written before it is committed; unwritten space stays a hole in a sparse file.
    check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), path, "cannot set the fill time of " + name);
  }
  h5::Handle ds = h5::dataset_handle(
      check(H5Dcreate2(loc, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), path,
            "cannot create dataset " + name));
  if (out) *out = std::move(ds);
}

int64_t chunk_rows_for(int64_t row_bytes, int64_t target) {
  return std::max<int64_t>(1, target / row_bytes);
}

void validate_layout(const std::string& path, const ActivationFileInfo& info,
                     const std::vector<HookDatasetSpec>& hooks, const std::vector<LabelColumn>& labels) {
  if (info.n_pos < 1)
    throw InputError(path + ": n_pos must be at least 1 (got " + std::to_string(info.n_pos) + ")");
  std::vector<std::string> seen;
  for (const auto& h : hooks) {
    if (h.hook.empty() || h.hook.find('/') != std::string::npos || h.hook == "." || h.hook == "..")
      throw InputError(path + ": hook name '" + h.hook + "' cannot name an HDF5 dataset");
    if (std::find(seen.begin(), seen.end(), h.hook) != seen.end())
      throw InputError(path + ": hook " + h.hook + " given twice");
    seen.push_back(h.hook);
    for (int64_t d : h.row_shape)
      if (d < 1) throw InputError(path + ": hook " + h.hook + " has row shape " + join_shape(h.row_shape));
    if (h.row_shape.size() > 30) throw InputError(path + ": hook " + h.hook + " has too many dimensions");
  }
  seen.clear();
  for (const auto& l : labels) {
    if (l.name.empty() || l.name.find('/') != std::string::npos || l.name == "." || l.name == "..")
      throw InputError(path + ": label name '" + l.name + "' cannot name an HDF5 dataset");
    if (std::find(seen.begin(), seen.end(), l.name) != seen.end())
      throw InputError(path + ": label column " + l.name + " given twice");
    seen.push_back(l.name);
  }
}

void build_file(const std::string& side_path, const std::string& shown, const ActivationFileInfo& info,
                const std::vector<HookDatasetSpec>& hooks, const std::vector<LabelColumn>& labels,
                const WriterOptions& options, int64_t rows, RowStorage storage) {
  h5::Handle fapl = latest_format_fapl(shown);
  h5::Handle file = h5::file_handle(
      check(H5Fcreate(side_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), shown, "cannot create"));
  const hid_t f = file.get();
  write_string_attr(f, "format", kFormatName, shown);
  write_int_attr(f, "format_version", kFormatVersion, shown);
  write_string_attr(f, "resid_version", info.resid_version, shown);
  write_string_attr(f, "model_path", info.model_path, shown);
  write_string_attr(f, "model_sha256", info.model_sha256, shown);
  write_string_attr(f, "model_config", info.model_config_json, shown);
  write_string_attr(f, "tokenizer", info.tokenizer, shown);
  write_string_attr(f, "dataset_path", info.dataset_path, shown);
  write_string_attr(f, "dataset_sha256", info.dataset_sha256, shown);
  write_string_attr(f, "dataset", info.dataset_description, shown);
  write_string_attr(f, "model_files", info.model_files, shown);
  write_string_attr(f, "tokenizer_sha256", info.tokenizer_sha256, shown);
  write_string_attr(f, "dataset_options", info.dataset_options, shown);
  write_string_attr(f, "label_files_sha256", info.label_files_sha256, shown);
  write_string_attr(f, "command_line", info.command_line, shown);
  write_string_attr(f, "created", info.created, shown);
  write_string_attr(f, "positions", info.positions, shown);
  write_int_attr(f, "n_pos", info.n_pos, shown);

  const int64_t n_pos = info.n_pos;
  const RowStorage raw = RowStorage::Raw;
  create_row_dataset(f, "/tokens", H5T_STD_I32LE, {n_pos}, rows, raw, 0, shown);
  create_row_dataset(f, "/lengths", H5T_STD_I32LE, {}, rows, raw, 0, shown);
  create_row_dataset(f, "/row_checksums", H5T_STD_U64LE, {}, rows, raw, 0, shown);

  h5::Handle label_group = create_group(f, "/labels", shown);
  h5::Handle classes_group = create_group(f, "/label_classes", shown);
  h5::Handle name_type = class_name_type(shown);
  for (const LabelColumn& l : labels) {
    h5::Handle ds;
    switch (l.kind) {
      case LabelColumn::Kind::SequenceNumber:
        create_row_dataset(label_group.get(), l.name, H5T_IEEE_F64LE, {}, rows, raw, 0, shown, &ds);
        break;
      case LabelColumn::Kind::SequenceClass:
        create_row_dataset(label_group.get(), l.name, H5T_STD_I32LE, {}, rows, raw, 0, shown, &ds);
        break;
      case LabelColumn::Kind::TokenClass:
        create_row_dataset(label_group.get(), l.name, H5T_STD_I32LE, {n_pos}, rows, raw, 0, shown, &ds);
        break;
    }
    write_string_attr(ds.get(), "kind", kind_name(l.kind), shown);
    if (!is_class_kind(l.kind)) continue;
    write_string_attr(ds.get(), "class_names", "/label_classes/" + l.name, shown);
    h5::Handle names;
    const int64_t n_classes = static_cast<int64_t>(l.classes.size());
    create_row_dataset(classes_group.get(), l.name, name_type.get(), {}, n_classes, raw, 0, shown, &names);
    if (l.classes.empty()) continue;
    const std::vector<char> packed = pack_class_names(l.classes, 0, shown, l.name);
    check(H5Dwrite(names.get(), name_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, packed.data()), shown,
          "cannot write /label_classes/" + l.name);
  }
  label_group.reset();
  classes_group.reset();

  h5::Handle store_type = make_store_type(options.dtype, shown);
  const int64_t elem = options.dtype == StoreDType::F32 ? 4 : 2;
  h5::Handle acts_group = create_group(f, "/acts", shown);
  for (const HookDatasetSpec& h : hooks) {
    const int64_t row_bytes = elem * product(h.row_shape);
    const int64_t chunk_rows =
        options.chunk_rows > 0 ? options.chunk_rows : chunk_rows_for(row_bytes, kActsChunkBytes);
    if (storage == RowStorage::Compressed && std::min(chunk_rows, rows) * row_bytes >= (int64_t{1} << 32))
      throw InputError(shown + ": chunks of " + std::to_string(chunk_rows) + " rows of " + h.hook +
                       " exceed HDF5's 4 GiB chunk limit");
    h5::Handle ds;
    create_row_dataset(acts_group.get(), h.hook, store_type.get(), h.row_shape, rows, storage, chunk_rows,
                       shown, &ds);
    write_string_attr(ds.get(), "hook", h.hook, shown);
    write_int_attr(ds.get(), "layer", h.layer, shown);
    write_string_attr(ds.get(), "reduction", h.reduction, shown);
    write_string_attr(ds.get(), "dtype", store_dtype_name(options.dtype), shown);
  }
  acts_group.reset();

  const int64_t zero64 = 0;
  const int8_t zero8 = 0;
  create_scalar_dataset(f, "/committed_rows", H5T_STD_I64LE, H5T_NATIVE_INT64, &zero64, shown);
  create_scalar_dataset(f, "/complete", H5T_STD_I8LE, H5T_NATIVE_INT8, &zero8, shown);
  if (!file.reset()) check(-1, shown, "cannot close after creating");
}

std::vector<std::string> read_class_names(hid_t file, const std::string& column, const std::string& path) {
  const std::string name = "/label_classes/" + column;
  if (H5Lexists(file, "/label_classes", H5P_DEFAULT) <= 0) throw FormatError(path, "no dataset " + name);
  h5::Handle ds = open_dataset(file, name, path);
  const std::vector<hsize_t> dims = dataset_dims(ds.get(), path, name);
  if (dims.size() != 1) throw FormatError(path, name + " is not a list");
  h5::Handle type = h5::type_handle(check(H5Dget_type(ds.get()), path, "cannot read the type of " + name));
  const size_t width = H5Tget_size(type.get());
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0)
    throw FormatError(path, name + " is not a list of fixed-width strings");
  std::vector<char> buf(dims[0] * width);
  if (dims[0] > 0)
    check(H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), path,
          "cannot read " + name);
  std::vector<std::string> out;
  for (hsize_t i = 0; i < dims[0]; ++i)
    out.emplace_back(buf.data() + i * width, strnlen(buf.data() + i * width, width));
  return out;
}

StoreDType stored_dtype(hid_t dataset, const std::string& name, const std::string& path) {
  const std::string dtype = read_string_attr(dataset, "dtype", path);
  for (StoreDType t : {StoreDType::F32, StoreDType::F16, StoreDType::BF16})
    if (dtype == store_dtype_name(t)) return t;
  throw FormatError(path, name + " has an unknown dtype '" + dtype + "'");
}

ActivationFileSummary summarize(hid_t file, const std::string& path, bool for_resume) {
  ActivationFileSummary s;
  s.format_version = read_int_attr(file, "format_version", path);
  const bool known = for_resume
                         ? s.format_version == kFormatVersion
                         : s.format_version >= kOldestReadableFormat && s.format_version <= kFormatVersion;
  if (!known) {
    const std::string what = "format_version " + std::to_string(s.format_version) + " (this resid " +
                             (for_resume ? "writes " + std::to_string(kFormatVersion)
                                         : "reads " + std::to_string(kOldestReadableFormat) + " to " +
                                               std::to_string(kFormatVersion)) +
                             ")";
    if (for_resume) throw InputError(path + ": cannot resume: " + what);
    throw FormatError(path, what);
  }
  s.committed_rows = read_scalar_int(file, "/committed_rows", path);
  s.complete = read_scalar_int(file, "/complete", path) != 0;
  {
    h5::Handle lengths = open_dataset(file, "/lengths", path);
    const std::vector<hsize_t> dims = dataset_dims(lengths.get(), path, "/lengths");
    s.rows = dims.empty() ? 0 : static_cast<int64_t>(dims[0]);
  }
  if (s.committed_rows < 0 || s.committed_rows > s.rows)
    throw FormatError(path, "/committed_rows is " + std::to_string(s.committed_rows) +
                                " but the datasets hold " + std::to_string(s.rows) + " rows");
  ActivationFileInfo& i = s.info;
  i.resid_version = read_string_attr(file, "resid_version", path);
  i.model_path = read_string_attr(file, "model_path", path);
  i.model_sha256 = read_string_attr(file, "model_sha256", path);
  i.model_config_json = read_string_attr(file, "model_config", path);
  i.tokenizer = read_string_attr(file, "tokenizer", path);
  i.dataset_path = read_string_attr(file, "dataset_path", path);
  i.dataset_sha256 = read_string_attr(file, "dataset_sha256", path);
  i.dataset_description = read_string_attr(file, "dataset", path);
  s.fingerprinted = has_attr(file, "dataset_options") && H5Lexists(file, "/row_checksums", H5P_DEFAULT) > 0;
  if (s.fingerprinted) {
    i.model_files = read_string_attr(file, "model_files", path);
    i.tokenizer_sha256 = read_string_attr(file, "tokenizer_sha256", path);
    i.dataset_options = read_string_attr(file, "dataset_options", path);
    i.label_files_sha256 = read_string_attr(file, "label_files_sha256", path);
  }
  i.command_line = read_string_attr(file, "command_line", path);
  i.created = read_string_attr(file, "created", path);
  i.positions = read_string_attr(file, "positions", path);
  i.n_pos = read_int_attr(file, "n_pos", path);

  bool dtype_seen = false;
  for (const std::string& name : group_members(file, "/acts", path)) {
    h5::Handle ds = open_dataset(file, "/acts/" + name, path);
    HookDatasetSpec spec;
    spec.hook = name;
    spec.layer = static_cast<int>(read_int_attr(ds.get(), "layer", path));
    spec.reduction = read_string_attr(ds.get(), "reduction", path);
    const std::vector<hsize_t> dims = dataset_dims(ds.get(), path, "/acts/" + name);
    for (size_t k = 1; k < dims.size(); ++k) spec.row_shape.push_back(static_cast<int64_t>(dims[k]));
    const StoreDType dtype = stored_dtype(ds.get(), "/acts/" + name, path);
    if (dtype_seen && dtype != s.dtype) throw FormatError(path, "/acts datasets have different dtypes");
    s.dtype = dtype;
    dtype_seen = true;
    h5::Handle dcpl =
        h5::plist_handle(check(H5Dget_create_plist(ds.get()), path, "cannot read /acts/" + name));
    s.compressed = s.compressed || H5Pget_nfilters(dcpl.get()) > 0;
    s.hooks.push_back(name);
    s.hook_specs.push_back(spec);
  }
  for (const std::string& name : group_members(file, "/labels", path)) {
    h5::Handle ds = open_dataset(file, "/labels/" + name, path);
    LabelColumn l;
    l.name = name;
    if (!kind_from_name(read_string_attr(ds.get(), "kind", path), &l.kind))
      throw FormatError(path, "/labels/" + name + " has an unknown kind");
    if (is_class_kind(l.kind)) l.classes = read_class_names(file, name, path);
    s.labels.push_back(l);
  }
  return s;
}

void check_resumable(const std::string& path, const ActivationFileSummary& s, const ActivationFileInfo& info,
                     const std::vector<HookDatasetSpec>& hooks, const std::vector<LabelColumn>& labels,
                     const WriterOptions& options) {
  const std::string prefix = path + ": cannot resume: ";
  if (s.complete) throw InputError(path + " is already complete (nothing to resume)");
  if (!s.fingerprinted)
    throw InputError(prefix +
                     "it was written by an older resid without input fingerprints and row checksums "
                     "(start again with force)");
  auto same = [&](const std::string& what, const std::string& file, const std::string& now) {
    if (file != now) throw InputError(prefix + what + " differs (file " + file + ", now " + now + ")");
  };
  same("model_sha256", s.info.model_sha256, info.model_sha256);
  same("tokenizer_sha256", s.info.tokenizer_sha256, info.tokenizer_sha256);
  same("dataset_sha256", s.info.dataset_sha256, info.dataset_sha256);
  // JSON objects: name the first key that differs.
  for (const auto& [what, file, now] :
       {std::tuple<std::string, std::string, std::string>{"dataset option ", s.info.dataset_options,
                                                          info.dataset_options},
        {"label file ", s.info.label_files_sha256, info.label_files_sha256}}) {
    if (file == now) continue;
    nlohmann::json a, b;
    try {
      a = nlohmann::json::parse(file);
      b = nlohmann::json::parse(now);
    } catch (const std::exception&) {
      same(what + "list", file, now);
    }
    if (!a.is_object() || !b.is_object()) same(what + "list", file, now);
    std::set<std::string> keys;
    for (const auto& [k, v] : a.items()) keys.insert(k);
    for (const auto& [k, v] : b.items()) keys.insert(k);
    for (const std::string& k : keys) {
      const std::string x = a.contains(k) ? a[k].dump() : "(none)",
                        y = b.contains(k) ? b[k].dump() : "(none)";
      same(what + k, x, y);
    }
  }
  same("positions", s.info.positions, info.positions);
  same("n_pos", std::to_string(s.info.n_pos), std::to_string(info.n_pos));
  std::vector<std::string> now_hooks;
  for (const auto& h : hooks) now_hooks.push_back(h.hook);
  std::vector<std::string> file_sorted = s.hooks, now_sorted = now_hooks;
  std::sort(file_sorted.begin(), file_sorted.end());
  std::sort(now_sorted.begin(), now_sorted.end());
  if (file_sorted != now_sorted) same("hook list", join_names(s.hooks), join_names(now_hooks));
  for (const auto& h : hooks) {
    const size_t k = std::find(s.hooks.begin(), s.hooks.end(), h.hook) - s.hooks.begin();
    same(("row shape of " + h.hook).c_str(), join_shape(s.hook_specs[k].row_shape), join_shape(h.row_shape));
    same(("reduction of " + h.hook).c_str(), s.hook_specs[k].reduction, h.reduction);
  }
  if (!hooks.empty()) same("dtype", store_dtype_name(s.dtype), store_dtype_name(options.dtype));
  std::vector<std::string> file_labels, now_labels;
  for (const auto& l : s.labels) file_labels.push_back(l.name + " (" + kind_name(l.kind) + ")");
  for (const auto& l : labels) now_labels.push_back(l.name + " (" + kind_name(l.kind) + ")");
  same("label columns", join_names(file_labels), join_names(now_labels));
}

}  // namespace resid::detail
