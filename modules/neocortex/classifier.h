// Classifier networks of the neocortex.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace torch::nn {
class SequentialImpl;
}

namespace engram {

struct ClassifierConfig {
  std::string net = "mlp";            // "mlp" (ReLU) or "cnn" (2 conv + 2 dense, 28x28 inputs)
  std::vector<int> hidden{400, 400};  // mlp hidden widths (van de Ven & Tolias: 2x400)
  int rows = 28, cols = 28;           // one-channel images
  int classes = 10;
};

// Checks the configuration and names the offending field.
Status validate(const ClassifierConfig& config);

// Builds the network (input [B, rows*cols] in [0,1], output [B, classes] logits) with weights from
// torch's global generator. Errors on an invalid configuration.
Expected<std::shared_ptr<torch::nn::SequentialImpl>> make_classifier(
    const ClassifierConfig& config);

}  // namespace engram
