#include "cluster_checker.h"

#include <string>

namespace ringleader::membership::testing {
namespace {

uint64_t fnv1a(std::string_view bytes, uint64_t h = 0xcbf29ce484222325ULL) {
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t content_hash(const raft::Entry& e) {
  return mix(static_cast<uint64_t>(e.type), fnv1a(e.data));
}

std::string at(raft::Index i, raft::Term t) {
  return "(" + std::to_string(i) + ", term " + std::to_string(t) + ")";
}

}  // namespace

uint64_t chain_hash(uint64_t previous, const raft::Entry& entry) {
  return mix(mix(previous, entry.index), mix(entry.term, content_hash(entry)));
}

Status ClusterChecker::check_leader_has_committed(const raft::RaftNode& leader) {
  const raft::RaftLog& log = leader.log();
  for (raft::Index i = log.first_index(); i <= committed_.size(); ++i) {
    const Committed& c = committed_[i - 1];
    if (c.commit_term >= leader.term()) continue;
    if (log.term_at(i) != c.entry_term) {
      return Status::error("leader completeness: leader " + leader.id() + " of term " +
                           std::to_string(leader.term()) + " lacks committed entry " +
                           at(i, c.entry_term));
    }
  }
  return Status::ok();
}

Status ClusterChecker::record_commits(const raft::RaftNode& leader, raft::Index from,
                                      raft::Index to) {
  for (raft::Index i = from; i <= to; ++i) {
    raft::Term t = *leader.log().term_at(i);
    if (i <= committed_.size()) {
      Committed& c = committed_[i - 1];
      if (c.entry_term != t) {
        return Status::error("state machine safety: " + at(i, t) + " committed by " + leader.id() +
                             " but " + at(i, c.entry_term) + " was committed before");
      }
      c.commit_term = std::min(c.commit_term, leader.term());
    } else if (i == committed_.size() + 1) {
      committed_.push_back(Committed{t, leader.term()});
    } else {
      return Status::error("commit gap at " + std::to_string(i));
    }
    for (const auto& [id, other] : leaders_now_) {
      if (other->term() <= leader.term()) continue;
      std::optional<raft::Term> has = other->log().term_at(i);
      if (i > other->log().snapshot_index() && has != t) {
        return Status::error("leader completeness: " + at(i, t) + " committed in term " +
                             std::to_string(leader.term()) + " is missing from leader " + id +
                             " of term " + std::to_string(other->term()));
      }
    }
  }
  return Status::ok();
}

Status ClusterChecker::after_step(const raft::RaftNode& node) {
  Seen& was = seen_[node.id()];
  Seen now{node.term(), node.role(), node.commit_index()};
  if (now.role == raft::Role::kLeader) {
    auto [it, inserted] = leaders_.emplace(now.term, node.id());
    if (!inserted && it->second != node.id()) {
      return Status::error("election safety: " + it->second + " and " + node.id() +
                           " both lead term " + std::to_string(now.term));
    }
    leaders_now_[node.id()] = &node;
    bool new_leader = was.role != raft::Role::kLeader || was.term != now.term;
    if (new_leader) {
      if (Status s = check_leader_has_committed(node); !s) return s;
    }
  } else {
    leaders_now_.erase(node.id());
  }
  // A node that knows a leader for its term knows the one leader of that term.
  if (!node.leader().empty()) {
    auto it = leaders_.find(now.term);
    if (it == leaders_.end() || it->second != node.leader()) {
      return Status::error(node.id() + " follows " + node.leader() + " in term " +
                           std::to_string(now.term) + ", whose leader is " +
                           (it == leaders_.end() ? std::string("nobody") : it->second));
    }
  }
  // Commits made by a leader — including one that stepped down in the same step because the
  // commit removed it from the configuration.
  bool leading =
      now.role == raft::Role::kLeader || (was.role == raft::Role::kLeader && was.term == now.term);
  if (leading && now.commit > was.commit) {
    if (Status s = record_commits(node, was.commit + 1, now.commit); !s) return s;
  }
  if (now.commit > committed_.size()) {
    return Status::error(node.id() + "'s commit index " + std::to_string(now.commit) +
                         " is beyond anything a leader committed (" +
                         std::to_string(committed_.size()) + ")");
  }
  was = now;
  return Status::ok();
}

Status ClusterChecker::on_persist(const raft::RaftNode& node,
                                  std::span<const raft::Entry> entries) {
  for (size_t k = 0; k < entries.size(); ++k) {
    const raft::Entry& e = entries[k];
    std::optional<raft::Term> prev =
        k == 0 ? node.log().term_at(e.index - 1) : std::optional<raft::Term>(entries[k - 1].term);
    if (!prev) return Status::error("persisting an entry whose predecessor is unknown");
    Fingerprint fp{content_hash(e), *prev};
    auto [it, inserted] = fingerprints_.emplace(std::make_pair(e.index, e.term), fp);
    if (!inserted && (it->second.content != fp.content || it->second.prev_term != fp.prev_term)) {
      return Status::error("log matching: " + node.id() + " holds a different entry " +
                           at(e.index, e.term) + " than another log");
    }
  }
  return Status::ok();
}

Status ClusterChecker::on_apply(const raft::NodeId& id, const raft::Entry& entry, uint64_t chain) {
  raft::Index i = entry.index;
  if (i <= committed_.size() && committed_[i - 1].entry_term != entry.term) {
    return Status::error("state machine safety: " + id + " applied " + at(i, entry.term) + " but " +
                         at(i, committed_[i - 1].entry_term) + " was committed");
  }
  if (i <= sequence_.size()) {
    if (sequence_[i - 1].chain != chain || sequence_[i - 1].term != entry.term) {
      return Status::error("state machine safety: " + id + "'s applied sequence diverges at " +
                           at(i, entry.term));
    }
    return Status::ok();
  }
  if (i != sequence_.size() + 1) {
    return Status::error(id + " applied " + std::to_string(i) + " beyond the global sequence");
  }
  sequence_.push_back(Applied{entry.term, chain, entry.type, entry.data});
  return Status::ok();
}

Status ClusterChecker::on_restore(const raft::NodeId& id, raft::Index index, raft::Term term,
                                  uint64_t chain) {
  if (index == 0) return Status::ok();
  if (index > sequence_.size()) {
    return Status::error(id + " restored a snapshot at " + std::to_string(index) +
                         " beyond anything applied anywhere");
  }
  const Applied& a = sequence_[index - 1];
  if (a.chain != chain || a.term != term) {
    return Status::error("state machine safety: " + id + "'s snapshot " + at(index, term) +
                         " differs from the global sequence");
  }
  return Status::ok();
}

Status ClusterChecker::on_read(const raft::NodeId& id, const raft::ReadState& read,
                               raft::Index committed_at_request) {
  if (read.outcome == raft::ReadOutcome::kReady && read.index < committed_at_request) {
    return Status::error("linearizability: " + id + "'s read " + std::to_string(read.request_id) +
                         " got index " + std::to_string(read.index) + " but " +
                         std::to_string(committed_at_request) + " was committed when it began");
  }
  return Status::ok();
}

}  // namespace ringleader::membership::testing
