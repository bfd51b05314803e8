#include "fuzz_targets.h"

#include "htp/exporter/npy.h"
#include "htp/inheritance/inheritance_engine.h"
#include "htp/onnxio/error.h"
#include "htp/onnxio/file_io.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/onnxio/tensor_data.h"
#include "htp/optimizer/optimize.h"
#include "htp/tagging/reports.h"
#include "htp/tagging/scope_names.h"
#include "htp/tagging/tagger.h"
#include "weights.h"

namespace htp::fuzz {
namespace {

template <typename Read>
void refusing_only_with_error(Read&& read) {
  try {
    read();
  } catch (const Error&) {
  }
}

}  // namespace

void onnx_pipeline(std::string_view data) {
  refusing_only_with_error([&] {
    const std::string path = scratch_file(data, "model.onnx");
    onnx::ModelProto model = onnxio::read_onnx_model(path);
    onnx::GraphProto& graph = *model.mutable_graph();
    tagging::ModuleTree tree = tagging::scope_nodes_by_name(graph);
    inheritance::InheritanceEngine().run(graph, tree);
    tagging::tag_model(model, tree, tagging::TagStyle::kNodeNames);
    tagging::coverage_report(model);
    optimizer::OptimizeOptions options;
    options.model_dir = onnxio::model_folder(path);
    options.fold_limit = int64_t{16} << 20;
    optimizer::optimize(model, options);
    onnxio::load_external_data(model, options.model_dir);
    onnxio::check_onnx_model(model);
    std::string bytes;
    model.SerializeToString(&bytes);
  });
}

void state_dict_reader(std::string_view data) {
  refusing_only_with_error([&] { exporter::read_state_dict(scratch_file(data, "weights.bin")); });
}

void npy_reader(std::string_view data) {
  refusing_only_with_error([&] { exporter::read_npy(scratch_file(data, "input.npy")); });
}

void modules_json_reader(std::string_view data) {
  refusing_only_with_error([&] { tagging::parse_module_classes(std::string(data)); });
}

const std::vector<Target>& targets() {
  static const std::vector<Target> kTargets = {{"onnx_pipeline", onnx_pipeline},
                                               {"deferred_weights_reader", deferred_weights_reader},
                                               {"state_dict_reader", state_dict_reader},
                                               {"npy_reader", npy_reader},
                                               {"modules_json_reader", modules_json_reader}};
  return kTargets;
}

}  // namespace htp::fuzz
