// The zip container of a torch.export archive (read with libzip): finds the top folder that
// holds models/model.json and reads entries relative to it, checking every size.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

struct zip;

namespace kiln::pt2 {

class Pt2Archive {
 public:
  static Pt2Archive open_file(const std::filesystem::path& path);
  // `label` names the bytes in messages.
  static Pt2Archive open_bytes(std::string bytes, const std::string& label);

  const std::string& label() const { return label_; }
  const std::string& root() const { return root_; }  // "m/" (or "" for a flat archive)

  // Entries by path relative to the root ("models/model.json").
  bool contains(const std::string& relative_path) const;
  // The whole entry; InvalidModel naming `what` when it is missing or unreadable.
  std::shared_ptr<const std::string> read(const std::string& relative_path,
                                          const std::string& what) const;

 private:
  Pt2Archive(std::shared_ptr<zip> handle, std::shared_ptr<const std::string> bytes,
             std::string label);
  void find_root();

  std::shared_ptr<zip> zip_;
  std::shared_ptr<const std::string> bytes_;  // backs zip_ when opened from memory
  std::string label_;
  std::string root_;
};

}  // namespace kiln::pt2
