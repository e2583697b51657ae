// The pieces INFO's merge is made of: reading a backend's fields, comparing versions,
// printing sizes as Redis does, summing the keyspace.
#include "redis/info_reply.h"

#include <gtest/gtest.h>

namespace ringleader::proxy::redis {
namespace {

TEST(InfoReplyTest, FieldIsFoundOnlyAsAWholeName) {
  const std::string text =
      "# Memory\r\nused_memory_rss:200\r\nused_memory:100\r\nused_memory_human:100B\r\n";
  EXPECT_EQ(info_field(text, "used_memory"), "100");
  EXPECT_EQ(info_field(text, "used_memory_rss"), "200");
  EXPECT_EQ(info_field(text, "used"), "");
  EXPECT_EQ(info_field(text, "# Memory"), "");
  EXPECT_EQ(info_field("a:1\nb:2", "b"), "2");  // bare newlines, no final one
}

TEST(InfoReplyTest, LowerVersionComparesNumbersNotText) {
  EXPECT_EQ(lower_version("7.0.15", "7.0.9"), "7.0.9");
  EXPECT_EQ(lower_version("7.10.0", "7.2.0"), "7.2.0");
  EXPECT_EQ(lower_version("6.2", "6.2.1"), "6.2");
  EXPECT_EQ(lower_version("", "7.0.0"), "7.0.0");
  EXPECT_EQ(lower_version("7.0.0", ""), "7.0.0");
}

TEST(InfoReplyTest, HumanBytesAsRedisPrintsThem) {
  EXPECT_EQ(human_bytes(0), "0B");
  EXPECT_EQ(human_bytes(1023), "1023B");
  EXPECT_EQ(human_bytes(1536), "1.50K");
  EXPECT_EQ(human_bytes(3u << 20), "3.00M");
  EXPECT_EQ(human_bytes(uint64_t{5} << 40), "5.00T");
}

TEST(InfoReplyTest, SectionsNeededFromBackends) {
  std::string_view section = "unset";
  EXPECT_FALSE(backend_info_section("clients cpu replication", &section));
  EXPECT_TRUE(backend_info_section("clients memory", &section));
  EXPECT_EQ(section, "memory");
  EXPECT_TRUE(backend_info_section("server keyspace", &section));
  EXPECT_EQ(section, "");
  EXPECT_TRUE(backend_info_section("everything", &section));
  EXPECT_EQ(section, "");
}

TEST(InfoReplyTest, UnknownSectionIsEmpty) {
  InfoSources in;
  in.sections = "nosuchsection";
  EXPECT_EQ(info_text(in), "");
}

// Keys are summed over the backends from the database clients see as db0: backend.db.
TEST(InfoReplyTest, KeyspaceSumsTheBackendsSelectedDatabase) {
  const std::string a =
      "# Keyspace\r\ndb0:keys=7,expires=1,avg_ttl=0\r\n"
      "db3:keys=10,expires=2,avg_ttl=5\r\n";
  const std::string b = "# Keyspace\r\ndb3:keys=5,expires=0,avg_ttl=0\r\n";
  InfoSources in;
  in.sections = "keyspace";
  in.backend_texts = {a, b};
  in.backends = 2;
  EXPECT_EQ(info_text(in), "# Keyspace\r\ndb0:keys=7,expires=1,avg_ttl=0\r\n");
  in.backend_db = 3;
  EXPECT_EQ(info_text(in), "# Keyspace\r\ndb0:keys=15,expires=2,avg_ttl=5\r\n");
  in.backend_db = 4;
  EXPECT_EQ(info_text(in), "# Keyspace\r\n");
}

}  // namespace
}  // namespace ringleader::proxy::redis
