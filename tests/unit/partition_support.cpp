#include "partition_support.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

namespace partition_test {

namespace {

std::string work_dir() {
  const std::string directory = std::string(BULKHEAD_TEST_WORK_DIR) + "/partitions";
  std::filesystem::create_directories(directory);
  return directory;
}

// Unique per process and call: CTest runs test cases in parallel processes.
std::string unique_name() {
  static std::atomic<unsigned> counter{0};
  return std::to_string(getpid()) + "-" + std::to_string(counter++);
}

std::unique_ptr<bp::BoardDefinition> load_board(const std::string& path) {
  auto board = std::make_unique<bp::BoardDefinition>();
  const Blob blob = compile_file(path);
  Collected violations;
  REQUIRE(bp::read_board(blob.data(), blob.size, *board, violations));
  return board;
}

}  // namespace

Blob Blob::of(const void* data, size_t size) {
  Blob blob;
  blob.words.resize(size / 8 + 1);
  blob.size = size;
  std::memcpy(blob.words.data(), data, size);
  return blob;
}

std::string source_dir() { return std::string(BULKHEAD_TEST_DATA_DIR) + "/../.."; }

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Blob compile_file(const std::string& path) {
  const std::string output = work_dir() + "/" + unique_name() + ".dtb";
  const std::string command = "dtc -q -Wno-unit_address_vs_reg -I dts -O dtb -o '" + output + "' '" + path + "'";
  REQUIRE_MESSAGE(std::system(command.c_str()) == 0, "dtc failed: " << command);
  const std::string bytes = read_text(output);
  std::filesystem::remove(output);
  return Blob::of(bytes.data(), bytes.size());
}

Blob compile_dts(const std::string& text) {
  const std::string source = work_dir() + "/" + unique_name() + ".dts";
  {
    std::ofstream out(source);
    out << text;
  }
  Blob blob = compile_file(source);
  std::filesystem::remove(source);
  return blob;
}

std::string description(const std::string& partitions, const std::string& root_extra) {
  return "/dts-v1/;\n/ {\n  compatible = \"bulkhead,system-description\";\n  bulkhead,schema-version = <1>;\n"
         "  board = \"qemu-virt\";\n" +
         root_extra + "  partitions {\n" + partitions + "  };\n};\n";
}

const char* const linux_partition = R"(
    linux {
      cpus = <1 2>;
      memory-size = <0x0 0x20000000>;
      payload { format = "linux-image"; file = "linux-Image"; initrd = "initramfs.cpio.gz"; };
    };
)";

const char* const heartbeat_partition = R"(
    heartbeat {
      cpus = <3>;
      memory-size = <0x0 0x800000>;
      payload { format = "raw"; file = "heartbeat.bin"; };
    };
)";

void Collected::report(const char* path, const char* rule, const char* explanation) {
  bulkhead::FixedBuffer<512> line;
  bp::write_violation_line(line, "test.dts", path, rule, explanation);
  std::string text = line.c_str();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  lines.push_back(text);
}

bp::PayloadInfo linux_image(uint64_t size, uint64_t text_offset, uint64_t image_size) {
  bp::PayloadInfo info;
  info.found = true;
  info.size = size;
  info.linux_header = true;
  info.text_offset = text_offset;
  info.image_size = image_size;
  return info;
}

bp::PayloadInfo raw_file(uint64_t size) {
  bp::PayloadInfo info;
  info.found = true;
  info.size = size;
  return info;
}

FakeFiles::FakeFiles() {
  files["linux-Image"] = linux_image(0x10000, 0, 0x1400000);
  files["initramfs.cpio.gz"] = raw_file(0x2000);
  files["heartbeat.bin"] = raw_file(0x1000);
}

bp::PayloadInfo FakeFiles::inspect(const char* file_name) {
  const auto found = files.find(file_name);
  return found == files.end() ? bp::PayloadInfo{} : found->second;
}

const bp::BoardDefinition& qemu_board() {
  static const std::unique_ptr<bp::BoardDefinition> board = load_board(source_dir() + "/boards/qemu-virt/board.dts");
  return *board;
}

const bp::BoardDefinition& test_board() {
  static const std::unique_ptr<bp::BoardDefinition> board =
      load_board(std::string(BULKHEAD_TEST_DATA_DIR) + "/partitions/test-board.dts");
  return *board;
}

std::vector<std::string> check(const std::string& dts, bp::SystemDescription& description,
                               const bp::BoardDefinition& board, FakeFiles files) {
  const Blob blob = compile_dts(dts);
  Collected violations;
  const bool valid = bp::check_source(blob.data(), blob.size, board, files, description, violations);
  CHECK(valid == violations.lines.empty());
  return violations.lines;
}

std::vector<std::string> check(const std::string& dts, const bp::BoardDefinition& board, FakeFiles files) {
  auto description = std::make_unique<bp::SystemDescription>();
  return check(dts, *description, board, std::move(files));
}

}  // namespace partition_test
