#include "http-receive.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "arena.h"
#include "args.h"
#include "file-handle.h"
#include "http-head.h"
#include "plan.h"
#include "status.h"

namespace ct {

namespace {

constexpr size_t kHeadLimit = 64 << 10;
constexpr size_t kGapScratch = 64 << 10;

// Where one stretch of the body goes: library memory, or nowhere (a gap between wanted pieces);
// optionally the plan that decrypts it where it landed, run by the receiving thread as soon as
// the segment is in (while its last bytes are still in the cache), not by a pool plan that JS
// would start after hearing of it.
struct Segment {
  Destination dest;  // data == nullptr: discarded
  std::shared_ptr<Arena> arena;
  uint64_t length = 0;
  std::unique_ptr<PlanJob> plan;
  std::shared_ptr<MappedFile> planFile;
  FileHandle* planHandle = nullptr;  // WorkDone() on the JS thread (Finish)
  Napi::ObjectReference planHandleRef;
};

struct Job {
  ~Job() { OPENSSL_cleanse(request.data(), request.size()); }
  // inputs (read by the thread; the references are released on the JS thread)
  int fd = -1;
  std::vector<sockaddr_storage> addresses;  // tried in order until one connects
  std::string request;
  HeadExpectation expect;
  int timeoutMs = 30000;
  std::vector<Segment> segments;
  Napi::ThreadSafeFunction done;
  // shared with httpCancel
  std::atomic<bool> cancelled{false};
  std::mutex socketLock;
  int liveFd = -1;
  // outputs
  const char* outcome = "ok";
  int error = 0;
  uint64_t received = 0;
  uint64_t decrypted = 0;  // segments whose plan ran (in order)
  int64_t planStatus = 0;  // status.h, outcome "decrypt"
  bool anything = false;
  bool reused = false;
  bool keepAlive = false;
  std::string head;
};

std::mutex registryLock;
std::map<double, std::shared_ptr<Job>> running;  // by job id, for httpCancel
std::set<int> idleFds;                           // kept-alive connections JS may reuse or close
double nextId = 1;

void SetSocket(Job& job, int fd) {
  std::lock_guard<std::mutex> hold(job.socketLock);
  job.liveFd = fd;
  if (fd >= 0 && job.cancelled.load()) shutdown(fd, SHUT_RDWR);
}

void CloseSocket(Job& job) {
  std::lock_guard<std::mutex> hold(job.socketLock);
  if (job.liveFd >= 0) close(job.liveFd);
  job.liveFd = -1;
}

// A fresh connection to `address`; a non-blocking connect waited for in short slices, so that a
// cancel or the timeout ends it.
bool ConnectTo(Job& job, const sockaddr_storage& address) {
  bool ipv6 = address.ss_family == AF_INET6;
  int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    job.error = errno;
    return false;
  }
  SetSocket(job, fd);
  socklen_t length = ipv6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    if (errno != EINPROGRESS) {
      job.error = errno;
      return false;
    }
    for (int waited = 0;; waited += 50) {
      if (job.cancelled.load() || waited >= job.timeoutMs) {
        job.error = ETIMEDOUT;
        return false;
      }
      pollfd watch{fd, POLLOUT, 0};
      int ready = poll(&watch, 1, 50);
      if (ready < 0 && errno != EINTR) {
        job.error = errno;
        return false;
      }
      if (ready > 0) break;
    }
    int failure = 0;
    socklen_t size = sizeof(failure);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &size);
    if (failure != 0) {
      job.error = failure;
      return false;
    }
  }
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return true;
}

// The addresses JS resolved for the host, in its order (e.g. ::1 then 127.0.0.1 for localhost),
// until one accepts; a timeout or a cancel ends the attempt.
bool Connect(Job& job) {
  for (const sockaddr_storage& address : job.addresses) {
    if (ConnectTo(job, address)) return true;
    CloseSocket(job);
    if (job.cancelled.load() || job.error == ETIMEDOUT) return false;
  }
  return false;
}

