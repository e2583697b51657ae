// A session under test without sockets: a fixed ring of three backends, requests planned one
// at a time, fragment replies filled in by hand. Shared by the Redis and memcached session
// tests; `S` is the protocol's Session.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/counters.h"
#include "core/protocol.h"

namespace ringleader::proxy::testing {

template <class S>
class SessionFixture : public ::testing::Test {
 protected:
  // Backends `prefix`0..2 on 127.0.0.1:`first_port`..+2, the ring built at epoch 5 with
  // `replicas` backends per key.
  void build(config::Protocol protocol, const std::string& prefix, int first_port,
             uint32_t replicas = 1) {
    config_.proxy.protocol = protocol;
    config_.ring.replicas = replicas;
    for (int i = 0; i < 3; ++i) {
      config_.backends.push_back({prefix + std::to_string(i),
                                  "127.0.0.1:" + std::to_string(first_port + i), 1, "",
                                  ring::BackendState::kActive});
    }
    ring_ = ring::Ring::build(config_.backends, config_.ring, 5).value();
    counters_.workers.push_back(std::make_unique<WorkerCounters>());
    counters_.backends = std::make_unique<BackendStatsRegistry>(1);
    env_.config = &config_;
    env_.counters = &counters_;
    session_ = std::make_unique<S>(env_);
  }

  // Parses and plans one request; expects it to be consumed whole.
  PendingRequest* plan(std::string_view input, NextStatus expect = NextStatus::kRequest) {
    auto* req = new PendingRequest(nullptr);
    held_.push_back(req);
    size_t consumed = 0;
    EXPECT_EQ(session_->next(input, ring_, *req, &consumed), expect);
    if (expect == NextStatus::kRequest) {
      EXPECT_EQ(consumed, input.size());
    }
    return req;
  }

  std::string owner(std::string_view key) {
    return ring_->backend(ring_->primary_for_key(key)).name;
  }
  ring::ReplicaSet replicas(std::string_view key) { return ring_->replicas_for_key(key); }

  void reply(PendingRequest* req, size_t fragment, std::string bytes) {
    req->fragments[fragment].state = FragmentState::kDone;
    req->fragments[fragment].reply = std::move(bytes);
  }

  // The fragment failed (no reply) with `error`, as the core reports it.
  void fail(PendingRequest* req, size_t fragment, std::string error) {
    req->fragments[fragment].state = FragmentState::kFailed;
    req->fragments[fragment].error = std::move(error);
  }

  // The primary (fragment 0) answered `primary_reply` without applying a conditional write, so
  // the fragments waiting on it were never sent: completes the request, returns its reply.
  const std::string& complete_unapplied(PendingRequest* req, std::string primary_reply) {
    reply(req, 0, std::move(primary_reply));
    for (size_t i = 1; i < req->fragments.size(); ++i)
      req->fragments[i].state = FragmentState::kDone;
    session_->complete(*req);
    return req->reply;
  }

  void TearDown() override {
    for (auto* r : held_)
      r->release();
  }

  config::Config config_;
  ring::RingSnapshot ring_;
  ProxyCounters counters_;
  SessionEnv env_;
  std::unique_ptr<S> session_;
  std::vector<PendingRequest*> held_;  // released at the end of the test
};

}  // namespace ringleader::proxy::testing
