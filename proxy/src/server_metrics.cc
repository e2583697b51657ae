// GET /metrics: every statistic of the proxy in Prometheus text format. Workers count into
// their own counters without locks; this sums them at scrape time (control thread).
#include <unistd.h>

#include <ctime>

#include "common/version.h"
#include "core/uv_util.h"
#include "metrics/exposition.h"
#include "server_impl.h"

namespace ringleader::proxy {

std::string Server::metrics_text() {
  metrics::Exposition e;
  CounterTotals t = counters_.totals();
  ring::RingSnapshot r = rings_.current();

  e.gauge("ringleader_build_info", "ringleader's version; the value is always 1");
  e.value(1, {{"version", ringleader::kVersion}});
  e.gauge("ringleader_uptime_seconds", "Seconds since the proxy started");
  e.value(static_cast<double>(monotonic_ns() - counters_.start_time_ns) / 1e9);
  e.gauge("ringleader_workers", "Worker threads (event loops) serving clients");
  e.value(static_cast<double>(counters_.workers.size()));
  e.gauge("ringleader_io_uring_workers",
          "Workers that hand each loop iteration's socket writes to the kernel in one io_uring "
          "submission (the others write one socket at a time)");
  e.value(static_cast<double>(counters_.io_uring_workers.load(std::memory_order_relaxed)));

  // Requests by command and outcome.
  e.counter("ringleader_requests_total",
            "Client requests answered, by command and outcome (ok, error reply, failed: no "
            "backend reply)");
  static constexpr const char* kOutcomeNames[kOutcomes] = {"ok", "error", "failed"};
  for (size_t c = 0; c < protocol_->command_count(); ++c) {
    for (size_t o = 0; o < kOutcomes; ++o) {
      uint64_t n = 0;
      for (const auto& w : counters_.workers) {
        n += w->requests_by_command[c * kOutcomes + o].load(std::memory_order_relaxed);
      }
      if (n == 0) continue;  // commands never seen stay out of the scrape
      e.value(static_cast<double>(n), {{"command", std::string(protocol_->command_name(c))},
                                       {"outcome", kOutcomeNames[o]}});
    }
  }
  e.histogram("ringleader_request_duration_seconds",
              "Time from parsing a request to queueing its reply, by command class");
  for (size_t c = 0; c < kLatencyClasses; ++c) {
    metrics::HistogramSnapshot h;
    for (const auto& w : counters_.workers)
      h += w->latency[c].snapshot();
    e.observations(h, {{"class", kLatencyClassNames[c]}});
  }

  // Plain counters, from the one list in core/counters.h.
#define RL_COUNTER_FAMILY(field, metric, help) \
  e.counter(metric, help);                     \
  e.value(static_cast<double>(t.field));
  RINGLEADER_WORKER_COUNTERS(RL_COUNTER_FAMILY)
#undef RL_COUNTER_FAMILY
  e.counter("ringleader_backend_gather_wait_seconds_total",
            "Time gathered backend writes waited for more requests, summed: over "
            "ringleader_backend_gathered_writes_total, the wait of one");
  e.value(static_cast<double>(t.backend_gather_wait_ns) / 1e9);
  e.counter("ringleader_worker_poll_wait_seconds_total",
            "Time each worker's loop waited in its poll for something to do: one less its "
            "rate is the share of the time the worker was busy");
  for (size_t w = 0; w < counters_.workers.size(); ++w) {
    const uint64_t ns = w < workers_.size() ? workers_[w]->poll_wait_ns() : 0;  // 0: not started
    e.value(static_cast<double>(ns) / 1e9, {{"worker", std::to_string(w)}});
  }

  // Clients.
  e.gauge("ringleader_client_connections", "Open client connections");
  e.value(static_cast<double>(t.client_connections));

  // Memory given back (Server::trim_heap).
  e.counter("ringleader_heap_trims_total",
            "Times freed memory left resident was given back to the system (malloc_trim)");
  e.value(static_cast<double>(heap_trimmer_.trims()));
  e.counter("ringleader_heap_returned_bytes_total",
            "Resident bytes the heap trims gave back, from the resident set before and after each");
  e.value(static_cast<double>(heap_trimmer_.returned_bytes()));
  e.gauge("ringleader_heap_in_use_bytes",
          "Bytes malloc had handed out (live allocations) when the heap was last looked at, "
          "every 2 s; the resident set less this is memory freed but not yet given back");
  e.value(static_cast<double>(heap_trimmer_.in_use_at_last_look()));

  // Raft.
  if (membership_) {
    membership::service::ServiceStatus st = membership_->status();
    e.gauge("ringleader_raft_role", "This instance's Raft role; 1 on the current one");
    for (const char* role : {"leader", "follower", "candidate", "learner"}) {
      e.value(st.role == role ? 1 : 0, {{"role", role}});
    }
    e.gauge("ringleader_raft_term", "Current Raft term");
    e.value(static_cast<double>(st.term));
    e.gauge("ringleader_raft_leader", "The leader this instance knows of; 1 on it");
    e.value(st.leader.empty() ? 0 : 1, {{"leader", st.leader}});
    e.gauge("ringleader_raft_commit_index", "Highest log index known to be committed");
    e.value(static_cast<double>(st.commit_index));
    e.gauge("ringleader_raft_applied_index", "Highest log index applied to the membership");
    e.value(static_cast<double>(st.applied_index));
    e.counter("ringleader_raft_elections_total", "Elections this instance started");
    e.value(static_cast<double>(st.elections));
    e.gauge("ringleader_membership_stale",
            "1 when no leader was heard from for two election timeouts: routing with the last "
            "ring");
    e.value(st.stale ? 1 : 0);
    e.counter("ringleader_raft_peer_log_losses_total",
              "Times this instance, leading, found a peer without log entries it had "
              "acknowledged (a wiped or restored data_dir)");
    e.value(static_cast<double>(st.peer_log_losses));
    e.counter("ringleader_raft_committed_conflicts_total",
              "Leader terms in which an append disagreed with entries committed on this "
              "instance: its log is not the group's (see /readyz)");
    e.value(static_cast<double>(st.committed_conflicts));
    e.counter("ringleader_raft_frames_rejected_total",
              "Frames from other instances refused, closing their connection, by reason "
              "(bad_mac: another membership.secret, or a frame out of its place on its "
              "connection: replayed, reordered, altered; group: a group bootstrapped with other "
              "voters, see /cluster foreign_peers; protocol: also connections closed for no "
              "hello or challenge in time, too many waiting for one, data on an outbound "
              "connection, or frames sealed by an earlier release)");
    e.value(static_cast<double>(st.transport.rejected_bad_mac), {{"reason", "bad_mac"}});
    e.value(static_cast<double>(st.transport.rejected_oversized), {{"reason", "oversized"}});
    e.value(static_cast<double>(st.transport.rejected_undecodable), {{"reason", "undecodable"}});
    e.value(static_cast<double>(st.transport.rejected_protocol), {{"reason", "protocol"}});
    e.value(static_cast<double>(st.transport.rejected_group), {{"reason", "group"}});
    e.counter("ringleader_raft_frames_sent_total",
              "Frames written to other instances' connections");
    e.value(static_cast<double>(st.transport.frames_sent));
    e.counter("ringleader_raft_frames_received_total",
              "Frames from other instances authenticated and delivered");
    e.value(static_cast<double>(st.transport.frames_received));
    e.counter("ringleader_raft_frames_dropped_total",
              "Frames for other instances never written, by reason (queue_full: the oldest "
              "queued for a peer that does not take them; expired: a forwarded change still "
              "queued when its caller had given up; unknown_peer: no address known)");
    e.value(static_cast<double>(st.transport.dropped_queue_full), {{"reason", "queue_full"}});
    e.value(static_cast<double>(st.transport.dropped_expired), {{"reason", "expired"}});
    e.value(static_cast<double>(st.transport.dropped_unknown_peer), {{"reason", "unknown_peer"}});
    e.counter("ringleader_raft_peer_connects_total",
              "Connections this instance opened to other instances, by result (ok: the peer "
              "sent its challenge; failed: refused, failed, or given up on without one)");
    e.value(static_cast<double>(st.transport.connects), {{"result", "ok"}});
    e.value(static_cast<double>(st.transport.connect_failures), {{"result", "failed"}});
    e.counter("ringleader_raft_peer_accepts_total",
              "Connections other instances opened to this one");
    e.value(static_cast<double>(st.transport.accepted));
    e.gauge("ringleader_raft_peer_connected",
            "1 while this instance's connection to the peer is up (members and known "
            "addresses, this instance excluded)");
    for (const membership::service::PeerStatus& p : st.peers) {
      e.value(p.connected ? 1 : 0, {{"peer", p.id}});
    }
    e.gauge("ringleader_raft_peer_last_contact_seconds",
            "Seconds since a frame from the peer arrived; absent until one has");
    for (const membership::service::PeerStatus& p : st.peers) {
      if (p.last_contact_ms) {
        e.value(static_cast<double>(*p.last_contact_ms) / 1e3, {{"peer", p.id}});
      }
    }
    if (st.role == "leader") {
      e.gauge("ringleader_raft_peer_match_index",
              "Leader only: the highest log index known replicated on each member; "
              "ringleader_raft_commit_index minus it is the member's lag");
      for (const membership::service::PeerStatus& p : st.peers) {
        if (p.suffrage != "none") {
          e.value(static_cast<double>(p.match_index), {{"peer", p.id}});
        }
      }
    }
  }

  if (!r) return e.text();  // raft mode before the first applied ring

  // Backends.
  std::vector<std::string> ejected = rings_.ejected();
  std::vector<double> shares = r->primary_shares();
  // Only backends of the current ring: a removed one's series end with it (its statistics are
  // forgotten once no pool holds them; its failure counts only if at the same address:
  // BackendStats::count_for).
  forget_removed_backends();
  auto stats = counters_.backends->all();
  std::erase_if(stats, [&r](const auto& entry) { return !r->find(entry.first); });
  e.gauge("ringleader_backend_up",
          "1 when the backend takes requests on this instance (in the ring, not down, not "
          "ejected, its last connection attempt succeeded and its last request did not fail)");
  for (const ring::Backend& b : r->backends()) {
    const bool up = b.state != ring::BackendState::kDown &&
                    !counters_.backends->unreachable(b.name) &&
                    !counters_.backends->failing(b.name);
    e.value(up ? 1 : 0, {{"backend", b.name}});
  }
  e.gauge("ringleader_backend_state", "The backend's state; 1 on the current one");
  for (const ring::Backend& b : r->backends()) {
    bool is_ejected = std::find(ejected.begin(), ejected.end(), b.name) != ejected.end();
    for (const char* s : {"active", "draining", "down", "ejected"}) {
      bool on = is_ejected ? std::string_view(s) == "ejected"
                           : std::string_view(s) == ring::to_string(b.state);
      e.value(on ? 1 : 0, {{"backend", b.name}, {"state", s}});
    }
  }
  e.gauge("ringleader_backend_key_space_share",
          "Share of the key space the backend owns as primary (0..1)");
  for (ring::BackendIndex i = 0; i < r->backends().size(); ++i) {
    e.value(shares[i], {{"backend", r->backend(i).name}});
  }
  forget_removed_ejections();
  e.counter("ringleader_backend_ejections_total",
            "Times this instance ejected the backend after backend.failure_limit failures");
  for (const ring::Backend& b : r->backends()) {
    auto it = ejections_.find(b.name);
    e.value(it == ejections_.end() ? 0 : static_cast<double>(it->second.count),
            {{"backend", b.name}});
  }
  e.gauge("ringleader_backend_connections", "Open connections to the backend, all workers");
  for (const auto& [name, s] : stats) {
    int64_t n = 0;
    for (const auto& slot : s->slots)
      n += slot->connections.load(std::memory_order_relaxed);
    e.value(static_cast<double>(n), {{"backend", name}});
  }
  e.counter("ringleader_backend_requests_total",
            "Backend requests finished, by outcome (ok: a reply arrived; refused: a reply "
            "saying the server did not run it, such as LOADING, BUSY, READONLY or OOM, or "
            "memcached's SERVER_ERROR; failed: timeout, connection error, unavailable)");
  for (const auto& [name, s] : stats) {
    uint64_t ok = 0, refused = 0, failed = 0;
    for (const auto& slot : s->slots) {
      ok += slot->replies.load(std::memory_order_relaxed);
      refused += slot->refusals.load(std::memory_order_relaxed);
      failed += slot->failures.load(std::memory_order_relaxed);
    }
    e.value(static_cast<double>(ok), {{"backend", name}, {"outcome", "ok"}});
    e.value(static_cast<double>(refused), {{"backend", name}, {"outcome", "refused"}});
    e.value(static_cast<double>(failed), {{"backend", name}, {"outcome", "failed"}});
  }
  e.histogram("ringleader_backend_request_duration_seconds",
              "Time from handing a request to a backend connection to its reply");
  for (const auto& [name, s] : stats) {
    metrics::HistogramSnapshot h;
    for (const auto& slot : s->slots)
      h += slot->latency.snapshot();
    e.observations(h, {{"backend", name}});
  }

  // Configuration reloads (SIGHUP).
  e.counter("ringleader_config_reloads_total",
            "SIGHUP reloads: ok (everything that can change at runtime applied) or error (the "
            "file had errors, or the ring or the admin token could not change)");
  e.value(static_cast<double>(reloads_ok_), {{"result", "ok"}});
  e.value(static_cast<double>(reloads_error_), {{"result", "error"}});
  e.gauge("ringleader_config_last_reload_successful",
          "1 when the last SIGHUP reload (or the start) applied without error");
  e.value(last_reload_ok_ ? 1 : 0);
  e.gauge("ringleader_config_last_reload_success_timestamp_seconds",
          "Unix time of the last reload (or the start) that applied without error");
  e.value(config_loaded_unix_s_);

  // Ring.
  e.gauge("ringleader_ring_epoch",
          "Epoch of the ring this instance routes with (the Raft index that produced it; 0 in "
          "static mode)");
  e.value(static_cast<double>(r->epoch()));
  // An ejected backend is counted as ejected, not by the state the ring gives it (down): the
  // states partition the ring's backends as ringleader_backend_state does.
  e.gauge("ringleader_ring_backends",
          "Backends in the ring, by state (ejected: by this instance, after failures)");
  for (const char* s : {"active", "draining", "down", "ejected"}) {
    size_t n = 0;
    for (const ring::Backend& b : r->backends()) {
      bool is_ejected = std::find(ejected.begin(), ejected.end(), b.name) != ejected.end();
      n += is_ejected ? std::string_view(s) == "ejected"
                      : std::string_view(s) == ring::to_string(b.state);
    }
    e.value(static_cast<double>(n), {{"state", s}});
  }
  e.gauge("ringleader_ring_replicas", "Replicas per key (ring.replicas)");
  e.value(r->params().replicas);
  return e.text();
}

}  // namespace ringleader::proxy
