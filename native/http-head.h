// The strict check of a range response head for the native receive path (http-receive.h): pure
// string work, no I/O, no N-API. Anything it does not accept is handed back to JS as the raw head,
// which JS checks again with its own rules to raise the same typed error as its other transports.
#ifndef CRYPTOTENSORS_HTTP_HEAD_H_
#define CRYPTOTENSORS_HTTP_HEAD_H_

#include <cstdint>
#include <string>

namespace ct {

// What the response to one pinned range request must say.
struct HeadExpectation {
  uint64_t start = 0;        // first byte asked for
  uint64_t end = 0;          // one past the last byte asked for
  uint64_t total = 0;        // the pinned size
  std::string etag;          // pinned strong ETag (quoted), or empty
  std::string lastModified;  // pinned Last-Modified when there is no ETag, or empty
};

struct HeadVerdict {
  bool accepted = false;
  bool keepAlive = false;  // HTTP/1.1 without "Connection: close"
};

// `head` is the status line and headers up to and including the blank line. Accepted only when:
// HTTP/1.x 206; exactly one Content-Range equal to "bytes start-(end-1)/total"; exactly one
// Content-Length equal to end - start; no Transfer-Encoding; the pinned ETag (else Last-Modified)
// unchanged when the response carries it; well-formed header lines (no obs-fold, token names).
HeadVerdict CheckHead(const std::string& head, const HeadExpectation& expect);

}  // namespace ct

#endif  // CRYPTOTENSORS_HTTP_HEAD_H_
