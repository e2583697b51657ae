// Entry points: read a file or a string, parse TOML, decode, validate, collect every error.
#include "config/config.h"

#include <pthread.h>
#include <toml++/toml.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <memory>
#include <system_error>

#include "common/result.h"
#include "decode.h"
#include "diagnostics.h"
#include "validate.h"

namespace ringleader::config {

namespace {

// Far above any real configuration (4096 backends take about 400 KiB).
constexpr size_t kMaxConfigBytes = size_t{1} << 20;
// toml++ parses dotted keys and table headers recursively, one call per part: a key of tens of
// thousands of parts overflows an ordinary thread's stack. Parsing runs on a thread whose
// stack fits the deepest document of kMaxConfigBytes (two bytes per part, a few hundred
// bytes of stack each), and the document is freed there too, as its destructor recurses the
// same way. The stack is address space: only the pages a parse touches are used; where even
// that cannot be had, the parse runs on a thread of the default size.
constexpr size_t kParseStackBytes = size_t{256} << 20;

// The whole file at `path`, or the system's reason it could not be read.
Result<std::string> read_file(const std::string& path) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) return Status::error(std::generic_category().message(errno));
  std::string contents;
  char buffer[64 * 1024];
  while (true) {
    const size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    contents.append(buffer, n);
    if (contents.size() > kMaxConfigBytes) {
      return Status::error("larger than " + std::to_string(kMaxConfigBytes >> 20) +
                           " MiB; a configuration is far smaller");
    }
    if (n < sizeof buffer) break;
  }
  if (std::ferror(file.get())) return Status::error(std::generic_category().message(errno));
  return contents;
}

}  // namespace

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

namespace {

LoadResult parse_and_check(std::string_view toml_text, const std::string& source_name) {
  LoadResult result;
  result.config.source = source_name;
  Diagnostics diagnostics(source_name);
  try {
    const toml::table document = toml::parse(toml_text, source_name);
    decode_document(document, &result.config, &diagnostics);
    validate_config(result.config, &diagnostics);
  } catch (const toml::parse_error& e) {
    const toml::source_position& begin = e.source().begin;
    diagnostics.error(SourcePos{begin.line, begin.column}, "",
                      "invalid TOML: " + std::string(e.description()));
  } catch (const std::exception& e) {
    diagnostics.error(SourcePos{}, "", std::string("cannot load the configuration: ") + e.what());
  }
  result.errors = diagnostics.take_errors();
  return result;
}

struct ParseJob {
  std::string_view text;
  const std::string* source_name;
  LoadResult result;
};

}  // namespace

LoadResult load_string(std::string_view toml_text, const std::string& source_name) {
  ParseJob job{toml_text, &source_name, {}};
  auto run = [](void* arg) -> void* {
    auto* j = static_cast<ParseJob*>(arg);
    j->result = parse_and_check(j->text, *j->source_name);
    return nullptr;
  };
  bool ran = false;
  for (size_t stack_bytes : {kParseStackBytes, size_t{0}}) {
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) continue;
    pthread_t thread;
    if (stack_bytes == 0 || pthread_attr_setstacksize(&attr, stack_bytes) == 0) {
      ran = pthread_create(&thread, &attr, run, &job) == 0 && pthread_join(thread, nullptr) == 0;
    }
    pthread_attr_destroy(&attr);
    if (ran) break;
  }
  if (!ran) {
    job.result = LoadResult{};
    job.result.config.source = source_name;
    job.result.errors.push_back(ConfigError{
        source_name, 0, 0, "", "cannot load the configuration: no thread to parse it on"});
  }
  return std::move(job.result);
}

LoadResult load_file(const std::string& path) {
  Result<std::string> contents = read_file(path);
  if (!contents) {
    LoadResult result;
    result.config.source = path;
    result.errors.push_back(ConfigError{path, 0, 0, "", "cannot read file: " + contents.error()});
    return result;
  }
  return load_string(*contents, path);
}

}  // namespace ringleader::config
