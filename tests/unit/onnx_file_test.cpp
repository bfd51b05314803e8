// Writing ONNX files with external data: the tensors point into OUT.data at aligned offsets, the
// bytes there are the tensors' own, and small tensors stay inline.
#include "htp/onnxio/error.h"
#include "htp/onnxio/file_io.h"
#include "htp/onnxio/onnx_file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <utility>
#include <string>

namespace {

namespace fs = std::filesystem;
using htp::onnxio::ExternalData;

class OnnxFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("htp_onnx_file_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Identity(x) plus three initializers: two large (one of an odd size, to need padding), one small.
  static onnx::ModelProto model_with_weights() {
    onnx::ModelProto model;
    model.set_ir_version(8);
    model.add_opset_import()->set_version(17);
    onnx::GraphProto& graph = *model.mutable_graph();
    graph.set_name("g");
    for (auto [name, size] : {std::pair<const char*, size_t>{"big", 4000}, {"odd", 1027}, {"small", 16}}) {
      onnx::TensorProto& tensor = *graph.add_initializer();
      tensor.set_name(name);
      tensor.set_data_type(onnx::TensorProto::UINT8);
      tensor.add_dims(static_cast<int64_t>(size));
      std::string bytes(size, '\0');
      for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 7 + size) % 251);
      tensor.set_raw_data(bytes);
    }
    onnx::NodeProto& node = *graph.add_node();
    node.set_op_type("Identity");
    node.add_input("big");
    node.add_output("y");
    onnx::ValueInfoProto& output = *graph.add_output();
    output.set_name("y");
    output.mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::UINT8);
    output.mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(4000);
    return model;
  }

  fs::path dir_;
};

std::map<std::string, std::string> external_entries(const onnx::TensorProto& tensor) {
  std::map<std::string, std::string> entries;
  for (const auto& entry : tensor.external_data()) entries[entry.key()] = entry.value();
  return entries;
}

TEST_F(OnnxFileTest, AlwaysMovesLargeTensorsToAlignedExternalData) {
  onnx::ModelProto model = model_with_weights();
  const onnx::ModelProto original = model;
  const std::string path = (dir_ / "m.onnx").string();
  auto written = htp::onnxio::write_onnx_model(model, path, ExternalData::kAlways);
  EXPECT_EQ(written, (std::vector<std::string>{path + ".data", path}));

  onnx::ModelProto read = htp::onnxio::read_onnx_model(path);
  const std::string data = htp::onnxio::read_file(path + ".data");
  for (int i = 0; i < 2; ++i) {
    const onnx::TensorProto& tensor = read.graph().initializer(i);
    EXPECT_EQ(tensor.data_location(), onnx::TensorProto::EXTERNAL) << tensor.name();
    EXPECT_FALSE(tensor.has_raw_data());
    auto entries = external_entries(tensor);
    EXPECT_EQ(entries["location"], "m.onnx.data");
    size_t offset = std::stoul(entries["offset"]), length = std::stoul(entries["length"]);
    EXPECT_EQ(offset % 64, 0u) << tensor.name();
    EXPECT_EQ(data.substr(offset, length), original.graph().initializer(i).raw_data()) << tensor.name();
  }
  const onnx::TensorProto& small = read.graph().initializer(2);
  EXPECT_NE(small.data_location(), onnx::TensorProto::EXTERNAL);
  EXPECT_EQ(small.raw_data(), original.graph().initializer(2).raw_data());
}

TEST_F(OnnxFileTest, SmallModelsStayInOneFileByDefault) {
  onnx::ModelProto model = model_with_weights();
  const std::string path = (dir_ / "m.onnx").string();
  EXPECT_EQ(htp::onnxio::write_onnx_model(model, path), (std::vector<std::string>{path}));
  EXPECT_FALSE(fs::exists(path + ".data"));
  EXPECT_EQ(htp::onnxio::read_onnx_model(path).graph().initializer(0).raw_data().size(), 4000u);
}

TEST_F(OnnxFileTest, AFailedCheckLeavesNoDataFileBehind) {
  onnx::ModelProto model = model_with_weights();
  model.mutable_graph()->mutable_node(0)->set_op_type("NoSuchOp");
  const std::string path = (dir_ / "m.onnx").string();
  EXPECT_ANY_THROW(htp::onnxio::write_onnx_model(model, path, ExternalData::kAlways));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".data"));
}

