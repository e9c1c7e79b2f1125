# Learning modules (LibTorch).
