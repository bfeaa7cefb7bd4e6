// Builds a PlanJob from JS arguments: the one place where read(), decrypt() and plan() turn their
// arguments into plan entries, re-checking natively everything memory safety depends on (every
// key, IV and tag range lies inside the job's copies; every destination holds its entry and lies
// in an arena, whose reference the job takes: worker threads never write into memory the addon
// does not own, which its owner could transfer and free while they run).
#ifndef CRYPTOTENSORS_PLAN_ARGS_H_
#define CRYPTOTENSORS_PLAN_ARGS_H_

#include <napi.h>

#include <memory>
#include <vector>

#include "arena.h"
#include "args.h"
#include "workers.h"

namespace ct {

class PlanJobBuilder {
 public:
  // Copies the packed keys, IVs and tags (so that JS may reuse or wipe its buffers at once).
  PlanJobBuilder(Napi::Env env, ByteView keys, ByteView ivs, ByteView tags)
      : env_(env), job_(new PlanJob()) {
    job_->keys = SecretBytes(keys.data, keys.length);
    job_->ivs.assign(ivs.data, ivs.data + ivs.length);
    job_->tags.assign(tags.data, tags.data + tags.length);
  }

  void Reserve(size_t count) {
    job_->entries.reserve(count);
    job_->dests.reserve(count);
  }

  void AddRead(uint64_t fileOffset, uint64_t length, Napi::Value dest, const char* name) {
    PlanEntry entry;
    entry.fileOffset = fileOffset;
    entry.length = length;
    Push(entry, dest, name);
  }

  // `entry` carries the decrypt fields; the offsets locate its key, base IV and tags.
  void AddDecrypt(PlanEntry entry, uint64_t keyOffset, uint64_t ivOffset, uint64_t tagOffset,
                  Napi::Value dest, const char* name) {
    entry.decrypt = true;
    const uint64_t keyLength = AeadKeyLength(entry.algorithm);
    const uint64_t tagBytes = AeadChunkCount(entry.length, entry.chunkSize) * kTagLength;
    const size_t keys = job_->keys.size(), ivs = job_->ivs.size(), tags = job_->tags.size();
    if (keyOffset > keys || keyLength > keys - keyOffset || ivOffset > ivs ||
        kIvLength > ivs - ivOffset || tagOffset > tags || tagBytes > tags - tagOffset) {
      throw Napi::RangeError::New(env_, "a table entry points outside keys, ivs or tags");
    }
    entry.key = job_->keys.data() + keyOffset;
    entry.baseIv = job_->ivs.data() + ivOffset;
    entry.tags = job_->tags.data() + tagOffset;
    Push(entry, dest, name);
  }

  // A read and seal (PlanEntry::seal): `entry` carries the algorithm, range, chunk size and first
  // chunk; the offsets locate its key and base IV, and the job's tag bytes at `tagOffset` receive
  // its tags, copied to `tags` (a JS buffer) once the plan has succeeded (PlanWorker::OnOK).
  void AddSeal(PlanEntry entry, uint64_t keyOffset, uint64_t ivOffset, uint64_t tagOffset,
               Napi::Value dest, Napi::Value tags) {
    entry.seal = true;
    if (entry.chunkSize == 0) throw Napi::RangeError::New(env_, "chunkSize must be positive");
    const uint64_t keyLength = AeadKeyLength(entry.algorithm);
    const uint64_t tagBytes = AeadChunkCount(entry.length, entry.chunkSize) * kTagLength;
    const size_t keys = job_->keys.size(), ivs = job_->ivs.size(), own = job_->tags.size();
    if (keyOffset > keys || keyLength > keys - keyOffset || ivOffset > ivs ||
        kIvLength > ivs - ivOffset || tagOffset > own || tagBytes > own - tagOffset) {
      throw Napi::RangeError::New(env_, "a seal part points outside keys, ivs or tags");
    }
    entry.key = job_->keys.data() + keyOffset;
    entry.baseIv = job_->ivs.data() + ivOffset;
    entry.tagsOut = job_->tags.data() + tagOffset;
    job_->tagsOut.push_back(ArgDestination(env_, tags, "tags", tagBytes));
    job_->tagsOutAt.push_back(
        PlanJob::TagsOut{static_cast<size_t>(tagOffset), static_cast<size_t>(tagBytes)});
    Push(entry, dest, "dest");
  }

  // Fresh destinations of this load only (see PlanEntry::destPrivate).
  void SetDestPrivate(bool destPrivate) { job_->destPrivate = destPrivate; }

  std::unique_ptr<PlanJob> Finish() {
    for (PlanEntry& entry : job_->entries) entry.destPrivate = job_->destPrivate;
    return std::move(job_);
  }

 private:
  void Push(PlanEntry entry, Napi::Value dest, const char* name) {
    job_->dests.push_back(ArgDestination(env_, dest, name, entry.length));
    entry.dest = job_->dests.back().data;
    if (entry.length > 0) {
      std::vector<std::shared_ptr<Arena>>& arenas = job_->arenas;
      if (arenas.empty() || entry.dest < arenas.back()->data() ||
          entry.dest + entry.length > arenas.back()->data() + arenas.back()->length()) {
        std::shared_ptr<Arena> arena = Arena::Find(entry.dest, entry.length);
        if (!arena) {
          throw Napi::TypeError::New(
              env_, ArgMessage(name, "must lie in memory allocated by allocateArena()"));
        }
        arenas.push_back(std::move(arena));
      }
    }
    job_->entries.push_back(entry);
  }

  Napi::Env env_;
  std::unique_ptr<PlanJob> job_;
};

}  // namespace ct

#endif  // CRYPTOTENSORS_PLAN_ARGS_H_
