// bulkhead-config: checks a compiled system description against a board definition and
// the payload files, prints its summary, and writes the package the image carries.
// Host-only; the decisions are in the portable partitions/ code it drives.
//
// Exit status: 0 valid (and done), 1 the description or board broke rules (each
// violation on stderr as `FILE: /node: RULE: explanation`), 2 usage or I/O error.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "partitions/board.hpp"
#include "partitions/description.hpp"
#include "partitions/normalize.hpp"
#include "partitions/package.hpp"
#include "partitions/payload.hpp"
#include "partitions/rules.hpp"
#include "partitions/summary.hpp"

namespace bp = bulkhead::partitions;

namespace {

constexpr int exit_valid = 0;
constexpr int exit_violations = 1;
constexpr int exit_usage = 2;
constexpr size_t normalized_capacity = 1 << 20;

const char* const usage_text =
    "usage: bulkhead-config --board BOARD.dtb [--board-source NAME] [--payload-dir DIR]\n"
    "                       [--source NAME] [--depfile FILE]\n"
    "                       (--check | --summary | --package OUT.bin [--summary]) DESCRIPTION.dtb\n"
    "  --check        exit 0 silently when the description is valid, 1 listing every violation\n"
    "  --summary      check, then print each partition's resources\n"
    "  --package OUT  check, then write the package (nothing is written when invalid)\n"
    "  --source NAME  the name violation lines give the description (e.g. its .dts)\n"
    "  --payload-dir  where payload and initrd file names are looked up (default: .)\n"
    "  --depfile FILE with --package: write a Makefile dependency list of every input\n";

struct Options {
  std::string board;
  std::string board_source;
  std::string payload_dir = ".";
  std::string source;
  std::string description;
  std::string package;
  std::string depfile;
  bool check = false;
  bool summary = false;
};

struct IoError {
  std::string message;
};

// What the tool prints on stdout (a summary, the usage) is its result: a failed write
// (a full disk under a redirect) fails the tool rather than leaving a truncated file.
void print(const std::string& text) {
  if (std::fputs(text.c_str(), stdout) == EOF || std::fflush(stdout) == EOF) {
    throw IoError{std::string("cannot write to standard output: ") + std::strerror(errno)};
  }
}

// Diagnostics go to stderr; if that write fails there is nowhere left to say so, and the
// exit status already tells the caller.
void complain(const std::string& text) { static_cast<void>(std::fputs(text.c_str(), stderr)); }

class StringSink final : public bulkhead::Sink {
 public:
  void write(const char* text, size_t length) override { text_.append(text, length); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

class PrintedViolations final : public bp::Violations {
 public:
  explicit PrintedViolations(std::string file) : file_(std::move(file)) {}

 protected:
  void report(const char* path, const char* rule, const char* explanation) override {
    StringSink line;
    bp::write_violation_line(line, file_.c_str(), path, rule, explanation);
    complain(line.text());
  }

 private:
  std::string file_;
};

// File contents in 8-byte aligned storage (libfdt and the package reader need it).
struct Blob {
  std::vector<uint64_t> words;
  size_t size = 0;
  const void* data() const { return words.data(); }
};

Blob read_blob(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw IoError{std::string("cannot read ") + what + " " + path + ": " + std::strerror(errno)};
  Blob blob;
  blob.size = static_cast<size_t>(in.tellg());
  blob.words.resize(blob.size / 8 + 1);
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(blob.words.data()), static_cast<std::streamsize>(blob.size))) {
    throw IoError{std::string("cannot read ") + what + " " + path};
  }
  return blob;
}

std::string payload_path(const Options& options, const char* name) {
  return (std::filesystem::path(options.payload_dir) / name).string();
}

// Size and header of a payload file; absent or not a regular file means not found.
bp::PayloadInfo inspect_file(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError{"cannot read payload " + path + ": " + std::strerror(errno)};
  const uint64_t size = std::filesystem::file_size(path, error);
  if (error) throw IoError{"cannot read payload " + path + ": " + error.message()};
  unsigned char head[bp::linux_header_size] = {};
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  return bp::inspect_payload(head, static_cast<size_t>(in.gcount()), size);
}

class FileLookup final : public bp::PayloadLookup {
 public:
  explicit FileLookup(const Options& options) : options_(options) {}
  bp::PayloadInfo inspect(const char* file_name) override { return inspect_file(payload_path(options_, file_name)); }

 private:
  const Options& options_;
};

std::vector<unsigned char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in.eof() && in.fail()) throw IoError{"cannot read payload " + path};
  return bytes;
}

void write_file(const std::string& path, const void* data, size_t size) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out || !out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size))) {
      throw IoError{"cannot write " + temporary + ": " + std::strerror(errno)};
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw IoError{"cannot write " + path + ": " + error.message()};
}

std::string make_escaped(const std::string& path) {
  std::string escaped;
  for (char c : path) {
    if (c == ' ' || c == '#') escaped += '\\';
    if (c == '$') escaped += '$';
    escaped += c;
  }
  return escaped;
}

