// Test and diagnostic access to checkpoint files (see probe.hpp): chunk locations through
// H5Dget_chunk_info, and in-place edits through the same checked HDF5 helpers the writer uses.
#include "probe.hpp"

#include "fmnist/error.hpp"
#include "hdf5.hpp"

namespace fmnist::probe {
namespace {

h5::File open_for_update(const std::string& file) {
  h5::silence_errors();
  return h5::File{FMNIST_H5(H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT))};
}

template <typename Step>
auto guarded(const std::string& file, const std::string& path, Step&& step) {
  try {
    return step();
  } catch (const h5::Failure& e) {
    throw Error(Exit::checkpoint, file + ": " + path + ": " + e.what());
  }
}

template <typename T>
void replace_scalar(const std::string& file, const std::string& object, const std::string& name, T value) {
  guarded(file, object + ": attribute " + name, [&] {
    h5::File f = open_for_update(file);
    {
      const h5::Group g = h5::open_group(f.get(), object);
      if (FMNIST_H5(H5Aexists(g.get(), name.c_str())) > 0) FMNIST_H5(H5Adelete(g.get(), name.c_str()));
      h5::write_attribute(g.get(), name, value);
    }
    f.close();
  });
}

}  // namespace

StorageExtent dataset_storage(const std::string& file, const std::string& dataset) {
  return guarded(file, dataset, [&] {
    const h5::File f = h5::open_file(file);
    const h5::Dataset d{FMNIST_H5(H5Dopen2(f.get(), dataset.c_str(), H5P_DEFAULT))};
    const h5::Dataspace space{FMNIST_H5(H5Dget_space(d.get()))};
    unsigned filter_mask = 0;
    haddr_t address = 0;
    hsize_t size = 0;
    FMNIST_H5(H5Dget_chunk_info(d.get(), space.get(), 0, nullptr, &filter_mask, &address, &size));
    return StorageExtent{address, size};
  });
}

void replace_dataset(const std::string& file, const std::string& dataset, const std::vector<std::size_t>& shape,
                     const std::vector<float>& values, bool fletcher32) {
  guarded(file, dataset, [&] {
    h5::File f = open_for_update(file);
    if (h5::exists(f.get(), dataset)) FMNIST_H5(H5Ldelete(f.get(), dataset.c_str(), H5P_DEFAULT));
    h5::write_dataset(f.get(), dataset, std::vector<hsize_t>(shape.begin(), shape.end()), values.data(), fletcher32);
    f.close();
  });
}

void remove_object(const std::string& file, const std::string& path) {
  guarded(file, path, [&] {
    h5::File f = open_for_update(file);
    FMNIST_H5(H5Ldelete(f.get(), path.c_str(), H5P_DEFAULT));
    f.close();
  });
}

void remove_attribute(const std::string& file, const std::string& object, const std::string& name) {
  guarded(file, object + ": attribute " + name, [&] {
    h5::File f = open_for_update(file);
    FMNIST_H5(H5Adelete_by_name(f.get(), object.c_str(), name.c_str(), H5P_DEFAULT));
    f.close();
  });
}

void replace_string_attribute(const std::string& file, const std::string& object, const std::string& name,
                              const std::string& value) {
  replace_scalar(file, object, name, value);
}

void replace_attribute(const std::string& file, const std::string& object, const std::string& name, std::int64_t value) {
  replace_scalar(file, object, name, value);
}

void replace_attribute(const std::string& file, const std::string& object, const std::string& name, double value) {
  replace_scalar(file, object, name, value);
}

void declare_dataset(const std::string& file, const std::string& dataset, const std::vector<std::uint64_t>& shape,
                     const std::vector<std::uint64_t>& chunk) {
  guarded(file, dataset, [&] {
    h5::File f = open_for_update(file);
    if (h5::exists(f.get(), dataset)) FMNIST_H5(H5Ldelete(f.get(), dataset.c_str(), H5P_DEFAULT));
    const std::vector<hsize_t> dims(shape.begin(), shape.end()), chunks(chunk.begin(), chunk.end());
    const int rank = static_cast<int>(dims.size());
    const h5::Dataspace space{FMNIST_H5(H5Screate_simple(rank, dims.data(), nullptr))};
    const h5::PropertyList dcpl{FMNIST_H5(H5Pcreate(H5P_DATASET_CREATE))};
    FMNIST_H5(H5Pset_chunk(dcpl.get(), rank, chunks.data()));
    FMNIST_H5(H5Pset_fletcher32(dcpl.get()));
    h5::Dataset{FMNIST_H5(
        H5Dcreate2(f.get(), dataset.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT))}
        .close();
    f.close();
  });
}

}  // namespace fmnist::probe
