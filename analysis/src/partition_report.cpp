// Device profiles, roofline classes and the partition's reports.
#include "htp/analysis/partition.h"

#include "htp/onnxio/error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

namespace htp::analysis {
namespace {

constexpr Bottleneck kBottlenecks[] = {Bottleneck::kComputeBound, Bottleneck::kBalanced, Bottleneck::kMemoryBound,
                                       Bottleneck::kBandwidthBound};

std::string format(const char* pattern, double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string percent(double share) { return format("%.1f%%", 100 * share); }

}  // namespace

// The numbers and their documents are in docs/partition.md ("Device profiles").
const std::vector<DeviceProfile>& device_profiles() {
  static const std::vector<DeviceProfile> profiles = {
      {"cpu-core", 96e9, 25.6e9, "one x86-64 core, 2 x 256-bit FMA at 3.0 GHz (FP32), one DDR4-3200 channel"},
      {"mobile-npu", 35e12, 51.2e9, "Apple A17 Pro Neural Engine (35 TOPS, low precision), LPDDR5-6400 x 64 bit"},
      {"h100", 67e12, 3.35e12, "NVIDIA H100 SXM5, FP32 without Tensor Cores, HBM3"},
      {"h100-fp16", 989.4e12, 3.35e12, "NVIDIA H100 SXM5, dense FP16 Tensor Core, HBM3"},
  };
  return profiles;
}

const DeviceProfile& device_profile(const std::string& name) {
  std::string known;
  for (const auto& profile : device_profiles()) {
    if (profile.name == name) return profile;
    known += (known.empty() ? "" : ", ") + profile.name;
  }
  throw Error("unknown device '" + name + "' (known: " + known + ")");
}

Bottleneck classify(double intensity, const DeviceProfile& device) {
  const double ridge = device.ridge();
  if (intensity >= ridge) return Bottleneck::kComputeBound;
  if (intensity >= ridge / 2) return Bottleneck::kBalanced;
  if (intensity >= ridge / 10) return Bottleneck::kMemoryBound;
  return Bottleneck::kBandwidthBound;
}

const char* bottleneck_name(Bottleneck bottleneck) {
  switch (bottleneck) {
    case Bottleneck::kComputeBound:
      return "compute-bound";
    case Bottleneck::kBalanced:
      return "balanced";
    case Bottleneck::kMemoryBound:
      return "memory-bound";
    case Bottleneck::kBandwidthBound:
      return "bandwidth-bound";
  }
  return "?";
}

nlohmann::json partition_summary(const Partition& partition) {
  const size_t subgraphs = partition.subgraphs.size();
  size_t single = 0, se = 0, conv_bn_silu = 0, attention = 0, with_bytes = 0;
  int64_t external = 0, fused_away = 0;
  double flops = 0, intensity_sum = 0;
  bool known = true;
  nlohmann::json bottlenecks = nlohmann::json::object();
  for (Bottleneck bottleneck : kBottlenecks) bottlenecks[bottleneck_name(bottleneck)] = 0;
  for (const auto& subgraph : partition.subgraphs) {
    single += subgraph.ops.size() == 1;
    se += subgraph.se_block;
    conv_bn_silu += subgraph.pattern == "Conv_BatchNormalization_SiLU";
    attention += subgraph.attention;
    external += subgraph.external_bytes;
    fused_away += subgraph.fused_away_bytes;
    flops += subgraph.flops;
    known &= subgraph.costs_known;
    if (subgraph.external_bytes > 0) {
      ++with_bytes;
      intensity_sum += subgraph.intensity;
    }
    bottlenecks[bottleneck_name(subgraph.bottleneck)] = bottlenecks[bottleneck_name(subgraph.bottleneck)].get<int>() + 1;
  }
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  return {{"ops", partition.ops.size()},
          {"subgraphs", subgraphs},
          {"fusion_efficiency", ratio(partition.ops.size(), subgraphs)},
          {"single_op_subgraphs", single},
          {"single_op_share", ratio(single, subgraphs)},
          {"se_blocks", se},
          {"conv_bn_silu_blocks", conv_bn_silu},
          {"attention_blocks", attention},
          {"external_bytes", external},
          {"fused_away_bytes", fused_away},
          {"memory_reduction", ratio(fused_away, fused_away + external)},
          {"mean_intensity", ratio(intensity_sum, with_bytes)},
          {"gflops", flops / 1e9},
          {"bottlenecks", bottlenecks},
          {"costs_known", known}};
}

nlohmann::json partition_report(const onnx::ModelProto& model, const Partition& partition) {
  nlohmann::json subgraphs = nlohmann::json::array();
  for (const auto& subgraph : partition.subgraphs) {
    nlohmann::json nodes = nlohmann::json::array();
    for (int op : subgraph.ops) {
      for (int node : partition.ops[op].nodes) nodes.push_back(model.graph().node(node).name());
    }
    subgraphs.push_back({{"unit", subgraph.unit},
                         {"pattern", subgraph.pattern},
                         {"ops", subgraph.ops.size()},
                         {"nodes", nodes},
                         {"flops", subgraph.flops},
                         {"external_bytes", subgraph.external_bytes},
                         {"fused_away_bytes", subgraph.fused_away_bytes},
                         {"intensity", subgraph.intensity},
                         {"bottleneck", bottleneck_name(subgraph.bottleneck)},
                         {"se_block", subgraph.se_block},
                         {"attention", subgraph.attention},
                         {"costs_known", subgraph.costs_known}});
  }
  nlohmann::json report = partition_summary(partition);
  report["subgraph_list"] = std::move(subgraphs);
  return report;
}

nlohmann::json spread(const std::vector<nlohmann::json>& summaries, const std::string& key) {
  double sum = 0, squares = 0;
  for (const auto& summary : summaries) sum += summary.at(key).get<double>();
  const double count = static_cast<double>(summaries.size());
  const double mean = count > 0 ? sum / count : 0;
  for (const auto& summary : summaries) squares += std::pow(summary.at(key).get<double>() - mean, 2);
  const double deviation = count > 0 ? std::sqrt(squares / count) : 0;
  return {{"mean", mean}, {"std", deviation}, {"cv", mean != 0 ? deviation / mean : 0}};
}

std::string summary_table(const std::vector<nlohmann::json>& summaries) {
  std::string table =
      "| model | ops | subgraphs | ops/subgraph | single-op | SE blocks | Conv-BN-SiLU | attention | memory reduction "
      "| mean AI (FLOP/B) | GFLOPs | compute / balanced / memory / bandwidth-bound |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& row : summaries) {
    const auto& bottlenecks = row.at("bottlenecks");
    std::string distribution;
    for (Bottleneck bottleneck : kBottlenecks) {
      distribution += (distribution.empty() ? "" : " / ") + bottlenecks.at(bottleneck_name(bottleneck)).dump();
    }
    table += "| " + row.value("model", std::string("?")) + " | " + row.at("ops").dump() + " | " + row.at("subgraphs").dump() +
             " | " + format("%.2f", row.at("fusion_efficiency").get<double>()) + " | " +
             percent(row.at("single_op_share").get<double>()) + " | " + row.at("se_blocks").dump() + " | " +
             row.at("conv_bn_silu_blocks").dump() + " | " + row.at("attention_blocks").dump() + " | " +
             percent(row.at("memory_reduction").get<double>()) + " | " + format("%.1f", row.at("mean_intensity").get<double>()) +
             " | " + format("%.2f", row.at("gflops").get<double>()) + " | " + distribution + " |\n";
  }
  if (summaries.size() < 2) return table;
  table += "\n| statistic | ops/subgraph | single-op share | memory reduction |\n|---|---:|---:|---:|\n";
  const nlohmann::json efficiency = spread(summaries, "fusion_efficiency"), single = spread(summaries, "single_op_share"),
                       reduction = spread(summaries, "memory_reduction");
  table += "| mean | " + format("%.3f", efficiency["mean"]) + " | " + percent(single["mean"]) + " | " + percent(reduction["mean"]) + " |\n";
  table += "| standard deviation | " + format("%.3f", efficiency["std"]) + " | " + percent(single["std"]) + " | " +
           percent(reduction["std"]) + " |\n";
  table += "| coefficient of variation | " + percent(efficiency["cv"]) + " | " + percent(single["cv"]) + " | " +
           percent(reduction["cv"]) + " |\n";
  return table;
}

}  // namespace htp::analysis
