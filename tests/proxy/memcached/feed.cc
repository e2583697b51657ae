#include "feed.h"

#include <memory>

namespace ringleader::proxy::memcached::testing {
std::unique_ptr<char[]> fresh(std::string_view bytes) {
  auto buffer = std::make_unique<char[]>(bytes.size());
  std::copy(bytes.begin(), bytes.end(), buffer.get());
  return buffer;
}

namespace {

Parsed take(RequestParser& parser, ParseStatus status) {
  Parsed out;
  out.status = status;
  if (status == ParseStatus::kComplete) {
    for (std::string_view t : parser.tokens())
      out.tokens.emplace_back(t);
    out.data = std::string(parser.data());
    out.has_data = parser.has_data();
    out.consumed = parser.consumed();
    out.discard = parser.discard();
  } else if (status == ParseStatus::kError) {
    out.error = parser.error();
  }
  return out;
}

}  // namespace

Parsed parse_split(std::string_view input, size_t split, ParseLimits limits) {
  RequestParser parser(limits);
  if (split > 0) {
    auto first = fresh(input.substr(0, split));
    ParseStatus st = parser.parse(std::string_view(first.get(), split));
    if (st != ParseStatus::kNeedMore) return take(parser, st);
  }
  auto whole = fresh(input);
  return take(parser, parser.parse(std::string_view(whole.get(), input.size())));
}

Parsed parse_bytewise(std::string_view input, ParseLimits limits) {
  RequestParser parser(limits);
  for (size_t n = 1; n <= input.size(); ++n) {
    auto buffer = fresh(input.substr(0, n));
    ParseStatus st = parser.parse(std::string_view(buffer.get(), n));
    if (st != ParseStatus::kNeedMore) return take(parser, st);
  }
  return Parsed{};
}

Scanned scan_split(std::string_view input, size_t split) {
  ReplyScanner scanner;
  Scanned out;
  if (split > 0) {
    auto first = fresh(input.substr(0, split));
    out.status = scanner.scan(std::string_view(first.get(), split));
    if (out.status != ParseStatus::kNeedMore) {
      out.length = scanner.length();
      out.error = scanner.error();
      return out;
    }
  }
  auto whole = fresh(input);
  out.status = scanner.scan(std::string_view(whole.get(), input.size()));
  out.length = scanner.length();
  out.error = scanner.error();
  return out;
}

Scanned scan_bytewise(std::string_view input) {
  ReplyScanner scanner;
  Scanned out;
  for (size_t n = 1; n <= input.size(); ++n) {
    auto buffer = fresh(input.substr(0, n));
    out.status = scanner.scan(std::string_view(buffer.get(), n));
    if (out.status != ParseStatus::kNeedMore) {
      out.length = scanner.length();
      out.error = scanner.error();
      return out;
    }
  }
  return out;
}

}  // namespace ringleader::proxy::memcached::testing
