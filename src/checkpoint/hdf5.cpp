// The checked HDF5 layer of the checkpoint module: turns a failed call into h5::Failure with
// HDF5's innermost error description, and implements the typed attribute and dataset helpers
// (fixed-length ASCII strings as h5py writes them, chunked Fletcher32-protected datasets).
#include "hdf5.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace fmnist::h5 {
namespace {

// HDF5's message for the innermost failed function, e.g. "Fletcher32 checksum error".
herr_t take_innermost(unsigned n, const H5E_error2_t* error, void* out) {
  if (n != 0) return 0;
  auto* text = static_cast<std::string*>(out);
  if (error->desc != nullptr && error->desc[0] != '\0') {
    *text = error->desc;
  } else {
    char buffer[256] = {};
    H5Eget_msg(error->min_num, nullptr, buffer, sizeof buffer);
    *text = buffer;
  }
  return 0;
}

// HDF5 describes system errors as "... errno = 28, error message = 'No space left on device' ...".
std::string simplify(const std::string& description) {
  const std::string marker = "error message = '";
  const auto start = description.find(marker);
  if (start == std::string::npos) return description;
  const auto end = description.find('\'', start + marker.size());
  return description.substr(start + marker.size(), end - start - marker.size());
}

std::string short_source(const char* file) {
  const std::string path = file;
  const auto src = path.rfind("src/");
  return src == std::string::npos ? path : path.substr(src);
}

template <typename T>
struct Types;
template <>
struct Types<float> {
  static hid_t memory() { return H5T_NATIVE_FLOAT; }
  static hid_t file() { return H5T_IEEE_F32LE; }
};
template <>
struct Types<double> {
  static hid_t memory() { return H5T_NATIVE_DOUBLE; }
  static hid_t file() { return H5T_IEEE_F64LE; }
};
template <>
struct Types<std::int64_t> {
  static hid_t memory() { return H5T_NATIVE_INT64; }
  static hid_t file() { return H5T_STD_I64LE; }
};
template <>
struct Types<std::uint64_t> {
  static hid_t memory() { return H5T_NATIVE_UINT64; }
  static hid_t file() { return H5T_STD_U64LE; }
};
template <>
struct Types<std::uint32_t> {
  static hid_t memory() { return H5T_NATIVE_UINT32; }
  static hid_t file() { return H5T_STD_U32LE; }
};

// Object creation without time stamps, so identical checkpoints are identical files.
PropertyList creation_list(hid_t list_class) {
  PropertyList list{FMNIST_H5(H5Pcreate(list_class))};
  FMNIST_H5(H5Pset_obj_track_times(list.get(), false));
  return list;
}

Datatype fixed_string_type(std::size_t size) {
  Datatype type{FMNIST_H5(H5Tcopy(H5T_C_S1))};
  FMNIST_H5(H5Tset_size(type.get(), std::max<std::size_t>(size, 1)));
  FMNIST_H5(H5Tset_strpad(type.get(), H5T_STR_NULLPAD));
  FMNIST_H5(H5Tset_cset(type.get(), H5T_CSET_ASCII));
  return type;
}

Attribute open_attribute(hid_t object, const std::string& name) {
  if (FMNIST_H5(H5Aexists(object, name.c_str())) == 0) {
    throw Failure("attribute " + name + " missing", "missing");
  }
  return Attribute{FMNIST_H5(H5Aopen(object, name.c_str(), H5P_DEFAULT))};
}

[[noreturn]] void too_large(const std::string& name, const std::string& what, std::size_t limit) {
  throw Failure("attribute " + name + ": " + what + ", more than the limit of " + std::to_string(limit),
                "too large");
}

// Strings of a string attribute of any shape, fixed-length or variable-length, within the limits.
std::vector<std::string> read_strings(const Attribute& attribute, const std::string& name, std::size_t max_count,
                                      std::size_t max_bytes) {
  Datatype type{FMNIST_H5(H5Aget_type(attribute.get()))};
  if (FMNIST_H5(H5Tget_class(type.get())) != H5T_STRING) {
    throw Failure("attribute " + name + " is not a string", "not a string");
  }
  Dataspace space{FMNIST_H5(H5Aget_space(attribute.get()))};
  const auto count = static_cast<std::size_t>(FMNIST_H5(H5Sget_simple_extent_npoints(space.get())));
  if (count > max_count) too_large(name, std::to_string(count) + " strings", max_count);
  std::vector<std::string> values;
  if (count == 0) return values;
  if (FMNIST_H5(H5Tis_variable_str(type.get())) > 0) {
    std::vector<char*> pointers(count, nullptr);
    FMNIST_H5(H5Aread(attribute.get(), type.get(), pointers.data()));
    std::size_t total = 0;
    for (char* p : pointers) {
      values.emplace_back(p != nullptr ? p : "");
      total += values.back().size();
    }
    FMNIST_H5(H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, pointers.data()));
    if (total > max_bytes) too_large(name, std::to_string(total) + " bytes of text", max_bytes);
    return values;
  }
  const std::size_t size = H5Tget_size(type.get());
  if (size == 0 || size > max_bytes / count) too_large(name, std::to_string(count) + " strings of " + std::to_string(size) + " bytes", max_bytes);
  std::vector<char> buffer(count * size);
  FMNIST_H5(H5Aread(attribute.get(), type.get(), buffer.data()));
  for (std::size_t i = 0; i < count; ++i) {
    const char* begin = buffer.data() + i * size;
    values.emplace_back(begin, std::find(begin, begin + size, '\0'));
  }
  return values;
}

}  // namespace

