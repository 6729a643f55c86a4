#include "census/census_file.h"

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <utility>

#include "core/error.h"

namespace resid {

namespace {

constexpr const char* kFormat = "resid-census";
constexpr int64_t kFormatVersion = 1;

// Owns one hid_t; closed by the matching H5?close.
class H5 {
 public:
  H5(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  H5(const H5&) = delete;
  H5& operator=(const H5&) = delete;
  ~H5() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

hid_t check(hid_t id, const std::string& path, const std::string& what) {
  if (id < 0) throw FormatError(path, what);
  return id;
}

struct Writer {
  std::string path;  // for messages: the destination, not the temporary

  template <typename T>
  void dataset(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
               const std::vector<T>& v) const {
    const hsize_t dims[1] = {v.size()};
    H5 space(check(H5Screate_simple(1, dims, nullptr), path, "cannot create a dataspace"), H5Sclose);
    H5 d(check(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
               path, "cannot create dataset " + name),
         H5Dclose);
    if (!v.empty())
      check(H5Dwrite(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), path,
            "cannot write " + name);
  }
  void attr(hid_t obj, const std::string& name, const std::string& value) const {
    H5 type(check(H5Tcopy(H5T_C_S1), path, "cannot create a string type"), H5Tclose);
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    H5 space(check(H5Screate(H5S_SCALAR), path, "cannot create a dataspace"), H5Sclose);
    H5 a(check(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), path,
               "cannot create attribute " + name),
         H5Aclose);
    const char* p = value.c_str();
    check(H5Awrite(a.get(), type.get(), &p), path, "cannot write attribute " + name);
  }
  template <typename T>
  void attr(hid_t obj, const std::string& name, hid_t file_type, hid_t mem_type, T value) const {
    H5 space(check(H5Screate(H5S_SCALAR), path, "cannot create a dataspace"), H5Sclose);
    H5 a(check(H5Acreate2(obj, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), path,
               "cannot create attribute " + name),
         H5Aclose);
    check(H5Awrite(a.get(), mem_type, &value), path, "cannot write attribute " + name);
  }
};

struct Reader {
  std::string path;

  bool has(hid_t loc, const std::string& name) const { return H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0; }
  template <typename T>
  std::vector<T> dataset(hid_t loc, const std::string& name, hid_t mem_type) const {
    if (!has(loc, name)) throw FormatError(path, "not a census file: no dataset " + name);
    H5 d(check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), path, "cannot open " + name), H5Dclose);
    H5 space(check(H5Dget_space(d.get()), path, "cannot read " + name), H5Sclose);
    if (H5Sget_simple_extent_ndims(space.get()) != 1)
      throw FormatError(path, name + " is not one-dimensional");
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space.get(), &n, nullptr);
    std::vector<T> v(n);
    if (n)
      check(H5Dread(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), path, "cannot read " + name);
    return v;
  }
  std::string string_attr(hid_t obj, const std::string& name) const {
    if (H5Aexists(obj, name.c_str()) <= 0) throw FormatError(path, "not a census file: no attribute " + name);
    H5 a(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), path, "cannot open attribute " + name), H5Aclose);
    H5 type(check(H5Tcopy(H5T_C_S1), path, "cannot create a string type"), H5Tclose);
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    char* p = nullptr;
    check(H5Aread(a.get(), type.get(), &p), path, "attribute " + name + " is not a string");
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  template <typename T>
  T attr(hid_t obj, const std::string& name, hid_t mem_type) const {
    if (H5Aexists(obj, name.c_str()) <= 0) throw FormatError(path, "not a census file: no attribute " + name);
    H5 a(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), path, "cannot open attribute " + name), H5Aclose);
    T v{};
    check(H5Aread(a.get(), mem_type, &v), path, "attribute " + name + " has the wrong type");
    return v;
  }
};

}  // namespace

