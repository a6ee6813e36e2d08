// libzip read and in-memory write of test archives (see zip_entries.h).
#include "test_support/zip_entries.h"

#include <zip.h>

#include <stdexcept>

namespace kiln::test_support {
namespace {

bool names_entry(const std::string& name, const std::string& suffix) {
  return name == suffix || name.ends_with("/" + suffix);
}

// Throws, with libzip's reason, where a write step failed.
void check_zip(bool ok, const std::string& what, zip_error_t* error) {
  if (!ok) throw std::runtime_error(what + ": " + zip_error_strerror(error));
}

}  // namespace

ZipEntries ZipEntries::read(const std::filesystem::path& path) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY, &code);
  if (archive == nullptr) throw std::runtime_error("cannot open " + path.string());
  ZipEntries entries;
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

std::string& ZipEntries::at(const std::string& suffix) {
  for (auto& [name, bytes] : files) {
    if (names_entry(name, suffix)) return bytes;
  }
  throw std::runtime_error("no entry ending in " + suffix);
}

nlohmann::json ZipEntries::json(const std::string& suffix) {
  return nlohmann::json::parse(at(suffix));
}

void ZipEntries::set_json(const std::string& suffix, const nlohmann::json& value) {
  at(suffix) = value.dump();
}

void ZipEntries::erase(const std::string& suffix) {
  for (auto it = files.begin(); it != files.end(); ++it) {
    if (names_entry(it->first, suffix)) {
      files.erase(it);
      return;
    }
  }
  throw std::runtime_error("no entry ending in " + suffix);
}

void ZipEntries::rename_root(const std::string& old_root, const std::string& new_root) {
  std::map<std::string, std::string> renamed;
  for (auto& [name, bytes] : files) {
    renamed[name.starts_with(old_root) ? new_root + name.substr(old_root.size()) : name] = bytes;
  }
  files = std::move(renamed);
}

std::string ZipEntries::write() const {
  // In memory, so that parallel tests share no temporary file.
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* target = zip_source_buffer_create(nullptr, 0, 0, &error);
  check_zip(target != nullptr, "cannot create a zip buffer", &error);
  zip_source_keep(target);  // zip_close would free it; its bytes are read after
  zip_t* archive = zip_open_from_source(target, ZIP_TRUNCATE, &error);
  check_zip(archive != nullptr, "cannot open a zip buffer", &error);
  for (const auto& [name, bytes] : files) {
    zip_source_t* source = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
    zip_int64_t index = zip_file_add(archive, name.c_str(), source, ZIP_FL_OVERWRITE);
    check_zip(index >= 0, "cannot add " + name, zip_get_error(archive));
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
  }
  check_zip(zip_close(archive) == 0, "cannot write the archive", zip_get_error(archive));
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

}  // namespace kiln::test_support
