#include "proxy/redis/encoder.h"

#include <charconv>
#include <vector>

namespace ringleader::proxy::redis {
namespace {

void append_line(std::string& out, char type, std::string_view text) {
  out.push_back(type);
  const size_t start = out.size();
  out.append(text);
  for (size_t i = start; i < out.size(); ++i) {
    if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
  }
  out.append("\r\n");
}

void append_number_line(std::string& out, char type, int64_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;  // 24 bytes always hold an int64_t
  out.push_back(type);
  out.append(digits, end);
  out.append("\r\n");
}

}  // namespace

void append_simple(std::string& out, std::string_view text) {
  append_line(out, '+', text);
}

void append_error(std::string& out, std::string_view message) {
  append_line(out, '-', message);
}

void append_integer(std::string& out, int64_t value) {
  append_number_line(out, ':', value);
}

void append_bulk(std::string& out, std::string_view bytes) {
  append_number_line(out, '$', static_cast<int64_t>(bytes.size()));
  out.append(bytes);
  out.append("\r\n");
}

void append_null_bulk(std::string& out) {
  out.append("$-1\r\n");
}

void append_array_header(std::string& out, size_t count) {
  append_number_line(out, '*', static_cast<int64_t>(count));
}

void append_null_array(std::string& out) {
  out.append("*-1\r\n");
}

void append_command(std::string& out, std::span<const std::string_view> args) {
  append_array_header(out, args.size());
  for (std::string_view arg : args)
    append_bulk(out, arg);
}

void append_value(std::string& out, const ReplyValue& value) {
  // Arrays being written, with the index of their next element.
  struct Frame {
    const ReplyValue* array;
    size_t next;
  };
  std::vector<Frame> stack;
  const ReplyValue* current = &value;
  while (true) {
    switch (current->type) {
      case ReplyValue::Type::kSimple:
        append_simple(out, current->text);
        break;
      case ReplyValue::Type::kError:
        append_error(out, current->text);
        break;
      case ReplyValue::Type::kInteger:
        append_integer(out, current->integer);
        break;
      case ReplyValue::Type::kBulk:
        append_bulk(out, current->text);
        break;
      case ReplyValue::Type::kNullBulk:
        append_null_bulk(out);
        break;
      case ReplyValue::Type::kNullArray:
        append_null_array(out);
        break;
      case ReplyValue::Type::kArray:
        append_array_header(out, current->elements.size());
        stack.push_back({current, 0});
        break;
    }
    // Move to the next element still to write, closing finished arrays.
    while (!stack.empty() && stack.back().next == stack.back().array->elements.size()) {
      stack.pop_back();
    }
    if (stack.empty()) return;
    current = &stack.back().array->elements[stack.back().next++];
  }
}

}  // namespace ringleader::proxy::redis
