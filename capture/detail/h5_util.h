// HDF5 helpers shared by the activation file's schema, writer and reader: every failure becomes a FormatError
// naming the file, attributes are written and read with their types checked, datasets opened by path.
// Internal to resid::capture (public headers never mention hid_t).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "capture/activation_file.h"
#include "capture/detail/h5_handles.h"
#include "core/error.h"

namespace resid::detail {

// Class names are stored fixed-width: a plain array any reader decodes the same way, kept from format 1.
constexpr size_t kClassNameBytes = 256;

// Throws FormatError naming `path` when an HDF5 call failed (negative id or status).
template <typename T>
T check(T result, const std::string& path, const std::string& what) {
  if (result < 0) {
    const std::string detail = h5::last_error();
    throw FormatError(path, what + (detail.empty() ? "" : " (" + detail + ")"));
  }
  return result;
}

// float16 and bfloat16 as HDF5 floating-point types. HDF5 1.10 predefines no 16-bit float, so both are built
// from IEEE binary32 by moving its fields: h5py maps the 1+5+10 layout to numpy float16, and reads the 1+8+7
// bfloat16 layout (no numpy type) converted exactly to float32. Fields are set before the size so no field
// ever sticks out.
h5::Handle make_store_type(StoreDType t, const std::string& path);

// A name for a stored element type, for read_stored_dataset.
std::string type_name(hid_t type);

// The element type of /label_classes datasets: kClassNameBytes of UTF-8, zero-padded.
h5::Handle class_name_type(const std::string& path);

// Class names in the fixed-width stored form; InputError for names that do not fit.
std::vector<char> pack_class_names(const std::vector<std::string>& names, size_t first,
                                   const std::string& path, const std::string& column);

h5::Handle utf8_string_type(const std::string& path);

void write_string_attr(hid_t obj, const std::string& name, const std::string& value, const std::string& path);

void write_int_attr(hid_t obj, const std::string& name, int64_t value, const std::string& path);

bool has_attr(hid_t obj, const std::string& name);

// A damaged file can give a "scalar" many elements, which a read into one int64 would overflow. Takes
// ownership of both ids.
void require_one_integer(hid_t space_id, hid_t type_id, const std::string& path, const std::string& what);

// Reads a string attribute (variable or fixed length), or a string list as its elements.
std::vector<std::string> read_strings_attr(hid_t obj, const std::string& name, const std::string& path);

std::string read_string_attr(hid_t obj, const std::string& name, const std::string& path);

int64_t read_int_attr(hid_t obj, const std::string& name, const std::string& path);

h5::Handle latest_format_fapl(const std::string& path);

h5::Handle open_dataset(hid_t loc, const std::string& name, const std::string& path,
                        hid_t dapl = H5P_DEFAULT);

std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& path, const std::string& name);

int64_t read_scalar_int(hid_t file, const std::string& name, const std::string& path);

// Link names of a group, in creation order when the group tracks it (ours do), else by name.
std::vector<std::string> group_members(hid_t file, const std::string& group, const std::string& path);

void create_scalar_dataset(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
                           const void* value, const std::string& path);

h5::Handle create_group(hid_t loc, const std::string& name, const std::string& path);

}  // namespace resid::detail
