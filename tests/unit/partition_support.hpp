// Helpers for the partition tests: DTS text compiled by dtc at test time, the board
// definitions, standard payload facts, and a violation collector that formats lines the
// way bulkhead-config prints them (FILE is "test.dts").
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "partitions/board.hpp"
#include "partitions/description.hpp"
#include "partitions/payload.hpp"
#include "partitions/rules.hpp"
#include "partitions/violations.hpp"

namespace partition_test {

namespace bp = bulkhead::partitions;

// Bytes in 8-byte aligned storage of exactly `size` bytes (rounded up to 8 for storage).
struct Blob {
  std::vector<uint64_t> words;
  size_t size = 0;
  const void* data() const { return words.data(); }
  void* data() { return words.data(); }
  unsigned char* bytes() { return reinterpret_cast<unsigned char*>(words.data()); }
  static Blob of(const void* data, size_t size);
};

// Compiles DTS text with dtc (-q, unit-address warnings off); fails the test if dtc does.
Blob compile_dts(const std::string& text);
Blob compile_file(const std::string& path);
std::string read_text(const std::string& path);
std::string source_dir();  // the repository root

// A description: the standard root properties, `root_extra` before the partitions node,
// and `partitions` as its body.
std::string description(const std::string& partitions, const std::string& root_extra = "");
// Two valid partitions: linux (CPUs 1 2, 512 MiB, Image + initrd) and heartbeat (CPU 3, 8 MiB, raw).
extern const char* const linux_partition;
extern const char* const heartbeat_partition;

class Collected final : public bp::Violations {
 public:
  std::vector<std::string> lines;

 protected:
  void report(const char* path, const char* rule, const char* explanation) override;
};

// Payload facts by file name; unknown names are "not found".
class FakeFiles final : public bp::PayloadLookup {
 public:
  FakeFiles();  // linux-Image, initramfs.cpio.gz, heartbeat.bin as tool_test.py makes them
  std::map<std::string, bp::PayloadInfo> files;
  bp::PayloadInfo inspect(const char* file_name) override;
};
bp::PayloadInfo linux_image(uint64_t size, uint64_t text_offset, uint64_t image_size);
bp::PayloadInfo raw_file(uint64_t size);

const bp::BoardDefinition& qemu_board();  // boards/qemu-virt/board.dts
const bp::BoardDefinition& test_board();  // tests/data/partitions/test-board.dts

// check_source on DTS text against a board; returns the violation lines.
std::vector<std::string> check(const std::string& dts, const bp::BoardDefinition& board = qemu_board(),
                               FakeFiles files = FakeFiles());
// The same, keeping the checked description.
std::vector<std::string> check(const std::string& dts, bp::SystemDescription& description,
                               const bp::BoardDefinition& board = qemu_board(), FakeFiles files = FakeFiles());

}  // namespace partition_test

// Violation lists print one per line when a comparison fails.
template <>
struct doctest::StringMaker<std::vector<std::string>> {
  static doctest::String convert(const std::vector<std::string>& lines) {
    std::string text = "{";
    for (const std::string& line : lines) text += "\n    \"" + line + "\"";
    text += lines.empty() ? "}" : "\n}";
    return text.c_str();
  }
};
