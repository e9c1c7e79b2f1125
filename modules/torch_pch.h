// Precompiled header for the LibTorch translation units of modules/ (see torch_modules.cmake).
// Only the parts of the C++ frontend engram uses: nn modules, functional ops, optimisers.
#pragma once
#include <torch/nn/functional.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>
