// HDF5 helpers of the activation file (capture/detail/h5_util.h).
#include "capture/detail/h5_util.h"

#include <cstring>

namespace resid {

namespace h5 {

std::recursive_mutex& library_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

std::string last_error() {
  std::string deepest;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* err, void* out) -> herr_t {
        if (err->desc != nullptr && err->desc[0] != '\0') *static_cast<std::string*>(out) = err->desc;
        return 0;
      },
      &deepest);
  // A failed read or write describes itself as "file write failed: time = <ctime, with a newline>, filename =
  // ..., errno = 28, error message = 'No space left on device', buf = 0x..., ...": keep what it was and why.
  const std::string marker = "error message = '";
  const size_t m = deepest.find(marker);
  if (m != std::string::npos) {
    const size_t begin = m + marker.size(), end = deepest.find('\'', begin);
    const size_t colon = deepest.find(':');
    const std::string what =
        colon != std::string::npos && colon < m ? deepest.substr(0, colon) : "I/O failed";
    deepest = what + ": " + deepest.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }
  // One line, always.
  std::string out;
  for (char c : deepest) {
    const char x = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    if (x == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += x;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace h5

namespace detail {

h5::Handle make_store_type(StoreDType t, const std::string& path) {
  h5::Handle type = h5::type_handle(check(H5Tcopy(H5T_IEEE_F32LE), path, "cannot copy the float32 type"));
  if (t == StoreDType::F32) return type;
  const hid_t id = type.get();
  const bool half = t == StoreDType::F16;
  const bool ok = H5Tset_fields(id, 15, half ? 10 : 7, half ? 5 : 8, 0, half ? 10 : 7) >= 0 &&
                  H5Tset_size(id, 2) >= 0 && H5Tset_precision(id, 16) >= 0 &&
                  H5Tset_ebias(id, half ? 15 : 127) >= 0;
  if (!ok) check(-1, path, "cannot build the " + store_dtype_name(t) + " HDF5 type");
  return type;
}

std::string type_name(hid_t type) {
  const size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      if (size == 2) return H5Tget_ebias(type) == 127 ? "bfloat16" : "float16";
      return "float" + std::to_string(8 * size);
    case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(8 * size);
    case H5T_STRING: return "string";
    default: return "other";
  }
}

h5::Handle class_name_type(const std::string& path) {
  h5::Handle t = h5::type_handle(check(H5Tcopy(H5T_C_S1), path, "cannot create a string type"));
  check(H5Tset_size(t.get(), kClassNameBytes), path, "cannot create a string type");
  check(H5Tset_strpad(t.get(), H5T_STR_NULLPAD), path, "cannot create a string type");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), path, "cannot create a string type");
  return t;
}

std::vector<char> pack_class_names(const std::vector<std::string>& names, size_t first,
                                   const std::string& path, const std::string& column) {
  std::vector<char> out((names.size() - first) * kClassNameBytes, '\0');
  for (size_t i = first; i < names.size(); ++i) {
    const std::string& n = names[i];
    if (n.size() > kClassNameBytes || n.find('\0') != std::string::npos)
      throw InputError(path + ": class name of label column " + column + " is longer than " +
                       std::to_string(kClassNameBytes) + " bytes or contains a NUL: '" + n.substr(0, 40) +
                       "...'");
    std::memcpy(out.data() + (i - first) * kClassNameBytes, n.data(), n.size());
  }
  return out;
}

h5::Handle utf8_string_type(const std::string& path) {
  h5::Handle t = h5::type_handle(check(H5Tcopy(H5T_C_S1), path, "cannot create a string type"));
  check(H5Tset_size(t.get(), H5T_VARIABLE), path, "cannot create a string type");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), path, "cannot create a string type");
  return t;
}

void write_string_attr(hid_t obj, const std::string& name, const std::string& value,
                       const std::string& path) {
  h5::Handle type = utf8_string_type(path);
  h5::Handle space = h5::space_handle(check(H5Screate(H5S_SCALAR), path, "cannot create a dataspace"));
  h5::Handle attr =
      h5::attr_handle(check(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                            path, "cannot create attribute " + name));
  const char* p = value.c_str();
  check(H5Awrite(attr.get(), type.get(), &p), path, "cannot write attribute " + name);
}

void write_int_attr(hid_t obj, const std::string& name, int64_t value, const std::string& path) {
  h5::Handle space = h5::space_handle(check(H5Screate(H5S_SCALAR), path, "cannot create a dataspace"));
  h5::Handle attr = h5::attr_handle(
      check(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), path,
            "cannot create attribute " + name));
  check(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), path, "cannot write attribute " + name);
}

bool has_attr(hid_t obj, const std::string& name) {
  return H5Aexists(obj, name.c_str()) > 0;
}

void require_one_integer(hid_t space_id, hid_t type_id, const std::string& path, const std::string& what) {
  h5::Handle space = h5::space_handle(check(space_id, path, "cannot read the shape of " + what));
  h5::Handle type = h5::type_handle(check(type_id, path, "cannot read the type of " + what));
  if (H5Sget_simple_extent_npoints(space.get()) != 1 || H5Tget_class(type.get()) != H5T_INTEGER)
    throw FormatError(path, what + " is not one integer");
}

