// write_npy / read_npy: round trips per dtype and rank, the exact bytes NumPy writes
// (fixtures/weights/numpy_f32_2x3.npy from make_fixtures.py), and damaged files named in the error.
#include "htp/exporter/errors.h"
#include "htp/exporter/npy.h"

#include "user_error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using htp::exporter::read_npy;
using htp::exporter::write_npy;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("htp_npy_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write_raw(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path(name);
  }
  // The header text of a written file, checking the NumPy framing around it.
  std::string header_of(const std::string& file) const {
    const std::string bytes = read_bytes(file);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    const size_t length = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    EXPECT_EQ((10 + length) % 64, 0u) << "data must start 64-byte aligned";
    const std::string header = bytes.substr(10, length);
    EXPECT_EQ(header.back(), '\n');
    return header.substr(0, header.find_last_not_of(" \n") + 1);
  }

  fs::path dir_;
};

TEST_F(NpyTest, RoundTripsEveryDtypeAndRank) {
  torch::manual_seed(3);
  const std::vector<std::vector<int64_t>> shapes = {{}, {5}, {2, 3, 4, 5}, {1, 0, 3}};
  const std::vector<at::ScalarType> dtypes = {at::kFloat, at::kDouble, at::kLong, at::kInt, at::kBool, at::kByte};
  for (const auto dtype : dtypes) {
    for (const auto& shape : shapes) {
      SCOPED_TRACE(std::string(c10::toString(dtype)) + " " + c10::str(at::IntArrayRef(shape)));
      at::Tensor tensor;
      if (dtype == at::kBool) {
        tensor = torch::rand(shape) > 0.5;
      } else if (at::isFloatingType(dtype)) {
        tensor = torch::randn(shape, torch::dtype(dtype)) * 1e3;
      } else {
        const int64_t high = dtype == at::kByte ? 256 : (dtype == at::kInt ? (int64_t(1) << 31) - 1 : int64_t(1) << 62);
        tensor = torch::randint(dtype == at::kByte ? 0 : -high, high, shape, torch::dtype(dtype));
      }
      const std::string file = path("t.npy");
      write_npy(file, tensor);
      const at::Tensor back = read_npy(file);
      EXPECT_EQ(back.scalar_type(), dtype);
      EXPECT_EQ(back.sizes().vec(), shape);
      EXPECT_TRUE(torch::equal(back, tensor));
    }
  }
}

TEST_F(NpyTest, WritesNonContiguousTensorsInCOrder) {
  const at::Tensor tensor = torch::arange(12, torch::kFloat).reshape({3, 4}).t();
  write_npy(path("t.npy"), tensor);
  EXPECT_TRUE(torch::equal(read_npy(path("t.npy")), tensor.contiguous()));
}

// The exact bytes of np.save(f, np.array([[1.5, -2.25, 3.0], [0.125, -0.5, 100.0]], np.float32)).
TEST_F(NpyTest, MatchesNumpyBytes) {
  const std::string numpy_file = std::string(HTP_SOURCE_DIR) + "/fixtures/weights/numpy_f32_2x3.npy";
  const at::Tensor expected = torch::tensor({1.5f, -2.25f, 3.0f, 0.125f, -0.5f, 100.0f}).reshape({2, 3});

  const at::Tensor from_numpy = read_npy(numpy_file);
  EXPECT_EQ(from_numpy.scalar_type(), at::kFloat);
  EXPECT_TRUE(torch::equal(from_numpy, expected));

  write_npy(path("ours.npy"), expected);
  const std::string numpy_bytes = read_bytes(numpy_file);
  ASSERT_FALSE(numpy_bytes.empty());
  EXPECT_EQ(read_bytes(path("ours.npy")), numpy_bytes);
}

TEST_F(NpyTest, HeaderTextIsNumpys) {
  write_npy(path("a.npy"), torch::zeros({2, 3}));
  EXPECT_EQ(header_of(path("a.npy")), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  write_npy(path("b.npy"), torch::zeros({7}, torch::kLong));
  EXPECT_EQ(header_of(path("b.npy")), "{'descr': '<i8', 'fortran_order': False, 'shape': (7,), }");
  write_npy(path("c.npy"), torch::zeros({}, torch::kDouble));
  EXPECT_EQ(header_of(path("c.npy")), "{'descr': '<f8', 'fortran_order': False, 'shape': (), }");
  write_npy(path("d.npy"), torch::zeros({1, 3, 224, 224}, torch::kBool));
  EXPECT_EQ(header_of(path("d.npy")), "{'descr': '|b1', 'fortran_order': False, 'shape': (1, 3, 224, 224), }");
  write_npy(path("e.npy"), torch::zeros({4}, torch::kByte));
  EXPECT_EQ(header_of(path("e.npy")), "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }");
  write_npy(path("f.npy"), torch::zeros({4}, torch::kInt));
  EXPECT_EQ(header_of(path("f.npy")), "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }");
}

TEST_F(NpyTest, DamagedFilesAreNamed) {
  write_npy(path("good.npy"), torch::arange(6, torch::kFloat).reshape({2, 3}));
  const std::string good = read_bytes(path("good.npy"));
  ASSERT_EQ(good.size(), 128u + 24u);
  std::string bad_magic = good;
  bad_magic[1] = 'X';
  std::string big_endian = good;
  big_endian.replace(good.find("<f4"), 3, ">f4");
  std::string fortran = good;
  fortran.replace(good.find("False"), 5, "True ");

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty.npy", ""},
      {"bad_magic.npy", bad_magic},
      {"truncated_data.npy", good.substr(0, good.size() - 3)},
      {"extra_data.npy", good + "xyz"},
      {"truncated_header.npy", good.substr(0, 40)},
      {"big_endian.npy", big_endian},
      {"fortran.npy", fortran},
  };
  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    const std::string file = write_raw(name, bytes);
    const std::string message = user_error_of([&] { read_npy(file); });
    EXPECT_NE(message.find(file), std::string::npos) << message;
  }
  const std::string missing = path("missing.npy");
  EXPECT_NE(user_error_of([&] { read_npy(missing); }).find(missing), std::string::npos);
}

TEST_F(NpyTest, WriteIntoMissingDirectoryFailsWithoutFile) {
  const std::string file = path("no/such/dir/x.npy");
  EXPECT_NE(user_error_of([&] { write_npy(file, torch::zeros({2})); }).find("no/such/dir"), std::string::npos);
  EXPECT_FALSE(fs::exists(file));
}

}  // namespace
