// A failure inside a converter reads like every conversion error, "cannot convert aten::X in
// module 'S': <reason>" on one line, never LibTorch's raw message with its backtrace.
#include "convert/convert.h"
#include "user_error.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/ir/irparser.h>

#include <memory>
#include <string>

namespace {

TEST(ConversionErrors, LibTorchErrorInsideAConverterNamesTheOpAndItsModule) {
  // aten::div's rounding mode must be a string: an int makes the converter's
  // IValue::toStringRef() throw c10::Error.
  auto graph = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(R"IR(
graph(%x : Float(2, 3, strides=[3, 1], requires_grad=0, device=cpu)):
  %mode : int = prim::Constant[value=1]()
  %y : Float(2, 3, strides=[3, 1], requires_grad=0, device=cpu) = aten::div(%x, %x, %mode)
  return (%y))IR",
                      graph.get());
  htp::exporter::TracedGraph traced{graph, {}, {}, {"y"}, {}, htp::tagging::ModuleTree("Net"),
                                    [](const torch::jit::Node*) { return std::string("blk"); }};
  traced.inputs.push_back({graph->inputs()[0], "x", at::randn({2, 3})});

  const std::string message = user_error_of([&] { htp::exporter::convert_to_onnx(traced); });
  EXPECT_EQ(message.rfind("cannot convert aten::div in module 'blk': ", 0), 0u) << message;
  EXPECT_NE(message.find("String"), std::string::npos) << message;  // LibTorch's reason is kept
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(message.find("Exception raised from"), std::string::npos) << message;
}

}  // namespace
