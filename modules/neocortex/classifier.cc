#include "modules/neocortex/classifier.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

namespace engram {
namespace nn = torch::nn;

Status validate(const ClassifierConfig& c) {
  if (c.net != "mlp" && c.net != "cnn") {
    return {ErrorCode::invalid_argument,
            "neocortex: net must be \"mlp\" or \"cnn\", not \"" + c.net + "\""};
  }
  if (c.classes < 2 || c.classes > 100000) {
    return {ErrorCode::invalid_argument, "neocortex: classes must be in [2, 100000]"};
  }
  if (c.rows < 1 || c.cols < 1) return {ErrorCode::invalid_argument, "neocortex: bad image shape"};
  if (c.net == "cnn" && (c.rows != 28 || c.cols != 28)) {
    return {ErrorCode::invalid_argument, "neocortex: net \"cnn\" needs 28x28 images"};
  }
  for (int h : c.hidden) {
    if (h < 1 || h > 16384)
      return {ErrorCode::invalid_argument, "neocortex: hidden widths must be in [1, 16384]"};
  }
  return {};
}

Expected<std::shared_ptr<nn::SequentialImpl>> make_classifier(const ClassifierConfig& c) {
  if (Status s = validate(c); !s.ok()) return s;
  nn::Sequential net;
  if (c.net == "mlp") {
    int in = c.rows * c.cols;
    for (int h : c.hidden) {
      net->push_back(nn::Linear(in, h));
      net->push_back(nn::ReLU());
      in = h;
    }
    net->push_back(nn::Linear(in, c.classes));
  } else {
    // A small LeNet-style CNN: 28 -> (conv5, pool) 12 -> (conv5, pool) 4.
    net->push_back(nn::Unflatten(nn::UnflattenOptions(1, {1, c.rows, c.cols})));
    net->push_back(nn::Conv2d(nn::Conv2dOptions(1, 32, 5)));
    net->push_back(nn::ReLU());
    net->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
    net->push_back(nn::Conv2d(nn::Conv2dOptions(32, 64, 5)));
    net->push_back(nn::ReLU());
    net->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
    net->push_back(nn::Flatten());
    net->push_back(nn::Linear(64 * 4 * 4, 256));
    net->push_back(nn::ReLU());
    net->push_back(nn::Linear(256, c.classes));
  }
  return net.ptr();
}

}  // namespace engram
