// libzip read and write of test archives (see ts_test_archive.h).
#include "frontends/torchscript/ts_test_archive.h"

#include <zip.h>

#include <stdexcept>
#include <vector>

namespace kiln::torchscript::testing {

Entries Entries::read(const std::filesystem::path& path) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY, &code);
  if (archive == nullptr) throw std::runtime_error("cannot open " + path.string());
  Entries entries;
  for (zip_int64_t i = 0; i < zip_get_num_entries(archive, 0); ++i) {
    zip_stat_t stat;
    zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &stat);
    std::string bytes(stat.size, '\0');
    zip_file_t* file = zip_fopen_index(archive, static_cast<zip_uint64_t>(i), 0);
    zip_fread(file, bytes.data(), stat.size);
    zip_fclose(file);
    entries.files[stat.name] = std::move(bytes);
  }
  zip_discard(archive);
  return entries;
}

std::string& Entries::at(const std::string& suffix) {
  for (auto& [name, bytes] : files) {
    if (name.ends_with("/" + suffix)) return bytes;
  }
  throw std::runtime_error("no entry ending with " + suffix);
}

void Entries::erase(const std::string& suffix) {
  for (auto it = files.begin(); it != files.end(); ++it) {
    if (it->first.ends_with("/" + suffix)) {
      files.erase(it);
      return;
    }
  }
}

std::string Entries::write() const {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* target = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_source_keep(target);
  zip_t* archive = zip_open_from_source(target, ZIP_TRUNCATE, &error);
  for (const auto& [name, bytes] : files) {
    zip_source_t* source = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
    zip_file_add(archive, name.c_str(), source, ZIP_FL_OVERWRITE);
  }
  zip_close(archive);
  zip_source_open(target);
  zip_source_seek(target, 0, SEEK_END);
  zip_int64_t size = zip_source_tell(target);
  zip_source_seek(target, 0, SEEK_SET);
  std::string out(static_cast<size_t>(size), '\0');
  zip_source_read(target, out.data(), static_cast<zip_uint64_t>(size));
  zip_source_close(target);
  zip_source_free(target);
  zip_error_fini(&error);
  return out;
}

std::filesystem::path fixture(const std::string& model, const std::string& file) {
  return std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/fixtures" / model / file;
}

}  // namespace kiln::torchscript::testing