void write_census_file(const std::string& path, const CensusResult& r) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become exceptions, not stack dumps on stderr
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const Writer w{path};
  try {
    {
      H5 file(check(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), path, "cannot create"),
              H5Fclose);
      const hid_t f = file.get();
      w.attr(f, "format", kFormat);
      w.attr(f, "format_version", H5T_STD_I64LE, H5T_NATIVE_INT64, kFormatVersion);
      w.attr(f, "resid_version", RESID_VERSION);
      w.attr(f, "source", r.source);
      w.attr(f, "data", r.data);
      w.attr(f, "ffn", r.ffn);
      w.attr(f, "firing_rule", firing_rule_name(r.rule));
      w.attr(f, "firing_rule_description", r.rule_description());
      w.attr(f, "hook_site", hook_site_info(firing_hook_site(r.rule)).suffix);
      w.attr(f, "threshold", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, r.options.threshold);
      w.attr(f, "n_examples", H5T_STD_I64LE, H5T_NATIVE_INT64, r.n_examples);
      w.attr(f, "partial", H5T_STD_I64LE, H5T_NATIVE_INT64, int64_t(r.partial));
      w.attr(f, "n_labelled", H5T_STD_I64LE, H5T_NATIVE_INT64, r.n_labelled);
      w.attr(f, "n_correct", H5T_STD_I64LE, H5T_NATIVE_INT64, r.n_correct);
      w.attr(f, "bins_per_decade", H5T_STD_I64LE, H5T_NATIVE_INT64, int64_t(r.options.bins_per_decade));
      w.dataset(f, "rare_densities", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, r.options.rare_densities);
      w.dataset(f, "histogram_edges_log10", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                r.options.histogram_edges_log10());
      H5 layers(check(H5Gcreate2(f, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path,
                      "cannot create /layers"),
                H5Gclose);
      for (const LayerCensus& l : r.layers) {
        const std::string name = std::to_string(l.layer);
        H5 g(check(H5Gcreate2(layers.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path,
                   "cannot create /layers/" + name),
             H5Gclose);
        w.attr(g.get(), "hook", l.hook);
        w.attr(g.get(), "layer", H5T_STD_I64LE, H5T_NATIVE_INT64, int64_t(l.layer));
        w.attr(g.get(), "n_tokens", H5T_STD_I64LE, H5T_NATIVE_INT64, l.n_tokens);
        std::vector<double> density(l.width()), mean(l.width()), mean_active(l.width());
        for (int j = 0; j < l.width(); ++j)
          density[j] = l.density(j), mean[j] = l.mean(j), mean_active[j] = l.mean_active(j);
        std::vector<int64_t> rare;
        for (double d : r.options.rare_densities) rare.push_back(l.rare_count(d));
        w.dataset(g.get(), "fires", H5T_STD_I64LE, H5T_NATIVE_INT64, l.fires);
        w.dataset(g.get(), "density", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, density);
        w.dataset(g.get(), "mean", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, mean);
        w.dataset(g.get(), "max", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, l.max);
        w.dataset(g.get(), "mean_active", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, mean_active);
        w.dataset(g.get(), "dead_ids", H5T_STD_I32LE, H5T_NATIVE_INT32, l.dead_ids());
        w.dataset(g.get(), "histogram", H5T_STD_I64LE, H5T_NATIVE_INT64, l.histogram(r.options));
        w.dataset(g.get(), "rare_counts", H5T_STD_I64LE, H5T_NATIVE_INT64, rare);
      }
      if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) throw FormatError(path, "cannot write (disk full?)");
    }
    std::filesystem::rename(tmp, path);
  } catch (const std::filesystem::filesystem_error& e) {
    std::filesystem::remove(tmp);
    throw FormatError(path,
                      std::string("cannot move the finished file into place (") + e.code().message() + ")");
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
}

