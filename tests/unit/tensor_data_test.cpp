// Reading untrusted ONNX files: external data stays inside the model's folder (no absolute path, no
// `..`, no symlink out), its ranges lie inside the file and match the tensor, and every tensor's
// bytes, dims and type add up (initializers, Constant values, subgraphs, sparse tensors); sizes
// are counted with checked multiplication.
#include "htp/onnxio/file_io.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/onnxio/tensor_data.h"
#include "user_error.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>

namespace {

namespace fs = std::filesystem;
using htp::onnxio::checked_mul;
using htp::onnxio::checked_product;

TEST(CheckedSizes, RefuseOverflowAndNegativeFactors) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(checked_mul(3, 4), 12);
  EXPECT_EQ(checked_mul(kMax, 1), kMax);
  EXPECT_EQ(checked_mul(kMax, 0), 0);
  EXPECT_EQ(checked_mul(int64_t{1} << 32, int64_t{1} << 31), std::nullopt);
  EXPECT_EQ(checked_mul(-1, 4), std::nullopt);
  EXPECT_EQ(checked_product(std::vector<int64_t>{}), 1);
  EXPECT_EQ(checked_product(std::vector<int64_t>{2, 3, 4}), 24);
  EXPECT_EQ(checked_product(std::vector<int64_t>{int64_t{1} << 32, int64_t{1} << 32}), std::nullopt);
  EXPECT_EQ(checked_product(std::vector<int64_t>{0, int64_t{1} << 62, 4}), 0);  // zero elements, however wide
  EXPECT_EQ(checked_product(std::vector<int64_t>{2, -1}), std::nullopt);
}

onnx::TensorProto floats(const std::string& name, std::vector<int64_t> dims, size_t raw_bytes) {
  onnx::TensorProto tensor;
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t dim : dims) tensor.add_dims(dim);
  tensor.set_raw_data(std::string(raw_bytes, '\x01'));
  return tensor;
}

void point_at(onnx::TensorProto& tensor, const std::string& location, const std::string& offset = "",
              const std::string& length = "") {
  tensor.clear_raw_data();
  tensor.set_data_location(onnx::TensorProto::EXTERNAL);
  for (const auto& [key, value] : {std::pair{"location", location}, {"offset", offset}, {"length", length}}) {
    if (value.empty()) continue;
    auto* entry = tensor.add_external_data();
    entry->set_key(key);
    entry->set_value(value);
  }
}

// Each test gets <tmp>/case/ as the model's folder, with <tmp>/outside.bin beside it.
class ModelTensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("htp_tensor_data_test_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "case");
    htp::onnxio::write_file_atomically((root_ / "outside.bin").string(), std::string(16, 'o'));
    htp::onnxio::write_file_atomically((root_ / "case" / "w.bin").string(), std::string(24, 'w'));
    model_.set_ir_version(8);
    model_.add_opset_import()->set_version(17);
    model_.mutable_graph()->set_name("g");
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string path() const { return (root_ / "case" / "m.onnx").string(); }
  onnx::TensorProto& initializer(onnx::TensorProto tensor) {
    return *model_.mutable_graph()->add_initializer() = std::move(tensor);
  }
  // The one-line error reading the model from disk gives, or "" when it reads.
  std::string error() {
    htp::onnxio::write_file_atomically(path(), model_.SerializeAsString());
    try {
      htp::onnxio::read_onnx_model(path());
    } catch (const htp::Error& e) {
      return e.what();
    }
    return "";
  }
  std::string error_for(const onnx::TensorProto& w) {
    model_.mutable_graph()->clear_initializer();
    initializer(w);
    return error();
  }
  std::string in_file(const std::string& reason) const { return "'" + path() + "': " + reason; }

  fs::path root_;
  onnx::ModelProto model_;
};

TEST_F(ModelTensorsTest, AcceptsWellFormedTensorsAndExternalDataInsideTheFolder) {
  initializer(floats("raw", {2, 3}, 24));
  onnx::TensorProto& typed = initializer(floats("typed", {2}, 0));
  typed.clear_raw_data();
  typed.add_float_data(1);
  typed.add_float_data(2);
  onnx::TensorProto& half = initializer(floats("half", {3}, 0));
  half.clear_raw_data();
  half.set_data_type(onnx::TensorProto::FLOAT16);
  for (int k = 0; k < 3; ++k) half.add_int32_data(0x3c00);
  initializer(floats("empty", {0, 5}, 0));
  point_at(initializer(floats("whole", {6}, 0)), "w.bin");
  point_at(initializer(floats("part", {2}, 0)), "./w.bin", "16", "8");
  fs::create_directories(root_ / "case" / "sub");
  fs::create_symlink("../w.bin", root_ / "case" / "sub" / "link.bin");  // a symlink that stays inside
  point_at(initializer(floats("linked", {1}, 0)), "sub/link.bin", "4", "4");
  point_at(initializer(floats("back_in", {1}, 0)), "sub/../w.bin", "0", "4");
  EXPECT_EQ(error(), "");

  const std::string folder = (root_ / "case").string();
  EXPECT_EQ(htp::onnxio::read_external_data(model_.graph().initializer(5), folder), std::string(8, 'w'));
  const htp::onnxio::ExternalRange range = htp::onnxio::locate_external_data(model_.graph().initializer(6), folder);
  EXPECT_EQ(range.path, fs::canonical(root_ / "case" / "w.bin").string());
  EXPECT_EQ(range.offset, 4u);
  EXPECT_EQ(range.length, 4u);
}

