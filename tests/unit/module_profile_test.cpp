// ModuleLayout and the per-module runtime profile on hand-built graphs: ordering, nodes of unlisted
// scopes, a listing that is not a tree, ORT profile matching, and the sums the reports promise.
#include "htp/analysis/module_layout.h"
#include "htp/analysis/module_profile.h"
#include "htp/analysis/report_page.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/tagger.h"
#include "scoped_nodes.h"
#include "user_error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace htp::analysis {
namespace {

// root ─ encoder ─ encoder.layer.0, encoder.layer.1 ; head. The head's node comes first in the graph.
onnx::ModelProto tagged_model() {
  onnx::ModelProto model;
  tagging::set_model_metadata(model, tagging::kModulesKey, R"({
    "": {"class": "Net", "parent": null},
    "encoder": {"class": "Encoder", "parent": ""},
    "encoder.layer.0": {"class": "Layer", "parent": "encoder"},
    "encoder.layer.1": {"class": "Layer", "parent": "encoder"},
    "head": {"class": "Linear", "parent": ""}})");
  test::add_scoped_node(model, "Gemm", "head")->set_name("head_gemm");
  test::add_scoped_node(model, "MatMul", "encoder.layer.0")->set_name("l0_matmul");
  test::add_scoped_node(model, "Relu", "encoder.layer.0.act")->set_name("l0_relu");  // unlisted: goes to layer.0
  test::add_scoped_node(model, "MatMul", "encoder.layer.1")->set_name("l1_matmul");
  test::add_scoped_node(model, "Shape", "")->set_name("root_shape");
  return model;
}

std::vector<std::string> scopes(const ModuleLayout& layout) {
  std::vector<std::string> out;
  for (const auto& module : layout.modules) out.push_back(module.scope);
  return out;
}

std::string event(const std::string& node, double dur, const std::string& op = "MatMul") {
  return R"({"cat":"Node","name":")" + node + R"(_kernel_time","dur":)" + std::to_string(dur) + R"(,"args":{"op_name":")" + op + R"("}})";
}

TEST(ModuleLayout, PreOrderWithSiblingsInTheOrderTheyRun) {
  const onnx::ModelProto model = tagged_model();
  const ModuleLayout layout = module_layout(model);
  EXPECT_TRUE(layout.tagged);
  EXPECT_EQ(scopes(layout), (std::vector<std::string>{"", "head", "encoder", "encoder.layer.0", "encoder.layer.1"}));
  EXPECT_EQ(layout.modules[3].parent, 2);
  EXPECT_EQ(layout.modules[3].depth, 2);
  EXPECT_EQ(layout.modules[2].children, (std::vector<int>{3, 4}));
  EXPECT_EQ(layout.node_module, (std::vector<int>{1, 3, 3, 4, 0}));
  EXPECT_EQ(layout.owner_of("encoder.layer.1.weight"), 4);
  EXPECT_EQ(layout.owner_of("unknown.bias"), 0);
}

TEST(ModuleLayout, UntaggedModelHasOneRootWithEveryNode) {
  onnx::ModelProto model;
  test::add_scoped_node(model, "Add", "a");
  test::add_scoped_node(model, "Mul", "b");
  const ModuleLayout layout = module_layout(model);
  EXPECT_FALSE(layout.tagged);
  ASSERT_EQ(layout.modules.size(), 1u);
  EXPECT_EQ(layout.modules[0].class_name, "(unknown)");
  EXPECT_EQ(layout.node_module, (std::vector<int>{0, 0}));
}

TEST(ModuleLayout, ParentCycleIsDroppedAndItsNodesGoToTheRoot) {
  onnx::ModelProto model;
  tagging::set_model_metadata(model, tagging::kModulesKey, R"({
    "": {"class": "Net", "parent": null},
    "a": {"class": "A", "parent": "b"}, "b": {"class": "B", "parent": "a"},
    "c": {"class": "C", "parent": "c"}})");
  test::add_scoped_node(model, "Add", "a");
  test::add_scoped_node(model, "Add", "c");
  const ModuleLayout layout = module_layout(model);
  EXPECT_EQ(scopes(layout), (std::vector<std::string>{"", "c"}));
  EXPECT_EQ(layout.node_module, (std::vector<int>{0, 1}));
}

TEST(ModuleProfile, OrtEventsRollUpAndEveryTotalAgrees) {
  const onnx::ModelProto model = tagged_model();
  const ModuleLayout layout = module_layout(model);
  // Two runs; one kernel ORT fused under a name the model does not have.
  const std::string trace = "[" + event("head_gemm", 10, "Gemm") + "," + event("l0_matmul", 30) + "," + event("l0_relu", 2, "Relu") +
                            "," + event("l1_matmul", 40) + "," + event("fused_thing", 6, "FusedConv") + "," +
                            event("head_gemm", 14, "Gemm") + "," + event("l0_matmul", 34) + "," + event("l0_relu", 2, "Relu") + "," +
                            event("l1_matmul", 40) + "," + event("fused_thing", 8, "FusedConv") +
                            R"(,{"cat":"Session","name":"model_run","dur":200},{"cat":"Session","name":"model_run","dur":190}])";
  const NodeTimes times = read_ort_profile(trace, "t.json", layout);
  EXPECT_EQ(times.runs, 2);
  EXPECT_DOUBLE_EQ(times.unmatched_us, 7);
  const RuntimeProfile profile = profile_modules(layout, times);
  EXPECT_DOUBLE_EQ(profile.total_us, 12 + 32 + 2 + 40 + 7);
  double exclusive = 0, by_op = 0;
  for (const auto& module : profile.modules) exclusive += module.exclusive_us;
  for (const auto& op : profile.op_types) by_op += op.us;
  EXPECT_DOUBLE_EQ(exclusive, profile.total_us);
  EXPECT_DOUBLE_EQ(by_op, profile.total_us);
  EXPECT_DOUBLE_EQ(profile.modules[0].inclusive_us, profile.total_us);
  EXPECT_DOUBLE_EQ(profile.modules[0].exclusive_us, 7);  // the unmatched time
  EXPECT_DOUBLE_EQ(profile.modules[2].inclusive_us, 34 + 40);
  EXPECT_DOUBLE_EQ(profile.modules[3].exclusive_us, 34);
  EXPECT_EQ(profile.op_types.front().op_type, "MatMul");
  EXPECT_EQ(profile.top_nodes.front().index, 3);  // l1_matmul, 40 µs

  const nlohmann::json json = profile_json(layout, profile);
  EXPECT_EQ(json["modules"][3]["parent"], "encoder");
  EXPECT_EQ(json["modules"][0]["parent"], nullptr);
  EXPECT_EQ(json["top_nodes"][0]["name"], "l1_matmul");
  const std::string markdown = profile_markdown(layout, profile);
  EXPECT_NE(markdown.find("| encoder.layer.1 (Layer) | 1 | 40.0 |"), std::string::npos) << markdown;
}

