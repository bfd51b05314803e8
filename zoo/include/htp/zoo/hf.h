// Hugging Face model directories: the zoo architecture a config.json names, built at its sizes.
#pragma once

#include "htp/zoo/names.h"
#include "htp/zoo/zoo.h"

#include <string>
#include <vector>

namespace htp::zoo {

// The model `config_text` (a config.json) describes, with deterministic random weights from the current
// torch seed: causal LMs (GPT2LMHeadModel, LlamaForCausalLM) with their LM head, returning logits; every
// other architecture as its base model. Throws std::invalid_argument, one line, for an unknown model_type
// (listing the known ones), a malformed field, or a field whose value changes the forward in a way the zoo
// does not build (naming the field).
ZooModel make_hf_model(const std::string& config_text, const ZooOptions& options);

// The base model `base` nested under the child `child` of a root of class `root_class`, as a task model
// (BertForSequenceClassification's "bert") holds it: its names and scopes gain the "child." prefix that
// checkpoints of the task model carry, and it computes the same outputs.
ZooModel nest_base_model(ZooModel base, const std::string& child, const std::string& root_class);

}  // namespace htp::zoo
