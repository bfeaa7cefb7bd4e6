// Owners of secret bytes (data keys, expanded key schedules): the bytes are overwritten with
// OPENSSL_cleanse when the owner goes away, on every path (success, failure, exception, a closing
// handle), so that wiping never depends on a caller remembering to do it.
#ifndef CRYPTOTENSORS_SECRET_H_
#define CRYPTOTENSORS_SECRET_H_

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ct {

// A heap copy of key material, wiped on destruction (and before any reallocation: it is sized
// once, at construction). Move-only.
class SecretBytes {
 public:
  SecretBytes() = default;
  SecretBytes(const uint8_t* data, size_t length) : bytes_(data, data + length) {}
  explicit SecretBytes(size_t length) : bytes_(length) {}
  ~SecretBytes() { Wipe(); }
  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {}
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      Wipe();
      bytes_ = std::move(other.bytes_);
    }
    return *this;
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

  void Wipe() {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace ct

#endif  // CRYPTOTENSORS_SECRET_H_
