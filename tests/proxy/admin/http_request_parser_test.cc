#include "admin/http_request_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ringleader::proxy::admin {
namespace {

using State = HttpRequestParser::State;

// Feeds `bytes` in one call and returns the parser.
HttpRequestParser parse(std::string_view bytes) {
  HttpRequestParser parser;
  parser.feed(bytes);
  return parser;
}

void expect_error(std::string_view bytes, int status) {
  HttpRequestParser parser = parse(bytes);
  ASSERT_EQ(parser.state(), State::kFailed) << bytes;
  EXPECT_EQ(parser.error().status, status) << bytes << " -> " << parser.error().message;
  EXPECT_FALSE(parser.error().message.empty());
}

TEST(HttpRequestParser, ParsesGetWithHeaders) {
  HttpRequestParser parser =
      parse("GET /ring/lookup?key=a%20b HTTP/1.1\r\nHost: x\r\nX-Thing:  spaced value \r\n\r\n");
  ASSERT_EQ(parser.state(), State::kComplete);
  const HttpRequest& r = parser.request();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/ring/lookup?key=a%20b");
  EXPECT_EQ(r.path, "/ring/lookup");
  EXPECT_EQ(r.query, "key=a%20b");
  EXPECT_EQ(r.minor_version, 1);
  ASSERT_NE(r.header("x-thing"), nullptr);
  EXPECT_EQ(*r.header("x-thing"), "spaced value");
  EXPECT_EQ(r.header("missing"), nullptr);
  EXPECT_TRUE(r.body.empty());
  EXPECT_TRUE(r.keep_alive);
}

TEST(HttpRequestParser, ParsesContentLengthBody) {
  HttpRequestParser parser = parse("POST /backends HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.request().body, "hello");
}

TEST(HttpRequestParser, Expect100ContinueIsDueOnceBeforeTheBody) {
  HttpRequestParser parser;
  parser.feed("POST /backends HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n");
  ASSERT_EQ(parser.state(), State::kIncomplete);
  EXPECT_TRUE(parser.take_continue());
  EXPECT_FALSE(parser.take_continue());
  parser.feed("hello");
  ASSERT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.request().body, "hello");
  // With the body already there, or none to send, or HTTP/1.0: nothing is due.
  HttpRequestParser whole =
      parse("POST /backends HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
  ASSERT_EQ(whole.state(), State::kComplete);
  EXPECT_FALSE(whole.take_continue());
  HttpRequestParser old =
      parse("POST /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_FALSE(old.take_continue());
  expect_error("GET / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417);
}

TEST(HttpRequestParser, AcceptsBareLineFeedsAndLeadingEmptyLines) {
  HttpRequestParser parser = parse("\r\n\nGET /healthz HTTP/1.1\nHost: x\n\n");
  ASSERT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.request().path, "/healthz");
}

TEST(HttpRequestParser, KeepAliveRules) {
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\n\r\n").request().keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").request().keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nConnection: TE, Close\r\n\r\n").request().keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").request().keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").request().keep_alive);
}

TEST(HttpRequestParser, StopsAtTheEndOfARequestForPipelining) {
  const std::string first = "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  const std::string second = "GET /b HTTP/1.1\r\n\r\n";
  HttpRequestParser parser;
  const std::string both = first + second;
  size_t used = parser.feed(both);
  EXPECT_EQ(used, first.size());
  ASSERT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.request().body, "abc");
  EXPECT_EQ(parser.feed(std::string_view(both).substr(used)), 0u) << "complete: consumes nothing";
  parser.reset();
  EXPECT_TRUE(parser.idle());
  used += parser.feed(std::string_view(both).substr(used));
  EXPECT_EQ(used, both.size());
  ASSERT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.request().path, "/b");
}

// Splitting the bytes at any offset gives the same request as feeding them at once.
TEST(HttpRequestParser, SplitAtEveryByteOffset) {
  const std::string bytes =
      "PATCH /backends/redis-1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer t0k\r\n"
      "Content-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"weight\": 2 }";
  for (size_t split = 0; split <= bytes.size(); ++split) {
    HttpRequestParser parser;
    size_t used = parser.feed(std::string_view(bytes).substr(0, split));
    EXPECT_EQ(used, split);
    if (split < bytes.size()) {
      EXPECT_EQ(parser.state(), State::kIncomplete) << split;
    }
    used += parser.feed(std::string_view(bytes).substr(split));
    EXPECT_EQ(used, bytes.size());
    ASSERT_EQ(parser.state(), State::kComplete) << "split at " << split;
    const HttpRequest& r = parser.request();
    EXPECT_EQ(r.method, "PATCH");
    EXPECT_EQ(r.path, "/backends/redis-1");
    ASSERT_NE(r.header("authorization"), nullptr);
    EXPECT_EQ(*r.header("authorization"), "Bearer t0k");
    EXPECT_EQ(r.body, "{\"weight\": 2 }");
  }
}

