// ringleader-churn: what a membership change costs, per placement algorithm.
//
// Builds a ring of N backends, then applies one change at a time — add a backend, remove
// one, double one's weight — and prints for each: the share of the key space whose primary
// moved (exact, from ring diff) against the optimum, the same share measured on sampled
// keys, the peak/average primary load after the change, and the share of replica sets that
// changed.
//
//   ringleader-churn [--algorithm vnode|maglev|ketama] [--backends N] [--vnodes V]
//                    [--replicas R] [--balance-factor F] [--keys K] [--csv]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ring/ring.h"

namespace {

using namespace ringleader::ring;

struct Options {
  Algorithm algorithm = Algorithm::kVnode;
  int backends = 100;
  uint32_t vnodes = 160;
  uint32_t replicas = 3;
  double balance_factor = 0;
  int keys = 1000000;
  bool csv = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "ringleader-churn: %s\n"
               "usage: ringleader-churn [--algorithm vnode|maglev|ketama] [--backends N]\n"
               "                        [--vnodes V] [--replicas R] [--balance-factor F]\n"
               "                        [--keys K] [--csv]\n",
               why);
  std::exit(2);
}

long parse_int(const char* flag, const char* text, long lo, long hi) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v < lo || v > hi) {
    usage((std::string(flag) + " expects an integer in " + std::to_string(lo) + ".." +
           std::to_string(hi))
              .c_str());
  }
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--algorithm") {
      auto alg = parse_algorithm(value());
      if (!alg) usage("--algorithm expects vnode, maglev or ketama");
      o.algorithm = *alg;
    } else if (a == "--backends") {
      o.backends = static_cast<int>(parse_int("--backends", value(), 2, 100000));
    } else if (a == "--vnodes") {
      o.vnodes = static_cast<uint32_t>(parse_int("--vnodes", value(), 1, kMaxVnodes));
    } else if (a == "--replicas") {
      o.replicas = static_cast<uint32_t>(parse_int("--replicas", value(), 1, kMaxReplicas));
    } else if (a == "--balance-factor") {
      char* end = nullptr;
      const char* text = value();
      o.balance_factor = std::strtod(text, &end);
      if (*end != '\0' || (o.balance_factor != 0 && o.balance_factor < 1.0)) {
        usage("--balance-factor expects 0 or a number >= 1");
      }
    } else if (a == "--keys") {
      o.keys = static_cast<int>(parse_int("--keys", value(), 0, 100000000));
    } else if (a == "--csv") {
      o.csv = true;
    } else if (a == "--help" || a == "-h") {
      usage("measures key movement on membership changes");
    } else {
      usage(("unknown argument " + a).c_str());
    }
  }
  return o;
}

std::vector<Backend> make_backends(int n) {
  std::vector<Backend> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({"backend-" + std::to_string(i), "127.0.0.1:" + std::to_string(7000 + i), 1, "",
                   BackendState::kActive});
  }
  return out;
}

struct Row {
  std::string scenario;
  double moved, optimum, sampled, peak, replicas_changed;
};

double peak_to_average(const std::vector<double>& shares, const std::vector<Backend>& backends) {
  // Load relative to weight: share / (weight / total weight).
  double total_weight = 0;
  for (const auto& b : backends)
    total_weight += b.weight;
  double peak = 0;
  for (size_t i = 0; i < shares.size(); ++i) {
    peak = std::max(peak, shares[i] / (backends[i].weight / total_weight));
  }
  return peak;
}

