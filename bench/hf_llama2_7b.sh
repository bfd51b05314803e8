#!/usr/bin/env bash
# Issue 19's scale check: Llama-2-7B's published configuration (hidden 4096, 32 layers, 32 heads, intermediate
# 11008, vocab 32000) as a config-only --hf-dir, its weights drawn from the seed and streamed into the file.
# Prints the wall time, peak RSS and bytes written; then checks the file piecewise, since ONNX Runtime cannot
# load 27 GB here:
#   - every node tagged (the coverage report's empty_tags is 0);
#   - `extract --scope model.layers.31`, which runs the ONNX checker on the whole model with its external
#     data, writes the last decoder layer, and ONNX Runtime runs that part;
#   - the same configuration with 2 layers, exported streamed and held in memory (--save-io), gives the same
#     bytes, and ONNX Runtime runs the streamed file whole against LibTorch's outputs.
# Run by hand after scripts/build.sh; needs about 33 GB of scratch disk in $TMPDIR and a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
source bench/measure.sh
cli=build/cli/htp-export

# config.json of meta-llama/Llama-2-7b-hf with `num_hidden_layers` = $2.
write_config() {
  mkdir -p "$1"
  cat > "$1/config.json" <<JSON
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008,
 "num_hidden_layers": $2, "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 32000,
 "max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "rope_scaling": null, "tie_word_embeddings": false,
 "hidden_act": "silu", "initializer_range": 0.02, "pretraining_tp": 1, "torch_dtype": "float16",
 "bos_token_id": 1, "eos_token_id": 2, "use_cache": true}
JSON
}

empty_tags() { node -e "console.log(JSON.parse(require('fs').readFileSync('$1')).empty_tags)"; }

write_config "$out/7b" 32
echo "| Llama-2-7B config alone | wall time | peak RSS |"
echo "| --- | --- | --- |"
measure "--hf-dir, 32 layers, weights streamed" $cli -q --hf-dir "$out/7b" --out "$out/7b/model.onnx" --report "$out/7b/report.json"
echo
echo "bytes written: $(stat -c %s "$out/7b/model.onnx") (model) + $(stat -c %s "$out/7b/model.onnx.data") (external data)"
echo "empty tags: $(empty_tags "$out/7b/report.json")"
/usr/bin/time -f "extract: %e s, peak RSS %M KB" $cli extract "$out/7b/model.onnx" --scope model.layers.31 --out "$out/layer31.onnx"
node bench/ort_check.mjs "$out/layer31.onnx" batch=1 sequence=16
rm -rf "$out/7b"

write_config "$out/2l" 2
mkdir -p "$out/2l/streamed" "$out/2l/held"
measure "--hf-dir, 2 layers, weights streamed" $cli -q --hf-dir "$out/2l" --out "$out/2l/streamed/model.onnx" --external-data
measure "--hf-dir, 2 layers, weights held (--save-io)" $cli -q --hf-dir "$out/2l" --out "$out/2l/held/model.onnx" --external-data --save-io "$out/2l/io"
cmp "$out/2l/streamed/model.onnx" "$out/2l/held/model.onnx" && cmp "$out/2l/streamed/model.onnx.data" "$out/2l/held/model.onnx.data" \
  && echo "2 layers: streamed and held files are byte-identical"
node bench/ort_check.mjs "$out/2l/streamed/model.onnx" "$out/2l/io"
