#include "inline_args.h"

namespace ringleader::proxy::redis {
namespace {

// Blanks skipped between words (C isspace). Lines hold no NUL (the parser refuses it).
bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Bytes that end an unquoted word (Redis does not end a word at \v or \f).
bool ends_word(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char unescape(char c) {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'b':
      return '\b';
    case 'a':
      return '\a';
    default:
      return c;
  }
}

enum class Mode : uint8_t { kPlain, kDoubleQuoted, kSingleQuoted };

}  // namespace

InlineSplit split_inline_args(std::string_view line, size_t line_offset, size_t max_args,
                              std::vector<detail::ArgRange>& out, std::string& unescaped) {
  const size_t n = line.size();
  size_t i = 0;
  while (true) {
    while (i < n && is_blank(line[i]))
      ++i;
    if (i == n) return InlineSplit::kOk;
    if (out.size() >= max_args) return InlineSplit::kTooManyArgs;

    const size_t word_begin = i;
    bool copied = false;    // the word is being built in `unescaped`
    size_t copy_begin = 0;  // where it starts there
    Mode mode = Mode::kPlain;
    bool word_done = false;
    while (!word_done) {
      if (mode == Mode::kPlain) {
        if (i == n || ends_word(line[i])) break;
        const char c = line[i];
        if (c == '"' || c == '\'') {
          if (!copied) {
            copy_begin = unescaped.size();
            unescaped.append(line.substr(word_begin, i - word_begin));
            copied = true;
          }
          mode = c == '"' ? Mode::kDoubleQuoted : Mode::kSingleQuoted;
        } else if (copied) {
          unescaped.push_back(c);
        }
        ++i;
        continue;
      }
      if (i == n) return InlineSplit::kUnbalancedQuotes;
      const char c = line[i];
      const char quote = mode == Mode::kDoubleQuoted ? '"' : '\'';
      if (c == quote) {
        if (i + 1 < n && !is_blank(line[i + 1])) return InlineSplit::kUnbalancedQuotes;
        ++i;
        word_done = true;
      } else if (mode == Mode::kDoubleQuoted && c == '\\' && i + 3 < n && line[i + 1] == 'x' &&
                 hex_value(line[i + 2]) >= 0 && hex_value(line[i + 3]) >= 0) {
        unescaped.push_back(
            static_cast<char>(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3])));
        i += 4;
      } else if (mode == Mode::kDoubleQuoted && c == '\\' && i + 1 < n) {
        unescaped.push_back(unescape(line[i + 1]));
        i += 2;
      } else if (mode == Mode::kSingleQuoted && c == '\\' && i + 1 < n && line[i + 1] == '\'') {
        unescaped.push_back('\'');
        i += 2;
      } else {
        unescaped.push_back(c);
        ++i;
      }
    }
    if (copied) {
      out.push_back({copy_begin, unescaped.size() - copy_begin, true});
    } else {
      out.push_back({line_offset + word_begin, i - word_begin, false});
    }
  }
}

}  // namespace ringleader::proxy::redis
