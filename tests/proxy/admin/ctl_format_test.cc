#include "ctl_format.h"

#include <gtest/gtest.h>

namespace ringleader::app::ctl {
namespace {

TEST(CtlFormat, RenderTableAlignsColumns) {
  EXPECT_EQ(render_table({{"NAME", "W"}, {"redis-1", "1"}, {"r2", "10"}}),
            "NAME     W\n"
            "redis-1  1\n"
            "r2       10\n");
  EXPECT_EQ(render_table({}), "");
  EXPECT_EQ(render_table({{"a", ""}}), "a\n") << "no trailing spaces";
  // A column is as wide as its characters, not its bytes.
  EXPECT_EQ(render_table({{"caf\xc3\xa9", "1"}, {"cafes", "2"}}),
            "caf\xc3\xa9   1\n"
            "cafes  2\n");
}

TEST(CtlFormat, Cells) {
  EXPECT_EQ(cell(nullptr), "-");
  EXPECT_EQ(cell("x"), "x");
  EXPECT_EQ(cell(3), "3");
  EXPECT_EQ(cell(3.0), "3");
  EXPECT_EQ(cell(0.25), "0.25");
  EXPECT_EQ(cell(true), "true");
  EXPECT_EQ(cell(nlohmann::json{"a", "b"}), "a, b");
  EXPECT_EQ(cell(nlohmann::json::array()), "-");
  EXPECT_EQ(cell(""), "-");
  EXPECT_EQ(cell("-"), "\\x2d");  // the string "-" is not nothing
  EXPECT_EQ(cell("-x"), "-x");
  EXPECT_EQ(cell(nlohmann::json{{"k", 1}}), "{\"k\":1}");
}

TEST(CtlFormat, Ring) {
  const auto body = nlohmann::json::parse(R"({
    "epoch": 12, "algorithm": "vnode", "replicas": 2, "hash": "xxh3", "vnodes": 160,
    "backends": [
      {"name": "redis-1", "address": "127.0.0.1:7001", "weight": 1, "zone": "a",
       "state": "active", "ejected": false, "share": 0.334},
      {"name": "redis-2", "address": "127.0.0.1:7002", "weight": 2, "zone": "",
       "state": "draining", "ejected": true, "share": 0.666}
    ]})");
  EXPECT_EQ(format_answer(CtlView::kRing, body),
            "epoch      12\n"
            "algorithm  vnode\n"
            "replicas   2\n"
            "hash       xxh3\n"
            "vnodes     160\n"
            "\n"
            "NAME     ADDRESS         WEIGHT  ZONE  STATE               SHARE\n"
            "redis-1  127.0.0.1:7001  1       a     active              33.4%\n"
            "redis-2  127.0.0.1:7002  2       -     draining (ejected)  66.6%\n");
}

TEST(CtlFormat, RingWithoutSharesOrBackends) {
  EXPECT_EQ(format_answer(CtlView::kRing, nlohmann::json::parse(
                                              R"({"epoch": 0, "algorithm": "ketama",
      "replicas": 1, "backends": [{"name": "a", "address": "h:1", "weight": 1,
      "zone": "z", "state": "down"}]})")),
            "epoch      0\nalgorithm  ketama\nreplicas   1\n\n"
            "NAME  ADDRESS  WEIGHT  ZONE  STATE\n"
            "a     h:1      1       z     down\n");
  EXPECT_EQ(format_answer(CtlView::kRing, nlohmann::json::parse(R"({"epoch": 1, "backends": []})")),
            "epoch  1\n\nno backends\n");
}

TEST(CtlFormat, Lookup) {
  EXPECT_EQ(format_answer(CtlView::kLookup, nlohmann::json::parse(R"(
      {"key": "user:42", "hash": 1234, "epoch": 3, "replicas": ["r2", "r1"]})")),
            "key       user:42\n"
            "hash      1234\n"
            "epoch     3\n"
            "replicas  r2 (primary), r1\n");
  // A key's control bytes and backslashes are escaped: it keeps to its cell and line, and
  // sends the terminal nothing it would act on.
  EXPECT_EQ(
      format_answer(CtlView::kLookup, nlohmann::json{{"key", "a\tb\nc\\d\x1b[2J"}, {"hash", 1}}),
      "key   a\\tb\\nc\\\\d\\x1b[2J\n"
      "hash  1\n");
  // C1 controls as UTF-8 writes them are escaped too; other UTF-8 is not.
  EXPECT_EQ(cell("\xc2\x9b"
                 "2J \xc3\xa9\xc2\xa0"),
            "\\xc2\\x9b"
            "2J \xc3\xa9\xc2\xa0");
}

TEST(CtlFormat, ClusterStatusWithPeers) {
  EXPECT_EQ(format_answer(CtlView::kCluster, nlohmann::json::parse(R"({
      "node_id": "n1", "role": "leader", "term": 4, "leader": "n1",
      "commit_index": 17, "applied_index": 17,
      "peers": [{"id": "n2", "address": "127.0.0.1:7402", "match_index": 17},
                {"id": "n3", "address": "127.0.0.1:7403", "match_index": 15,
                 "learner": true}]})")),
            "node_id        n1\n"
            "role           leader\n"
            "term           4\n"
            "leader         n1\n"
            "commit_index   17\n"
            "applied_index  17\n"
            "\n"
            "ID  ADDRESS         MATCH_INDEX  LEARNER\n"
            "n2  127.0.0.1:7402  17           -\n"
            "n3  127.0.0.1:7403  15           true\n");
}

TEST(CtlFormat, ClusterStatusListsPeersRefusedForOtherFounders) {
  EXPECT_EQ(format_answer(CtlView::kCluster, nlohmann::json::parse(R"({
      "node_id": "n1", "role": "leader", "founders": ["n1", "n2", "n3"],
      "peers": [{"id": "n2", "address": "127.0.0.1:7402"}],
      "foreign_peers": [{"id": "n3", "founders": ["n1", "n2", "n3", "n4"]}]})")),
            "node_id   n1\n"
            "role      leader\n"
            "founders  n1, n2, n3\n"
            "\n"
            "ID  ADDRESS\n"
            "n2  127.0.0.1:7402\n"
            "\n"
            "refused: bootstrapped with other founders than this group's\n"
            "ID  FOUNDERS\n"
            "n3  n1, n2, n3, n4\n");
}

TEST(CtlFormat, StaticClusterHasNoPeers) {
  EXPECT_EQ(format_answer(CtlView::kCluster, nlohmann::json::parse(R"({
      "node_id": "", "role": "static", "term": 0, "leader": null, "commit_index": 0,
      "applied_index": 0, "foreign_peers": [], "peers": []})")),
            "node_id        -\nrole           static\nterm           0\nleader         -\n"
            "commit_index   0\napplied_index  0\n\nno peers\n");
}

TEST(CtlFormat, UnexpectedShapesDoNotThrow) {
  for (const char* text :
       {R"({"epoch": "x", "backends": [1, "a", {"name": 5, "ejected": "yes", "share": "?"}]})",
        R"({"backends": {"a": 1}})", R"([1, 2])", R"("text")", R"(null)",
        R"({"peers": [1, {"id": null}], "role": 7})"}) {
    const auto body = nlohmann::json::parse(text);
    for (CtlView view :
         {CtlView::kRing, CtlView::kLookup, CtlView::kCluster, CtlView::kStatus, CtlView::kChange})
      EXPECT_NO_THROW(format_answer(view, body)) << text;
  }
}

TEST(CtlFormat, StatusAndChanges) {
  EXPECT_EQ(format_answer(CtlView::kStatus, nlohmann::json{{"status", "ok"}}), "status  ok\n");
  EXPECT_EQ(format_answer(CtlView::kChange, nlohmann::json{{"epoch", 43}, {"applied", true}}),
            "epoch    43\napplied  true\n");
  EXPECT_EQ(format_answer(CtlView::kChange, nlohmann::json::object()), "ok\n");
}

}  // namespace
}  // namespace ringleader::app::ctl