TEST(HttpRequestParser, OneByteAtATime) {
  const std::string bytes = "POST /cluster/peers HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
  HttpRequestParser parser;
  for (size_t i = 0; i < bytes.size(); ++i) {
    EXPECT_EQ(parser.state(), State::kIncomplete);
    EXPECT_EQ(parser.feed(std::string_view(bytes).substr(i, 1)), 1u);
  }
  ASSERT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.request().body, "{}");
}

TEST(HttpRequestParser, HeaderLimit) {
  std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(kMaxHeaderBytes, 'a') + "\r\n\r\n";
  expect_error(big, 431);
  // Just under the limit is fine.
  std::string head = "GET / HTTP/1.1\r\nX: ";
  std::string fits = head + std::string(kMaxHeaderBytes - head.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(fits.size(), kMaxHeaderBytes);
  EXPECT_EQ(parse(fits).state(), State::kComplete);
  // A request line without an end also hits the limit, not unbounded buffering.
  expect_error("GET /" + std::string(kMaxHeaderBytes, 'a'), 431);
}

TEST(HttpRequestParser, BodyLimit) {
  expect_error(
      "POST / HTTP/1.1\r\nContent-Length: " + std::to_string(kMaxBodyBytes + 1) + "\r\n\r\n", 413);
  expect_error("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 413);
  HttpRequestParser parser;
  parser.feed("POST / HTTP/1.1\r\nContent-Length: " + std::to_string(kMaxBodyBytes) + "\r\n\r\n");
  EXPECT_EQ(parser.state(), State::kIncomplete);
  parser.feed(std::string(kMaxBodyBytes, 'x'));
  ASSERT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.request().body.size(), kMaxBodyBytes);
}

TEST(HttpRequestParser, RejectsTransferEncoding) {
  expect_error("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411);
}

TEST(HttpRequestParser, RejectsMalformedRequests) {
  expect_error("GET\r\n\r\n", 400);
  expect_error("GET /\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1 extra\r\n\r\n", 400);
  expect_error("GET  / HTTP/1.1\r\n\r\n", 400);
  expect_error("G(T / HTTP/1.1\r\n\r\n", 400);
  expect_error("GET ring HTTP/1.1\r\n\r\n", 400);
  expect_error("GET http://x/ring HTTP/1.1\r\n\r\n", 400);
  expect_error("GET / HTTQ/1.1\r\n\r\n", 400);
  expect_error("GET / HTTP/1.x\r\n\r\n", 400);
  expect_error("GET / HTTP/2.0\r\n\r\n", 505);
  expect_error("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\n: empty name\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\rX: y\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nContent-Length: 12a\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400);
  expect_error(std::string("GET /\0 HTTP/1.1\r\n\r\n", 19), 400);
}

TEST(HttpRequestParser, FailedParserConsumesNothingMore) {
  HttpRequestParser parser;
  parser.feed("BAD\r\n\r\n");
  ASSERT_EQ(parser.state(), State::kFailed);
  EXPECT_EQ(parser.feed("GET / HTTP/1.1\r\n\r\n"), 0u);
  parser.reset();
  parser.feed("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(parser.state(), State::kComplete);
}

TEST(HttpRequestParser, EqualDuplicateContentLengthIsAccepted) {
  HttpRequestParser parser =
      parse("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.request().body, "ok");
}

// Mutated requests (seeded, reproducible): the parser never crashes, always ends in a definite
// state, and feeding the bytes in two pieces gives the same outcome as feeding them at once.
TEST(HttpRequestParser, MutatedInputsAgreeAcrossSplits) {
  const std::string seed =
      "POST /backends HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nConnection: close\r\n\r\n"
      "{\"a\":1}";
  std::mt19937 rng(20261125);
  for (int round = 0; round < 3000; ++round) {
    std::string bytes = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % bytes.size();
      switch (rng() % 3) {
        case 0:
          bytes[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          bytes.erase(at, 1);
          break;
        default:
          bytes.insert(at, 1, "\r\n: 0a"[rng() % 7]);
          break;
      }
    }
    HttpRequestParser whole;
    const size_t used_whole = whole.feed(bytes);
    const size_t split = rng() % (bytes.size() + 1);
    HttpRequestParser pieces;
    size_t used_pieces = pieces.feed(std::string_view(bytes).substr(0, split));
    if (used_pieces == split) used_pieces += pieces.feed(std::string_view(bytes).substr(split));
    ASSERT_EQ(whole.state(), pieces.state()) << round;
    if (whole.state() == HttpRequestParser::State::kComplete) {
      EXPECT_EQ(used_whole, used_pieces) << round;
      EXPECT_EQ(whole.request().body, pieces.request().body) << round;
      EXPECT_EQ(whole.request().headers, pieces.request().headers) << round;
    } else if (whole.state() == HttpRequestParser::State::kFailed) {
      EXPECT_EQ(whole.error().status, pieces.error().status) << round;
    }
  }
}

}  // namespace
}  // namespace ringleader::proxy::admin
