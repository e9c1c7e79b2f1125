// The repository's MNIST as the shared dataset a Session takes, loaded once per process.
#pragma once

#include <doctest/doctest.h>

#include <memory>

#include "io/datasets/dataset.h"

namespace engram::test {

inline std::shared_ptr<const ImageDataset> shared_mnist() {
  static std::shared_ptr<const ImageDataset> ds = [] {
    auto loaded = load_dataset("mnist", ENGRAM_SOURCE_DIR "/data/mnist");
    REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
    return std::make_shared<const ImageDataset>(std::move(loaded.value()));
  }();
  return ds;
}

}  // namespace engram::test
