// Plan scheduling: reads and AEAD decryptions of file ranges into caller buffers (FORMAT.md
// §3.3–§3.4; the DecryptRequest semantics of src/native/backend.ts), cut into units and run over
// the shared thread pool. No N-API here.
#ifndef CRYPTOTENSORS_PLAN_H_
#define CRYPTOTENSORS_PLAN_H_

#include <cstddef>
#include <cstdint>

#include "aead.h"

namespace ct {

class MappedFile;

// One entry of a plan: a plain copy of a file range, a decryption (v1 whole or v2 chunks), or a
// read and seal (v2 chunks of a plaintext range encrypted from the file: convertFile's source).
struct PlanEntry {
  bool decrypt = false;
  // A read and seal: `tagsOut` receives a tag per chunk; key, baseIv, chunkSize (> 0) and
  // firstChunk are the output's (the decrypt fields' meaning, for encryption).
  bool seal = false;
  uint8_t* tagsOut = nullptr;
  AeadAlgorithm algorithm = AeadAlgorithm::kAes256Gcm;
  const uint8_t* key = nullptr;  // AeadKeyLength(algorithm) bytes
  uint64_t fileOffset = 0;
  uint64_t length = 0;
  uint64_t chunkSize = 0;  // 0: one AEAD over the whole range
  uint64_t firstChunk = 0;
  const uint8_t* baseIv = nullptr;  // kIvLength bytes
  const uint8_t* tags = nullptr;    // kTagLength * AeadChunkCount(length, chunkSize) bytes
  uint8_t* dest = nullptr;          // `length` bytes, inside an arena (arena.h) the job holds
  // True when nobody but the plan can observe `dest` until the plan completes (fresh memory the
  // addon owns, or addon staging): ciphertext may then be decrypted in place in `dest` before its
  // tag is checked, because a failed plan wipes every destination before anyone can look.
  bool destPrivate = false;
};

struct PlanResult {
  int64_t status;       // status.h
  int64_t failedEntry;  // index of the entry that failed, -1 on success
};

// Runs every entry: v2 chunks, v1 tensors and 2 MiB pieces of plain ranges are spread over the
// pool in entry order (give entries in file-offset order for sequential I/O). Every ciphertext
// byte is read from the file exactly once, and the tag is checked over exactly those bytes: an
// engine that reads each byte once (vaes-avx2) decrypts it straight out of a mapping of the file
// (guarded against truncation); any other lands it first (from the mapping or with pread) in
// memory the reader owns, in 256 KiB pieces consumed while they are in the L2 cache (the fused
// AEAD of a piece prefetches the next piece's source lines as it goes). A private destination's
// pages are faulted in unit by unit, just before the unit writes them:
//  - a private destination (PlanEntry::destPrivate) receives the plaintext of the fused AEAD
//    (out of the mapping, or in place over the landed ciphertext: one pass);
//  - otherwise a unit of up to 8 MiB (a v2 chunk) is decrypted by the fused AEAD into the
//    thread's scratch buffer and, once its tag has verified, copied to its destination
//    (non-temporal stores where the CPU has them); a larger one (a v1 tensor) lands in its
//    destination as ciphertext, its tag is verified (hash alone) and the keystream is then
//    applied in place (ThreadCipher's split primitives).
// A caller-visible destination therefore never holds plaintext whose tag has not verified. In a
// plan that writes the end of its arena while that memory is still fresh (the last batch of a
// load into new memory), the units of the last few MiB that would use scratch run without it
// instead: the thread unmaps its scratch buffer, the ciphertext lands in the destination, its tag
// is verified there and it is then decrypted in place, so that the scratch buffers and the
// destination's last pages are never resident at once (peak RSS). On a failure every decrypt
// destination is wiped.
// A seal entry (convertFile's read and seal) encrypts each chunk's plaintext straight from the
// file's mapping into its destination, in the same pieces (one pass over the bytes: no copy
// before the cipher; without a mapping each piece is read into the destination and encrypted
// there in place); the destination then holds the ciphertext and tagsOut the chunks' tags. On a
// failure seal destinations are wiped too.
PlanResult RunPlan(const MappedFile& file, const PlanEntry* entries, size_t count);

// Threads a plan may use (the pool's width).
unsigned PlanThreadCount();

// Decryption straight out of the file's mapping for engines that read each byte once (plan.cc
// DecryptUnitInto): on by default; off, every unit lands its ciphertext first. Process-wide, for
// benchmarks and tests that compare the two.
void SetMappedDecrypt(bool on);
bool MappedDecryptEnabled();
// Decryption units that ran out of the mapping so far (stats()).
uint64_t MappedDecryptUnits();

// Units that ran without a scratch buffer at the end of a load into fresh memory, so far (the
// tail of such a plan: see RunPlan above; stats()).
uint64_t ScratchlessTailUnits();

}  // namespace ct

#endif  // CRYPTOTENSORS_PLAN_H_
