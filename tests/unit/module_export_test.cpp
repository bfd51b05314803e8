// export_module, the C++ API for a torch::jit::Module the caller holds: the same file as the CLI's
// --torchscript export of that archive, the caller's module left usable, and one-line errors for a
// module in training mode or options that would choose another model or inputs.
#include "htp/exporter/module_export.h"
#include "htp/exporter/npy.h"
#include "user_error.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/jit/serialization/import.h>

#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

const std::string kFixture = std::string(HTP_SOURCE_DIR) + "/fixtures/torchscript/nested_containers";

struct HeldModule {
  torch::jit::Module module = torch::jit::load(kFixture + ".pt");
  std::vector<at::Tensor> inputs{htp::exporter::read_npy(kFixture + "/in_0.npy")};

  HeldModule() { module.eval(); }
  std::vector<at::Tensor> forward() {
    c10::NoGradGuard no_grad;
    auto outputs = module.forward({inputs[0]}).toTuple()->elements();
    return {outputs[0].toTensor().clone(), outputs[1].toTensor().clone()};
  }
};

TEST(ModuleExport, GivesTheSameModelAsTheArchiveExport) {
  HeldModule held;
  htp::exporter::ExportOptions archive;
  archive.torchscript = kFixture + ".pt";
  archive.input_files = {kFixture + "/in_0.npy"};
  const htp::exporter::ExportedModel expected = htp::exporter::export_in_memory(archive);
  htp::exporter::ExportOptions named;
  named.name = archive.torchscript;
  const htp::exporter::ExportedModel got = htp::exporter::export_module_in_memory(held.module, held.inputs, named);
  EXPECT_EQ(got.model.SerializeAsString(), expected.model.SerializeAsString());
  EXPECT_EQ(got.coverage, expected.coverage);
  EXPECT_EQ(got.coverage["empty_tags"], 0);
}

// Bit for bit: the export puts LibTorch's thread count (which changes reduction order) back as it was.
TEST(ModuleExport, LeavesTheCallersModuleAsItWas) {
  HeldModule held;
  const int threads = at::get_num_threads();
  const std::vector<at::Tensor> before = held.forward();
  htp::exporter::export_module_in_memory(held.module, held.inputs);
  EXPECT_EQ(at::get_num_threads(), threads);
  const std::vector<at::Tensor> after = held.forward();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(at::equal(after[i], before[i])) << "output " << i;
  EXPECT_FALSE(held.module.is_training());
}

// --dtype float16 with --save-io runs the reference with the weights rounded to float16, then puts the
// caller's values back.
TEST(ModuleExport, PutsTheCallersWeightsBackAfterAFloat16Reference) {
  HeldModule held;
  const std::vector<at::Tensor> before = held.forward();
  const std::string dir = testing::TempDir() + "htp_module_export_float16_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  htp::exporter::ExportOptions options;
  options.out = dir + "/m.onnx";
  options.save_io_dir = dir + "/io";
  options.float16_weights = true;
  htp::exporter::export_module(held.module, held.inputs, options);
  const std::vector<at::Tensor> after = held.forward();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(at::equal(after[i], before[i])) << "output " << i;
  // The reference is the rounded weights' output: not the module's own, here.
  const at::Tensor reference = htp::exporter::read_npy(dir + "/io/ref_0.npy");
  EXPECT_FALSE(at::equal(reference, before[0]));
  EXPECT_TRUE(at::allclose(reference, before[0], 1e-2, 1e-2));
  std::filesystem::remove_all(dir);
}

TEST(ModuleExport, RefusesAModuleInTrainingMode) {
  HeldModule held;
  held.module.train();
  EXPECT_EQ(user_error_of([&] { htp::exporter::export_module_in_memory(held.module, held.inputs); }),
            "the module is in training mode; call its eval() before exporting it");
}

TEST(ModuleExport, RefusesOptionsThatChooseAnotherModelOrInputs) {
  HeldModule held;
  htp::exporter::ExportOptions zoo;
  zoo.model = "resnet18";
  htp::exporter::ExportOptions shapes;
  shapes.input_shapes = {{1, 3}};
  for (const auto& options : {zoo, shapes}) {
    const std::string message = user_error_of([&] { htp::exporter::export_module_in_memory(held.module, held.inputs, options); });
    EXPECT_EQ(message.rfind("a module given to export_module brings its own inputs and weights", 0), 0u) << message;
  }
}

TEST(ModuleExport, NamesTheModuleInTheCoverageReport) {
  HeldModule held;
  EXPECT_EQ(htp::exporter::export_module_in_memory(held.module, held.inputs).coverage["model"], "module");
}

}  // namespace
