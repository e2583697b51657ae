// own_listener_connected: the remote address a backend connection reached, against the
// instance's own listeners.
#include "core/own_listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>

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

// This machine's interfaces, as the tests pretend: loopback and one LAN address each.
const std::vector<std::string> kLocal = {"127.0.0.1", "10.0.0.5", "::1", "fd00::5"};

TEST(OwnListenerTest, AWildcardListenerTakesTheMachinesOwnAddressesOfItsFamily) {
  const config::Config c = instance("0.0.0.0:6379");
  EXPECT_EQ(own_listener_connected(c, v4("10.0.0.5", 6379), kLocal), "proxy.listen");
  // Loopback aliases are this machine's without being listed (127.0.1.1: Debian's host name).
  EXPECT_EQ(own_listener_connected(c, v4("127.0.1.1", 6379), kLocal), "proxy.listen");
  // Another host, another port, or IPv6 (an IPv4 wildcard does not take it): not this instance.
  EXPECT_EQ(own_listener_connected(c, v4("10.0.0.6", 6379), kLocal), "");
  EXPECT_EQ(own_listener_connected(c, v4("10.0.0.5", 6380), kLocal), "");
  EXPECT_EQ(own_listener_connected(c, v6("fd00::5", 6379), kLocal), "");
}

TEST(OwnListenerTest, AnIpv6WildcardListenerTakesBothFamilies) {
  const config::Config c = instance("[::]:6379");
  EXPECT_EQ(own_listener_connected(c, v6("fd00::5", 6379), kLocal), "proxy.listen");
  EXPECT_EQ(own_listener_connected(c, v4("10.0.0.5", 6379), kLocal), "proxy.listen");
  EXPECT_EQ(own_listener_connected(c, v6("::ffff:10.0.0.5", 6379), kLocal), "proxy.listen");
  EXPECT_EQ(own_listener_connected(c, v6("fd00::6", 6379), kLocal), "");
}

TEST(OwnListenerTest, ASpecificListenerTakesItsOwnAddressOnly) {
  const config::Config c = instance("10.0.0.5:6379");
  EXPECT_EQ(own_listener_connected(c, v4("10.0.0.5", 6379), kLocal), "proxy.listen");
  EXPECT_EQ(own_listener_connected(c, v4("127.0.0.1", 6379), kLocal), "");
  // The admin listener counts as well: it answers no backend protocol.
  EXPECT_EQ(own_listener_connected(c, v4("127.0.0.1", 9901), kLocal), "admin.listen");
}

TEST(OwnListenerTest, RaftListenersCountInRaftModeOnly) {
  config::Config c = instance("127.0.0.1:6379");
  c.membership.listen = "0.0.0.0:7000";
  EXPECT_EQ(own_listener_connected(c, v4("10.0.0.5", 7000), kLocal), "");
  c.membership.mode = config::MembershipMode::kRaft;
  c.membership.node_id = "p1";
  c.membership.peers = {{"p1", "10.0.0.5:7000"}, {"p2", "127.0.0.1:7002"}};
  EXPECT_EQ(own_listener_connected(c, v4("10.0.0.5", 7000), kLocal), "membership.listen");
  EXPECT_EQ(own_listener_connected(c, v4("127.0.0.1", 7002), kLocal),
            "peer p2's membership listener");
}

TEST(OwnListenerTest, TheMachinesInterfacesIncludeLoopback) {
  const std::vector<std::string> hosts = local_interface_hosts();
  EXPECT_NE(std::find(hosts.begin(), hosts.end(), "127.0.0.1"), hosts.end());
  // Read through the same wildcard rule: loopback reaches a wildcard listener either way.
  EXPECT_EQ(own_listener_connected(instance("0.0.0.0:6379"), v4("127.0.0.1", 6379)),
            "proxy.listen");
  EXPECT_EQ(own_listener_connected(instance("127.0.0.1:6379"), v4("192.0.2.1", 6379)), "");
}

}  // namespace
}  // namespace ringleader::proxy