TEST(ModuleProfile, SkipRunsLeavesOutTheKernelsOfTheFirstRuns) {
  const onnx::ModelProto model = tagged_model();
  const ModuleLayout layout = module_layout(model);
  auto timed = [](const std::string& node, double ts, double dur) {
    return R"({"cat":"Node","name":")" + node + R"(_kernel_time","ts":)" + std::to_string(ts) + R"(,"dur":)" + std::to_string(dur) + "}";
  };
  auto run = [](double ts) { return R"({"cat":"Session","name":"model_run","ts":)" + std::to_string(ts) + R"(,"dur":100})"; };
  // Listed out of order: runs are taken by their start time.
  const std::string trace = "[" + run(200) + "," + run(0) + "," + run(100) + "," + timed("head_gemm", 10, 90) + "," +
                            timed("head_gemm", 110, 30) + "," + timed("head_gemm", 210, 20) + "]";
  EXPECT_DOUBLE_EQ(read_ort_profile(trace, "t.json", layout).node_us[0], (90 + 30 + 20) / 3.0);
  const NodeTimes skipped = read_ort_profile(trace, "t.json", layout, 1);
  EXPECT_EQ(skipped.runs, 2);
  EXPECT_DOUBLE_EQ(skipped.node_us[0], (30 + 20) / 2.0);
  EXPECT_EQ(user_error_of([&] { read_ort_profile(trace, "t.json", layout, 3); }),
            "t.json holds 3 model_run events: --skip-runs 3 leaves none");
}

TEST(ModuleProfile, NotAProfileOrAnotherModelIsOneClearError) {
  const onnx::ModelProto model = tagged_model();
  const ModuleLayout layout = module_layout(model);
  for (const std::string text : {"{\"a\": 1}", "[1, 2]", "not json", "[{\"cat\":\"Node\",\"name\":\"x\",\"dur\":1}]"}) {
    EXPECT_EQ(user_error_of([&] { read_ort_profile(text, "t.json", layout); }).rfind("t.json is not an ONNX Runtime profile", 0), 0u);
  }
  EXPECT_EQ(user_error_of([&] { read_ort_profile("[" + event("other", 1) + "]", "t.json", layout); }).rfind("t.json profiles another model", 0),
            0u);
}

TEST(ModuleProfile, UntaggedModelReportsOpTypesOnly) {
  onnx::ModelProto model;
  test::add_scoped_node(model, "Add", "a")->set_name("add");
  const ModuleLayout layout = module_layout(model);
  const RuntimeProfile profile = profile_modules(layout, read_ort_profile("[" + event("add", 5, "Add") + "]", "t.json", layout));
  const nlohmann::json json = profile_json(layout, profile);
  EXPECT_EQ(json["modules_known"], false);
  EXPECT_TRUE(json["modules"].empty());
  EXPECT_EQ(json["op_types"][0]["us"], 5.0);
  EXPECT_NE(profile_markdown(layout, profile).find("Modules: unknown"), std::string::npos);
}

TEST(ReportPage, DataIsEmbeddedSoThatNoScopeCanCloseTheScriptElement) {
  onnx::ModelProto model;  // no opset import: shape inference fails, and the page has no costs
  tagging::set_model_metadata(model, tagging::kModulesKey,
                              R"({"": {"class": "Net", "parent": null}, "x</script><b>": {"class": "A", "parent": ""}})");
  test::add_scoped_node(model, "Add", "x</script><b>");
  const ModuleLayout layout = module_layout(model);
  const nlohmann::json data = report_data(model, layout, "m.onnx", {}, nullptr);
  auto field = [&](size_t module, const std::string& key) {
    const auto& keys = data["module_keys"];
    return data["modules"][module][std::find(keys.begin(), keys.end(), key) - keys.begin()];
  };
  EXPECT_EQ(field(1, "scope"), "x</script><b>");
  EXPECT_EQ(field(1, "subtree_nodes"), 1);
  EXPECT_EQ(field(0, "subtree_nodes"), 1);
  EXPECT_EQ(data["flops"], 0.0);
  const std::string page = report_html(data);
  EXPECT_EQ(page.find("x</script>"), std::string::npos);
  EXPECT_NE(page.find("x\\u003c/script>\\u003cb>"), std::string::npos);
  EXPECT_EQ(page.find("__HTP_REPORT_DATA__"), std::string::npos);
}

}  // namespace
}  // namespace htp::analysis
