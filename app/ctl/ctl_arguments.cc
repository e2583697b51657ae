#include "ctl_arguments.h"

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "ring/params.h"

namespace ringleader::app::ctl {
namespace {

// "--name=value" or "--name value"; advances *i past what it used. nullopt when `arg` is not
// this option; an error Result when the value is missing.
std::optional<Result<std::string>> option_value(const std::vector<std::string>& args, size_t* i,
                                                const std::string& name) {
  const std::string& arg = args[*i];
  if (arg == name) {
    if (*i + 1 >= args.size()) return Result<std::string>(Status::error(name + " needs a value"));
    *i += 1;
    return Result<std::string>(args[*i]);
  }
  if (arg.size() > name.size() && arg.compare(0, name.size(), name) == 0 &&
      arg[name.size()] == '=') {
    return Result<std::string>(arg.substr(name.size() + 1));
  }
  return std::nullopt;
}

// A whole number up to 2^32 - 1.
std::optional<uint32_t> parse_uint32(const std::string& text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(value);
}

// A decimal number as JSON writes one (an optional '-', digits, an optional fraction and
// exponent), finite and not rounded to zero: what the admin API's JSON body can carry as it
// was typed. strtod alone would also take hexadecimal ("0x10" as 16), "inf", "nan", and
// "1e-400" as 0.
std::optional<double> parse_decimal(const std::string& text) {
  size_t i = 0;
  const auto digits = [&] {
    const size_t from = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
      ++i;
    return i > from;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (!digits()) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return std::nullopt;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  errno = 0;
  const double value = std::strtod(text.c_str(), nullptr);
  if (errno == ERANGE) return std::nullopt;  // overflows, or too small to tell from 0
  return value;
}

// A whole number from 1 up to 2^32 - 1 (weights, timeouts: their callers bound them further).
std::optional<uint32_t> parse_weight(const std::string& text) {
  std::optional<uint32_t> value = parse_uint32(text);
  if (value == 0u) return std::nullopt;
  return value;
}

// `count` words, none of the operands (after the first `fixed` words) empty: an empty NAME or
// ID would name an endpoint that does not exist.
Status expect_operands(const std::vector<std::string>& words, size_t count, const char* synopsis,
                       size_t fixed = 2) {
  if (words.size() != count) return Status::error(std::string("usage: ringleader ctl ") + synopsis);
  for (size_t i = fixed; i < words.size(); ++i) {
    if (words[i].empty()) {
      return Status::error(std::string("an operand is empty; usage: ringleader ctl ") + synopsis);
    }
  }
  return Status::ok();
}

// Why `address` is not a backend address, for the usage error.
std::string address_problem(const std::string& address) {
  constexpr size_t kMaxUnixPath = 107;  // sun_path less its terminating NUL
  if (address.starts_with("unix:") && address.size() - 5 > kMaxUnixPath) {
    return "its path is longer than " + std::to_string(kMaxUnixPath) + " bytes";
  }
  return "it is not HOST:PORT or unix:/PATH (an absolute path)";
}

CtlCall call(std::string method, std::string target, CtlView view, std::string body = "") {
  CtlCall c;
  c.request.method = std::move(method);
  c.request.target = std::move(target);
  c.request.body = std::move(body);
  c.view = view;
  return c;
}

std::string backend_body(const CtlOptions& o, const std::string* name, const std::string* address) {
  nlohmann::json body = nlohmann::json::object();
  if (name) body["name"] = *name;
  if (address) body["address"] = *address;
  if (o.weight) body["weight"] = *o.weight;
  if (o.zone) body["zone"] = *o.zone;
  if (o.state) body["state"] = *o.state;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<CtlCall> plan_backends(const CtlOptions& o) {
  const std::vector<std::string>& w = o.words;
  const std::string sub = w.size() > 1 ? w[1] : "";
  if (sub == "add") {
    if (Status s = expect_operands(w, 4, "backends add NAME ADDRESS [--weight N] [--zone Z]"); !s)
      return s;
    if (!config::is_backend_address(w[3])) {
      return Status::error("backends add: ADDRESS \"" + w[3] + "\": " + address_problem(w[3]));
    }
    return call("POST", "/backends", CtlView::kChange, backend_body(o, &w[2], &w[3]));
  }
  if (sub == "remove") {
    if (Status s = expect_operands(w, 3, "backends remove NAME"); !s) return s;
    return call("DELETE", "/backends/" + url_encode(w[2]), CtlView::kChange);
  }
  if (sub == "set") {
    if (Status s = expect_operands(w, 3, "backends set NAME [--weight N] [--zone Z] [--state S]");
        !s)
      return s;
    if (!o.weight && !o.zone && !o.state) {
      return Status::error(
          "backends set: say what to change with --weight N, --zone Z and/or --state "
          "active|draining|down");
    }
    return call("PATCH", "/backends/" + url_encode(w[2]), CtlView::kChange,
                backend_body(o, nullptr, nullptr));
  }
  if (sub == "drain" || sub == "undrain") {
    if (Status s =
            expect_operands(w, 3, sub == "drain" ? "backends drain NAME" : "backends undrain NAME");
        !s)
      return s;
    return call("POST", "/backends/" + url_encode(w[2]) + "/" + sub, CtlView::kChange);
  }
  return Status::error("backends: expected add, remove, set, drain or undrain");
}

// ring set FIELD=VALUE...: a PATCH /ring body; numeric fields become JSON numbers, the rest
// strings (the server says which fields exist).
Result<CtlCall> plan_ring_set(const CtlOptions& o) {
  const std::vector<std::string>& w = o.words;
  if (w.size() < 3) {
    return Status::error(
        "usage: ringleader ctl ring set FIELD=VALUE... (replicas, vnodes, "
        "algorithm, hash, hash_tag, balance_factor, maglev_table_size)");
  }
  nlohmann::json body = nlohmann::json::object();
  for (size_t i = 2; i < w.size(); ++i) {
    const size_t eq = w[i].find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::error("ring set: expected FIELD=VALUE, got \"" + w[i] + "\"");
    const std::string field = w[i].substr(0, eq), value = w[i].substr(eq + 1);
    // As the server refuses a body that names a field twice: which one was meant is unknown.
    if (body.contains(field)) return Status::error("ring set: " + field + " is given twice");
    if (field == "replicas" || field == "vnodes" || field == "maglev_table_size") {
      std::optional<uint32_t> n = parse_uint32(value);
      if (!n) {
        return Status::error("ring set: " + field + " must be a whole number (below 2^32), not \"" +
                             value + "\"");
      }
      body[field] = *n;
    } else if (field == "balance_factor") {
      std::optional<double> d = parse_decimal(value);
      if (!d) {
        return Status::error(
            "ring set: balance_factor must be a decimal number (such as 1.25), "
            "not \"" +
            value + "\"");
      }
      body[field] = *d;
    } else {
      body[field] = value;
    }
  }
  return call("PATCH", "/ring", CtlView::kChange,
              body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<CtlCall> plan_peers(const CtlOptions& o) {
  const std::vector<std::string>& w = o.words;
  const std::string sub = w.size() > 1 ? w[1] : "";
  if (sub == "add") {
    if (Status s = expect_operands(w, 4, "peers add ID ADDRESS"); !s) return s;
    if (!config::parse_host_port(w[3], nullptr, nullptr))
      return Status::error("peers add: ADDRESS \"" + w[3] + "\" is not HOST:PORT");
    nlohmann::json body = {{"id", w[2]}, {"address", w[3]}};
    return call("POST", "/cluster/peers", CtlView::kChange,
                body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (sub == "promote") {
    if (Status s = expect_operands(w, 3, "peers promote ID"); !s) return s;
    nlohmann::json body = {{"id", w[2]}, {"promote", true}};
    return call("POST", "/cluster/peers", CtlView::kChange,
                body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (sub == "remove") {
    if (Status s = expect_operands(w, 3, "peers remove ID"); !s) return s;
    return call("DELETE", "/cluster/peers/" + url_encode(w[2]), CtlView::kChange);
  }
  return Status::error("peers: expected add, promote or remove");
}

}  // namespace

const char* ctl_usage() {
  return "usage: ringleader ctl [--admin HOST:PORT] [--token TOKEN] [--json] [--timeout S] "
         "COMMAND\n"
         "\n"
         "commands:\n"
         "  ring [--consistent]                              the ring: epoch, parameters, "
         "backends\n"
         "  lookup KEY                                       where KEY lives (replicas, primary "
         "first)\n"
         "  cluster status                                   node, role, term, leader, peers\n"
         "  backends add NAME ADDRESS [--weight N] [--zone Z]\n"
         "  backends remove NAME\n"
         "  backends set NAME [--weight N] [--zone Z] [--state active|draining|down]\n"
         "  backends drain NAME                              no new keys (primaries) for NAME\n"
         "  backends undrain NAME                            NAME active again\n"
         "  ring set FIELD=VALUE...                          change ring parameters (replicas, "
         "vnodes, ...)\n"
         "  peers add ID ADDRESS                             a learner (started with "
         "membership.join)\n"
         "  peers promote ID                                 the learner becomes a voter\n"
         "  peers remove ID\n"
         "  health                                           is the process up\n"
         "  ready                                            can it route requests\n"
         "  metrics                                          Prometheus text, as scraped\n"
         "\n"
         "  --admin HOST:PORT  the admin API (admin.listen); default 127.0.0.1:9180\n"
         "  --token TOKEN      admin.token, for changes; default $RINGLEADER_ADMIN_TOKEN\n"
         "  --json             print the server's JSON answer as is (for scripts)\n"
         "  --timeout SECONDS  how long to wait for the answer; default 30\n"
         "\n"
         "exit codes: 0 ok, 1 the server answered with an error, 2 usage, 3 cannot connect,\n"
         "4 no answer in time, or the connection ended before one (a change may still be\n"
         "applied: `ring`, or `cluster status` for peers, shows whether it was)\n";
}

Result<CtlOptions> parse_ctl_arguments(const std::vector<std::string>& args,
                                       const std::string& env_token) {
  CtlOptions o;
  bool token_given = false;
  bool operands_only = false;  // after "--"
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (operands_only || arg.empty() || arg[0] != '-' || arg == "-") {
      o.words.push_back(arg);
      continue;
    }
    if (arg == "--") {
      operands_only = true;
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "-h" || arg == "--help") {
      o.help = true;
    } else if (arg == "--consistent") {
      o.consistent = true;
    } else if (auto admin = option_value(args, &i, "--admin")) {
      if (!*admin) return admin->status();
      o.admin = admin->value();
    } else if (auto token = option_value(args, &i, "--token")) {
      if (!*token) return token->status();
      o.token = token->value();
      token_given = true;
    } else if (auto weight = option_value(args, &i, "--weight")) {
      if (!*weight) return weight->status();
      if (o.weight) return Status::error("--weight is given twice");
      o.weight = parse_weight(weight->value());
      if (!o.weight || *o.weight > ring::kMaxWeight) {
        return Status::error("--weight must be a whole number from 1 to " +
                             std::to_string(ring::kMaxWeight) + ", not \"" + weight->value() +
                             "\"");
      }
    } else if (auto timeout = option_value(args, &i, "--timeout")) {
      if (!*timeout) return timeout->status();
      std::optional<uint32_t> s = parse_weight(timeout->value());
      if (!s || *s > kMaxTimeoutSeconds) {
        return Status::error("--timeout must be a whole number of seconds from 1 to " +
                             std::to_string(kMaxTimeoutSeconds) + ", not \"" + timeout->value() +
                             "\"");
      }
      o.timeout_s = *s;
    } else if (auto zone = option_value(args, &i, "--zone")) {
      if (!*zone) return zone->status();
      if (o.zone) return Status::error("--zone is given twice");
      o.zone = zone->value();
    } else if (auto state = option_value(args, &i, "--state")) {
      if (!*state) return state->status();
      if (o.state) return Status::error("--state is given twice");
      if (state->value() != "active" && state->value() != "draining" && state->value() != "down") {
        return Status::error("--state must be active, draining or down, not \"" + state->value() +
                             "\"");
      }
      o.state = state->value();
    } else {
      return Status::error("unknown option " + arg);
    }
  }
  if (!token_given) o.token = env_token;
  // It goes into a header line: a line break would end it (and start another header), and
  // admin.token never has white space at its ends or control characters.
  for (char c : o.token) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::error(std::string(token_given ? "--token" : kTokenEnvironmentVariable) +
                           " holds a control character (a line break?); admin.token has none");
    }
  }
  if (!o.token.empty() && (o.token.front() == ' ' || o.token.back() == ' ')) {
    return Status::error(std::string(token_given ? "--token" : kTokenEnvironmentVariable) +
                         " starts or ends with a space; admin.token does not");
  }
  if (!config::parse_host_port(o.admin, nullptr, nullptr))
    return Status::error("--admin \"" + o.admin + "\" is not HOST:PORT (e.g. 127.0.0.1:9180)");
  if (o.words.empty() && !o.help) return Status::error("a command is needed");
  return o;
}

Result<CtlCall> plan_call(const CtlOptions& o) {
  const std::vector<std::string>& w = o.words;
  const std::string& command = w.front();
  const bool sets_backend =
      command == "backends" && w.size() > 1 && (w[1] == "add" || w[1] == "set");
  if ((o.weight || o.zone) && !sets_backend)
    return Status::error("--weight and --zone go with backends add or backends set");
  if (o.state && !(command == "backends" && w.size() > 1 && w[1] == "set"))
    return Status::error("--state goes with backends set");
  if (o.consistent && command != "ring")
    return Status::error("--consistent goes with the ring command");

  if (command == "ring" && w.size() > 1 && w[1] == "set" && !o.consistent) return plan_ring_set(o);
  if (command == "ring") {
    if (Status s = expect_operands(w, 1, "ring [--consistent]"); !s) return s;
    return call("GET", o.consistent ? "/ring?consistent=1" : "/ring", CtlView::kRing);
  }
  if (command == "lookup") {
    if (Status s = expect_operands(w, 2, "lookup KEY"); !s) return s;
    return call("GET", "/ring/lookup?key=" + url_encode(w[1]), CtlView::kLookup);
  }
  if (command == "cluster") {
    if (w.size() > 2 || (w.size() == 2 && w[1] != "status"))
      return Status::error("usage: ringleader ctl cluster status");
    return call("GET", "/cluster", CtlView::kCluster);
  }
  if (command == "backends") return plan_backends(o);
  if (command == "peers") return plan_peers(o);
  if (command == "health") {
    if (Status s = expect_operands(w, 1, "health"); !s) return s;
    return call("GET", "/healthz", CtlView::kStatus);
  }
  if (command == "ready") {
    if (Status s = expect_operands(w, 1, "ready"); !s) return s;
    return call("GET", "/readyz", CtlView::kStatus);
  }
  if (command == "metrics") {
    if (Status s = expect_operands(w, 1, "metrics"); !s) return s;
    return call("GET", "/metrics", CtlView::kMetrics);
  }
  return Status::error("unknown command \"" + command + "\"");
}

}  // namespace ringleader::app::ctl
