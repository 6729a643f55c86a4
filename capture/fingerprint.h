// The fingerprints of everything that determines a capture's rows besides its hooks, positions and dtype:
// model weights, tokenizer, dataset bytes and options, label files. Stored as file attributes; --resume
// refuses a run whose fingerprints differ (docs/activation-file-format.md, "Resuming").
#pragma once
#include <string>
#include <vector>

#include "capture/activation_file.h"
#include "core/formats/model_file.h"
#include "datasets/dataset.h"

namespace resid {

// Fills info's model_sha256, model_files, tokenizer_sha256, dataset_sha256, dataset_options and
// label_files_sha256, and appends every file read to `inputs` (what force must never replace).
void fingerprint_inputs(const LoadedModel& model, const DatasetOptions& data, const Dataset& dataset,
                        ActivationFileInfo* info, std::vector<std::string>* inputs);

// The same for a plain MLP over IDX examples (and optional IDX class labels): no tokenizer, dataset options
// {"kind": "idx"}, the labels file as the "class" column's file.
void fingerprint_vector_inputs(const LoadedModel& model, const std::string& examples_path,
                               const std::string& labels_path, ActivationFileInfo* info,
                               std::vector<std::string>* inputs);

// The files of a model that determine its weights: the file itself, or for a Hugging Face checkpoint
// config.json, model.safetensors / model.safetensors.index.json and every shard the index names.
std::vector<std::string> model_weight_files(const LoadedModel& model);

}  // namespace resid
