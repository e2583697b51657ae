// Shared by the sessions' random-input tests: a request stream fed to a session as a client
// connection feeds it, and fragments answered as the core answers them.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/protocol.h"

namespace ringleader::proxy::testing {

struct RandomRun {
  size_t planned = 0;  // requests planned
  size_t split = 0;    // ... as more than one fragment
  size_t failed = 0;   // fragments answered with a failure
};

// Answers every fragment of `req`. One that waits for another is sent only when that one's
// reply starts with what it waits for, and otherwise ends kDone and empty, as the core leaves
// it. The others fail when fail() says so, or get reply(fragment).
template <class Fail, class Reply>
void answer_fragments(PendingRequest& req, RandomRun& run, Fail fail, Reply reply) {
  for (size_t i = 0; i < req.fragments.size(); ++i) {
    Fragment& f = req.fragments[i];
    if (f.after != Fragment::kNoAfter) {
      const Fragment& before = req.fragments[f.after];
      if (before.state != FragmentState::kDone || !before.reply.starts_with(f.after_reply)) {
        f.state = FragmentState::kDone;
        f.reply.clear();
        continue;
      }
    }
    if (fail()) {
      f.state = FragmentState::kFailed;
      f.error = "request timed out (backend b" + std::to_string(i) + ")";
      ++run.failed;
    } else {
      f.state = FragmentState::kDone;
      f.reply = reply(f);
    }
  }
}

// Feeds `stream` to `session` one request at a time. A planned request is answered by
// answer(req), completed, and its reply checked by check(request bytes, req); a fatal one's
// reply by check_fatal(reply). Stops at the end of the complete requests, at a fatal or
// closing request, or at the first test failure. `held` keeps the requests for the caller
// to release.
template <class Answer, class Check, class CheckFatal>
void feed_stream(Session& session, const ring::RingSnapshot& ring, std::string_view stream,
                 std::vector<PendingRequest*>& held, RandomRun& run, Answer answer, Check check,
                 CheckFatal check_fatal) {
  size_t pos = 0;
  while (pos < stream.size()) {
    const std::string_view rest = stream.substr(pos);
    auto* req = new PendingRequest(nullptr);
    held.push_back(req);
    size_t consumed = 0;
    const NextStatus status = session.next(rest, ring, *req, &consumed);
    EXPECT_LE(consumed, rest.size());
    if (status == NextStatus::kNeedMore) return;
    if (status == NextStatus::kDiscarded) {
      EXPECT_GT(consumed, 0u);
      pos += consumed;
      continue;
    }
    if (status == NextStatus::kFatal) {
      check_fatal(req->reply);
      return;
    }
    EXPECT_GT(consumed, 0u);
    pos += consumed;
    ++run.planned;
    if (!req->complete) {
      run.split += req->fragments.size() > 1 ? 1 : 0;
      answer(*req);
      session.complete(*req);
    }
    check(rest.substr(0, consumed), *req);
    if (::testing::Test::HasFailure() || req->close_after) return;
  }
}

// Feeds `streams` streams of 1 to 30 requests from gen.request() through feed(bytes), the
// requests of each released once it is done; stops at the first test failure.
template <class Gen, class Feed>
void run_streams(int streams, Gen& gen, std::vector<PendingRequest*>& held, Feed feed) {
  for (int stream = 0; stream < streams && !::testing::Test::HasFailure(); ++stream) {
    std::string bytes;
    for (size_t i = 0, n = 1 + gen.below(30); i < n; ++i)
      bytes += gen.request();
    feed(bytes);
    for (auto* r : held)
      r->release();
    held.clear();
  }
}

}  // namespace ringleader::proxy::testing