// A kept-alive connection is usable only if the server has sent nothing since (no close, no
// stray bytes that would be read as the next response).
bool StillIdle(int fd) {
  char probe;
  ssize_t n = recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// recv with the no-progress timeout (SO_RCVTIMEO): > 0 bytes, 0 at the end of the stream,
// -1 on timeout or failure (job.outcome set).
ssize_t Receive(Job& job, int fd, uint8_t* into, size_t length, int flags) {
  for (;;) {
    if (job.cancelled.load()) {
      job.outcome = "cancelled";
      return -1;
    }
    ssize_t n = recv(fd, into, length, flags);
    if (n > 0) return n;  // bytes in place count, even if a cancel came meanwhile
    if (job.cancelled.load()) {
      job.outcome = "cancelled";
      return -1;
    }
    if (n == 0) return 0;
    if (errno == EINTR) continue;
    job.error = errno;
    job.outcome = (errno == EAGAIN || errno == EWOULDBLOCK) ? "timeout" : "network";
    return -1;
  }
}

// Stores `length` body bytes already read (with the head) at body offset `at`.
void Scatter(Job& job, const uint8_t* bytes, uint64_t length, uint64_t at) {
  uint64_t base = 0;
  for (Segment& segment : job.segments) {
    uint64_t from = std::max(at, base), to = std::min(at + length, base + segment.length);
    if (from < to && segment.dest.data != nullptr)
      std::memcpy(segment.dest.data + (from - base), bytes + (from - at), to - from);
    base += segment.length;
  }
}

void Run(Job& job) {
  int fd = job.fd;
  if (fd >= 0 && StillIdle(fd)) {
    SetSocket(job, fd);
    job.reused = true;
  } else {
    if (fd >= 0) close(fd);
    if (!Connect(job)) {
      job.outcome = job.cancelled.load() ? "cancelled" : "network";
      return;
    }
    fd = job.liveFd;
  }
  timeval timeout{job.timeoutMs / 1000, (job.timeoutMs % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  for (size_t sent = 0; sent < job.request.size();) {
    ssize_t n = send(fd, job.request.data() + sent, job.request.size() - sent, MSG_NOSIGNAL);
    if (job.cancelled.load()) {
      job.outcome = "cancelled";
      return;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      job.error = errno;
      job.outcome = (errno == EAGAIN || errno == EWOULDBLOCK) ? "timeout" : "network";
      return;
    }
    sent += static_cast<size_t>(n);
  }
  // The request may carry the caller's credentials: not kept past sending.
  OPENSSL_cleanse(job.request.data(), job.request.size());

  std::vector<uint8_t> head(kHeadLimit);
  size_t have = 0, headEnd = 0;
  while (headEnd == 0) {
    if (have == kHeadLimit) {
      job.outcome = "head-too-large";
      return;
    }
    ssize_t n = Receive(job, fd, head.data() + have, kHeadLimit - have, 0);
    if (n < 0) return;
    if (n == 0) {
      job.outcome = job.anything ? "short" : "network";
      job.error = ECONNRESET;
      return;
    }
    job.anything = true;
    size_t from = have >= 3 ? have - 3 : 0;
    have += static_cast<size_t>(n);
    for (size_t i = from; i + 4 <= have; i++) {
      if (std::memcmp(head.data() + i, "\r\n\r\n", 4) == 0) {
        headEnd = i + 4;
        break;
      }
    }
  }
  job.head.assign(reinterpret_cast<const char*>(head.data()), headEnd);
  HeadVerdict verdict = CheckHead(job.head, job.expect);
  if (!verdict.accepted) {
    job.outcome = "head";
    return;
  }
  job.keepAlive = verdict.keepAlive;
  uint64_t bodyLength = job.expect.end - job.expect.start;
  uint64_t early = have - headEnd;
  if (early > bodyLength) {
    job.outcome = "overrun";
    return;
  }
  Scatter(job, head.data() + headEnd, early, 0);
  job.received = early;

  std::vector<uint8_t> scratch;
  uint64_t base = 0;
  for (Segment& segment : job.segments) {
    while (job.received < base + segment.length) {
      uint64_t at = job.received - base, left = segment.length - at;
      uint8_t* into;
      if (segment.dest.data != nullptr) {
        into = segment.dest.data + at;
      } else {
        if (scratch.empty()) scratch.resize(kGapScratch);
        into = scratch.data();
        left = std::min<uint64_t>(left, kGapScratch);
      }
      ssize_t n = Receive(job, fd, into, static_cast<size_t>(left), MSG_WAITALL);
      if (n < 0) return;
      if (n == 0) {
        job.outcome = "short";
        job.error = ECONNRESET;
        return;
      }
      job.received += static_cast<uint64_t>(n);
    }
    base += segment.length;
    if (segment.plan) {
      // Decrypted here, in place, while the chunk's last pieces are still in this core's cache
      // (one unit: ParallelFor runs it on this thread alone). A failure wipes its destination.
      PlanJob& plan = *segment.plan;
      PlanResult result = RunPlan(*segment.planFile, plan.entries.data(), plan.entries.size());
      plan.keys.Wipe();
      if (result.status != kOk) {
        job.outcome = "decrypt";
        job.planStatus = result.status;
        return;
      }
      job.decrypted++;
      Counters().httpDecrypts.fetch_add(1, std::memory_order_relaxed);
      for (const PlanEntry& entry : plan.entries) {
        Counters().decrypts.fetch_add(1, std::memory_order_relaxed);
        Counters().bytes.fetch_add(entry.length, std::memory_order_relaxed);
      }
    }
    // A piece (a chunk) is in: JS may have it decrypted now, while the rest arrives. One this
    // thread decrypted needs nothing more: JS hears of it with the next report (one JS call per
    // range instead of one per chunk).
    if (segment.dest.data != nullptr && !segment.plan && base < job.expect.end - job.expect.start) {
      // Only through this segment: bytes beyond it may be in place already (they came with the
      // head) but their plans have not run, and JS must not run them first.
      uint64_t received = base, decrypted = job.decrypted;
      job.done.NonBlockingCall([received, decrypted](Napi::Env env, Napi::Function callback) {
        Napi::Object progress = Napi::Object::New(env);
        progress.Set("outcome", "progress");
        progress.Set("received", static_cast<double>(received));
        progress.Set("decrypted", static_cast<double>(decrypted));
        callback.Call({progress});
      });
    }
  }
  // Bytes past the Content-Length in the socket now: a server that sends more than it framed.
  char probe;
  ssize_t extra = recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  if (extra > 0) {
    job.outcome = "overrun";
    return;
  }
  if (extra == 0) job.keepAlive = false;  // closed after the body: fine, not reusable
  job.outcome = "ok";
  Counters().httpRanges++;
  Counters().httpBytes += job.received;
}

// The code node:net would give the same failure (JS puts it in ERR_IO messages).
std::string ErrnoName(int error) {
  switch (error) {
    case 0:
      return "";
    case ECONNRESET:
      return "ECONNRESET";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case ECONNABORTED:
      return "ECONNABORTED";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case EPIPE:
      return "EPIPE";
    case ENETUNREACH:
      return "ENETUNREACH";
    case EHOSTUNREACH:
      return "EHOSTUNREACH";
    case EADDRNOTAVAIL:
      return "EADDRNOTAVAIL";
    case EMFILE:
      return "EMFILE";
    default:
      return "errno " + std::to_string(error);
  }
}

void Finish(Napi::Env env, Napi::Function callback, Job* raw) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard<std::mutex> hold(registryLock);
    for (auto it = running.begin(); it != running.end(); ++it) {
      if (it->second.get() == raw) {
        job = it->second;
        running.erase(it);
        break;
      }
    }
  }
  if (!job) return;
  int keptFd = -1;
  if (std::strcmp(job->outcome, "ok") == 0 && job->keepAlive) {
    std::lock_guard<std::mutex> hold(job->socketLock);
    keptFd = job->liveFd;
    job->liveFd = -1;
  }
  CloseSocket(*job);
  if (keptFd >= 0) {
    std::lock_guard<std::mutex> hold(registryLock);
    idleFds.insert(keptFd);
  }
  for (Segment& segment : job->segments) {
    segment.dest.owner.Reset();
    if (segment.plan) segment.plan->keys.Wipe();
    if (segment.planHandle != nullptr) segment.planHandle->WorkDone();
    segment.planHandle = nullptr;
    segment.planHandleRef.Reset();
    segment.plan.reset();  // its destination references, on the JS thread
  }
  if (env == nullptr || callback.IsEmpty()) return;
  Napi::Object result = Napi::Object::New(env);
  result.Set("outcome", job->outcome);
  result.Set("fd", static_cast<double>(keptFd));
  result.Set("received", static_cast<double>(job->received));
  result.Set("decrypted", static_cast<double>(job->decrypted));
  result.Set("status", static_cast<double>(job->planStatus));
  result.Set("anything", job->anything);
  result.Set("reused", job->reused);
  result.Set("error", job->error);
  result.Set("errorName", ErrnoName(job->error));
  result.Set("head", Napi::String::New(env, job->head.data(), job->head.size()));
  callback.Call({result});
}

uint64_t NumberField(Napi::Env env, Napi::Object object, const char* name) {
  Napi::Value value = object.Get(name);
  double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
  if (!(number >= 0 && number <= 9007199254740991.0) || number != static_cast<uint64_t>(number))
    throw Napi::TypeError::New(env, std::string("job.") + name + " must be a safe integer");
  return static_cast<uint64_t>(number);
}

std::string OptionalString(Napi::Object object, const char* name) {
  Napi::Value value = object.Get(name);
  return value.IsString() ? value.As<Napi::String>().Utf8Value() : std::string();
}

}  // namespace