void silence_errors() { FMNIST_H5(H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr)); }

void fail(const char* call, const char* file, int line) {
  std::string description;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_innermost, &description);
  H5Eclear2(H5E_DEFAULT);
  const std::string text = call;
  const std::string function = text.substr(0, text.find('('));
  const std::string cause = simplify(description);
  throw Failure(function + " failed (" + short_source(file) + ":" + std::to_string(line) + ")" +
                    (cause.empty() ? "" : ": " + cause),
                cause);
}

PropertyList file_access() {
  silence_errors();
  PropertyList fapl{FMNIST_H5(H5Pcreate(H5P_FILE_ACCESS))};
  FMNIST_H5(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG));
  return fapl;
}

File open_file(const std::string& path) {
  const PropertyList fapl = file_access();
  return File{FMNIST_H5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()))};
}

bool is_hdf5(const std::string& path) {
  silence_errors();
  return FMNIST_H5(H5Fis_hdf5(path.c_str())) > 0;
}

Group create_group(hid_t parent, const std::string& name) {
  const PropertyList gcpl = creation_list(H5P_GROUP_CREATE);
  return Group{FMNIST_H5(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT))};
}

Group open_group(hid_t parent, const std::string& name) {
  return Group{FMNIST_H5(H5Gopen2(parent, name.c_str(), H5P_DEFAULT))};
}

bool exists(hid_t location, const std::string& path) {
  std::size_t end = path.find('/', 1);
  while (true) {
    const std::string prefix = path.substr(0, end);
    if (!prefix.empty() && prefix != "/" && FMNIST_H5(H5Lexists(location, prefix.c_str(), H5P_DEFAULT)) == 0) {
      return false;
    }
    if (end == std::string::npos) return true;
    end = path.find('/', end + 1);
  }
}

template <typename T>
void write_attribute(hid_t object, const std::string& name, T value) {
  const Dataspace space{FMNIST_H5(H5Screate(H5S_SCALAR))};
  const Attribute attribute{FMNIST_H5(
      H5Acreate2(object, name.c_str(), Types<T>::file(), space.get(), H5P_DEFAULT, H5P_DEFAULT))};
  FMNIST_H5(H5Awrite(attribute.get(), Types<T>::memory(), &value));
}

void write_attribute(hid_t object, const std::string& name, const std::string& value) {
  const Datatype type = fixed_string_type(value.size());
  const Dataspace space{FMNIST_H5(H5Screate(H5S_SCALAR))};
  const Attribute attribute{
      FMNIST_H5(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT))};
  std::vector<char> buffer(std::max<std::size_t>(value.size(), 1), '\0');
  std::copy(value.begin(), value.end(), buffer.begin());
  FMNIST_H5(H5Awrite(attribute.get(), type.get(), buffer.data()));
}

