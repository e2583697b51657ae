// RecentList: the members of a set in the order they last joined it, each with the time it
// did, so whether any joined within the last moments is known in O(1) from the youngest.
// A worker keeps three: its backend connections awaiting replies (joined at each write), its
// clients whose requests are all answered (joined when the last reply was queued), and its
// clients holding ready replies for the rest of their read (joined when the hold began). A
// member that has waited long is no sign that its event is near (a backend stuck on a slow
// command, a client that went quiet); one that joined a moment ago is. A hold that began
// long ago has lasted long enough.
//
// Intrusive: a member embeds a RecentList::Node, is in at most one list through it, and must
// leave before it is destroyed (the node asserts so). Invariants: nodes run from head_
// (oldest) to tail_ (youngest) with non-decreasing since_ns, as long as join() is given a
// clock that does not go back; size_ counts them; a node is linked exactly when its `list`
// is set. Single-threaded (a worker's loop).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>

namespace ringleader::proxy {

class RecentList {
 public:
  class Node {
   public:
    Node() = default;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    ~Node() { assert(list == nullptr); }

    bool linked() const { return list != nullptr; }
    uint64_t since_ns() const { return since; }

   private:
    friend class RecentList;
    RecentList* list = nullptr;
    Node* prev = nullptr;
    Node* next = nullptr;
    uint64_t since = 0;
  };

  RecentList() = default;
  RecentList(const RecentList&) = delete;
  RecentList& operator=(const RecentList&) = delete;
  ~RecentList() { assert(size_ == 0); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // (Re)joins `node` as the youngest member, at `now_ns`.
  void join(Node& node, uint64_t now_ns) {
    assert(node.list == nullptr || node.list == this);
    leave(node);
    node.list = this;
    node.since = now_ns;
    node.prev = tail_;
    node.next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = &node;
    } else {
      head_ = &node;
    }
    tail_ = &node;
    ++size_;
  }

  // Takes `node` out; nothing when it is not in.
  void leave(Node& node) {
    if (node.list != this) return;
    if (node.prev != nullptr) {
      node.prev->next = node.next;
    } else {
      head_ = node.next;
    }
    if (node.next != nullptr) {
      node.next->prev = node.prev;
    } else {
      tail_ = node.prev;
    }
    node.list = nullptr;
    node.prev = node.next = nullptr;
    --size_;
  }

  // The member that joined longest ago, or null.
  Node* oldest() const { return head_; }

  // Whether a member joined at or after `since_ns`.
  bool joined_since(uint64_t since_ns) const {
    return tail_ != nullptr && tail_->since >= since_ns;
  }

  // How many members joined at or after `since_ns`, counted up to `cap` (walks that many
  // from the youngest at most).
  size_t count_joined_since(uint64_t since_ns, size_t cap) const {
    size_t n = 0;
    for (const Node* node = tail_; node != nullptr && n < cap && node->since >= since_ns;
         node = node->prev)
      ++n;
    return n;
  }

 private:
  Node* head_ = nullptr;
  Node* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ringleader::proxy
