// 64-bit FNV-1a: the engine file's checksum and the names of generated kernels (a hash of
// their source). Not for anything adversarial.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln {

// Fed in pieces; value() is the hash of everything added so far.
class Fnv1a {
 public:
  void add(const void* bytes, size_t size) {
    const auto* data = static_cast<const uint8_t*>(bytes);
    for (size_t i = 0; i < size; ++i) hash_ = (hash_ ^ data[i]) * 0x100000001b3ULL;
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace kiln