void write_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values) {
  std::size_t size = 1;
  for (const auto& v : values) size = std::max(size, v.size());
  const Datatype type = fixed_string_type(size);
  const hsize_t dims[1] = {values.size()};
  const Dataspace space{FMNIST_H5(H5Screate_simple(1, dims, nullptr))};
  const Attribute attribute{
      FMNIST_H5(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT))};
  if (values.empty()) return;
  std::vector<char> buffer(values.size() * size, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::copy(values[i].begin(), values[i].end(), buffer.begin() + static_cast<std::ptrdiff_t>(i * size));
  }
  FMNIST_H5(H5Awrite(attribute.get(), type.get(), buffer.data()));
}

template <typename T>
T read_attribute(hid_t object, const std::string& name) {
  const Attribute attribute = open_attribute(object, name);
  const Dataspace space{FMNIST_H5(H5Aget_space(attribute.get()))};
  if (FMNIST_H5(H5Sget_simple_extent_npoints(space.get())) != 1) {
    throw Failure("attribute " + name + " is not a single value", "not a single value");
  }
  const Datatype type{FMNIST_H5(H5Aget_type(attribute.get()))};
  const H5T_class_t want = std::is_floating_point_v<T> ? H5T_FLOAT : H5T_INTEGER;
  if (FMNIST_H5(H5Tget_class(type.get())) != want) {
    const std::string kind = std::is_floating_point_v<T> ? "a floating-point number" : "an integer";
    throw Failure("attribute " + name + " is not " + kind, "wrong type");
  }
  T value{};
  FMNIST_H5(H5Aread(attribute.get(), Types<T>::memory(), &value));
  return value;
}

std::string read_string_attribute(hid_t object, const std::string& name, std::size_t max_bytes) {
  const auto values = read_strings(open_attribute(object, name), name, 1, max_bytes);
  if (values.size() != 1) throw Failure("attribute " + name + " is not a single string", "not a string");
  return values[0];
}

std::vector<std::string> read_strings_attribute(hid_t object, const std::string& name, std::size_t max_count,
                                                std::size_t max_bytes) {
  return read_strings(open_attribute(object, name), name, max_count, max_bytes);
}

template <typename T>
void write_dataset(hid_t location, const std::string& name, const std::vector<hsize_t>& dims,
                   const T* data, bool fletcher32) {
  std::vector<hsize_t> chunk(dims.size()), max_dims(dims);
  bool empty = false;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    chunk[i] = std::max<hsize_t>(dims[i], 1);
    if (dims[i] == 0) {
      max_dims[i] = H5S_UNLIMITED;
      empty = true;
    }
  }
  const auto rank = static_cast<int>(dims.size());
  const Dataspace space{FMNIST_H5(H5Screate_simple(rank, dims.data(), max_dims.data()))};
  const PropertyList dcpl = creation_list(H5P_DATASET_CREATE);
  FMNIST_H5(H5Pset_chunk(dcpl.get(), rank, chunk.data()));
  if (fletcher32) FMNIST_H5(H5Pset_fletcher32(dcpl.get()));
  const Dataset dataset{FMNIST_H5(H5Dcreate2(location, name.c_str(), Types<T>::file(), space.get(),
                                             H5P_DEFAULT, dcpl.get(), H5P_DEFAULT))};
  if (!empty) FMNIST_H5(H5Dwrite(dataset.get(), Types<T>::memory(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
}

DatasetInfo dataset_info(hid_t dataset) {
  DatasetInfo info;
  const Dataspace space{FMNIST_H5(H5Dget_space(dataset))};
  info.dims.resize(static_cast<std::size_t>(FMNIST_H5(H5Sget_simple_extent_ndims(space.get()))));
  FMNIST_H5(H5Sget_simple_extent_dims(space.get(), info.dims.data(), nullptr));
  const Datatype type{FMNIST_H5(H5Dget_type(dataset))};
  info.type_class = FMNIST_H5(H5Tget_class(type.get()));
  info.type_size = H5Tget_size(type.get());
  info.stored_bytes = H5Dget_storage_size(dataset);
  const PropertyList dcpl{FMNIST_H5(H5Dget_create_plist(dataset))};
  const int filters = FMNIST_H5(H5Pget_nfilters(dcpl.get()));
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0, config = 0;
    std::size_t count = 0;
    const H5Z_filter_t id = FMNIST_H5(
        H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &count, nullptr, 0, nullptr, &config));
    if (id == H5Z_FILTER_FLETCHER32) info.fletcher32 = true;
  }
  return info;
}