std::vector<std::string> read_strings_attr(hid_t obj, const std::string& name, const std::string& path) {
  h5::Handle attr =
      h5::attr_handle(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), path, "no attribute " + name));
  h5::Handle ftype = h5::type_handle(check(H5Aget_type(attr.get()), path, "cannot read attribute " + name));
  if (H5Tget_class(ftype.get()) != H5T_STRING)
    throw FormatError(path, "attribute " + name + " is not a string");
  h5::Handle space = h5::space_handle(check(H5Aget_space(attr.get()), path, "cannot read attribute " + name));
  const hssize_t n = check(H5Sget_simple_extent_npoints(space.get()), path, "cannot read attribute " + name);
  std::vector<std::string> out;
  if (n == 0) return out;
  if (H5Tis_variable_str(ftype.get()) > 0) {
    h5::Handle mtype = utf8_string_type(path);
    std::vector<char*> ptrs(n, nullptr);
    check(H5Aread(attr.get(), mtype.get(), ptrs.data()), path, "cannot read attribute " + name);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, ptrs.data());
  } else {
    const size_t width = H5Tget_size(ftype.get());
    std::vector<char> buf(width * n);
    check(H5Aread(attr.get(), ftype.get(), buf.data()), path, "cannot read attribute " + name);
    for (hssize_t i = 0; i < n; ++i) {
      const char* s = buf.data() + i * width;
      out.emplace_back(s, strnlen(s, width));
    }
  }
  return out;
}

std::string read_string_attr(hid_t obj, const std::string& name, const std::string& path) {
  auto values = read_strings_attr(obj, name, path);
  return values.empty() ? std::string() : values[0];
}

int64_t read_int_attr(hid_t obj, const std::string& name, const std::string& path) {
  h5::Handle attr =
      h5::attr_handle(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), path, "no attribute " + name));
  require_one_integer(H5Aget_space(attr.get()), H5Aget_type(attr.get()), path, "attribute " + name);
  int64_t v = 0;
  check(H5Aread(attr.get(), H5T_NATIVE_INT64, &v), path, "attribute " + name + " is not an integer");
  return v;
}

h5::Handle latest_format_fapl(const std::string& path) {
  h5::Handle fapl =
      h5::plist_handle(check(H5Pcreate(H5P_FILE_ACCESS), path, "cannot create a property list"));
  // The 1.10 file format (version 3 superblock), as format 1 files (written for SWMR) had.
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), path,
        "cannot set libver bounds");
  return fapl;
}

h5::Handle open_dataset(hid_t loc, const std::string& name, const std::string& path, hid_t dapl) {
  if (H5Lexists(loc, name.c_str(), H5P_DEFAULT) <= 0) throw FormatError(path, "no dataset " + name);
  return h5::dataset_handle(check(H5Dopen2(loc, name.c_str(), dapl), path, "cannot open dataset " + name));
}

std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& path, const std::string& name) {
  h5::Handle space = h5::space_handle(check(H5Dget_space(dataset), path, "cannot read the shape of " + name));
  const int rank = check(H5Sget_simple_extent_ndims(space.get()), path, "cannot read the shape of " + name);
  std::vector<hsize_t> dims(rank);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

int64_t read_scalar_int(hid_t file, const std::string& name, const std::string& path) {
  h5::Handle ds = open_dataset(file, name, path);
  require_one_integer(H5Dget_space(ds.get()), H5Dget_type(ds.get()), path, name);
  int64_t v = 0;
  check(H5Dread(ds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), path, "cannot read " + name);
  return v;
}

std::vector<std::string> group_members(hid_t file, const std::string& group, const std::string& path) {
  std::vector<std::string> names;
  if (H5Lexists(file, group.c_str(), H5P_DEFAULT) <= 0) return names;
  h5::Handle g =
      h5::group_handle(check(H5Gopen2(file, group.c_str(), H5P_DEFAULT), path, "cannot open " + group));
  H5G_info_t info;
  check(H5Gget_info(g.get(), &info), path, "cannot list " + group);
  for (H5_index_t index : {H5_INDEX_CRT_ORDER, H5_INDEX_NAME}) {
    names.clear();
    bool ok = true;
    for (hsize_t i = 0; i < info.nlinks && ok; ++i) {
      const ssize_t len = H5Lget_name_by_idx(g.get(), ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
      if (len < 0) {
        ok = false;
        break;
      }
      std::string name(static_cast<size_t>(len) + 1, '\0');
      H5Lget_name_by_idx(g.get(), ".", index, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
      name.resize(static_cast<size_t>(len));
      names.push_back(name);
    }
    if (ok) return names;
  }
  check(-1, path, "cannot list " + group);
  return names;
}

void create_scalar_dataset(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
                           const void* value, const std::string& path) {
  h5::Handle space = h5::space_handle(check(H5Screate(H5S_SCALAR), path, "cannot create a dataspace"));
  h5::Handle dcpl =
      h5::plist_handle(check(H5Pcreate(H5P_DATASET_CREATE), path, "cannot create a property list"));
  // Contiguous and allocated now: the writer updates it with one small write at a fixed offset.
  check(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), path, "cannot set the layout of " + name);
  check(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), path,
        "cannot set the allocation time of " + name);
  h5::Handle ds = h5::dataset_handle(
      check(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), path,
            "cannot create dataset " + name));
  check(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, value), path, "cannot write " + name);
}

h5::Handle create_group(hid_t loc, const std::string& name, const std::string& path) {
  h5::Handle gcpl =
      h5::plist_handle(check(H5Pcreate(H5P_GROUP_CREATE), path, "cannot create a property list"));
  // Creation order: hooks list in capture order, labels in dataset order.
  check(H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), path,
        "cannot create group " + name);
  return h5::group_handle(check(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), path,
                                "cannot create " + name));
}

}  // namespace detail
}  // namespace resid