bool parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    const auto value = [&](std::string& target) {
      if (i + 1 >= argc) throw IoError{argument + " needs a value"};
      target = argv[++i];
    };
    if (argument == "--board")
      value(options.board);
    else if (argument == "--board-source")
      value(options.board_source);
    else if (argument == "--payload-dir")
      value(options.payload_dir);
    else if (argument == "--source")
      value(options.source);
    else if (argument == "--package")
      value(options.package);
    else if (argument == "--depfile")
      value(options.depfile);
    else if (argument == "--check")
      options.check = true;
    else if (argument == "--summary")
      options.summary = true;
    else if (argument == "--help" || argument == "-h")
      return false;
    else if (!argument.empty() && argument[0] == '-')
      throw IoError{"unknown option " + argument};
    else if (options.description.empty())
      options.description = argument;
    else
      throw IoError{"more than one description given: " + argument};
  }
  if (options.board.empty()) throw IoError{"--board is required"};
  if (options.description.empty()) throw IoError{"no description given"};
  const int modes = (options.check ? 1 : 0) + (options.summary ? 1 : 0) + (options.package.empty() ? 0 : 1);
  if (modes == 0) throw IoError{"give --check, --summary or --package"};
  if (options.check && modes > 1) throw IoError{"--check cannot be combined with --summary or --package"};
  if (!options.depfile.empty() && options.package.empty()) throw IoError{"--depfile needs --package"};
  if (options.source.empty()) options.source = options.description;
  if (options.board_source.empty()) options.board_source = options.board;
  return true;
}

// Everything the tool checked, kept for the summary and the package.
struct Checked {
  Blob board_blob;
  Blob description_blob;
  bp::BoardDefinition board;
  bp::SystemDescription description;
  std::vector<unsigned char> normalized;
  std::vector<bp::PackageInput> inputs;
};

int run(const Options& options) {
  auto checked = std::make_unique<Checked>();
  checked->board_blob = read_blob(options.board, "board");
  checked->description_blob = read_blob(options.description, "description");
  PrintedViolations board_violations(options.board_source);
  if (!bp::read_board(checked->board_blob.data(), checked->board_blob.size, checked->board, board_violations)) {
    return exit_violations;
  }

  PrintedViolations violations(options.source);
  bp::SystemDescription& description = checked->description;
  FileLookup files(options);
  if (!bp::check_source(checked->description_blob.data(), checked->description_blob.size, checked->board, files,
                        description, violations)) {
    return exit_violations;
  }

  // The package's size is known before any payload is read: check it in every mode.
  bp::assign_package_entries(description);
  checked->normalized.resize(normalized_capacity);
  size_t normalized_size = 0;
  if (!bp::write_normalized_description(description, checked->normalized.data(), checked->normalized.size(),
                                        normalized_size)) {
    throw IoError{"cannot generate the normalized description (more than 1 MiB?)"};
  }
  checked->normalized.resize(normalized_size);
  auto& inputs = checked->inputs;
  inputs.resize(bp::max_package_entries);
  inputs.resize(bp::package_inputs(description, checked->normalized.data(), normalized_size, inputs.data()));
  const uint64_t total = bp::package_size(inputs.data(), inputs.size());
  if (!bp::check_package_size(total, checked->board, violations)) return exit_violations;

  if (options.summary) {
    StringSink summary;
    bp::write_summary(summary, description, &checked->board);
    print(summary.text());
  }
  if (options.package.empty()) return exit_valid;

  std::vector<std::vector<unsigned char>> contents;
  std::string dependencies =
      make_escaped(options.package) + ": " + make_escaped(options.description) + " " + make_escaped(options.board);
  contents.reserve(inputs.size());
  for (size_t i = 0; i < description.partition_count; ++i) {
    const bp::Payload& payload = description.partitions[i].payload;
    for (const char* name : {payload.file, payload.has_initrd ? payload.initrd : nullptr}) {
      if (name == nullptr) continue;
      const std::string path = payload_path(options, name);
      contents.push_back(read_file(path));
      const std::string dependency = " " + make_escaped(path);
      if (dependencies.find(dependency + " ") == std::string::npos && !dependencies.ends_with(dependency)) {
        dependencies += dependency;
      }
    }
  }
  for (size_t i = 1; i < inputs.size(); ++i) {
    if (contents[i - 1].size() != inputs[i].size) throw IoError{"a payload file changed while being packaged"};
    inputs[i].data = contents[i - 1].data();
  }
  std::vector<uint64_t> package(total / 8 + 1);
  bp::PackageError error;
  if (!bp::write_package(inputs.data(), inputs.size(), package.data(), total, error)) {
    throw IoError{std::string("cannot build the package: ") + error.message};
  }
  write_file(options.package, package.data(), total);
  if (!options.depfile.empty()) {
    dependencies += "\n";
    write_file(options.depfile, dependencies.data(), dependencies.size());
  }
  return exit_valid;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    if (!parse_options(argc, argv, options)) {
      print(usage_text);
      return exit_valid;
    }
  } catch (const IoError& error) {
    complain("bulkhead-config: " + error.message + "\n" + usage_text);
    return exit_usage;
  }
  try {
    return run(options);
  } catch (const IoError& error) {
    complain("bulkhead-config: " + error.message + "\n");
    return exit_usage;
  } catch (const std::exception& error) {
    complain(std::string("bulkhead-config: ") + error.what() + "\n");
    return exit_usage;
  }
}
