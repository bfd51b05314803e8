// read_state_dict / load_state_dict (the `--weights` contract of DESIGN.md): safetensors and
// torch.save of a plain dict are read exactly; the OrderedDict form and damaged files fail with an
// htp::Error that names the file; a state dict loads into a zoo model by name, and any missing,
// unexpected or mis-shaped tensor is reported by name with the model left unchanged.
// Fixtures: fixtures/weights/make_fixtures.py (the expected values below are repeated there).
#include "htp/exporter/errors.h"
#include "htp/zoo/zoo.h"
#include "weights.h"

#include "user_error.h"

#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using htp::exporter::load_state_dict;
using htp::exporter::read_checkpoint;
using htp::exporter::read_state_dict;
using State = std::map<std::string, at::Tensor>;

std::string fixture(const std::string& name) { return std::string(HTP_SOURCE_DIR) + "/fixtures/weights/" + name; }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("htp_weights_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string file = (path_ / name).string();
    std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return file;
  }

 private:
  fs::path path_;
};

// The values make_fixtures.py writes into every state-dict fixture.
void expect_fixture_values(const State& state) {
  std::vector<std::string> names;
  for (const auto& entry : state) names.push_back(entry.first);
  ASSERT_EQ(names, (std::vector<std::string>{"layer.counts", "layer.weight", "scale"}));

  const at::Tensor& weight = state.at("layer.weight");
  EXPECT_EQ(weight.scalar_type(), at::kFloat);
  EXPECT_EQ(weight.sizes().vec(), (std::vector<int64_t>{2, 3}));
  const std::vector<float> expected_weight = {1.5f, -2.25f, 3.0f, 0.125f, -0.5f, 100.0f};
  const at::Tensor flat_weight = weight.contiguous().view({-1});
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(flat_weight[i].item<float>(), expected_weight[i]) << "layer.weight[" << i << "]";

  const at::Tensor& counts = state.at("layer.counts");
  EXPECT_EQ(counts.scalar_type(), at::kLong);
  EXPECT_EQ(counts.sizes().vec(), (std::vector<int64_t>{3}));
  const std::vector<int64_t> expected_counts = {-7, 0, 1099511627783LL};
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(counts[i].item<int64_t>(), expected_counts[i]) << "layer.counts[" << i << "]";

  const at::Tensor& scale = state.at("scale");
  EXPECT_EQ(scale.scalar_type(), at::kDouble);
  EXPECT_EQ(scale.dim(), 0);
  EXPECT_EQ(scale.item<double>(), 0.1);
}

TEST(ReadStateDict, Safetensors) { expect_fixture_values(read_state_dict(fixture("tiny.safetensors"))); }

TEST(ReadStateDict, TorchSaveOfPlainDict) { expect_fixture_values(read_state_dict(fixture("tiny_dict.pt"))); }