CensusResult read_census_file(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  if (!std::filesystem::is_regular_file(path)) throw FormatError(path, "no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw FormatError(path, "not an HDF5 file");
  H5 file(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path, "cannot open"), H5Fclose);
  const hid_t f = file.get();
  const Reader rd{path};
  if (rd.string_attr(f, "format") != kFormat)
    throw FormatError(path, "not a census file (format attribute differs)");
  const int64_t version = rd.attr<int64_t>(f, "format_version", H5T_NATIVE_INT64);
  if (version != kFormatVersion)
    throw FormatError(path, "census format version " + std::to_string(version) + " is not supported");
  CensusResult r;
  r.source = rd.string_attr(f, "source");
  r.data = rd.string_attr(f, "data");
  r.ffn = rd.string_attr(f, "ffn");
  r.rule = rd.string_attr(f, "firing_rule") == firing_rule_name(FiringRule::GatePreActivation)
               ? FiringRule::GatePreActivation
               : FiringRule::PostActivation;
  r.options.threshold = rd.attr<double>(f, "threshold", H5T_NATIVE_DOUBLE);
  r.n_examples = rd.attr<int64_t>(f, "n_examples", H5T_NATIVE_INT64);
  r.partial = rd.attr<int64_t>(f, "partial", H5T_NATIVE_INT64) != 0;
  r.n_labelled = rd.attr<int64_t>(f, "n_labelled", H5T_NATIVE_INT64);
  r.n_correct = rd.attr<int64_t>(f, "n_correct", H5T_NATIVE_INT64);
  r.options.bins_per_decade = static_cast<int>(rd.attr<int64_t>(f, "bins_per_decade", H5T_NATIVE_INT64));
  r.options.rare_densities = rd.dataset<double>(f, "rare_densities", H5T_NATIVE_DOUBLE);
  const std::vector<double> edges = rd.dataset<double>(f, "histogram_edges_log10", H5T_NATIVE_DOUBLE);
  if (edges.size() < 2) throw FormatError(path, "histogram_edges_log10 needs at least two edges");
  r.options.histogram_min_log10 = edges.front();
  if (!rd.has(f, "layers")) throw FormatError(path, "not a census file: no /layers group");
  H5 layers(check(H5Gopen2(f, "layers", H5P_DEFAULT), path, "cannot open /layers"), H5Gclose);
  H5G_info_t info;
  check(H5Gget_info(layers.get(), &info), path, "cannot list /layers");
  std::vector<std::pair<int, std::string>> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char buf[64];
    H5Lget_name_by_idx(layers.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, sizeof buf, H5P_DEFAULT);
    names.emplace_back(std::atoi(buf), buf);
  }
  std::sort(names.begin(), names.end());  // numeric order: "10" after "9"
  for (const auto& [layer, name] : names) {
    H5 g(check(H5Gopen2(layers.get(), name.c_str(), H5P_DEFAULT), path, "cannot open /layers/" + name),
         H5Gclose);
    LayerCensus l;
    l.layer = layer;
    l.hook = rd.string_attr(g.get(), "hook");
    l.n_tokens = rd.attr<int64_t>(g.get(), "n_tokens", H5T_NATIVE_INT64);
    l.fires = rd.dataset<int64_t>(g.get(), "fires", H5T_NATIVE_INT64);
    l.max = rd.dataset<float>(g.get(), "max", H5T_NATIVE_FLOAT);
    const std::vector<double> mean = rd.dataset<double>(g.get(), "mean", H5T_NATIVE_DOUBLE);
    const std::vector<double> mean_active = rd.dataset<double>(g.get(), "mean_active", H5T_NATIVE_DOUBLE);
    if (l.max.size() != l.fires.size() || mean.size() != l.fires.size() ||
        mean_active.size() != l.fires.size())
      throw FormatError(path, "/layers/" + name + " datasets have different lengths");
    l.sum.resize(l.fires.size());
    l.sum_active.resize(l.fires.size());
    for (size_t j = 0; j < l.fires.size(); ++j) {
      l.sum[j] = mean[j] * double(l.n_tokens);
      l.sum_active[j] = l.fires[j] ? mean_active[j] * double(l.fires[j]) : 0.0;
    }
    r.layers.push_back(std::move(l));
  }
  return r;
}

}  // namespace resid