// The model with every initializer's bytes taken out and given as a deferred tensor instead.
std::pair<onnx::ModelProto, htp::onnxio::DeferredTensors> deferred_copy(const onnx::ModelProto& model) {
  onnx::ModelProto copy = model;
  htp::onnxio::DeferredTensors deferred;
  for (auto& tensor : *copy.mutable_graph()->mutable_initializer()) {
    const std::string bytes = tensor.raw_data();
    tensor.clear_raw_data();
    deferred.emplace(tensor.name(), htp::onnxio::DeferredTensor{bytes.size(), [bytes](std::ostream& out) { out << bytes; }});
  }
  return {copy, deferred};
}

// Deferred tensors are written where their bytes would have been: the files are the same bytes as those of
// the model that held them, inline or as external data.
TEST_F(OnnxFileTest, DeferredTensorsWriteTheSameFilesAsHeldOnes) {
  for (ExternalData external : {ExternalData::kWhenTooLarge, ExternalData::kAlways}) {
    auto [model, deferred] = deferred_copy(model_with_weights());
    const std::string path = (dir_ / "m.onnx").string();
    const auto files = htp::onnxio::write_onnx_model(model, path, external, deferred);
    ASSERT_EQ(files.size(), external == ExternalData::kAlways ? 2u : 1u);
    // The data file's name is inside the model, so the held model is written under the same name, after.
    fs::rename(path, dir_ / "deferred_written.onnx");
    if (files.size() == 2) fs::rename(path + ".data", dir_ / "deferred_written.onnx.data");
    onnx::ModelProto held = model_with_weights();
    htp::onnxio::write_onnx_model(held, path, external);
    EXPECT_EQ(htp::onnxio::read_file((dir_ / "deferred_written.onnx").string()), htp::onnxio::read_file(path));
    if (files.size() == 2) {
      EXPECT_EQ(htp::onnxio::read_file((dir_ / "deferred_written.onnx.data").string()), htp::onnxio::read_file(path + ".data"));
    }
  }
}

// A model read with its weights left in the file gets them back, from the file, when written: the
// output is the input, byte for byte, with the large tensor never held.
TEST_F(OnnxFileTest, WeightsLeftInTheFileAreWrittenBackUnchanged) {
  onnx::ModelProto model = model_with_weights();
  onnx::TensorProto& large = *model.mutable_graph()->add_initializer();
  large.set_name("large");
  large.set_data_type(onnx::TensorProto::FLOAT);
  large.add_dims(htp::onnxio::kMinDeferredBytes / 4 + 3);
  std::string bytes(htp::onnxio::kMinDeferredBytes + 12, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i % 253);
  large.set_raw_data(bytes);
  large.set_doc_string("a field numbered after raw_data");
  const std::string path = (dir_ / "in.onnx").string();
  htp::onnxio::write_onnx_model(model, path);

  auto [read, weights] = htp::onnxio::read_onnx_model_deferring_weights(path);
  ASSERT_EQ(weights.size(), 1u);
  EXPECT_EQ(weights.at("large").bytes, bytes.size());
  EXPECT_FALSE(read.graph().initializer(3).has_raw_data());
  EXPECT_EQ(read.graph().initializer(3).doc_string(), "a field numbered after raw_data");
  EXPECT_EQ(read.graph().initializer(0).raw_data().size(), 4000u);  // small ones stay held
  const std::string out = (dir_ / "out.onnx").string();
  htp::onnxio::write_onnx_model(read, out, ExternalData::kWhenTooLarge, weights);
  EXPECT_EQ(htp::onnxio::read_file(out), htp::onnxio::read_file(path));
  // And as external data, the same bytes as the held model's.
  htp::onnxio::write_onnx_model(read, (dir_ / "deferred.onnx").string(), ExternalData::kAlways, weights);
  onnx::ModelProto held = htp::onnxio::read_onnx_model(path);
  htp::onnxio::write_onnx_model(held, (dir_ / "held.onnx").string(), ExternalData::kAlways);
  EXPECT_EQ(htp::onnxio::read_file((dir_ / "deferred.onnx.data").string()), htp::onnxio::read_file((dir_ / "held.onnx.data").string()));
}

