// PeerTransport: authenticated TCP links between the members of a membership group.
//
// One listener on TransportOptions::listen takes connections from peers; one outbound
// connection per known peer carries everything this node sends to that peer. Each direction
// of a pair of nodes therefore has its own connection: the accepting node writes one
// challenge on it, and from then on only the connecting node writes.
//
//   - The challenge carries a random nonce; the connection's frames are sealed with a session
//     key made from the secret and that nonce, each frame's MAC covering its place on the
//     connection (see wire.h). So frames recorded from one connection fail on any other, and
//     a frame replayed, reordered or dropped on its own makes the next fail. A frame with a
//     bad MAC, a length above max_frame_payload or a payload that does not decode closes
//     that connection and is counted in TransportStats; nothing a peer sends can crash the
//     process. (The MAC authenticates peers; it does not hide traffic.) A caller that sends
//     no challenge's answer but a frame sealed the way earlier releases did is refused and
//     told apart in the log; a peer that accepts a connection and sends no challenge within
//     hello_timeout_ms (an earlier release) is named in a warning and dialed again later.
//   - The first frame on a connection is a Hello with the caller's node id and listen address.
//     A peer of the group (TransportCallbacks::in_group) that was unknown, or that now listens
//     elsewhere, is added to the peer list; an id outside the group teaches nothing, and only
//     max_strangers connections from such ids are kept.
//   - The Hello also names the group: the voters it was bootstrapped with (founders). When both
//     ends know theirs and they differ, the connection is refused (counted, logged, reported
//     through on_foreign_group): two groups, or founders started with different peer lists,
//     never exchange a Raft message. An end that does not know its founders yet (empty) is
//     not checked and checks nobody.
//   - Outbound: connects to every known peer at once and reconnects with exponential backoff
//     (reconnect_min_ms doubling up to reconnect_max_ms). Frames wait in a per-peer queue of at
//     most max_queued_frames and max_queued_bytes; when it is full the oldest frame is dropped
//     (Raft retransmits).
//   - Inbound connections are bounded before they say who they are: one that has not sent a
//     valid Hello within hello_timeout_ms is closed, and past max_unidentified such
//     connections at once the one that has waited longest (accepted in an earlier loop pass)
//     is closed (both counted in rejected_protocol): a peer says hello as soon as it
//     connects, so a flood of silent connections cannot lock it out. A peer's newer
//     connection, once its Hello is accepted, replaces an older one from the same id that
//     has been silent for hello_timeout_ms (a peer keeps one outbound connection; the older
//     one lost its other end in a partition or a crash and would otherwise stay open for
//     good); one still delivering means two processes claim the id, which is logged. TCP
//     keepalive is on for every connection, so a peer that vanished is noticed.
//   - A peer writes nothing but its challenge on the connection this node opened to it:
//     anything else shows the address is not a ringleader's membership listener. The
//     connection is closed and counted (rejected_protocol), and a warning names the peer, its
//     address and the first bytes it sent (at most every 30 s per peer). A server that waits
//     for a request (HTTP, Redis) sends nothing: it is given up on as one that sends no
//     challenge.
//   - Fault hooks for tests: set_blocked() drops every frame to and from the given peers, those
//     already queued for them included.
//
// Addresses are numeric "host:port" (IPv4 "127.0.0.1:7401", IPv6 "[::1]:7401") or
// "localhost:port"; names are not resolved (that would block the loop).
//
// Threading: everything — construction, every method, every callback — runs on the thread that
// runs `loop`. Callbacks may call any method, including close(), but must not destroy the
// transport. Lifetime: close() (or the destructor) closes every handle and stops every callback
// at once; the loop must run afterwards so libuv can finish closing (the handles' memory is
// freed in their close callbacks and never refers back to the transport).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "membership/raft/message.h"
#include "membership/transport/warning_limit.h"
#include "membership/transport/wire.h"