TEST_F(ModelTensorsTest, RefusesExternalDataOutsideTheModelFolder) {
  onnx::TensorProto w = floats("w", {4}, 0);
  const std::string outside = (root_ / "outside.bin").string();
  for (const std::string location : {outside, std::string("../outside.bin"), std::string("sub/../../outside.bin"),
                                     std::string("../../../../../../../../etc/passwd"), std::string("a\0b", 3)}) {
    onnx::TensorProto escaping = w;
    point_at(escaping, location);
    fs::create_directories(root_ / "case" / "sub");
    const std::string shown = location.find('\0') == std::string::npos ? location : "a\\x00b";
    EXPECT_EQ(error_for(escaping), in_file("initializer 'w' points outside the model folder: '" + shown + "'"));
  }
  fs::create_symlink(outside, root_ / "case" / "file_link.bin");
  fs::create_symlink(root_, root_ / "case" / "folder_link");
  for (const std::string location : {"file_link.bin", "folder_link/outside.bin"}) {
    onnx::TensorProto escaping = w;
    point_at(escaping, location);
    EXPECT_EQ(error_for(escaping), in_file("initializer 'w' points outside the model folder: '" + location + "'"));
  }
  // The same check guards reading, whatever checked the model before.
  point_at(w, "../outside.bin");
  EXPECT_EQ(user_error_of([&] { htp::onnxio::read_external_data(w, (root_ / "case").string()); }),
            "tensor 'w' points outside the model folder: '../outside.bin'");
}

TEST_F(ModelTensorsTest, RefusesExternalRangesThatDoNotFitTheFileOrTheTensor) {
  fs::create_directories(root_ / "case" / "folder");
  const std::vector<std::tuple<std::string, std::string, std::string, std::string>> cases = {
      {"absent.bin", "", "", "has external data in 'absent.bin', which does not exist"},
      {"folder", "", "", "has external data in 'folder', which is not a regular file"},
      {"w.bin", "32", "", "has external data at offset 32, beyond the end of 'w.bin' (24 bytes)"},
      {"w.bin", "16", "16", "has external data at offset 16 of length 16, beyond the end of 'w.bin' (24 bytes)"},
      {"w.bin", "18446744073709551615", "16", "has external data at offset 18446744073709551615, beyond the end of 'w.bin' (24 bytes)"},
      {"w.bin", "0", "8", "has 8 bytes of external data in 'w.bin' for dims [4] of float (16 bytes)"},
      {"w.bin", "", "", "has 24 bytes of external data in 'w.bin' for dims [4] of float (16 bytes)"},
      {"w.bin", "1e3", "", "has an invalid external-data offset '1e3'"},
      {"w.bin", "0", "-16", "has an invalid external-data length '-16'"},
  };
  for (const auto& [location, offset, length, reason] : cases) {
    onnx::TensorProto w = floats("w", {4}, 0);
    point_at(w, location, offset, length);
    EXPECT_EQ(error_for(w), in_file("initializer 'w' " + reason)) << location << " " << offset << " " << length;
  }
  onnx::TensorProto nowhere = floats("w", {4}, 0);
  point_at(nowhere, "");
  EXPECT_EQ(error_for(nowhere), in_file("initializer 'w' has external data without a location"));
}

