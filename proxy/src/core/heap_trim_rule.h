// HeapTrimRule: when a burst's freed memory is worth giving back to the system.
//
// glibc keeps freed chunks for reuse: their pages stay resident until malloc_trim() releases
// them (it does, inside every arena, but it cannot shrink a worker arena's top, which malloc
// itself trims past M_TRIM_THRESHOLD). What shows a burst's leftovers is the slack: resident
// bytes minus the bytes malloc has handed out. Code, stacks and free pages that cannot go back
// make a floor under it. A trim is due once the slack stands `trim_bytes` above the lowest it
// has been since the last trim (a burst's worth), or `settled_bytes` above it in two samples
// in a row (the end of a burst whose last frees came after a trim: they would otherwise stay
// for good). After a trim the floor starts again from what was left, so memory a trim cannot
// release never asks for another; what other threads freed while it ran is not taken for
// that (trimmed()).
//
// Neither the free bytes nor the resident bytes alone show it: a trim during a burst leaves
// the freed chunks in malloc's lists (the free bytes stay high) while the burst's live memory
// is resident; the same chunks dirtied and freed again then move neither figure.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>

namespace ringleader::proxy {

class HeapTrimRule {
 public:
  HeapTrimRule(size_t trim_bytes, size_t settled_bytes)
      : trim_bytes_(trim_bytes), settled_bytes_(settled_bytes) {}

  // A sample of resident bytes and bytes in use (malloc's arenas and its mapped chunks):
  // whether malloc_trim() is due.
  bool due(size_t resident, size_t in_use) {
    const size_t s = slack(resident, in_use);
    floor_ = std::min(floor_, s);
    const bool above = s - floor_ >= settled_bytes_;
    const bool settled = above && was_above_;
    was_above_ = above;
    return s - floor_ >= trim_bytes_ || settled;
  }

  // A sample that sets the floor, taken at start: a burst may come before the first call to
  // due(), and its memory must not be taken for the floor.
  void at_rest(size_t resident, size_t in_use) {
    floor_ = slack(resident, in_use);
    was_above_ = false;
  }

  // The floor after a trim, from the resident bytes it left and the bytes in use before and
  // after it. Other threads free while a trim runs: what they free once it has passed their
  // arena stays resident, and counting it in the floor would keep it for good (no later
  // sample stands above it). The larger of the two in-use figures leaves it out. The floor
  // may then stand low by what was freed before the trim reached it and went back: that
  // asks for one more trim, which finds little and sets the floor anew.
  void trimmed(size_t resident, size_t in_use_before, size_t in_use_after) {
    at_rest(resident, std::max(in_use_before, in_use_after));
  }

 private:
  // Bytes in use can exceed the resident ones: a large chunk handed out is counted whole
  // while only the pages written to are resident.
  static size_t slack(size_t resident, size_t in_use) {
    return resident > in_use ? resident - in_use : 0;
  }

  size_t trim_bytes_;
  size_t settled_bytes_;
  bool was_above_ = false;  // the last sample stood settled_bytes_ above the floor
  size_t floor_ = std::numeric_limits<size_t>::max();
};

}  // namespace ringleader::proxy
