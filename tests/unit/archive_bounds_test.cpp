// archive_bounds_problem: real archives (torch.save and torch.jit.save output) pass; a zip record or a
// pickle string claiming more bytes than the file holds is named before LibTorch allocates the claim.
#include "archive_bounds.h"

#include "htp/onnxio/file_io.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace {

const std::string kSource = HTP_SOURCE_DIR;

std::string fixture(const std::string& path) { return htp::onnxio::read_file(kSource + "/" + path); }

// Offset of the first `needle` in `bytes`, failing the test when there is none.
size_t offset_of(const std::string& bytes, const std::string& needle) {
  const size_t at = bytes.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  return at;
}

void write_le32(std::string& bytes, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(value >> (8 * i));
}

TEST(ArchiveBounds, RealArchivesPass) {
  EXPECT_EQ(htp::exporter::archive_bounds_problem(fixture("fixtures/weights/tiny_dict.pt")), std::nullopt);
  EXPECT_EQ(htp::exporter::archive_bounds_problem(fixture("fixtures/weights/tiny_ordered.pt")), std::nullopt);
  int archives = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kSource + "/fixtures/torchscript")) {
    if (entry.path().extension() != ".pt") continue;
    ++archives;
    EXPECT_EQ(htp::exporter::archive_bounds_problem(htp::onnxio::read_file(entry.path().string())), std::nullopt)
        << entry.path();
  }
  EXPECT_GT(archives, 30);
}

TEST(ArchiveBounds, APickleStringLongerThanThePickleIsNamed) {
  std::string bytes = fixture("fixtures/weights/tiny_dict.pt");
  // The dict's first key, a BINUNICODE string: 'X', a 4-byte length, the text.
  const size_t key = offset_of(bytes, "layer.weight");
  ASSERT_GE(key, 5u);
  ASSERT_EQ(bytes[key - 5], 'X');
  write_le32(bytes, key - 4, 0xfffffff0u);
  const auto problem = htp::exporter::archive_bounds_problem(bytes);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->rfind("its pickle claims a ", 0), 0u) << *problem;
}

TEST(ArchiveBounds, ARecordClaimingMoreThanTheFileIsNamed) {
  std::string bytes = fixture("fixtures/weights/tiny_dict.pt");
  // The directory entry of data.pkl: its uncompressed size sits 24 bytes after the entry's signature.
  const size_t entry = bytes.rfind(std::string("PK\x01\x02", 4), bytes.rfind("data.pkl"));
  ASSERT_NE(entry, std::string::npos);
  write_le32(bytes, entry + 24, 0x7fffffffu);
  const auto problem = htp::exporter::archive_bounds_problem(bytes);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("claims 2147483647 bytes, more than the"), std::string::npos) << *problem;
}

TEST(ArchiveBounds, TruncatedArchivesAreDamaged) {
  const std::string bytes = fixture("fixtures/weights/tiny_dict.pt");
  EXPECT_EQ(htp::exporter::archive_bounds_problem(bytes.substr(0, 300)), "its zip structure is damaged");
  EXPECT_EQ(htp::exporter::archive_bounds_problem(""), "its zip structure is damaged");
}

}  // namespace
