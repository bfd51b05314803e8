// Hugging Face's BertModel and RobertaModel: one module tree (RoBERTa's classes are BERT's, copied under
// other names) that differs in configuration and in how the embeddings number the positions. Exposed so
// that tests can build small configurations; the zoo registers the published ones (bert.cpp).
#pragma once

#include "htp/zoo/zoo.h"

#include <cstdint>
#include <string>

namespace htp::zoo {

// How the embeddings number the positions.
enum class PositionIds {
  kArange,        // BERT: 0, 1, 2, ... whatever the tokens.
  kFromInputIds,  // RoBERTa's create_position_ids_from_input_ids: pad_token_id + 1, + 2, ... counting
                  // non-pad tokens only; pad tokens get pad_token_id, the position table's padding row.
};

// The config fields every checkpoint of a family shares, and its Python class-name prefix.
struct BertFamily {
  const char* name;  // "Bert" names BertModel, BertLayer, ...
  int64_t vocab_size;
  int64_t max_position_embeddings;
  int64_t type_vocab_size;
  int64_t pad_token_id;
  double layer_norm_eps;
  PositionIds position_ids;
};

// bert-base-uncased's and roberta-base's config.json.
inline constexpr BertFamily kBert = {"Bert", 30522, 512, 2, 0, 1e-12, PositionIds::kArange};
inline constexpr BertFamily kRoberta = {"Roberta", 50265, 514, 1, 1, 1e-5, PositionIds::kFromInputIds};

struct BertConfig {
  BertFamily family;
  int64_t layers;
  int64_t hidden;
  int64_t heads;
  int64_t intermediate;
  bool add_pooling_layer = true;  // false for the task models that read the sequence only (BertForMaskedLM, ...)
};

// The longest sequence the position table numbers: RoBERTa's positions start after the pad id.
int64_t max_sequence_length(const BertFamily& family);

// A model of the family with deterministic random weights, its inputs (input_ids, attention_mask,
// token_type_ids) sized by the options and its outputs (last_hidden_state, and pooler_output with the pooler).
ZooModel bert_family_model(const std::string& model_name, const BertConfig& config, const ZooOptions& options);

}  // namespace htp::zoo
