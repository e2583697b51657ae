// Encoder: exact bytes, framing that cannot be broken, and round trips through the scanner
// and parse_reply.
#include "proxy/redis/encoder.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "proxy/redis/reply_scanner.h"
#include "proxy/redis/reply_value.h"
#include "proxy/redis/request_parser.h"

namespace ringleader::proxy::redis {
namespace {

using Type = ReplyValue::Type;

TEST(EncoderTest, ExactBytes) {
  std::string out;
  append_simple(out, "OK");
  append_error(out, "ERR bad");
  append_integer(out, -9223372036854775807 - 1);
  append_bulk(out, "a\r\nb");
  append_null_bulk(out);
  append_array_header(out, 2);
  append_null_array(out);
  EXPECT_EQ(out,
            "+OK\r\n-ERR bad\r\n:-9223372036854775808\r\n$4\r\na\r\nb\r\n$-1\r\n*2\r\n*-1\r\n");
}

TEST(EncoderTest, LinesCannotBreakFraming) {
  std::string out;
  append_error(out, "ERR line one\r\n+OK\r\nline two\n");
  append_simple(out, "a\rb");
  EXPECT_EQ(out, "-ERR line one  +OK  line two \r\n+a b\r\n");
  ReplyScanner scanner;
  ASSERT_EQ(scanner.scan(out), ParseStatus::kComplete);
  EXPECT_EQ(scanner.length(), out.find("+a"));
}

TEST(EncoderTest, CommandRoundTripsThroughTheRequestParser) {
  const std::vector<std::string_view> args = {"SET", "key", std::string_view("\0\r\n", 3), ""};
  std::string out;
  append_command(out, args);
  EXPECT_EQ(out.substr(0, 13), "*4\r\n$3\r\nSET\r\n");
  RequestParser parser;
  ASSERT_EQ(parser.parse(out), ParseStatus::kComplete);
  ASSERT_EQ(parser.args().size(), args.size());
  for (size_t i = 0; i < args.size(); ++i)
    EXPECT_EQ(parser.args()[i], args[i]);
  EXPECT_EQ(parser.consumed(), out.size());
}

// Random reply trees whose strings live in `storage` (kept alive by the caller).
class ValueGenerator {
 public:
  explicit ValueGenerator(uint32_t seed) : rng_(seed) {}

  ReplyValue make(int depth) {
    ReplyValue value;
    const int kind = static_cast<int>(rng_() % (depth > 0 ? 7 : 6));
    switch (kind) {
      case 0:
        value.type = Type::kSimple;
        value.text = keep(random_text(false));
        break;
      case 1:
        value.type = Type::kError;
        value.text = keep("ERR " + random_text(false));
        break;
      case 2:
        value.type = Type::kInteger;
        value.integer = static_cast<int64_t>(rng_()) - static_cast<int64_t>(rng_());
        value.text = keep(std::to_string(value.integer));
        break;
      case 3:
        value.type = Type::kBulk;
        value.text = keep(random_text(true));
        break;
      case 4:
        value.type = Type::kNullBulk;
        break;
      case 5:
        value.type = rng_() % 2 ? Type::kNullArray : Type::kArray;  // empty or null array
        break;
      default: {
        value.type = Type::kArray;
        const size_t n = rng_() % 5;
        for (size_t i = 0; i < n; ++i)
          value.elements.push_back(make(depth - 1));
        break;
      }
    }
    return value;
  }

 private:
  std::string random_text(bool binary) {
    std::string text;
    const size_t n = rng_() % 12;
    for (size_t i = 0; i < n; ++i) {
      char c = binary ? static_cast<char>(rng_() % 256) : static_cast<char>('a' + rng_() % 26);
      text.push_back(c);
    }
    return text;
  }
  std::string_view keep(std::string text) {
    storage_.push_back(std::make_unique<std::string>(std::move(text)));
    return *storage_.back();
  }

  std::mt19937 rng_;
  std::vector<std::unique_ptr<std::string>> storage_;
};

TEST(EncoderTest, ValuesRoundTrip) {
  ValueGenerator generator(12345);
  for (int i = 0; i < 2000; ++i) {
    const ReplyValue original = generator.make(4);
    std::string encoded;
    append_value(encoded, original);
    ReplyScanner scanner;
    ASSERT_EQ(scanner.scan(encoded), ParseStatus::kComplete) << scanner.error();
    ASSERT_EQ(scanner.length(), encoded.size());
    const auto parsed = parse_reply(encoded);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(*parsed, original) << encoded;
    std::string again;
    append_value(again, *parsed);
    EXPECT_EQ(again, encoded);
  }
}

TEST(EncoderTest, DeepValueWithoutRecursion) {
  std::string reply;
  for (int i = 0; i < 100000; ++i)
    reply += "*1\r\n";
  reply += "+deep\r\n";
  // Build a 100000-deep tree directly (deeper than parse_reply accepts).
  ReplyValue root;
  ReplyValue* v = &root;
  for (int i = 0; i < 100000; ++i) {
    v->type = Type::kArray;
    v = &v->elements.emplace_back();
  }
  v->type = Type::kSimple;
  v->text = "deep";
  std::string out;
  append_value(out, root);
  EXPECT_EQ(out, reply);
  // Unwind the tree iteratively so its destructor does not recurse 100000 deep.
  while (!root.elements.empty()) {
    ReplyValue child = std::move(root.elements[0]);
    root = std::move(child);
  }
}

}  // namespace
}  // namespace ringleader::proxy::redis
