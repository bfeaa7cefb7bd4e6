#include "http-head.h"

#include <cctype>
#include <cstring>

namespace ct {

namespace {

bool IsToken(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::strchr("!#$%&'*+.^_`|~-", c) != nullptr;
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string Trim(const std::string& text) {
  size_t from = text.find_first_not_of(" \t");
  if (from == std::string::npos) return std::string();
  size_t to = text.find_last_not_of(" \t");
  return text.substr(from, to - from + 1);
}

}  // namespace

HeadVerdict CheckHead(const std::string& head, const HeadExpectation& expect) {
  HeadVerdict verdict;
  if (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) return verdict;
  size_t lineEnd = head.find("\r\n");
  std::string status = head.substr(0, lineEnd);
  if (status.size() < 12 || status.compare(0, 7, "HTTP/1.") != 0 ||
      (status[7] != '0' && status[7] != '1') || status.compare(8, 4, " 206") != 0 ||
      (status.size() > 12 && status[12] != ' '))
    return verdict;
  bool http11 = status[7] == '1';
  int contentRange = 0, contentLength = 0, etags = 0, lastModifieds = 0;
  bool close = false, rangeOk = false, lengthOk = false, identityOk = true;
  const std::string wantRange = "bytes " + std::to_string(expect.start) + "-" +
                                std::to_string(expect.end - 1) + "/" + std::to_string(expect.total);
  const std::string wantLength = std::to_string(expect.end - expect.start);
  for (size_t at = lineEnd + 2; at < head.size() - 2;) {
    size_t next = head.find("\r\n", at);
    std::string line = head.substr(at, next - at);
    at = next + 2;
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string::npos) return verdict;
    for (size_t i = 0; i < colon; i++)
      if (!IsToken(line[i])) return verdict;
    for (char c : line)
      if (c == '\0' || c == '\r' || c == '\n') return verdict;
    std::string name = Lower(line.substr(0, colon));
    std::string value = Trim(line.substr(colon + 1));
    if (name == "content-range") {
      contentRange++;
      rangeOk = value == wantRange;
    } else if (name == "content-length") {
      contentLength++;
      lengthOk = value == wantLength;
    } else if (name == "transfer-encoding") {
      return verdict;
    } else if (name == "etag") {
      etags++;
      if (!expect.etag.empty() && value != expect.etag) identityOk = false;
    } else if (name == "last-modified") {
      lastModifieds++;
      if (expect.etag.empty() && !expect.lastModified.empty() && value != expect.lastModified)
        identityOk = false;
    } else if (name == "connection") {
      if (Lower(value).find("close") != std::string::npos) close = true;
    }
  }
  if (contentRange != 1 || !rangeOk || contentLength != 1 || !lengthOk || etags > 1 ||
      lastModifieds > 1 || !identityOk)
    return verdict;
  verdict.accepted = true;
  verdict.keepAlive = http11 && !close;
  return verdict;
}

}  // namespace ct