Napi::Value HttpReceive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "httpReceive(job, callback)");
  Napi::Object spec = info[0].As<Napi::Object>();
  auto job = std::make_shared<Job>();
  uint64_t port = NumberField(env, spec, "port");
  if (port == 0 || port > 65535) throw Napi::RangeError::New(env, "job.port out of range");
  Napi::Value addresses = spec.Get("addresses");
  if (!addresses.IsArray() || addresses.As<Napi::Array>().Length() == 0 ||
      addresses.As<Napi::Array>().Length() > 64)
    throw Napi::TypeError::New(env, "job.addresses must be 1 to 64 numeric addresses");
  for (uint32_t i = 0; i < addresses.As<Napi::Array>().Length(); i++) {
    Napi::Value entry = addresses.As<Napi::Array>().Get(i);
    std::string text = entry.IsString() ? entry.As<Napi::String>().Utf8Value() : std::string();
    sockaddr_storage address{};
    auto* in = reinterpret_cast<sockaddr_in*>(&address);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
    if (inet_pton(AF_INET, text.c_str(), &in->sin_addr) == 1) {
      in->sin_family = AF_INET;
      in->sin_port = htons(static_cast<uint16_t>(port));
    } else if (inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr) == 1) {
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(static_cast<uint16_t>(port));
    } else {
      throw Napi::TypeError::New(env, "job.addresses must be numeric IPv4 or IPv6 addresses");
    }
    job->addresses.push_back(address);
  }
  Napi::Value requestValue = spec.Get("request");
  uint8_t* requestData = nullptr;
  size_t requestLength = 0;
  if (!ViewBytes(requestValue, &requestData, &requestLength) || requestLength == 0)
    throw Napi::TypeError::New(env, "job.request must be non-empty bytes");
  job->request.assign(reinterpret_cast<const char*>(requestData), requestLength);
  job->expect.start = NumberField(env, spec, "start");
  job->expect.end = NumberField(env, spec, "end");
  job->expect.total = NumberField(env, spec, "total");
  if (job->expect.end <= job->expect.start || job->expect.end > job->expect.total)
    throw Napi::RangeError::New(env, "job range out of bounds");
  job->expect.etag = OptionalString(spec, "etag");
  job->expect.lastModified = OptionalString(spec, "lastModified");
  uint64_t timeout = NumberField(env, spec, "timeoutMs");
  job->timeoutMs = static_cast<int>(std::min<uint64_t>(std::max<uint64_t>(timeout, 1), 1u << 30));
  // A segment's plan counts in its handle's work from here on: given back if the job is refused.
  auto releasePlans = [&job] {
    for (Segment& segment : job->segments) {
      if (segment.planHandle != nullptr) segment.planHandle->WorkDone();
      segment.planHandle = nullptr;
    }
  };
  try {
    Napi::Value segments = spec.Get("segments");
    if (!segments.IsArray()) throw Napi::TypeError::New(env, "job.segments must be an array");
    Napi::Array list = segments.As<Napi::Array>();
    uint64_t total = 0;
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value entry = list.Get(i);
      if (!entry.IsObject()) throw Napi::TypeError::New(env, "job.segments[i] must be an object");
      Napi::Object object = entry.As<Napi::Object>();
      Segment segment;
      segment.length = NumberField(env, object, "length");
      Napi::Value dest = object.Get("dest");
      if (!dest.IsNull() && !dest.IsUndefined()) {
        segment.dest = ArgDestination(env, dest, "job.segments[i].dest", segment.length);
        if (segment.dest.data == nullptr)
          throw Napi::TypeError::New(env, "job.segments[i].dest is detached");
        segment.arena = Arena::Find(segment.dest.data, segment.length);
        Napi::Value plan = object.Get("plan");
        if (!plan.IsNull() && !plan.IsUndefined()) {
          if (!plan.IsObject())
            throw Napi::TypeError::New(env, "job.segments[i].plan must be an object");
          Napi::Value handle = plan.As<Napi::Object>().Get("handle");
          std::unique_ptr<PlanJob> planJob;
          std::shared_ptr<MappedFile> planFile;
          FileHandle* owner =
              FileHandle::TakePlan(env, handle, plan.As<Napi::Object>(), &planJob, &planFile);
          segment.plan = std::move(planJob);
          segment.planFile = std::move(planFile);
          segment.planHandle = owner;
          segment.planHandleRef = Napi::Persistent(handle.As<Napi::Object>());
          // Only what lands in this segment may be decrypted by its plan, in place.
          bool inside = segment.plan->destPrivate;
          for (const PlanEntry& entry : segment.plan->entries) {
            const uint8_t* from = segment.planFile->Mapped(entry.fileOffset, entry.length);
            inside = inside && entry.decrypt && from == entry.dest && from != nullptr &&
                     entry.dest >= segment.dest.data &&
                     entry.dest + entry.length <= segment.dest.data + segment.length;
          }
          if (!inside) {
            owner->WorkDone();
            segment.planHandle = nullptr;
            throw Napi::RangeError::New(
                env, "job.segments[i].plan must decrypt, in place, bytes of its own segment");
          }
        }
      }
      total += segment.length;
      job->segments.push_back(std::move(segment));
    }
    if (total != job->expect.end - job->expect.start)
      throw Napi::RangeError::New(env, "job.segments must cover the range exactly");
    Napi::Value fd = spec.Get("fd");
    job->fd = fd.IsNumber() ? fd.As<Napi::Number>().Int32Value() : -1;
    if (job->fd >= 0) {
      // Only a connection an earlier job kept alive and nobody holds now (taken last, so that a
      // job refused above leaves it idle).
      std::lock_guard<std::mutex> hold(registryLock);
      if (idleFds.erase(job->fd) == 0) throw Napi::TypeError::New(env, "job.fd is not idle");
    }
  } catch (...) {
    releasePlans();
    throw;
  }
  job->done =
      Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "cryptotensors:http", 0, 1);
  double id;
  {
    std::lock_guard<std::mutex> hold(registryLock);
    id = nextId++;
    running[id] = job;
  }
  try {
    // The thread holds the job until it is done with it; Finish (JS thread) releases the JS
    // references and the registry's hold.
    std::thread([job] {
      Run(*job);
      job->done.BlockingCall(job.get(), Finish);
      job->done.Release();
    }).detach();
  } catch (...) {
    std::lock_guard<std::mutex> hold(registryLock);
    running.erase(id);
    if (job->fd >= 0) idleFds.insert(job->fd);  // still idle: JS may reuse or close it
    releasePlans();
    job->done.Release();
    throw Napi::Error::New(env, "could not start a receive thread");
  }
  return Napi::Number::New(env, id);
}

Napi::Value HttpCancel(const Napi::CallbackInfo& info) {
  double id = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
  std::shared_ptr<Job> job;
  {
    std::lock_guard<std::mutex> hold(registryLock);
    auto it = running.find(id);
    if (it != running.end()) job = it->second;
  }
  if (job) {
    job->cancelled.store(true);
    std::lock_guard<std::mutex> hold(job->socketLock);
    if (job->liveFd >= 0) shutdown(job->liveFd, SHUT_RDWR);
  }
  return info.Env().Undefined();
}

Napi::Value HttpClose(const Napi::CallbackInfo& info) {
  int fd = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
  bool idle;
  {
    std::lock_guard<std::mutex> hold(registryLock);
    idle = idleFds.erase(fd) == 1;
  }
  if (idle) close(fd);
  return Napi::Boolean::New(info.Env(), idle);
}

}  // namespace ct