// A file another writer laid out otherwise (raw_data before the tensor's name and dims, the graph
// before the model's other fields) is written as the model it parses to.
TEST_F(OnnxFileTest, WeightsLeftInAFileOfAnyFieldOrderAreWrittenAsItParses) {
  onnx::ModelProto model = model_with_weights();
  onnx::TensorProto raw_only;
  raw_only.set_raw_data(std::string(htp::onnxio::kMinDeferredBytes, '\7'));
  onnx::TensorProto described;
  described.set_name("large");
  described.set_data_type(onnx::TensorProto::UINT8);
  described.add_dims(htp::onnxio::kMinDeferredBytes);
  auto field = [](int number, const std::string& payload) {
    std::string bytes(1, static_cast<char>(number << 3 | 2));
    for (size_t size = payload.size(); ; size >>= 7) {
      bytes += static_cast<char>((size & 0x7f) | (size >= 0x80 ? 0x80 : 0));
      if (size < 0x80) break;
    }
    return bytes + payload;
  };
  const std::string graph = model.graph().SerializeAsString() + field(5, raw_only.SerializeAsString() + described.SerializeAsString());
  onnx::ModelProto rest = model;
  rest.clear_graph();
  const std::string path = (dir_ / "reordered.onnx").string();
  // An unknown group (field 99: start-group, a varint field 1, end-group), which protobuf keeps.
  const std::string group = std::string("\x9b\x06\x08\x2a\x9c\x06", 6);
  htp::onnxio::write_file_atomically(path, field(7, graph) + group + rest.SerializeAsString());

  auto [read, weights] = htp::onnxio::read_onnx_model_deferring_weights(path);
  ASSERT_EQ(weights.count("large"), 1u);
  htp::onnxio::write_onnx_model(read, (dir_ / "deferred.onnx").string(), ExternalData::kWhenTooLarge, weights);
  onnx::ModelProto held = htp::onnxio::read_onnx_model(path);
  htp::onnxio::write_onnx_model(held, (dir_ / "held.onnx").string());
  EXPECT_EQ(htp::onnxio::read_file((dir_ / "deferred.onnx").string()), htp::onnxio::read_file((dir_ / "held.onnx").string()));
}

// External data becomes deferred tensors opened one at a time when written: a model with more data files
// than the process may hold open is written, the same as when loaded.
TEST_F(OnnxFileTest, ExternalDataInMoreFilesThanMayBeOpenIsCopiedFileByFile) {
  onnx::ModelProto model = model_with_weights();
  constexpr int kFiles = 80;
  for (int i = 0; i < kFiles; ++i) {
    onnx::TensorProto& tensor = *model.mutable_graph()->add_initializer();
    tensor.set_name("w" + std::to_string(i));
    tensor.set_data_type(onnx::TensorProto::UINT8);
    tensor.add_dims(3);
    htp::onnxio::write_file_atomically((dir_ / tensor.name()).string(), std::string(3, static_cast<char>(i)));
    tensor.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* location = tensor.add_external_data();
    location->set_key("location");
    location->set_value(tensor.name());
  }
  onnx::ModelProto loaded = model;
  htp::onnxio::load_external_data(loaded, dir_.string());
  htp::onnxio::write_onnx_model(loaded, (dir_ / "loaded.onnx").string());

  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  const rlimit saved = limit;
  limit.rlim_cur = 40;  // fewer than the data files
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  const htp::onnxio::DeferredTensors deferred = htp::onnxio::detach_external_data(model, dir_.string());
  EXPECT_EQ(deferred.size(), static_cast<size_t>(kFiles));
  EXPECT_NO_THROW(htp::onnxio::write_onnx_model(model, (dir_ / "detached.onnx").string(), ExternalData::kWhenTooLarge, deferred));
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(htp::onnxio::read_file((dir_ / "detached.onnx").string()), htp::onnxio::read_file((dir_ / "loaded.onnx").string()));
}

