// Distortion against compression in Lua: engram.compression.
#pragma once

#include <lua.hpp>

namespace engram::lua {

// Adds engram.compression to the table on top of the stack:
//   engram.compression{dataset = ds, latent = "discrete" | "continuous", c = 38, l = 2, h = 20,
//                      arch = "mlp" | "conv", hidden = {256}, kl_weight = 1, epochs = 5,
//                      steps = 0, batch = 128, lr = 1e-3, seed = 1, train_examples = 0,
//                      test_examples = 0, threads = 0}
//   -> {latent, c, l, h, bits_per_code, image_bits, compression, l1, l1_train, l1_untrained,
//       final_loss, seconds, steps, train_examples, test_examples, weight_bytes}
// Trains one autoencoder on ds's train split and measures test-split L1 distortion (see
// modules/association/compression_probe.h for the meaning of each field; 0 example counts mean
// the whole split, steps > 0 overrides epochs). dataset is required. Blocks until training ends.
// Bad fields raise a Lua error naming the problem.
void open_compression(lua_State* L);

}  // namespace engram::lua
