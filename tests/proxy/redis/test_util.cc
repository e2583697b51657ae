#include "test_util.h"

#include <memory>

#include "proxy/redis/encoder.h"

namespace ringleader::proxy::redis::testing {
namespace {

ParsedRequest result_of(const RequestParser& parser, ParseStatus status) {
  ParsedRequest result;
  result.status = status;
  if (status == ParseStatus::kComplete) {
    for (std::string_view arg : parser.args())
      result.args.emplace_back(arg);
    result.consumed = parser.consumed();
    result.skipped = parser.skipped();
  } else if (status == ParseStatus::kError) {
    result.error = parser.error();
  }
  return result;
}

// A buffer of exactly `bytes`, in its own heap allocation (never SSO), so that freeing it
// makes stale pointers detectable.
std::unique_ptr<char[]> fresh_buffer(std::string_view bytes) {
  auto buffer = std::make_unique<char[]>(bytes.size() + 1);
  bytes.copy(buffer.get(), bytes.size());
  return buffer;
}

}  // namespace

ParsedRequest parse_whole(std::string_view input, ParseLimits limits) {
  RequestParser parser(limits);
  auto buffer = fresh_buffer(input);
  const ParseStatus status = parser.parse(std::string_view(buffer.get(), input.size()));
  return result_of(parser, status);
}

ParsedRequest parse_split(std::string_view input, size_t split, ParseLimits limits) {
  RequestParser parser(limits);
  if (split > 0 && split < input.size()) {
    auto first = fresh_buffer(input.substr(0, split));
    const ParseStatus status = parser.parse(std::string_view(first.get(), split));
    if (status != ParseStatus::kNeedMore) return result_of(parser, status);
  }
  auto whole = fresh_buffer(input);
  const ParseStatus status = parser.parse(std::string_view(whole.get(), input.size()));
  return result_of(parser, status);
}

ParsedRequest parse_bytewise(std::string_view input, ParseLimits limits) {
  RequestParser parser(limits);
  ParseStatus status = ParseStatus::kNeedMore;
  for (size_t n = 1; n <= input.size(); ++n) {
    auto buffer = fresh_buffer(input.substr(0, n));
    status = parser.parse(std::string_view(buffer.get(), n));
    if (status != ParseStatus::kNeedMore) return result_of(parser, status);
  }
  return result_of(parser, status);
}

std::vector<ParsedRequest> parse_all(std::string_view input, ParseLimits limits) {
  std::vector<ParsedRequest> results;
  RequestParser parser(limits);
  while (true) {
    const ParseStatus status = parser.parse(input);
    results.push_back(result_of(parser, status));
    if (status != ParseStatus::kComplete) return results;
    input.remove_prefix(parser.consumed());
    parser.reset();
  }
}

ScannedReply scan_split(std::string_view input, size_t split) {
  ReplyScanner scanner;
  auto finish = [&](ParseStatus status) {
    ScannedReply result{status, 0, {}};
    if (status == ParseStatus::kComplete) result.length = scanner.length();
    if (status == ParseStatus::kError) result.error = scanner.error();
    return result;
  };
  if (split > 0 && split < input.size()) {
    auto first = fresh_buffer(input.substr(0, split));
    const ParseStatus status = scanner.scan(std::string_view(first.get(), split));
    if (status != ParseStatus::kNeedMore) return finish(status);
  }
  auto whole = fresh_buffer(input);
  return finish(scanner.scan(std::string_view(whole.get(), input.size())));
}

ScannedReply scan_bytewise(std::string_view input) {
  ReplyScanner scanner;
  ParseStatus status = ParseStatus::kNeedMore;
  for (size_t n = 1; n <= input.size() && status == ParseStatus::kNeedMore; ++n) {
    auto buffer = fresh_buffer(input.substr(0, n));
    status = scanner.scan(std::string_view(buffer.get(), n));
  }
  ScannedReply result{status, 0, {}};
  if (status == ParseStatus::kComplete) result.length = scanner.length();
  if (status == ParseStatus::kError) result.error = scanner.error();
  return result;
}

std::string multibulk(const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::string out;
  append_command(out, views);
  return out;
}

}  // namespace ringleader::proxy::redis::testing