// The deferred tensors are checked as read_onnx_model checks held ones, with the same messages.
TEST_F(OnnxFileTest, WeightsLeftInTheFileAreCheckedLikeHeldOnes) {
  onnx::ModelProto model = model_with_weights();
  onnx::TensorProto& large = *model.mutable_graph()->add_initializer();
  large.set_name("large");
  large.set_data_type(onnx::TensorProto::FLOAT);
  large.add_dims(htp::onnxio::kMinDeferredBytes / 4 + 1);  // 4 bytes more than it holds
  large.set_raw_data(std::string(htp::onnxio::kMinDeferredBytes, '\1'));
  const std::string path = (dir_ / "bad.onnx").string();
  htp::onnxio::write_file_atomically(path, model.SerializeAsString());
  auto message = [](const std::function<void()>& read) {
    try {
      read();
    } catch (const htp::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string held = message([&] { htp::onnxio::read_onnx_model(path); });
  EXPECT_NE(held.find("initializer 'large' has 65536 bytes of raw_data"), std::string::npos) << held;
  EXPECT_EQ(message([&] { htp::onnxio::read_onnx_model_deferring_weights(path); }), held);

  // Two initializers of one name, the second small: the checker's refusal either way.
  onnx::ModelProto twice = model;
  twice.mutable_graph()->mutable_initializer(3)->set_dims(0, htp::onnxio::kMinDeferredBytes / 4);  // well-formed
  *twice.mutable_graph()->add_initializer() = twice.graph().initializer(2);
  twice.mutable_graph()->mutable_initializer(4)->set_name("large");
  const std::string same_name = (dir_ / "same_name.onnx").string();
  htp::onnxio::write_file_atomically(same_name, twice.SerializeAsString());
  const std::string checker = message([&] { htp::onnxio::read_onnx_model(same_name); });
  EXPECT_NE(checker.find("not unique"), std::string::npos) << checker;
  EXPECT_EQ(message([&] { htp::onnxio::read_onnx_model_deferring_weights(same_name); }), checker);

  const std::string cut = (dir_ / "cut.onnx").string();
  const std::string whole = htp::onnxio::read_file(path);
  htp::onnxio::write_file_atomically(cut, std::string_view(whole).substr(0, whole.size() - 100));
  EXPECT_EQ(message([&] { htp::onnxio::read_onnx_model_deferring_weights(cut); }), "'" + cut + "' is not an ONNX model");
  EXPECT_EQ(message([&] { htp::onnxio::read_onnx_model(cut); }), "'" + cut + "' is not an ONNX model");
}

// A source that writes the wrong number of bytes, or fails part way, leaves no file behind.
TEST_F(OnnxFileTest, AFailingDeferredSourceLeavesNothingBehind) {
  auto [model, deferred] = deferred_copy(model_with_weights());
  const std::string path = (dir_ / "m.onnx").string();
  auto short_source = deferred;
  short_source.at("odd").write = [](std::ostream& out) { out << std::string(1000, 'x'); };
  EXPECT_THROW(
      {
        try {
          htp::onnxio::write_onnx_model(model, path, ExternalData::kAlways, short_source);
        } catch (const htp::Error& e) {
          EXPECT_STREQ(e.what(), "initializer 'odd': its source gave 1000 bytes, not 1027");
          throw;
        }
      },
      htp::Error);
  auto failing = deferred;
  failing.at("odd").write = [](std::ostream& out) {
    out << "partial";
    throw std::runtime_error("cannot read shard");
  };
  EXPECT_THROW(htp::onnxio::write_onnx_model(model, path, ExternalData::kAlways, failing), std::runtime_error);
  EXPECT_THROW(htp::onnxio::write_onnx_model(model, path, ExternalData::kWhenTooLarge, failing), std::runtime_error);
  for (const auto& entry : fs::directory_iterator(dir_)) ADD_FAILURE() << "left behind: " << entry.path();
}

// Deferred tensors more than the disk holds fail before anything is written.
TEST_F(OnnxFileTest, DeferredTensorsBeyondTheFreeDiskFailBeforeWriting) {
  auto [model, deferred] = deferred_copy(model_with_weights());
  bool called = false;
  deferred.at("big") = htp::onnxio::DeferredTensor{size_t{1} << 60, [&called](std::ostream&) { called = true; }};
  const std::string path = (dir_ / "m.onnx").string();
  try {
    htp::onnxio::write_onnx_model(model, path, ExternalData::kWhenTooLarge, deferred);
    ADD_FAILURE() << "no error";
  } catch (const htp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("of weights need more than the"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(called);
  EXPECT_TRUE(fs::is_empty(dir_));
}

}  // namespace

// Ops newer than this libonnx (Gelu is opset 20's; Debian's libonnx knows 17) are checked for wiring only (their
// schema is ONNX Runtime's to check), and the model comes back unchanged.
TEST(CheckOnnxModel, AcceptsOpsNewerThanTheCheckerAndRestoresThem) {
  onnx::ModelProto model;
  model.set_ir_version(9);
  model.add_opset_import()->set_version(20);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name("g");
  for (auto* value : {graph.add_input(), graph.add_output()}) {
    value->set_name(value == &graph.input(0) ? "x" : "y");
    value->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    value->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(3);
  }
  onnx::NodeProto& gelu = *graph.add_node();
  gelu.set_op_type("Gelu");
  gelu.add_input("x");
  gelu.add_output("y");
  const std::string before = model.SerializeAsString();
  EXPECT_NO_THROW(htp::onnxio::check_onnx_model(model));
  EXPECT_EQ(model.SerializeAsString(), before);

  gelu.set_input(0, "nowhere");
  EXPECT_ANY_THROW(htp::onnxio::check_onnx_model(model));
  model.mutable_opset_import(0)->set_version(17);
  gelu.set_input(0, "x");
  EXPECT_ANY_THROW(htp::onnxio::check_onnx_model(model));  // at opset 17 the checker knows there is no Gelu
}