namespace ringleader::membership::transport {

struct TransportOptions {
  raft::NodeId node_id;
  // host:port to listen on; port 0 picks a free port (see PeerTransport::listen_address()).
  std::string listen;
  // Shared by every member; frames under another secret are rejected.
  std::string secret;
  // Initial peers: id -> address (this node may be listed; it is skipped).
  std::map<raft::NodeId, std::string> peers;
  // The voters this node's group was bootstrapped with, sorted; empty when not known yet.
  std::vector<raft::NodeId> founders;
  size_t max_queued_frames = 1024;
  // Bytes queued per peer; past it the oldest frames are dropped (the newest is always kept).
  size_t max_queued_bytes = size_t{64} << 20;
  uint32_t reconnect_min_ms = 20;
  uint32_t reconnect_max_ms = 1000;
  size_t max_frame_payload = kMaxFramePayload;
  // How long an inbound connection may take to send its Hello, and how many inbound
  // connections may be waiting to (see the header comment).
  uint32_t hello_timeout_ms = 5000;
  size_t max_unidentified = 64;
  // Inbound connections whose Hello named an id outside the group (see
  // TransportCallbacks::in_group) kept open at once.
  size_t max_strangers = 8;
};

// Counters since start; read on the loop thread.
struct TransportStats {
  uint64_t frames_sent = 0;      // handed to the socket
  uint64_t frames_received = 0;  // authenticated, decoded and delivered
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_expired = 0;       // still queued at their send_by time
  uint64_t dropped_blocked = 0;       // by set_blocked, either direction
  uint64_t dropped_unknown_peer = 0;  // sent to a node with no known address
  uint64_t rejected_bad_mac = 0;      // another secret, or out of place; each closed it
  uint64_t rejected_oversized = 0;    // each closed the connection
  uint64_t rejected_undecodable = 0;  // each closed the connection
  // No hello first (or none in time, or too many waiting to send one), self hello, a message
  // from/to someone else, data on an outbound connection other than a challenge, no
  // challenge in time, a frame sealed as earlier releases did, too many connections from ids
  // outside the group.
  uint64_t rejected_protocol = 0;
  uint64_t rejected_group = 0;  // hello naming other founders; each closed the connection
  uint64_t connects = 0;        // outbound connections whose peer sent its challenge
  // Outbound connections refused or failed, and those given up on without a challenge (none
  // in time, or something else sent instead).
  uint64_t connect_failures = 0;
  uint64_t accepted = 0;  // inbound connections accepted
};

// What the transport delivers. Any of them may be empty.
struct TransportCallbacks {
  // A Raft message from peer m.from, addressed to this node.
  std::function<void(raft::Message)> on_message;
  std::function<void(const raft::NodeId& from, ForwardRequest)> on_forward_request;
  std::function<void(const raft::NodeId& from, ForwardResponse)> on_forward_response;
  // A Hello taught a new or changed address (already added to the peer list).
  std::function<void(const raft::NodeId& id, const std::string& address)> on_peer_address;
  // Whether `id` belongs to the group as this node knows it. A Hello from another id (a
  // stranger: an instance dialing before it is added, or one that left, or anything holding
  // the secret) teaches no address, and at most max_strangers such connections stay open at
  // once (past that the oldest is closed). Empty: every id belongs.
  std::function<bool(const raft::NodeId& id)> in_group;
  // A Hello from `id` named other founders than this node's: its connection was refused.
  std::function<void(const raft::NodeId& id, const std::vector<raft::NodeId>& founders)>
      on_foreign_group;
};

class PeerTransport {
 public:
  // Binds and listens, then connects to every peer. Fails on a bad listen address or when the
  // address cannot be bound; calls no callback then.
  static Result<std::unique_ptr<PeerTransport>> start(uv_loop_t* loop, TransportOptions options,
                                                      TransportCallbacks callbacks);
  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // The bound address, with the real port when the options asked for port 0.
  const std::string& listen_address() const { return listen_address_; }
  const raft::NodeId& node_id() const { return options_.node_id; }

  // Adds a peer or changes its address (reconnecting). Ignored for this node's own id. Fails
  // on an address that does not parse.
  Status set_peer(const raft::NodeId& id, const std::string& address);
  // Forgets a peer: closes its outbound connection and drops its queue.
  void remove_peer(const raft::NodeId& id);
  // Known peers: id -> address.
  std::map<raft::NodeId, std::string> peers() const;
  // True while the outbound connection to `id` is established.
  bool connected(const raft::NodeId& id) const;

  // This node's founders (see TransportOptions::founders).
  const std::vector<raft::NodeId>& founders() const { return founders_; }
  // Sets them once learned (sorted ids): later Hellos carry them, later connections are checked.
  void set_founders(std::vector<raft::NodeId> founders);
  // The founders `id` named in its last accepted Hello (empty: none accepted, or it did not
  // know them).
  std::vector<raft::NodeId> founders_of(const raft::NodeId& id) const;
  // Takes the address that `id`'s Hello on a connection still open gave, as a Hello from a
  // member teaches it: for an id the node came to trust after its Hello (a leader a joining
  // node's file does not list, whose messages cannot be answered without it).
  void learn_address_of(const raft::NodeId& id);

  // Queues `message` for message.to. Dropped (and counted) when the peer is unknown or
  // blocked, or when it pushes the oldest frame out of a full queue.
  void send(const raft::Message& message);
  // Queues any frame for `to` (forward requests and responses). A frame still queued at
  // `send_by_ms` (uv_now of the loop; 0: no limit) is dropped instead of written, and counted
  // in dropped_expired: a forwarded request must not reach the leader long after the instance
  // that forwarded it gave up on it (a link down for minutes, then back).
  void send_frame(const raft::NodeId& to, const Frame& frame, uint64_t send_by_ms = 0);

  // Drops every frame to and from these peers (replaces the previous set), including frames
  // queued for them and not yet written.
  void set_blocked(std::set<raft::NodeId> peers);
  // One-way: drops frames this node sends to these peers; what they send still arrives.
  void set_blocked_outgoing(std::set<raft::NodeId> peers);

  const TransportStats& stats() const { return stats_; }

  // Closes every handle; no callback runs afterwards. Idempotent.
  void close();

  struct Peer;
  struct Connection;

