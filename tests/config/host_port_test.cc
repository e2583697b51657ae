// parse_host_port, parse_unix_address, parse_peer and the identifier rules.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "config/config.h"

namespace ringleader::config {
namespace {

struct HostPortCase {
  const char* text;
  const char* host;
  uint16_t port;
};

TEST(ParseHostPort, AcceptsIpv4NamesAndBracketedIpv6) {
  for (const HostPortCase& c : {
           HostPortCase{"127.0.0.1:6379", "127.0.0.1", 6379},
           HostPortCase{"localhost:6379", "localhost", 6379},
           HostPortCase{"[::1]:6379", "::1", 6379},
           HostPortCase{"0.0.0.0:1", "0.0.0.0", 1},
           HostPortCase{"cache-1.example.com:65535", "cache-1.example.com", 65535},
           HostPortCase{"[fe80::1%eth0]:11211", "fe80::1%eth0", 11211},
           HostPortCase{"[2001:db8::7]:80", "2001:db8::7", 80},
       }) {
    std::string host;
    uint16_t port = 0;
    ASSERT_TRUE(parse_host_port(c.text, &host, &port)) << c.text;
    EXPECT_EQ(host, c.host) << c.text;
    EXPECT_EQ(port, c.port) << c.text;
  }
}

// Two spellings of one server compare equal: localhost, the case of a name, IPv6's forms.
TEST(CanonicalAddress, OneServerOneSpelling) {
  for (const auto& [a, b] : std::vector<std::pair<const char*, const char*>>{
           {"localhost:7001", "127.0.0.1:7001"},
           {"LOCALHOST:7001", "127.0.0.1:7001"},
           {"Cache-1.Example.COM:11211", "cache-1.example.com:11211"},
           {"[0:0:0:0:0:0:0:1]:7001", "[::1]:7001"},
           {"[2001:DB8:0::7]:80", "[2001:db8::7]:80"},
           {"[::]:6379", "[::1]:6379"},  // a connection to a wildcard reaches loopback
           {"0.0.0.0:6379", "127.0.0.1:6379"},
           {"[fe80::1%eth0]:11211", "[fe80::1%eth0]:11211"},
           {"[::ffff:127.0.0.1]:7001", "127.0.0.1:7001"},  // IPv4-mapped: the IPv4 host
           {"[::FFFF:7f00:2]:7001", "127.0.0.2:7001"},
           {"not an address", "not an address"},
           // Socket paths lexically normal; symbolic links are not followed.
           {"unix:/run//redis/./r.sock", "unix:/run/redis/r.sock"},
           {"unix:/run/x/../redis/r.sock", "unix:/run/redis/r.sock"},
           {"unix:/run/redis/r.sock", "unix:/run/redis/r.sock"},
       }) {
    EXPECT_EQ(canonical_address(a), b) << a;
  }
  EXPECT_NE(canonical_address("127.0.0.1:7001"), canonical_address("127.0.0.2:7001"));
  EXPECT_NE(canonical_address("[fe80::1%eth0]:1"), canonical_address("[fe80::1%ETH0]:1"));
  EXPECT_EQ(canonical_host("[::1]"), "[::1]");  // hosts come without brackets
  EXPECT_EQ(canonical_host("0:0::0"), "::");
}

TEST(ParseHostPort, RejectsMalformedAddresses) {
  for (const char* text : {
           "",                 // nothing
           "127.0.0.1",        // missing port
           "127.0.0.1:",       // empty port
           ":6379",            // empty host
           "127.0.0.1:0",      // port 0
           "127.0.0.1:65536",  // port too large
           "127.0.0.1:99999999999",
           "127.0.0.1:63a9",  // non-digit
           "127.0.0.1:+80",
           "127.0.0.1: 80",
           "::1:6379",         // IPv6 without brackets
           "[::1]",            // bracketed without port
           "[::1:6379",        // unclosed bracket
           "[]:6379",          // empty IPv6 host
           "[not-ipv6]:6379",  //
           "[::1]x:6379",      //
           "256.1.1.1:80",     // not an IPv4 address
           "1.2.3:80",         //
           "127.1:80",         // IPv4 spellings the resolver reads as numbers: one server,
           "2130706433:80",    // many names
           "0x7f000001:80",    //
           "0x7f.0.0.1:80",    //
           "0177.0.0.1:80",    //
           "0X7F.1:80",        //
           "my host:80",       // space in name
           "a..b:80",          // empty label
           "*:80",             //
       }) {
    std::string host = "untouched";
    uint16_t port = 7;
    EXPECT_FALSE(parse_host_port(text, &host, &port)) << text;
    EXPECT_EQ(host, "untouched") << text;
    EXPECT_EQ(port, 7) << text;
  }
}

TEST(ParseHostPort, OutputsMayBeNull) {
  EXPECT_TRUE(parse_host_port("127.0.0.1:80", nullptr, nullptr));
  EXPECT_FALSE(parse_host_port("127.0.0.1", nullptr, nullptr));
}

TEST(ParseUnixAddress, TakesAnAbsolutePathThatFitsASocketAddress) {
  std::string path;
  ASSERT_TRUE(parse_unix_address("unix:/run/redis/redis.sock", &path));
  EXPECT_EQ(path, "/run/redis/redis.sock");
  const std::string longest = "/" + std::string(106, 'a');  // 107 bytes, sun_path's limit
  ASSERT_TRUE(parse_unix_address("unix:" + longest, &path));
  EXPECT_EQ(path, longest);
  EXPECT_TRUE(is_backend_address("unix:/tmp/r.sock"));
  EXPECT_TRUE(is_backend_address("127.0.0.1:6379"));
}

TEST(ParseUnixAddress, RejectsRelativeEmptyAndOverlongPaths) {
  for (const std::string& text : {
           std::string("unix:"),                           // no path
           std::string("unix:redis.sock"),                 // relative
           std::string("unix:./redis.sock"),               //
           std::string("unix:/") + std::string(107, 'a'),  // 108 bytes
           std::string("unix:/a\0b", 9),                   // a NUL inside
           std::string("unix:/"),                          // a directory, never a socket
           std::string("unix:/run/redis/"),                //
           std::string("/run/redis.sock"),                 // no prefix
           std::string("UNIX:/run/redis.sock"),            // the prefix is lower case
       }) {
    std::string path = "untouched";
    EXPECT_FALSE(parse_unix_address(text, &path)) << text;
    EXPECT_EQ(path, "untouched") << text;
    EXPECT_FALSE(is_backend_address(text)) << text;
  }
  EXPECT_TRUE(is_unix_address("unix:relative"));  // asks for one, invalid or not
  EXPECT_FALSE(is_unix_address("127.0.0.1:6379"));
}

TEST(ParsePeer, SplitsIdAndAddress) {
  const std::optional<PeerConfig> peer = parse_peer("p1@127.0.0.1:7401");
  ASSERT_TRUE(peer.has_value());
  EXPECT_EQ(peer->id, "p1");
  EXPECT_EQ(peer->address, "127.0.0.1:7401");
  EXPECT_EQ(parse_peer("node-2.eu@[::1]:7402"), (PeerConfig{"node-2.eu", "[::1]:7402"}));
}

TEST(ParsePeer, RejectsMalformedPeers) {
  for (const char* text : {"", "p1", "p1@", "@127.0.0.1:7401", "p1:127.0.0.1:7401",
                           "p 1@127.0.0.1:7401", "p1@127.0.0.1", "p1@x@127.0.0.1:7401"}) {
    EXPECT_FALSE(parse_peer(text).has_value()) << text;
  }
}

TEST(Identifiers, BackendNames) {
  EXPECT_TRUE(is_valid_backend_name("redis-1"));
  EXPECT_TRUE(is_valid_backend_name("127.0.0.1:7001"));
  EXPECT_TRUE(is_valid_backend_name("A.b_c:d-9"));
  EXPECT_TRUE(is_valid_backend_name(std::string(128, 'x')));
  EXPECT_FALSE(is_valid_backend_name(std::string(129, 'x')));
  EXPECT_FALSE(is_valid_backend_name(""));
  EXPECT_FALSE(is_valid_backend_name("a b"));
  EXPECT_FALSE(is_valid_backend_name("a/b"));
  EXPECT_FALSE(is_valid_backend_name("caf\xc3\xa9"));
}

TEST(Identifiers, NodeIds) {
  EXPECT_TRUE(is_valid_node_id("n1"));
  EXPECT_TRUE(is_valid_node_id("node-1.eu_west"));
  EXPECT_TRUE(is_valid_node_id(std::string(64, 'x')));
  EXPECT_FALSE(is_valid_node_id(std::string(65, 'x')));
  EXPECT_FALSE(is_valid_node_id(""));
  EXPECT_FALSE(is_valid_node_id("n:1"));
  EXPECT_FALSE(is_valid_node_id("n@1"));
}

}  // namespace
}  // namespace ringleader::config
