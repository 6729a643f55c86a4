// Reading activation files back (capture/activation_reader.h), and the one-call forms in activation_file.h:
// the summary, committed rows of one dataset, raw datasets for tools comparing files.
#include "capture/activation_reader.h"

#include <algorithm>
#include <cstring>

#include "capture/detail/activation_schema.h"
#include "core/dtype.h"

namespace resid {

using namespace detail;

ActivationFileSummary read_activation_summary(const std::string& path) {
  h5::Call call;
  h5::Handle file = open_for_read(path);
  return summarize(file.get(), path);
}

namespace {

// Reads rows [first, first + n) of a row dataset into `out` (memory type `mem_type`, or as stored when
// negative), checking the range against `committed`. Returns the row shape.
std::vector<int64_t> read_committed_rows(hid_t file, const std::string& name, int64_t first, int64_t n,
                                         int64_t committed, hid_t mem_type, size_t elem_bytes,
                                         std::vector<uint8_t>* out, const std::string& path) {
  if (first < 0 || n < 0 || first + n > committed)
    throw InputError(path + ": rows " + std::to_string(first) + ".." + std::to_string(first + n) + " of " +
                     name + " requested, " + std::to_string(committed) + " committed");
  h5::Handle ds = open_dataset(file, name, path);
  const std::vector<hsize_t> dims = dataset_dims(ds.get(), path, name);
  if (dims.empty() || static_cast<int64_t>(dims[0]) < first + n)
    throw FormatError(path, name + " is shorter than /committed_rows");
  std::vector<int64_t> row_shape(dims.begin() + 1, dims.end());
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = static_cast<hsize_t>(first);
  count[0] = static_cast<hsize_t>(n);
  out->resize(static_cast<size_t>(n * product(row_shape)) * elem_bytes);
  if (n == 0) return row_shape;
  h5::Handle fspace = h5::space_handle(check(H5Dget_space(ds.get()), path, "cannot read " + name));
  check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), path,
        "cannot select rows of " + name);
  h5::Handle mspace = h5::space_handle(check(
      H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), path, "cannot read " + name));
  h5::Handle type;
  if (mem_type < 0) {  // as stored
    type = h5::type_handle(check(H5Dget_type(ds.get()), path, "cannot read the type of " + name));
    mem_type = type.get();
  }
  check(H5Dread(ds.get(), mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, out->data()), path,
        "cannot read " + name);
  return row_shape;
}

// memcpy that accepts empty (null) buffers.
void copy_bytes(void* dst, const void* src, size_t n) {
  if (n > 0) std::memcpy(dst, src, n);
}

void check_member_name(const std::string& path, const std::string& what, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos)
    throw InputError(path + ": no " + what + " named '" + name + "'");
}

}  // namespace

struct ActivationReader::File {
  std::string path;
  h5::Handle file;
  ActivationFileSummary summary;
};

ActivationReader::ActivationReader(const std::string& path) : file_(std::make_unique<File>()) {
  h5::Call call;
  file_->path = path;
  file_->file = open_for_read(path);
  file_->summary = summarize(file_->file.get(), path);
}

ActivationReader::~ActivationReader() {
  h5::Call call;
  file_.reset();
}

const std::string& ActivationReader::path() const {
  return file_->path;
}

const ActivationFileSummary& ActivationReader::summary() const {
  return file_->summary;
}

namespace {

size_t hook_index(const ActivationFileSummary& s, const std::string& path, const std::string& hook) {
  check_member_name(path, "hook", hook);
  const auto it = std::find(s.hooks.begin(), s.hooks.end(), hook);
  if (it == s.hooks.end()) throw InputError(path + ": no activations of hook " + hook);
  return static_cast<size_t>(it - s.hooks.begin());
}

}  // namespace

std::vector<int64_t> ActivationReader::row_shape(const std::string& hook) const {
  const ActivationFileSummary& s = file_->summary;
  return s.hook_specs[hook_index(s, file_->path, hook)].row_shape;
}

void ActivationReader::read_rows(const std::string& hook, int64_t first, int64_t n,
                                 std::vector<float>* out) const {
  h5::Call call;
  const ActivationFileSummary& s = file_->summary;
  hook_index(s, file_->path, hook);
  const std::string name = "/acts/" + hook;
  const StoreDType dtype = s.dtype;
  std::vector<uint8_t> raw;
  const std::vector<int64_t> shape = read_committed_rows(file_->file.get(), name, first, n, s.committed_rows,
                                                         dtype == StoreDType::F32 ? H5T_NATIVE_FLOAT : -1,
                                                         dtype == StoreDType::F32 ? 4 : 2, &raw, file_->path);
  out->resize(static_cast<size_t>(n * product(shape)));
  if (dtype == StoreDType::F32) {
    copy_bytes(out->data(), raw.data(), out->size() * sizeof(float));
  } else {
    const auto* bits = reinterpret_cast<const uint16_t*>(raw.data());
    for (size_t i = 0; i < out->size(); ++i)
      (*out)[i] = dtype == StoreDType::F16 ? f16_to_f32(bits[i]) : bf16_to_f32(bits[i]);
  }
}