 private:
  PeerTransport(uv_loop_t* loop, TransportOptions options, TransportCallbacks callbacks);

  void on_accept(int status);
  // Closes the inbound connections that have not sent their Hello in time.
  void sweep_unidentified();
  // Inbound connections that have not sent their Hello yet.
  size_t unidentified() const;
  // Sets `conn`'s session key from the challenge's `nonce`, its sequence to 0; false (the
  // connection closed) when the key cannot be computed.
  bool start_session(Connection* conn, std::string_view nonce);
  // Data arrived on the outbound connection `conn`: its challenge, then nothing.
  void on_outbound_data(Connection* conn, std::string_view data);
  // What arrived on `conn` is not what a peer writes there.
  void on_stray_data(Connection* conn, std::string_view data);
  // Closes the oldest connections from ids outside the group while more than max_strangers
  // are open.
  void cap_strangers();
  // Records `address` (a Hello's) for peer `id` unless the config file gives its address, it
  // is blocked or the address is a wildcard; tells on_peer_address when it is new.
  void learn_address(const raft::NodeId& id, const std::string& address);
  // Logs, rate-limited per id, that two live inbound connections claim to be `id`.
  void warn_twin(const raft::NodeId& id);
  void start_connect(Peer& peer);
  void on_connected(Connection* conn, int status);
  void schedule_reconnect(Peer& peer);
  void flush(Peer& peer);
  void on_write_done(Connection* conn, int status);
  void on_read(Connection* conn, ssize_t nread, const char* data);
  // False when the connection was closed while handling the frame.
  bool handle_frame(Connection* conn, std::string_view payload);
  void close_connection(Connection* conn, const char* reason);
  // Who sent `payload` on the inbound `conn`, for a warning: `who` for the line, `source` to
  // rate-limit by (the peer's id, claimed or proven, or else its host).
  struct Sender {
    std::string who;
    std::string source;
  };
  Sender describe_sender(Connection* conn, std::string_view payload) const;
  // Logs, rate-limited per source, that `conn` carries frames that fail their MAC: another
  // secret, or frames out of their place (`payload` is the rejected frame's).
  void warn_bad_mac(Connection* conn, std::string_view payload);
  // Logs, rate-limited per source and `kind`, that `conn` was closed for `why` (an oversized
  // or undecodable frame, no hello first); `payload` is the frame's when there is one.
  void warn_rejected(Connection* conn, std::string_view payload, const char* kind,
                     const std::string& why);
  // Logs, rate-limited per source, that `conn` carries frames sealed as earlier releases did.
  void warn_earlier_release(Connection* conn, std::string_view payload);
  // Logs, rate-limited per peer, that `id` belongs to a group with other founders.
  void warn_foreign_group(const raft::NodeId& id, const std::vector<raft::NodeId>& founders);
  // A frame's payload waiting for its peer's connection; send_by_ms as for send_frame.
  struct QueuedFrame {
    std::string payload;
    uint64_t send_by_ms = 0;
  };
  void queue_frame(const raft::NodeId& to, std::string payload, uint64_t send_by_ms);
  bool blocked_in(const raft::NodeId& id) const { return blocked_in_.count(id) > 0; }
  bool blocked_out(const raft::NodeId& id) const { return blocked_out_.count(id) > 0; }

  uv_loop_t* const loop_;
  const TransportOptions options_;
  const TransportCallbacks callbacks_;
  // Listening handle; heap-allocated, freed in its close callback. Null once closed.
  uv_tcp_t* listener_ = nullptr;
  std::string listen_address_;
  std::string advertised_address_;  // sent in the Hello; may be empty
  // The Hello's payload, sent first on every outbound connection.
  std::string hello_;
  std::vector<raft::NodeId> founders_;
  // Founders named by each peer's last accepted Hello.
  std::map<raft::NodeId, std::vector<raft::NodeId>> claimed_founders_;
  // How often each kind of warning is repeated (see WarningLimit): a peer of another group,
  // one that writes on our connection to it, two live connections claiming one id, a peer
  // that sends no challenge, frames sealed as earlier releases did, frames that fail their
  // MAC.
  WarningLimit foreign_warnings_;
  WarningLimit stray_warnings_;
  WarningLimit twin_warnings_;
  WarningLimit silent_warnings_;
  WarningLimit earlier_warnings_;
  WarningLimit bad_mac_warnings_;
  WarningLimit stranger_warnings_;
  WarningLimit rejected_warnings_;
  // Runs sweep_unidentified(); heap-allocated, freed in its close callback.
  uv_timer_t* sweep_timer_ = nullptr;
  // Known peers by id (never this node). Changed by set_peer/remove_peer and by Hellos.
  std::map<raft::NodeId, std::unique_ptr<Peer>> peers_;
  // Every open connection (inbound and outbound); removed when it starts closing.
  std::set<Connection*> connections_;
  std::set<raft::NodeId> blocked_in_;
  std::set<raft::NodeId> blocked_out_;
  TransportStats stats_;
  bool closed_ = false;
};

}  // namespace ringleader::membership::transport
