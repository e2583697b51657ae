// Entry points: read a file or a string, parse TOML, decode, validate, collect every error.
#include "config/config.h"

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

LoadResult load_string(std::string_view toml_text, const std::string& source_name) {
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