TEST(ReadStateDict, OrderedDictTellsHowToSave) {
  const std::string path = fixture("tiny_ordered.pt");
  const std::string message = user_error_of([&] { read_state_dict(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("dict(model.state_dict())"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
}

TEST(ReadStateDict, MissingFileIsNamed) {
  const std::string path = fixture("no_such_file.safetensors");
  EXPECT_NE(user_error_of([&] { read_state_dict(path); }).find(path), std::string::npos);
}

// Every damaged variant of the fixtures fails with an ExportError naming the file.
TEST(ReadStateDict, CorruptFilesAreNamed) {
  TempDir dir;
  const std::string safetensors = read_bytes(fixture("tiny.safetensors"));
  const std::string archive = read_bytes(fixture("tiny_dict.pt"));
  ASSERT_GT(safetensors.size(), 100u);
  ASSERT_GT(archive.size(), 100u);
  const uint64_t header_size = static_cast<unsigned char>(safetensors[0]) | (static_cast<unsigned char>(safetensors[1]) << 8);
  auto header_with = [&](std::string json) {
    json.append((8 - json.size() % 8) % 8, ' ');
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((uint64_t(json.size()) >> (8 * i)) & 0xff);
    return bytes + json + std::string(8, '\0');
  };

  const std::map<std::string, std::string> cases = {
      {"empty.safetensors", ""},
      {"garbage.bin", "this is not a weights file at all"},
      {"truncated_data.safetensors", safetensors.substr(0, safetensors.size() - 5)},
      {"truncated_header.safetensors", safetensors.substr(0, 8 + header_size / 2)},
      {"header_too_long.safetensors", std::string("\xff\xff\xff\xff\x00\x00\x00\x00", 8) + safetensors.substr(8)},
      {"bad_json.safetensors", header_with("{\"a\": {\"dtype\": \"F64\", \"shape\": [], ")},
      {"bad_dtype.safetensors", header_with(R"({"a": {"dtype": "F128", "shape": [], "data_offsets": [0, 8]}})")},
      {"bad_offsets.safetensors", header_with(R"({"a": {"dtype": "F64", "shape": [], "data_offsets": [0, 4]}})")},
      {"reversed_offsets.safetensors", header_with(R"({"a": {"dtype": "F64", "shape": [], "data_offsets": [8, 0]}})")},
      {"negative_offset.safetensors", header_with(R"({"a": {"dtype": "F64", "shape": [], "data_offsets": [-8, 0]}})")},
      {"negative_dim.safetensors", header_with(R"({"a": {"dtype": "F64", "shape": [-1], "data_offsets": [0, 8]}})")},
      {"huge_shape.safetensors", header_with(R"({"a": {"dtype": "F32", "shape": [1099511627776], "data_offsets": [0, 8]}})")},
      {"shape_not_list.safetensors", header_with(R"({"a": {"dtype": "F64", "shape": 3, "data_offsets": [0, 8]}})")},
      {"truncated.pt", archive.substr(0, archive.size() / 2)},
      {"zip_prefix_only.pt", archive.substr(0, 4)},
  };
  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    const std::string path = dir.write(name, bytes);
    const std::string message = user_error_of([&] { read_state_dict(path); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  }
}

// A torch::nn module's tensors in state_dict terms: parameters and buffers by dotted name.
State tensors_of(const torch::nn::Module& module, bool clone) {
  State state;
  for (const auto& item : module.named_parameters()) state.emplace(item.key(), clone ? item.value().clone() : item.value());
  for (const auto& item : module.named_buffers()) state.emplace(item.key(), clone ? item.value().clone() : item.value());
  return state;
}

void expect_same_tensors(const State& actual, const State& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [name, tensor] : expected) {
    ASSERT_TRUE(actual.count(name)) << name;
    EXPECT_EQ(actual.at(name).scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(actual.at(name), tensor)) << name;
  }
}

// resnet18 built from seed 1 and from seed 0 (different random weights), and seed 1's state dict
// written with torch::pickle_save as torch.save(dict) would write it.
class LoadStateDictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(1);
    source_ = htp::zoo::make_model("resnet18");
    torch::manual_seed(0);
    target_ = htp::zoo::make_model("resnet18");
    state_ = tensors_of(*source_.module, /*clone=*/true);
    ASSERT_TRUE(state_.count("bn1.num_batches_tracked"));
    ASSERT_FALSE(torch::equal(state_.at("conv1.weight"), tensors_of(*target_.module, false).at("conv1.weight")));
  }

  std::string save(const State& state, const std::string& name) const {
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& [key, tensor] : state) dict.insert(key, tensor);
    const std::vector<char> bytes = torch::pickle_save(dict);
    return dir_.write(name, std::string(bytes.begin(), bytes.end()));
  }

  // Loading `state` must fail naming `tensor` (and the file) and leave the target model untouched.
  void expect_rejected(const State& state, const std::string& tensor, const std::string& problem) {
    const State before = tensors_of(*target_.module, /*clone=*/true);
    const std::string path = save(state, "bad.pt");
    const std::string message = user_error_of([&] { load_state_dict(*target_.module, read_checkpoint(path), path); });
    EXPECT_NE(message.find(tensor), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
    expect_same_tensors(tensors_of(*target_.module, false), before);
  }

  TempDir dir_;
  htp::zoo::ZooModel source_, target_;
  State state_;
};

TEST_F(LoadStateDictTest, RoundTripThroughPickleSave) {
  const std::string path = save(state_, "resnet18.pt");
  expect_same_tensors(read_state_dict(path), state_);
  load_state_dict(*target_.module, read_checkpoint(path), path);
  expect_same_tensors(tensors_of(*target_.module, false), state_);
  // Loading copies into the model's own tensors: they stay frozen for tracing.
  for (const auto& tensor : target_.module->parameters()) EXPECT_FALSE(tensor.requires_grad());
}

TEST_F(LoadStateDictTest, MissingTensorIsNamed) {
  State state = state_;
  state.erase("layer3.1.bn2.running_var");
  expect_rejected(state, "layer3.1.bn2.running_var", "missing");
}

TEST_F(LoadStateDictTest, UnexpectedTensorIsNamed) {
  State state = state_;
  state.emplace("fc.extra_bias", torch::zeros({1000}));
  expect_rejected(state, "fc.extra_bias", "unexpected");
}

// A task checkpoint as Hugging Face saves one: the base model under "model.", a head beside it.
State under_prefix(const State& state, const std::string& prefix) {
  State prefixed;
  for (const auto& [key, tensor] : state) prefixed.emplace(prefix + key, tensor);
  prefixed.emplace("lm_head.weight", torch::zeros({4, 4}));
  return prefixed;
}

TEST_F(LoadStateDictTest, BaseModelLoadsFromUnderItsPrefixAndTheHeadIsSkipped) {
  const std::string path = save(under_prefix(state_, "model."), "task.pt");
  load_state_dict(*target_.module, read_checkpoint(path), path);
  expect_same_tensors(tensors_of(*target_.module, false), state_);
}

TEST_F(LoadStateDictTest, APrefixedCheckpointMissingATensorNamesJustThatTensor) {
  State state = under_prefix(state_, "module.");
  state.erase("module.layer3.1.bn2.running_var");
  expect_rejected(state, "layer3.1.bn2.running_var", "missing");
  State extra = under_prefix(state_, "module.");
  extra.emplace("module.fc.extra_bias", torch::zeros({1000}));
  expect_rejected(extra, "fc.extra_bias", "unexpected");
}

TEST_F(LoadStateDictTest, IgnoredKeysMatchOneNameComponentPerStar) {
  State state = state_;
  state.emplace("layer1.0.legacy", torch::zeros({1}));
  const std::string path = save(state, "legacy.pt");
  load_state_dict(*target_.module, read_checkpoint(path), path, {"layer*.*.legacy"});
  expect_same_tensors(tensors_of(*target_.module, false), state_);
  state.emplace("layer1.0.conv1.legacy", torch::zeros({1}));  // two components where the pattern has one star
  const std::string deeper = save(state, "deeper.pt");
  const std::string message =
      user_error_of([&] { load_state_dict(*target_.module, read_checkpoint(deeper), deeper, {"layer*.*.legacy"}); });
  EXPECT_NE(message.find("unexpected layer1.0.conv1.legacy"), std::string::npos) << message;
}

TEST_F(LoadStateDictTest, MisshapedTensorIsNamed) {
  State state = state_;
  state["conv1.weight"] = torch::zeros({64, 3, 3, 3});
  expect_rejected(state, "conv1.weight", "shape");
}

}  // namespace
