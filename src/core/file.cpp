// File reading, writing and read-only memory maps.
#include "core/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace kiln {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  check(in.good(), ErrorKind::InvalidArgument, "cannot open '", path.string(),
        "': ", std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void write_file(const std::filesystem::path& path, const void* bytes, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  check(out.good(), ErrorKind::InvalidArgument, "cannot write '", path.string(),
        "': ", std::strerror(errno));
  out.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(size));
  check(out.good(), ErrorKind::Runtime, "failed writing '", path.string(), "'");
}

std::shared_ptr<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  check(fd >= 0, ErrorKind::InvalidArgument, "cannot open '", path.string(),
        "': ", std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    fail(ErrorKind::InvalidArgument, "'", path.string(), "' is not a regular file");
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->size_ = static_cast<size_t>(info.st_size);
  if (file->size_ > 0) {
    void* address = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (address == MAP_FAILED) {
      ::close(fd);
      fail(ErrorKind::Runtime, "cannot map '", path.string(), "': ", std::strerror(errno));
    }
    file->data_ = static_cast<const uint8_t*>(address);
  }
  ::close(fd);
  return file;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

bool path_is_inside(const std::filesystem::path& folder, const std::filesystem::path& candidate) {
  std::error_code error;
  auto base = std::filesystem::weakly_canonical(folder, error);
  if (error) return false;
  auto resolved = std::filesystem::weakly_canonical(candidate, error);
  if (error) return false;
  auto [base_end, unused] =
      std::mismatch(base.begin(), base.end(), resolved.begin(), resolved.end());
  return base_end == base.end();
}

}  // namespace kiln
