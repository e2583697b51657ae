// own_listener_connected: the remote address a backend connection reached, against the
// instance's own listeners.
#include "core/own_listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace ringleader::proxy {
namespace {

sockaddr_storage v4(const char* host, uint16_t port) {
  sockaddr_storage s{};
  auto* in = reinterpret_cast<sockaddr_in*>(&s);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET, host, &in->sin_addr), 1);
  return s;
}

sockaddr_storage v6(const char* host, uint16_t port) {
  sockaddr_storage s{};
  auto* in = reinterpret_cast<sockaddr_in6*>(&s);
  in->sin6_family = AF_INET6;
  in->sin6_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET6, host, &in->sin6_addr), 1);
  return s;
}

config::Config instance(const std::string& proxy_listen) {
  config::Config c;
  c.proxy.listen = proxy_listen;
  c.admin.listen = "127.0.0.1:9901";
  return c;
}

TEST(OwnListenerTest, AWildcardListenerIsReachedByLoopback) {
  const config::Config c = instance("0.0.0.0:6379");
  EXPECT_EQ(own_listener_connected(c, v4("127.0.0.1", 6379)), "proxy.listen");
  // 127.0.1.1 is what Debian maps the host's own name to.
  EXPECT_EQ(own_listener_connected(c, v4("127.0.1.1", 6379)), "proxy.listen");
  EXPECT_EQ(own_listener_connected(c, v4("127.0.0.1", 6380)), "");
  // An IPv4 wildcard takes no IPv6; an IPv6 one (dual-stack) takes both.
  EXPECT_EQ(own_listener_connected(c, v6("::1", 6379)), "");
  EXPECT_EQ(own_listener_connected(instance("[::]:6379"), v6("::1", 6379)), "proxy.listen");
  EXPECT_EQ(own_listener_connected(instance("[::]:6379"), v4("127.0.0.1", 6379)), "proxy.listen");
  EXPECT_EQ(own_listener_connected(instance("[::]:6379"), v6("::ffff:127.0.0.2", 6379)),
            "proxy.listen");
}

TEST(OwnListenerTest, AnotherAddressBehindAWildcardListenerIsNotTakenForTheInstance) {
  // It may be this machine's (an interface address), but it may also be a virtual address
  // whose connections go elsewhere: only certain loops are refused.
  EXPECT_EQ(own_listener_connected(instance("0.0.0.0:6379"), v4("10.0.0.5", 6379)), "");
  EXPECT_EQ(own_listener_connected(instance("[::]:6379"), v6("fd00::5", 6379)), "");
}

TEST(OwnListenerTest, ASpecificListenerIsReachedAtItsOwnAddressOnly) {
  const config::Config c = instance("10.0.0.5:6379");
  EXPECT_EQ(own_listener_connected(c, v4("10.0.0.5", 6379)), "proxy.listen");
  EXPECT_EQ(own_listener_connected(c, v4("127.0.0.1", 6379)), "");
  // The admin listener counts as well: it answers no backend protocol.
  EXPECT_EQ(own_listener_connected(c, v4("127.0.0.1", 9901)), "admin.listen");
}

TEST(OwnListenerTest, RaftListenersCountInRaftModeOnly) {
  config::Config c = instance("127.0.0.1:6379");
  c.membership.listen = "0.0.0.0:7000";
  EXPECT_EQ(own_listener_connected(c, v4("127.0.0.1", 7000)), "");
  c.membership.mode = config::MembershipMode::kRaft;
  c.membership.node_id = "p1";
  c.membership.peers = {{"p1", "127.0.0.1:7000"}, {"p2", "127.0.0.1:7002"}};
  EXPECT_EQ(own_listener_connected(c, v4("127.0.0.1", 7000)), "membership.listen");
  EXPECT_EQ(own_listener_connected(c, v4("127.0.0.1", 7002)), "peer p2's membership listener");
}

}  // namespace
}  // namespace ringleader::proxy
