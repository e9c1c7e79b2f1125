# Tests that need LibTorch (only built when ENGRAM_WITH_TORCH=ON).