ChunkLayout chunk_layout(hid_t dataset, const std::vector<hsize_t>& dims, std::uint64_t max_chunks) {
  ChunkLayout layout;
  const PropertyList dcpl{FMNIST_H5(H5Dget_create_plist(dataset))};
  if (FMNIST_H5(H5Pget_layout(dcpl.get())) != H5D_CHUNKED) return layout;
  layout.chunked = true;
  layout.chunk_dims.resize(dims.size());
  if (FMNIST_H5(H5Pget_chunk(dcpl.get(), static_cast<int>(dims.size()), layout.chunk_dims.data())) !=
      static_cast<int>(dims.size()))
    throw Failure("H5Pget_chunk: the chunk's rank differs from the dataset's", "chunk rank");
  std::vector<std::uint64_t> per_axis(dims.size());
  bool empty = false;
  layout.count = 1;  // saturates at max_chunks + 1
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (layout.chunk_dims[i] == 0) throw Failure("H5Pget_chunk: a chunk dimension of 0", "chunk of 0");
    per_axis[i] = dims[i] / layout.chunk_dims[i] + (dims[i] % layout.chunk_dims[i] != 0 ? 1 : 0);
    empty = empty || per_axis[i] == 0;
    layout.count = layout.count > max_chunks || per_axis[i] > max_chunks ? max_chunks + 1
                                                                          : std::min(layout.count * per_axis[i], max_chunks + 1);
  }
  if (empty) layout.count = 0;
  if (layout.count > max_chunks) return layout;
  std::vector<hsize_t> index(dims.size(), 0);  // the chunk's position along each axis
  for (std::uint64_t c = 0; c < layout.count; ++c) {
    ChunkEntry e;
    for (std::size_t i = 0; i < dims.size(); ++i) e.offset.push_back(index[i] * layout.chunk_dims[i]);
    haddr_t address = HADDR_UNDEF;
    hsize_t size = 0, stored = 0;
    // H5Dget_chunk_storage_size looks the chunk up as H5Dread does (all of the key's offsets);
    // H5Dget_chunk_info_by_coord, which gives its address, may find a chunk that H5Dread would not.
    e.listed = H5Dget_chunk_storage_size(dataset, e.offset.data(), &stored) >= 0 && stored > 0 &&
               H5Dget_chunk_info_by_coord(dataset, e.offset.data(), &e.filter_mask, &address, &size) >= 0 &&
               address != HADDR_UNDEF && size == stored;
    H5Eclear2(H5E_DEFAULT);
    e.address = e.listed ? address : 0;
    e.size = e.listed ? size : 0;
    layout.entries.push_back(std::move(e));
    for (std::size_t i = dims.size(); i-- > 0;) {  // the next position, last axis fastest
      if (++index[i] < per_axis[i]) break;
      index[i] = 0;
    }
  }
  return layout;
}

template <typename T>
std::vector<T> read_dataset(hid_t dataset, std::size_t count) {
  std::vector<T> values(count);
  if (count > 0) {
    FMNIST_H5(H5Dread(dataset, Types<T>::memory(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
  }
  return values;
}

template void write_attribute<double>(hid_t, const std::string&, double);
template void write_attribute<std::int64_t>(hid_t, const std::string&, std::int64_t);
template void write_attribute<std::uint64_t>(hid_t, const std::string&, std::uint64_t);
template void write_attribute<std::uint32_t>(hid_t, const std::string&, std::uint32_t);
template double read_attribute<double>(hid_t, const std::string&);
template std::int64_t read_attribute<std::int64_t>(hid_t, const std::string&);
template std::uint64_t read_attribute<std::uint64_t>(hid_t, const std::string&);
template std::uint32_t read_attribute<std::uint32_t>(hid_t, const std::string&);
template void write_dataset<float>(hid_t, const std::string&, const std::vector<hsize_t>&, const float*, bool);
template void write_dataset<double>(hid_t, const std::string&, const std::vector<hsize_t>&, const double*, bool);
template std::vector<float> read_dataset<float>(hid_t, std::size_t);
template std::vector<double> read_dataset<double>(hid_t, std::size_t);

}  // namespace fmnist::h5
