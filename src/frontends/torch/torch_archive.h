// The zip container both PyTorch archive formats use (torch.export .pt2, TorchScript .pt),
// read with libzip: finds the one top folder holding the format's marker entry and reads
// entries relative to it, checking every size.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct zip;

namespace kiln::torch {

// What identifies one archive format: the entry its top folder must hold, and how to name
// the format (and the PyTorch call that writes it) in messages.
struct ArchiveKind {
  std::string_view marker;       // "models/model.json", "data.pkl"
  std::string_view description;  // "a torch.export archive (write one with torch.export.save)"
};

class TorchArchive {
 public:
  static TorchArchive open_file(const std::filesystem::path& path, const ArchiveKind& kind);
  // `label` names the bytes in messages.
  static TorchArchive open_bytes(std::string bytes, const std::string& label,
                                 const ArchiveKind& kind);

  const std::string& label() const { return label_; }
  const std::string& root() const { return root_; }  // "m/" (or "" for a flat archive)

  // Entries by path relative to the root ("models/model.json").
  bool contains(const std::string& relative_path) const;
  // The whole entry; InvalidModel naming `what` when it is missing or unreadable.
  std::shared_ptr<const std::string> read(const std::string& relative_path,
                                          const std::string& what) const;
  // Relative paths of entries under `folder` ("code/") whose names end with `suffix`, sorted.
  std::vector<std::string> list(const std::string& folder, const std::string& suffix) const;

 private:
  TorchArchive(std::shared_ptr<zip> handle, std::shared_ptr<const std::string> bytes,
               std::string label, const ArchiveKind& kind);
  void find_root(const ArchiveKind& kind);

  std::shared_ptr<zip> zip_;
  std::shared_ptr<const std::string> bytes_;  // backs zip_ when opened from memory
  std::string label_;
  std::string root_;
};

}  // namespace kiln::torch