void ActivationReader::read_tokens(int64_t first, int64_t n, std::vector<int32_t>* tokens,
                                   std::vector<int32_t>* lengths) const {
  h5::Call call;
  const int64_t committed = file_->summary.committed_rows;
  std::vector<uint8_t> raw;
  read_committed_rows(file_->file.get(), "/tokens", first, n, committed, H5T_NATIVE_INT32, 4, &raw,
                      file_->path);
  tokens->resize(raw.size() / 4);
  copy_bytes(tokens->data(), raw.data(), raw.size());
  if (lengths) {
    read_committed_rows(file_->file.get(), "/lengths", first, n, committed, H5T_NATIVE_INT32, 4, &raw,
                        file_->path);
    lengths->resize(raw.size() / 4);
    copy_bytes(lengths->data(), raw.data(), raw.size());
  }
}

void ActivationReader::read_labels(const std::string& name, int64_t first, int64_t n,
                                   std::vector<double>* out) const {
  h5::Call call;
  const ActivationFileSummary& s = file_->summary;
  check_member_name(file_->path, "label column", name);
  if (std::none_of(s.labels.begin(), s.labels.end(), [&](const LabelColumn& l) { return l.name == name; }))
    throw InputError(file_->path + ": no label column " + name);
  std::vector<uint8_t> raw;
  read_committed_rows(file_->file.get(), "/labels/" + name, first, n, s.committed_rows, H5T_NATIVE_DOUBLE, 8,
                      &raw, file_->path);
  out->resize(raw.size() / 8);
  copy_bytes(out->data(), raw.data(), raw.size());
}

std::vector<float> read_activation_rows(const std::string& path, const std::string& hook, int64_t first_row,
                                        int64_t n_rows, std::vector<int64_t>* row_shape) {
  ActivationReader reader(path);
  std::vector<float> out;
  reader.read_rows(hook, first_row, n_rows, &out);
  if (row_shape) *row_shape = reader.row_shape(hook);
  return out;
}

std::vector<int32_t> read_activation_tokens(const std::string& path, int64_t first_row, int64_t n_rows,
                                            std::vector<int32_t>* lengths) {
  std::vector<int32_t> tokens;
  ActivationReader(path).read_tokens(first_row, n_rows, &tokens, lengths);
  return tokens;
}

std::vector<double> read_activation_labels(const std::string& path, const std::string& name,
                                           int64_t first_row, int64_t n_rows) {
  std::vector<double> out;
  ActivationReader(path).read_labels(name, first_row, n_rows, &out);
  return out;
}

std::vector<std::string> list_stored_datasets(const std::string& path) {
  h5::Call call;
  h5::Handle file = open_for_read(path);
  std::vector<std::string> out;
  std::vector<std::string> groups{"/"};
  while (!groups.empty()) {
    const std::string group = groups.back();
    groups.pop_back();
    for (const std::string& name : group_members(file.get(), group, path)) {
      const std::string full = (group == "/" ? "/" : group + "/") + name;
      h5::Handle obj(check(H5Oopen(file.get(), full.c_str(), H5P_DEFAULT), path, "cannot open " + full),
                     H5Oclose);
      const H5I_type_t kind = H5Iget_type(obj.get());
      if (kind == H5I_GROUP) groups.push_back(full);
      if (kind == H5I_DATASET) out.push_back(full);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint8_t> read_stored_dataset(const std::string& path, const std::string& dataset,
                                         std::vector<int64_t>* shape, std::string* type) {
  h5::Call call;
  h5::Handle file = open_for_read(path);
  if (H5Lexists(file.get(), dataset.c_str(), H5P_DEFAULT) <= 0)
    throw InputError(path + ": no dataset " + dataset);
  h5::Handle ds = open_dataset(file.get(), dataset, path);
  h5::Handle ftype =
      h5::type_handle(check(H5Dget_type(ds.get()), path, "cannot read the type of " + dataset));
  const std::vector<hsize_t> dims = dataset_dims(ds.get(), path, dataset);
  int64_t count = 1;
  for (hsize_t d : dims) count *= static_cast<int64_t>(d);
  std::vector<uint8_t> bytes(static_cast<size_t>(count) * H5Tget_size(ftype.get()));
  if (count > 0)
    check(H5Dread(ds.get(), ftype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), path,
          "cannot read " + dataset);
  if (shape) shape->assign(dims.begin(), dims.end());
  if (type) *type = type_name(ftype.get());
  return bytes;
}

}  // namespace resid
