// Reading files: whole files into memory, or read-only memory maps shared by tensors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace kiln {

std::string read_file(const std::filesystem::path& path);  // throws InvalidArgument if unreadable
void write_file(const std::filesystem::path& path, const void* bytes, size_t size);

// A read-only mapping of a whole file; tensors keep it alive through shared_ptr.
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// True if `candidate`, resolved, lies inside `folder` (guards external-data paths).
bool path_is_inside(const std::filesystem::path& folder, const std::filesystem::path& candidate);

}  // namespace kiln
