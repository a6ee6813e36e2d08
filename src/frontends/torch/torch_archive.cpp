// Reading PyTorch zip archives (.pt2, .pt) with libzip.
#include "frontends/torch/torch_archive.h"

#include <zip.h>

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace kiln::torch {
namespace {

std::string zip_error_text(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

std::shared_ptr<zip> own(zip_t* handle) {
  return std::shared_ptr<zip>(handle, [](zip_t* z) { zip_discard(z); });
}

}  // namespace

TorchArchive::TorchArchive(std::shared_ptr<zip> handle, std::shared_ptr<const std::string> bytes,
                           std::string label, const ArchiveKind& kind)
    : zip_(std::move(handle)), bytes_(std::move(bytes)), label_(std::move(label)) {
  find_root(kind);
}

TorchArchive TorchArchive::open_file(const std::filesystem::path& path, const ArchiveKind& kind) {
  std::error_code error;
  check(std::filesystem::is_regular_file(path, error), ErrorKind::InvalidArgument, "model file '",
        path.string(), "' does not exist or is not a file");
  int code = 0;
  zip_t* handle = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (handle == nullptr) {
    fail(ErrorKind::InvalidModel, "'", path.string(), "' is not a readable zip archive (",
         zip_error_text(code), "); expected ", kind.description);
  }
  return TorchArchive(own(handle), nullptr, path.string(), kind);
}

TorchArchive TorchArchive::open_bytes(std::string bytes, const std::string& label,
                                      const ArchiveKind& kind) {
  auto owned = std::make_shared<const std::string>(std::move(bytes));
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(owned->data(), owned->size(), 0, &error);
  if (source == nullptr) {
    std::string text = zip_error_strerror(&error);
    zip_error_fini(&error);
    fail(ErrorKind::InvalidModel, label, ": cannot read the bytes as zip (", text, ")");
  }
  zip_t* handle = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (handle == nullptr) {
    std::string text = zip_error_strerror(&error);
    zip_source_free(source);
    zip_error_fini(&error);
    fail(ErrorKind::InvalidModel, label, ": not a readable zip archive (", text, ")");
  }
  zip_error_fini(&error);
  return TorchArchive(own(handle), std::move(owned), label, kind);
}

// The archive's one top folder is named after the file stem when saved, but files get
// renamed: look for the folder that holds the format's marker entry instead.
void TorchArchive::find_root(const ArchiveKind& kind) {
  std::string_view marker = kind.marker;
  zip_int64_t count = zip_get_num_entries(zip_.get(), 0);
  std::vector<std::string> roots;
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* raw = zip_get_name(zip_.get(), static_cast<zip_uint64_t>(i), 0);
    if (raw == nullptr) continue;
    std::string_view name(raw);
    if (name.size() < marker.size() || !name.ends_with(marker)) continue;
    std::string_view prefix = name.substr(0, name.size() - marker.size());
    bool top_level =
        prefix.empty() || (prefix.back() == '/' && prefix.find('/') == prefix.size() - 1);
    if (top_level) roots.emplace_back(prefix);
  }
  if (roots.empty()) {
    fail(ErrorKind::InvalidModel, label_, ": no ", marker, " in the archive; this is not ",
         kind.description);
  }
  if (roots.size() > 1) {
    fail(ErrorKind::InvalidModel, label_, ": several folders hold ", marker, " ('", roots[0],
         "', '", roots[1], "'); expected one program per archive");
  }
  root_ = roots.front();
}

bool TorchArchive::contains(const std::string& relative_path) const {
  return zip_name_locate(zip_.get(), (root_ + relative_path).c_str(), 0) >= 0;
}

std::shared_ptr<const std::string> TorchArchive::read(const std::string& relative_path,
                                                      const std::string& what) const {
  std::string name = root_ + relative_path;
  zip_int64_t index = zip_name_locate(zip_.get(), name.c_str(), 0);
  if (index < 0) {
    fail(ErrorKind::InvalidModel, label_, ": ", what, ": the archive has no entry '", name, "'");
  }
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(zip_.get(), static_cast<zip_uint64_t>(index), 0, &stat) != 0 ||
      (stat.valid & ZIP_STAT_SIZE) == 0) {
    fail(ErrorKind::InvalidModel, label_, ": ", what, ": cannot read the size of '", name, "'");
  }
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> file(
      zip_fopen_index(zip_.get(), static_cast<zip_uint64_t>(index), 0), zip_fclose);
  if (!file) {
    fail(ErrorKind::InvalidModel, label_, ": ", what, ": cannot open '", name, "' (",
         zip_strerror(zip_.get()), ")");
  }
  // Grow with the data actually read, not the size the header claims (it may lie).
  auto contents = std::make_shared<std::string>();
  constexpr size_t kChunk = size_t{1} << 20;
  while (contents->size() < stat.size) {
    size_t offset = contents->size();
    size_t want = static_cast<size_t>(std::min<zip_uint64_t>(kChunk, stat.size - offset));
    contents->resize(offset + want);
    zip_int64_t got = zip_fread(file.get(), contents->data() + offset, want);
    if (got < 0) {
      fail(ErrorKind::InvalidModel, label_, ": ", what, ": '", name, "' is corrupt (",
           zip_file_strerror(file.get()), ")");
    }
    contents->resize(offset + static_cast<size_t>(got));
    if (got == 0) break;
  }
  if (contents->size() != stat.size) {
    fail(ErrorKind::InvalidModel, label_, ": ", what, ": '", name, "' is truncated (",
         contents->size(), " of ", stat.size, " bytes)");
  }
  return contents;
}

std::vector<std::string> TorchArchive::list(const std::string& folder,
                                            const std::string& suffix) const {
  std::vector<std::string> names;
  std::string prefix = root_ + folder;
  zip_int64_t count = zip_get_num_entries(zip_.get(), 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* raw = zip_get_name(zip_.get(), static_cast<zip_uint64_t>(i), 0);
    if (raw == nullptr) continue;
    std::string_view name(raw);
    if (name.starts_with(prefix) && name.ends_with(suffix)) {
      names.emplace_back(name.substr(root_.size()));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace kiln::torch