double sampled_moved(const Ring& a, const Ring& b, const std::vector<std::string>& keys) {
  if (keys.empty()) return 0;
  size_t moved = 0;
  for (const auto& k : keys) {
    if (a.backend(a.primary_for_key(k)).name != b.backend(b.primary_for_key(k)).name) ++moved;
  }
  return static_cast<double>(moved) / keys.size();
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  RingParams params;
  params.algorithm = o.algorithm;
  params.vnodes = o.vnodes;
  params.replicas = o.replicas;
  params.balance_factor = o.balance_factor;
  if (o.algorithm == Algorithm::kKetama) params.hash = HashKind::kFnv1a64;

  auto base_list = make_backends(o.backends);
  auto base = Ring::build(base_list, params, 1);
  if (!base) {
    std::fprintf(stderr, "ringleader-churn: %s\n", base.error().c_str());
    return 1;
  }
  std::vector<std::string> keys;
  keys.reserve(o.keys);
  for (int i = 0; i < o.keys; ++i)
    keys.push_back("key:" + std::to_string(i));

  const double n = o.backends;
  struct Change {
    std::string scenario;
    std::vector<Backend> backends;
    double optimum;
  };
  std::vector<Change> changes;
  auto added = base_list;
  added.push_back({"backend-new", "127.0.0.1:6999", 1, "", BackendState::kActive});
  changes.push_back({"add 1 backend", added, 1.0 / (n + 1)});
  auto removed = base_list;
  removed.erase(removed.begin() + o.backends / 2);
  changes.push_back({"remove 1 backend", removed, 1.0 / n});
  auto reweighted = base_list;
  reweighted[0].weight = 2;
  changes.push_back({"weight 1 -> 2", reweighted, 2.0 / (n + 1) - 1.0 / n});

  std::vector<Row> rows;
  rows.push_back(
      {"(initial ring)", 0, 0, 0, peak_to_average(base.value()->primary_shares(), base_list), 0});
  for (auto& c : changes) {
    auto next = Ring::build(c.backends, params, 2);
    if (!next) {
      std::fprintf(stderr, "ringleader-churn: %s\n", next.error().c_str());
      return 1;
    }
    auto d = diff(*base.value(), *next.value());
    if (!d) {
      std::fprintf(stderr, "ringleader-churn: %s\n", d.error().c_str());
      return 1;
    }
    rows.push_back(
        {c.scenario, d->primary_moved, c.optimum, sampled_moved(*base.value(), *next.value(), keys),
         peak_to_average(next.value()->primary_shares(), c.backends), d->replicas_changed});
  }

  if (o.csv) {
    std::printf(
        "algorithm,backends,vnodes,replicas,balance_factor,scenario,moved,optimum,"
        "moved_over_optimum,sampled_moved,peak_over_average,replica_sets_changed\n");
    for (const auto& r : rows) {
      std::printf("%s,%d,%u,%u,%g,%s,%.6f,%.6f,%.4f,%.6f,%.4f,%.6f\n",
                  std::string(to_string(o.algorithm)).c_str(), o.backends, o.vnodes, o.replicas,
                  o.balance_factor, r.scenario.c_str(), r.moved, r.optimum,
                  r.optimum > 0 ? r.moved / r.optimum : 0.0, r.sampled, r.peak, r.replicas_changed);
    }
    return 0;
  }
  std::printf("algorithm=%s backends=%d vnodes=%u replicas=%u balance_factor=%g keys=%d\n\n",
              std::string(to_string(o.algorithm)).c_str(), o.backends, o.vnodes, o.replicas,
              o.balance_factor, o.keys);
  std::printf("%-18s %9s %9s %9s %9s %9s %13s\n", "change", "moved", "optimum", "moved/opt",
              "sampled", "peak/avg", "replicas chg");
  for (const auto& r : rows) {
    if (r.optimum == 0) {
      std::printf("%-18s %9s %9s %9s %9s %9.3f %13s\n", r.scenario.c_str(), "-", "-", "-", "-",
                  r.peak, "-");
      continue;
    }
    std::printf("%-18s %8.3f%% %8.3f%% %9.3f %8.3f%% %9.3f %12.3f%%\n", r.scenario.c_str(),
                100 * r.moved, 100 * r.optimum, r.moved / r.optimum, 100 * r.sampled, r.peak,
                100 * r.replicas_changed);
  }
  return 0;
}
