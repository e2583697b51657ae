#include "proxy/redis/reply_value.h"

#include <optional>
#include <string>
#include <utility>

#include "proxy/redis/reply_scanner.h"
#include "resp_integer.h"

namespace ringleader::proxy::redis {
namespace {

// Builds the tree of a reply that ReplyScanner has already validated as exactly one complete
// reply: every line is well formed and every array holds exactly the elements it announces.
class ValidatedReplyBuilder {
 public:
  explicit ValidatedReplyBuilder(std::string_view reply) : reply_(reply) {}

  Result<ReplyValue> build() {
    ReplyValue root;
    // Arrays whose elements are still being read, innermost last. Each `array` points into
    // its parent's `elements`, which was reserved to its announced (validated) size before any
    // element was added, so it never reallocates and the pointer stays valid.
    struct OpenArray {
      ReplyValue* array;
      size_t remaining;  // elements not yet started
    };
    std::vector<OpenArray> open;
    ReplyValue* slot = &root;
    while (true) {
      size_t count = 0;
      if (!read_value(*slot, &count)) return Status::error("Protocol error: malformed reply");
      if (slot->type == ReplyValue::Type::kArray && count > 0) open.push_back({slot, count});
      while (!open.empty() && open.back().remaining == 0)
        open.pop_back();
      if (open.empty()) break;
      --open.back().remaining;
      slot = &open.back().array->elements.emplace_back();
    }
    if (pos_ != reply_.size()) return Status::error("Protocol error: malformed reply");
    return root;
  }

 private:
  // Reads one value's header (and body) at pos_ into `value`; an array gets room for its
  // elements reserved and *count set, but its elements are not read. False only if the
  // reply is not what the scanner validated.
  bool read_value(ReplyValue& value, size_t* count) {
    if (pos_ >= reply_.size()) return false;
    const char type = reply_[pos_];
    const size_t cr = reply_.find('\r', pos_);
    if (cr == std::string_view::npos || cr + 1 >= reply_.size()) return false;
    const std::string_view line = reply_.substr(pos_ + 1, cr - pos_ - 1);
    pos_ = cr + 2;
    if (type == '+' || type == '-') {
      value.type = type == '+' ? ReplyValue::Type::kSimple : ReplyValue::Type::kError;
      value.text = line;
      return true;
    }
    const std::optional<int64_t> number = parse_resp_integer(line);
    if (!number) return false;
    switch (type) {
      case ':':
        value.type = ReplyValue::Type::kInteger;
        value.text = line;
        value.integer = *number;
        return true;
      case '$': {
        if (*number < 0) {
          value.type = ReplyValue::Type::kNullBulk;
          return true;
        }
        const size_t length = static_cast<size_t>(*number);
        if (reply_.size() - pos_ < length + 2) return false;
        value.type = ReplyValue::Type::kBulk;
        value.text = reply_.substr(pos_, length);
        pos_ += length + 2;
        return true;
      }
      case '*':
        if (*number < 0) {
          value.type = ReplyValue::Type::kNullArray;
          return true;
        }
        value.type = ReplyValue::Type::kArray;
        // Validated: the elements are in the reply, each at least 3 bytes, so this is bounded
        // by the reply's size.
        *count = static_cast<size_t>(*number);
        value.elements.reserve(*count);
        return true;
      default:
        return false;
    }
  }

  std::string_view reply_;
  size_t pos_ = 0;
};

}  // namespace

// The depth and the number of values of a reply that ReplyScanner validated, read from its
// array headers alone; false as soon as either passes `limits`.
bool within_limits(std::string_view reply, ReplyLimits limits) {
  std::vector<size_t> remaining;  // per open array: elements not yet started
  size_t values = 0;
  size_t pos = 0;
  while (true) {
    if (++values > limits.max_values || pos >= reply.size()) return false;
    const char type = reply[pos];
    const size_t cr = reply.find('\r', pos);
    if (cr == std::string_view::npos) return false;
    const std::optional<int64_t> number =
        type == '$' || type == '*' ? parse_resp_integer(reply.substr(pos + 1, cr - pos - 1))
                                   : std::optional<int64_t>(0);
    if (!number) return false;
    pos = cr + 2;
    if (type == '$' && *number >= 0) pos += static_cast<size_t>(*number) + 2;
    if (type == '*' && *number > 0) {
      if (remaining.size() + 1 > limits.max_depth) return false;
      remaining.push_back(static_cast<size_t>(*number));
    }
    while (!remaining.empty() && remaining.back() == 0)
      remaining.pop_back();
    if (remaining.empty()) return true;
    --remaining.back();
  }
}

Result<ReplyValue> parse_reply(std::string_view complete_reply, ReplyLimits limits) {
  ReplyScanner scanner;
  switch (scanner.scan(complete_reply)) {
    case ParseStatus::kError:
      return Status::error(scanner.error());
    case ParseStatus::kNeedMore:
      return Status::error("Protocol error: incomplete reply");
    case ParseStatus::kComplete:
      break;
  }
  if (scanner.length() != complete_reply.size()) {
    return Status::error("Protocol error: bytes after the end of the reply");
  }
  if (!within_limits(complete_reply, limits)) {
    return Status::error("unexpected reply: nested deeper or holding more values than asked for");
  }
  return ValidatedReplyBuilder(complete_reply).build();
}

}  // namespace ringleader::proxy::redis