TEST_F(ModelTensorsTest, RefusesTensorsWhoseBytesDimsOrTypeDoNotAddUp) {
  EXPECT_EQ(error_for(floats("w", {4}, 8)), in_file("initializer 'w' has 8 bytes of raw_data for dims [4] of float (16 bytes)"));
  EXPECT_EQ(error_for(floats("w", {4000000000}, 16)),
            in_file("initializer 'w' has 16 bytes of raw_data for dims [4000000000] of float (16000000000 bytes)"));
  EXPECT_EQ(error_for(floats("w", {2, -3}, 0)), in_file("initializer 'w' has a negative dim in dims [2,-3] of float"));
  EXPECT_EQ(error_for(floats("w", {int64_t{1} << 32, int64_t{1} << 32}, 16)),
            in_file("initializer 'w' has dims [4294967296,4294967296] of float, more elements than int64 counts"));
  EXPECT_EQ(error_for(floats("w", {int64_t{1} << 62}, 16)),
            in_file("initializer 'w' has dims [4611686018427387904] of float, more bytes than int64 counts"));
  EXPECT_EQ(error_for(floats("w", {1, 1, 1, 1, 1, 1, 1, 1, 1, 2}, 4)),
            in_file("initializer 'w' has 4 bytes of raw_data for dims [1,1,1,1,1,1,1,1,... (10 dims)] of float (8 bytes)"));
  onnx::TensorProto unknown = floats("w", {4}, 16);
  unknown.set_data_type(99);
  EXPECT_EQ(error_for(unknown), in_file("initializer 'w' has unknown element type 99"));
  onnx::TensorProto undefined = floats("w", {4}, 16);
  undefined.set_data_type(onnx::TensorProto::UNDEFINED);
  EXPECT_EQ(error_for(undefined), in_file("initializer 'w' has unknown element type 0"));

  // Typed fields: small types widened into int32_data, complex numbers as pairs, strings one each.
  auto typed = [](int32_t type, int64_t size) {
    onnx::TensorProto tensor = floats("w", {size}, 0);
    tensor.clear_raw_data();
    tensor.set_data_type(type);
    return tensor;
  };
  onnx::TensorProto int8 = typed(onnx::TensorProto::INT8, 3);
  int8.add_int32_data(1);
  EXPECT_EQ(error_for(int8), in_file("initializer 'w' has 1 values in int32_data for dims [3] of int8 (3 values)"));
  onnx::TensorProto flags = typed(onnx::TensorProto::BOOL, 2);
  EXPECT_EQ(error_for(flags), in_file("initializer 'w' has 0 values in int32_data for dims [2] of bool (2 values)"));
  onnx::TensorProto longs = typed(onnx::TensorProto::INT64, 1);
  longs.add_int64_data(1);
  longs.add_int64_data(2);
  EXPECT_EQ(error_for(longs), in_file("initializer 'w' has 2 values in int64_data for dims [1] of int64 (1 values)"));
  onnx::TensorProto complex = typed(onnx::TensorProto::COMPLEX64, 2);
  for (int k = 0; k < 3; ++k) complex.add_float_data(1);
  EXPECT_EQ(error_for(complex), in_file("initializer 'w' has 3 values in float_data for dims [2] of complex64 (4 values)"));
  onnx::TensorProto strings = typed(onnx::TensorProto::STRING, 1);
  strings.set_raw_data("x");
  EXPECT_EQ(error_for(strings), in_file("initializer 'w' holds strings as raw_data, which ONNX does not allow"));
  strings.clear_raw_data();
  strings.add_string_data("x");
  EXPECT_EQ(error_for(strings), "");
}

TEST_F(ModelTensorsTest, ChecksConstantsSubgraphsAndSparseTensorsToo) {
  onnx::GraphProto& graph = *model_.mutable_graph();
  onnx::NodeProto& constant = *graph.add_node();
  constant.set_name("c");
  constant.set_op_type("Constant");
  constant.add_output("c_out");
  auto* value = constant.add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  *value->mutable_t() = floats("", {4}, 3);
  EXPECT_EQ(error(), in_file("node 'c' (Constant) attribute 'value' has 3 bytes of raw_data for dims [4] of float (16 bytes)"));
  constant.clear_name();
  point_at(*value->mutable_t(), "/etc/passwd");
  EXPECT_EQ(error(), in_file("node producing 'c_out' (Constant) attribute 'value' points outside the model folder: '/etc/passwd'"));
  graph.clear_node();

  // An initializer of an If branch.
  onnx::NodeProto& branch = *graph.add_node();
  branch.set_name("if");
  branch.set_op_type("If");
  auto* then_branch = branch.add_attribute();
  then_branch->set_name("then_branch");
  then_branch->set_type(onnx::AttributeProto::GRAPH);
  *then_branch->mutable_g()->add_initializer() = floats("inner", {int64_t{1} << 40, int64_t{1} << 40}, 0);
  EXPECT_EQ(error(), in_file("initializer 'inner' has dims [1099511627776,1099511627776] of float, more elements than int64 counts"));
  graph.clear_node();

  onnx::SparseTensorProto& sparse = *graph.add_sparse_initializer();
  sparse.add_dims(10);
  *sparse.mutable_values() = floats("s", {2}, 8);
  *sparse.mutable_indices() = floats("s_indices", {2}, 0);
  sparse.mutable_indices()->set_data_type(onnx::TensorProto::INT64);
  sparse.mutable_indices()->set_raw_data(std::string(8, '\0'));
  EXPECT_EQ(error(), in_file("sparse initializer 's' indices has 8 bytes of raw_data for dims [2] of int64 (16 bytes)"));
  sparse.mutable_indices()->set_raw_data(std::string(8, '\0') + '\1' + std::string(7, '\0'));  // indices 0 and 1
  EXPECT_EQ(error(), "");
  sparse.set_dims(0, -10);
  EXPECT_EQ(error(), in_file("sparse initializer 's' has negative dims or more elements than int64 counts"));
}

}  // namespace
