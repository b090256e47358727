// The in-memory side of writing a checkpoint: HDF5's core driver builds the file in a buffer
// that callbacks own, so the image completed by H5Fclose can be copied out and written with
// plain POSIX calls (write.cpp). HDF5 itself never touches the disk when writing.
#include <cstdlib>
#include <cstring>

#include "hdf5.hpp"

namespace fmnist::h5 {
namespace {

// The core driver's buffer is managed by these callbacks, so the final image (written by
// H5Fclose, with the superblock completed) can be copied out when HDF5 releases it.
void* image_malloc(std::size_t size, H5FD_file_image_op_t, void*) { return std::malloc(size); }
void* image_memcpy(void* dest, const void* src, std::size_t size, H5FD_file_image_op_t, void*) {
  return std::memcpy(dest, src, size);
}
template <typename Image>
void* image_realloc(void* ptr, std::size_t size, H5FD_file_image_op_t, void* udata) {
  void* grown = std::realloc(ptr, size);
  if (grown != nullptr) static_cast<Image*>(udata)->allocated = size;
  return grown;
}
template <typename Image>
herr_t image_free(void* ptr, H5FD_file_image_op_t op, void* udata) {
  auto* image = static_cast<Image*>(udata);
  if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && ptr != nullptr) {
    const char* bytes = static_cast<const char*>(ptr);
    image->bytes.assign(bytes, bytes + image->allocated);
  }
  std::free(ptr);
  return 0;
}

// The end-of-file address stored in a version 2 superblock (HDF5 file format specification:
// signature, version, offset and length sizes, flags, base, extension and end-of-file addresses).
std::size_t stored_end_of_file(const std::vector<char>& image) {
  constexpr std::size_t kEndOfFileField = 28;
  if (image.size() < kEndOfFileField + 8 || image[8] != 2 || image[9] != 8) {
    throw Failure("unexpected superblock in the in-memory HDF5 image", "unexpected superblock");
  }
  std::uint64_t end = 0;
  for (int i = 7; i >= 0; --i) end = (end << 8) | static_cast<unsigned char>(image[kEndOfFileField + i]);
  if (end > image.size()) throw Failure("HDF5 image shorter than its end of file", "short image");
  return static_cast<std::size_t>(end);
}

void* udata_share(void* udata) { return udata; }
herr_t udata_keep(void*) { return 0; }

}  // namespace

MemoryFile::MemoryFile(const std::string& name) : image_(std::make_unique<Image>()) {
  const PropertyList fapl = file_access();
  FMNIST_H5(H5Pset_fapl_core(fapl.get(), std::size_t{1} << 20, false));
  FMNIST_H5(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18));
  H5FD_file_image_callbacks_t callbacks = {image_malloc, image_memcpy, image_realloc<Image>, image_free<Image>,
                                           udata_share,  udata_keep,   image_.get()};
  FMNIST_H5(H5Pset_file_image_callbacks(fapl.get(), &callbacks));
  file_ = File{FMNIST_H5(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()))};
}

std::vector<char> MemoryFile::finish() {
  FMNIST_H5(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL));
  file_.close();
  image_->bytes.resize(stored_end_of_file(image_->bytes));
  return std::move(image_->bytes);
}

}  // namespace fmnist::h5
