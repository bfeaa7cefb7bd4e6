// The native receive path of plain-http range requests (issue 16): one range GET per job, run on a
// thread of its own over a keep-alive connection, its body recv()'d straight into the library's
// memory (staging or a fresh destination) where the addon's plans then decrypt it. JS decides the
// range and writes the whole request (method, path, Host, If-Match/If-Range, the caller's headers);
// the thread sends it as given, checks the response head strictly against what JS expects (206,
// exact Content-Range with the pinned size, Content-Length equal to the range, no
// Transfer-Encoding, the pinned ETag/Last-Modified, a bounded head) and reports a typed outcome;
// JS maps outcomes to its errors and retries. The request bytes are never logged nor returned.
//
// httpReceive(job, callback) -> job id; callback(result) on the JS thread once the thread is done,
// and before that callback({ outcome: "progress", received }) each time a segment with a
// destination is complete (body bytes in place so far), so that its chunk can be decrypted early.
// httpCancel(id): the job stops soon (its socket is shut down), reporting "cancelled".
// httpClose(fd): closes an idle kept-alive connection a job returned.
#ifndef CRYPTOTENSORS_HTTP_RECEIVE_H_
#define CRYPTOTENSORS_HTTP_RECEIVE_H_

#include <napi.h>

namespace ct {

Napi::Value HttpReceive(const Napi::CallbackInfo& info);
Napi::Value HttpCancel(const Napi::CallbackInfo& info);
Napi::Value HttpClose(const Napi::CallbackInfo& info);

}  // namespace ct

#endif  // CRYPTOTENSORS_HTTP_RECEIVE_H_
