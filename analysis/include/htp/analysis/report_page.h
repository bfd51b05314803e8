// `htp-export report --html`: one self-contained page (inline CSS and JS, no request) with the module
// tree and, per module, nodes, op histogram, parameters, FLOPs and bytes, tag sources, fused
// partitions and runtime. The page's data is the JSON report_data returns, embedded in the page.
// Torch-free.
#pragma once

#include "htp/analysis/module_layout.h"
#include "htp/analysis/module_profile.h"

#include <nlohmann/json_fwd.hpp>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>

namespace htp::analysis {

// The page's data (schema in docs/profile.md): modules as rows of values under "module_keys". `dims` sizes symbolic input dims for the costs, as in
// compute_costs; `profile` may be null.
nlohmann::json report_data(const onnx::ModelProto& model, const ModuleLayout& layout, const std::string& file_name,
                           const std::map<std::string, int64_t>& dims, const RuntimeProfile* profile);

// The page with `data` embedded.
std::string report_html(const nlohmann::json& data);

}  // namespace htp::analysis
