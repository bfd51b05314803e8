// Our torchvision::nms and torchvision::roi_align kernels against torchvision's own: the
// detection_ops fixture's references were computed by torchvision's library, and the archive is
// run here with ours.
#include "htp/exporter/npy.h"
#include "torchscript_source.h"

#include <gtest/gtest.h>
#include <torch/script.h>

namespace {

std::string fixture(const std::string& name) { return std::string(HTP_SOURCE_DIR) + "/fixtures/torchscript/" + name; }

TEST(TorchvisionOps, KernelsReproduceTorchvision) {
  torch::jit::Module module = htp::exporter::load_torchscript(fixture("detection_ops.pt"));
  std::vector<c10::IValue> inputs;
  for (int k = 0; k < 3; ++k) inputs.emplace_back(htp::exporter::read_npy(fixture("detection_ops/in_" + std::to_string(k) + ".npy")));
  auto outputs = module.forward(inputs).toTupleRef().elements();
  ASSERT_EQ(outputs.size(), 3u);
  for (size_t k = 0; k < outputs.size(); ++k) {
    at::Tensor expected = htp::exporter::read_npy(fixture("detection_ops/ref_" + std::to_string(k) + ".npy"));
    at::Tensor got = outputs[k].toTensor();
    ASSERT_EQ(got.sizes(), expected.sizes()) << "output " << k;
    if (got.is_floating_point()) {
      EXPECT_TRUE(at::allclose(got, expected, 1e-5, 1e-5)) << "output " << k << ": max difference " << (got - expected).abs().max().item<double>();
    } else {
      EXPECT_TRUE(at::equal(got, expected)) << "output " << k;
    }
  }
}

TEST(TorchvisionOps, NmsDropsBoxesOverlappingAHigherScore) {
  htp::exporter::load_torchscript(fixture("detection_ops.pt"));  // registers the operators
  auto op = c10::Dispatcher::singleton().findSchemaOrThrow("torchvision::nms", "").typed<at::Tensor(const at::Tensor&, const at::Tensor&, double)>();
  at::Tensor boxes = at::tensor({0.0f, 0.0f, 10.0f, 10.0f, 1.0f, 1.0f, 10.0f, 10.0f, 20.0f, 20.0f, 30.0f, 30.0f}).reshape({3, 4});
  at::Tensor kept = op.call(boxes, at::tensor({0.5f, 0.9f, 0.1f}), 0.5);
  EXPECT_TRUE(at::equal(kept, at::tensor({1, 2}, at::kLong))) << kept;
  EXPECT_EQ(op.call(at::empty({0, 4}), at::empty({0}), 0.5).numel(), 0);
}

}  // namespace
